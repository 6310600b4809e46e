import ArgumentParser
import Config

/// shadowsocks-libev `ss-local`'s flags, plus the pool's. `-l`/`-b` are where the SOCKS5 server listens.
struct LocalOptions: ParsableArguments {
    @Option(name: .customShort("c"), help: "JSON config file with shadowsocks-libev keys.")
    var configFile: String?

    @Option(name: [.customShort("s"), .customLong("server")], help: "Server host or IP; repeat for several.")
    var servers: [String] = []

    @Option(name: .customLong("server-url"), help: "A pool member as a SIP002 ss:// URI; repeatable.")
    var serverURLs: [String] = []

    @Option(name: .customLong("servers-file"), help: "A SIP008 JSON file of pool members; repeatable.")
    var serversFiles: [String] = []

    @Option(name: [.customShort("p"), .customLong("server-port")], help: "Server port.")
    var serverPort: String?

    @Option(name: [.customShort("l"), .customLong("local-port")], help: "Port the SOCKS5 server listens on.")
    var localPort: String?

    @Option(
        name: [.customShort("b"), .customLong("local-address")],
        help: "Address the SOCKS5 server listens on (default 127.0.0.1; '::' serves IPv4 and IPv6).")
    var localAddress: String?

    @Option(name: [.customShort("k"), .customLong("password")], help: "Password.")
    var password: String?

    @Option(name: .customLong("key"), help: "Base64 master key instead of a password.")
    var key: String?

    @Option(
        name: [.customShort("m"), .customLong("method")],
        help: "Cipher: aes-128-gcm, aes-192-gcm, aes-256-gcm, chacha20-ietf-poly1305 (default).")
    var method: String?

    @Option(name: [.customShort("t"), .customLong("timeout")], help: "Idle timeout in seconds (default 60).")
    var timeout: String?

    @Flag(name: .customShort("u"), help: "UDP ASSOCIATE as well as CONNECT (mode tcp_and_udp).")
    var tcpAndUDP = false

    @Flag(name: .customShort("U"), help: "UDP ASSOCIATE only; CONNECT is answered 'command not supported'.")
    var udpOnly = false

    @Option(
        name: .customLong("socks-user"), help: "Username SOCKS5 clients must give (RFC 1929; with --socks-password).")
    var socksUser: String?

    @Option(
        name: .customLong("socks-password"),
        help: "Password SOCKS5 clients must give (with --socks-user; prefer \"socks_password\" in -c: argv is public).")
    var socksPassword: String?

    @Option(
        name: .customLong("plugin"),
        help: "SIP003 plugin program (e.g. obfs-local, ss-v2ray-plugin) for -s servers and servers entries.")
    var plugin: String?

    @Option(
        name: .customLong("plugin-opts"),
        help: ArgumentHelp("The plugin's options (SS_PLUGIN_OPTIONS), e.g. \"obfs=http;obfs-host=example.com\".",
            valueName: "options"))
    var pluginOptions: String?

    @Option(
        name: .customLong("strategy"),
        help: "Pool selection: random (weighted, default), failover, round-robin, least-latency.")
    var strategy: String?

    @Option(
        name: .customLong("probe-target"),
        help: "host:port that health probes reach through each server (default: probes only connect).")
    var probeTarget: String?

    @Option(
        name: .customLong("probe-udp-target"),
        help: "host:port of a DNS resolver that UDP probes query through each server (default: no UDP probes).")
    var probeUDPTarget: String?

    @Option(name: .customLong("probe-interval"), help: "Seconds between health probes of each server (default 15).")
    var probeInterval: String?

    @Option(name: .customLong("udp-timeout"), help: "Keepalive idle time of a UDP association's TCP connection (default: -t).")
    var udpTimeout: String?

    @Option(name: .customLong("mtu"), help: "Link MTU toward the server; larger UDP packets are dropped.")
    var mtu: String?

    @Flag(name: .customLong("no-delay"), help: "TCP_NODELAY on both sides (on by default here).")
    var noDelay = false

    @Flag(name: .customLong("fast-open"), help: "TCP Fast Open towards the server.")
    var fastOpen = false

    @Option(
        name: .customLong("outbound-fwmark"), help: "SO_MARK on the sockets toward the servers (default 0: none).")
    var outboundFwmark: String?

    @Option(
        name: .customLong("control"),
        help: "Control socket for `ss-redir status --control PATH` (default /run/ss-local.sock as root, else $XDG_RUNTIME_DIR/ss-local.sock or /tmp/ss-local-UID.sock).")
    var controlSocket: String?

    @Option(
        name: .customLong("metrics"), help: "Serve Prometheus metrics at http://ADDR:PORT/metrics (off by default).")
    var metrics: String?

    @Option(name: .customLong("acl"), help: "shadowsocks-libev ACL file: bypassed targets are connected directly.")
    var acl: String?

    @Option(
        name: .customLong("rules"),
        help: "Rule file (CIDRs, domains, hosts lines); repeatable; proxy:FILE for the proxy list (docs/rules.md).")
    var rules: [String] = []

    @Flag(name: .customShort("v"), help: "Verbose: log every connection.")
    var verbose = false

    func validate() throws {
        if tcpAndUDP && udpOnly { throw ValidationError("-u and -U exclude each other") }
    }

    /// The flags as settings that override the config file's, each remembering its flag for error messages.
    var flagSettings: RedirSettings {
        var flags = FlagSettings()
        flags.set(\.servers, servers.isEmpty ? nil : servers, .server, "-s")
        flags.set(\.serverURLs, serverURLs.isEmpty ? nil : serverURLs, .serverURLs, "--server-url")
        flags.set(\.serversFiles, serversFiles.isEmpty ? nil : serversFiles, .serversFiles, "--servers-file")
        flags.set(\.serverPort, serverPort, .serverPort, "-p")
        flags.set(\.localPort, localPort, .localPort, "-l")
        flags.set(\.localAddresses, localAddress.map { [$0] }, .localAddress, "-b")
        flags.set(\.password, password, .password, "-k")
        flags.set(\.key, key, .key, "--key")
        flags.set(\.method, method, .method, "-m")
        flags.set(\.timeout, timeout, .timeout, "-t")
        flags.set(
            \.mode, udpOnly ? RelayMode.udpOnly.rawValue : (tcpAndUDP ? RelayMode.tcpAndUDP.rawValue : nil), .mode,
            udpOnly ? "-U" : "-u")
        flags.set(\.socksUsername, socksUser, .socksUsername, "--socks-user")
        flags.set(\.socksPassword, socksPassword, .socksPassword, "--socks-password")
        flags.set(\.plugin, plugin, .plugin, "--plugin")
        flags.set(\.pluginOptions, pluginOptions, .pluginOptions, "--plugin-opts")
        flags.set(\.strategy, strategy, .strategy, "--strategy")
        flags.set(\.probeTarget, probeTarget, .probeTarget, "--probe-target")
        flags.set(\.probeUDPTarget, probeUDPTarget, .probeUDPTarget, "--probe-udp-target")
        flags.set(\.probeInterval, probeInterval, .probeInterval, "--probe-interval")
        flags.set(\.udpTimeout, udpTimeout, .udpTimeout, "--udp-timeout")
        flags.set(\.mtu, mtu, .mtu, "--mtu")
        flags.set(\.noDelay, noDelay ? true : nil, .noDelay, "--no-delay")
        flags.set(\.fastOpen, fastOpen ? true : nil, .fastOpen, "--fast-open")
        flags.set(\.outboundFwmark, outboundFwmark, .outboundFwmark, "--outbound-fwmark")
        flags.set(\.controlSocket, controlSocket, .controlSocket, "--control")
        flags.set(\.metrics, metrics, .metrics, "--metrics")
        flags.set(\.acl, acl, .acl, "--acl")
        flags.set(\.rules, rules.isEmpty ? nil : rules, .rules, "--rules")
        return flags.settings
    }
}
