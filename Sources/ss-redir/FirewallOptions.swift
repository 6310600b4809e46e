import ArgumentParser
import Config

/// `ss-redir setup`'s flags: the relay's own flags that shape the rules (same names as `run`), and the
/// firewall-only ones.
struct FirewallOptions: ParsableArguments {
    @OptionGroup var relay: RelayOptions

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

    @Option(
        name: .customLong("fwmark"),
        help: ArgumentHelp(
            "The tproxy mark as MARK or MARK/MASK (default 0x1): with a mask, only those bits are set and matched.",
            discussion: "Other tools' bits survive a mask, e.g. --fwmark 0x10000/0x10000 beside mwan3 (0x3F00)."))
    var fwmark: String?

    @Option(name: .customLong("route-table"), help: "Routing table of the tproxy local route (default 100).")
    var routeTable: String?

    @Flag(name: .customLong("proxy-router"), help: "Capture the gateway's own connections too.")
    var proxyRouter = false

    @Option(name: .customLong("dns-hijack"), help: "Redirect LAN DNS (udp/tcp 53) to this local port.")
    var dnsHijackPort: UInt16?

    @Flag(help: "What happens to captured traffic while ss-redir is not running (default --fail-open).")
    var failMode: FailMode = .failOpen

    @Flag(
        name: .customLong("disable-bridge-nf"),
        help: ArgumentHelp(
            "Turn off net.bridge.bridge-nf-call-iptables/-ip6tables (br_netfilter breaks TPROXY on a bridged LAN); teardown restores them.",
            discussion:
                "This changes bridge filtering for the whole network namespace (Docker sets these to 1); without it setup only warns."
        ))
    var disableBridgeNetfilter = false

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
        if dnsHijackPort == 0 { throw ValidationError("--dns-hijack: expected a port number (1-65535)") }
    }

    static func isTableName(_ name: String) -> Bool {
        guard let first = name.first, !first.isNumber, name.count <= 64 else { return false }
        return name.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "_") }
    }

    /// The flags as settings with origins, to override the config file key by key (as `run` does).
    func flagSettings() -> RedirSettings {
        var flags = FlagSettings()
        relay.apply(to: &flags)
        flags.set(\.bypassFiles, bypassFiles.isEmpty ? nil : bypassFiles, .bypassFiles, "--bypass-file")
        flags.set(\.proxyFiles, proxyFiles.isEmpty ? nil : proxyFiles, .proxyFiles, "--proxy-file")
        flags.set(\.lanInterfaces, lanInterfaces.isEmpty ? nil : lanInterfaces, .lanInterfaces, "--lan-if")
        flags.set(\.tproxyFwmark, fwmark, .tproxyFwmark, "--fwmark")
        flags.set(\.tproxyRouteTable, routeTable, .tproxyRouteTable, "--route-table")
        return flags.settings
    }
}
