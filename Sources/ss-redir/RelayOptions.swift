import ArgumentParser
import Config

/// The flags `run` and `setup`/`teardown` share, with shadowsocks-libev's names: which config file, which
/// servers, which local port and address, and what is captured (TCP by redirect or tproxy, UDP).
struct RelayOptions: ParsableArguments {
    @Option(name: .customShort("c"), help: "JSON config file with shadowsocks-libev keys (run and setup read the same).")
    var configFile: String?

    @Option(
        name: [.customShort("s"), .customLong("server")],
        help: "Server host or IP; repeat for several. Servers' addresses always go direct in setup's rules.")
    var servers: [String] = []

    @Option(name: .customLong("server-url"), help: "A pool member as a SIP002 ss:// URI; repeatable.")
    var serverURLs: [String] = []

    @Option(name: .customLong("servers-file"), help: "A SIP008 JSON file of pool members; repeatable.")
    var serversFiles: [String] = []

    @Option(name: [.customShort("p"), .customLong("server-port")], help: "Server port.")
    var serverPort: String?

    @Option(
        name: [.customShort("l"), .customLong("local-port")],
        help: "Local port ss-redir listens on: where the redirect/tproxy rules send traffic.")
    var localPort: String?

    @Option(
        name: [.customShort("b"), .customLong("local-address")],
        help: "Local address to listen on (default 127.0.0.1; '::' serves IPv4 and IPv6).")
    var localAddress: String?

    @Flag(name: .customShort("T"), help: "TCP through a tproxy rule instead of redirect (tcp_tproxy).")
    var tcpTproxy = false

    @Flag(name: .customShort("u"), help: "UDP (through tproxy) as well as TCP (mode tcp_and_udp).")
    var tcpAndUDP = false

    @Flag(name: .customShort("U"), help: "UDP only (mode udp_only).")
    var udpOnly = false

    @Option(
        name: .customLong("outbound-fwmark"),
        help: "SO_MARK on the relay's own sockets, so firewall rules skip them (default 0xff; 0: none).")
    var outboundFwmark: String?

    func validate() throws {
        if tcpAndUDP && udpOnly { throw ValidationError("-u and -U exclude each other") }
    }

    /// These flags into `flags`, each with its origin for error messages.
    func apply(to flags: inout FlagSettings) {
        flags.set(\.servers, servers.isEmpty ? nil : servers, .server, "-s")
        flags.set(\.serverURLs, serverURLs.isEmpty ? nil : serverURLs, .serverURLs, "--server-url")
        flags.set(\.serversFiles, serversFiles.isEmpty ? nil : serversFiles, .serversFiles, "--servers-file")
        flags.set(\.serverPort, serverPort, .serverPort, "-p")
        flags.set(\.localPort, localPort, .localPort, "-l")
        flags.set(\.localAddresses, localAddress.map { [$0] }, .localAddress, "-b")
        flags.set(\.tcpTproxy, tcpTproxy ? true : nil, .tcpTproxy, "-T")
        flags.set(
            \.mode, udpOnly ? RelayMode.udpOnly.rawValue : (tcpAndUDP ? RelayMode.tcpAndUDP.rawValue : nil), .mode,
            udpOnly ? "-U" : "-u")
        flags.set(\.outboundFwmark, outboundFwmark, .outboundFwmark, "--outbound-fwmark")
    }
}
