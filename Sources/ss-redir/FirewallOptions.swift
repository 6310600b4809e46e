import ArgumentParser
import Config

/// `ss-redir setup`'s flags: the relay's own flags that shape the rules (same names as `run`), and the
/// firewall-only ones.
struct FirewallOptions: ParsableArguments {
    @Option(name: .customShort("c"), help: "JSON config file, the one `ss-redir run -c` reads.")
    var configFile: String?

    @Option(
        name: [.customShort("s"), .customLong("server")],
        help: "Server host or IP; repeat for several. Its addresses always go direct (bypass sets).")
    var servers: [String] = []

    @Option(name: .customLong("server-url"), help: "A pool member as an ss:// URI; its host goes direct too.")
    var serverURLs: [String] = []

    @Option(name: .customLong("servers-file"), help: "A SIP008 file of pool members; their hosts go direct too.")
    var serversFiles: [String] = []

    @Option(
        name: [.customShort("p"), .customLong("server-port")], help: "Server port (accepted like run's; not needed).")
    var serverPort: String?

    @Option(
        name: [.customShort("l"), .customLong("local-port")],
        help: "Port ss-redir listens on: where redirect/tproxy send traffic.")
    var localPort: String?

    @Option(
        name: [.customShort("b"), .customLong("local-address")],
        help: "ss-redir's listen address; only checked (LAN traffic never reaches a 127.0.0.1 listener).")
    var localAddress: String?

    @Flag(name: .customShort("T"), help: "Capture TCP with tproxy instead of redirect (run with -T too).")
    var tcpTproxy = false

    @Flag(name: .customShort("u"), help: "Capture UDP with tproxy as well as TCP (mode tcp_and_udp).")
    var tcpAndUDP = false

    @Flag(name: .customShort("U"), help: "Capture UDP only (mode udp_only).")
    var udpOnly = false

    @Option(
        name: .customLong("bypass-file"),
        help: ArgumentHelp(
            "CIDR list (one prefix per line) whose destinations go direct; repeatable.",
            discussion: "hosts-rules/reserved.cidr (private, reserved, multicast) is always included."))
    var bypassFiles: [String] = []

    @Option(
        name: .customLong("proxy-file"),
        help: "CIDR list: proxy only these destinations, everything else goes direct; repeatable.")
    var proxyFiles: [String] = []

    @Option(
        name: .customLong("lan-if"),
        help:
            "LAN interface whose traffic is captured; repeatable, 'eth*' matches a prefix. Default: all but lo and the default routes' interfaces."
    )
    var lanInterfaces: [String] = []

    @Flag(name: .customLong("proxy-router"), help: "Capture the gateway's own connections too.")
    var proxyRouter = false

    @Option(name: .customLong("dns-hijack"), help: "Redirect LAN DNS (udp/tcp 53) to this local port.")
    var dnsHijackPort: UInt16?

    @Flag(help: "What happens to captured traffic while ss-redir is not running (default --fail-open).")
    var failMode: FailMode = .failOpen

    @Option(
        name: .customLong("outbound-fwmark"),
        help: "The relay's SO_MARK, let through by --proxy-router's output chains (default 0xff; 0: none).")
    var outboundFwmark: String?

    @Option(name: .customLong("table"), help: "Name of the inet table setup owns.")
    var table = "ss_redir"

    @Flag(name: .customLong("dry-run"), help: "Print the nft script that would be loaded and change nothing.")
    var dryRun = false

    enum FailMode: String, EnumerableFlag {
        case failOpen, failClosed

        static func help(for value: FailMode) -> ArgumentHelp? {
            switch value {
            case .failOpen: "Tproxied traffic nobody takes goes direct; redirected TCP is refused."
            case .failClosed: "Tproxied traffic nobody takes is dropped: nothing leaks around the proxy."
            }
        }
    }

    func validate() throws {
        guard FirewallOptions.isTableName(table) else {
            throw ValidationError(
                "--table: \"\(table)\" is not a table name (letters, digits, _; at most 64, not starting with a digit)")
        }
        if tcpAndUDP && udpOnly { throw ValidationError("-u and -U exclude each other") }
        if dnsHijackPort == 0 { throw ValidationError("--dns-hijack: expected a port number (1-65535)") }
    }

    static func isTableName(_ name: String) -> Bool {
        guard let first = name.first, !first.isNumber, name.count <= 64 else { return false }
        return name.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "_") }
    }

    /// The flags as settings with origins, to override the config file key by key (as `run` does).
    func flagSettings() -> RedirSettings {
        var flags = RedirSettings()
        func set<T>(
            _ keyPath: WritableKeyPath<RedirSettings, T?>, _ value: T?, _ field: RedirSettings.Field, _ flag: String
        ) {
            guard let value else { return }
            flags[keyPath: keyPath] = value
            flags.origins[field] = "flag \(flag)"
        }
        set(\.servers, servers.isEmpty ? nil : servers, .server, "-s")
        set(\.serverPort, serverPort, .serverPort, "-p")
        set(\.serverURLs, serverURLs.isEmpty ? nil : serverURLs, .serverURLs, "--server-url")
        set(\.serversFiles, serversFiles.isEmpty ? nil : serversFiles, .serversFiles, "--servers-file")
        set(\.localPort, localPort, .localPort, "-l")
        set(\.localAddresses, localAddress.map { [$0] }, .localAddress, "-b")
        set(\.tcpTproxy, tcpTproxy ? true : nil, .tcpTproxy, "-T")
        set(
            \.mode, udpOnly ? RelayMode.udpOnly.rawValue : (tcpAndUDP ? RelayMode.tcpAndUDP.rawValue : nil), .mode,
            udpOnly ? "-U" : "-u")
        set(\.bypassFiles, bypassFiles.isEmpty ? nil : bypassFiles, .bypassFiles, "--bypass-file")
        set(\.proxyFiles, proxyFiles.isEmpty ? nil : proxyFiles, .proxyFiles, "--proxy-file")
        set(\.lanInterfaces, lanInterfaces.isEmpty ? nil : lanInterfaces, .lanInterfaces, "--lan-if")
        set(\.outboundFwmark, outboundFwmark, .outboundFwmark, "--outbound-fwmark")
        return flags
    }
}
