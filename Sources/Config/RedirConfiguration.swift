import ShadowsocksCrypto

/// A Shadowsocks server the relay connects to.
public struct ServerEndpoint: Sendable, Hashable, CustomStringConvertible {
    public let host: String
    public let port: Int
    public var description: String { host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)" }

    public init(host: String, port: Int) {
        self.host = host
        self.port = port
    }
}

/// The validated configuration `ss-redir` runs with. Built only through `resolve`, which rejects anything
/// incomplete or malformed with one clear line.
public struct RedirConfiguration: Sendable {
    /// The pool, in configuration order (the order `failover` tries them in).
    public var members: [ServerMember]
    public var strategy: SelectionStrategy
    /// Where health probes ask each member to connect ("host:port"); nil: probes only test the TCP connect.
    public var probeTarget: ServerEndpoint?
    public var probeIntervalSeconds: Int
    /// Where UDP probes send a DNS query through each UDP member ("host:port" of a resolver); nil: no UDP probes.
    public var probeUDPTarget: ServerEndpoint?
    /// The local control socket `ss-redir status` reads.
    public var controlSocket: String
    /// After the LAN client's FIN, how long the server must be silent before the FIN is passed on (see docs).
    public var halfCloseWaitSeconds: Int
    /// `--metrics ADDR:PORT`: where the Prometheus endpoint listens; nil: off.
    public var metrics: ServerEndpoint?
    /// The Clash-compatible external controller; nil: off.
    public var controller: ExternalControllerSettings?
    public var listenAddresses: [String]
    public var localPort: Int
    public var timeoutSeconds: Int
    public var mode: RelayMode
    public var reusePort: Bool
    public var noDelay: Bool
    public var fastOpen: Bool
    public var nofile: Int?
    /// `-T`: TCP arrives through a `tproxy` rule; the destination is the accepted socket's local address.
    public var tcpTproxy: Bool
    /// `--mtu`: datagrams to the server are kept within this link MTU (minus IP and UDP headers).
    public var mtu: Int?
    public var udpTimeoutSeconds: Int
    public var udpMaxAssociations: Int
    /// `--max-connections-per-client`: a LAN host's TCP connections beyond this are closed on accept; nil: no limit.
    public var maxConnectionsPerClient: Int? = nil
    /// SO_MARK on the relay's own sockets, so firewall rules can skip them (0: none).
    public var outboundFwmark: UInt32
    /// `--socks ADDR:PORT` (JSON "socks"): where the SOCKS5 front listens; empty: no SOCKS5 front.
    public var socksListen: [ServerEndpoint] = []
    /// RFC 1929 credentials the SOCKS5 front requires (`--socks-user`/`--socks-password`); nil: none.
    public var socksUsername: String?
    public var socksPassword: String?
    /// Bypass rules and the DNS forwarder.
    public var routing = RoutingConfiguration()

    public var servers: [ServerEndpoint] { members.map(\.endpoint) }

    public var relaysTCP: Bool { mode != .udpOnly }
    public var relaysUDP: Bool { mode != .tcpOnly }

    /// ss-libev's defaults where the user said nothing.
    public static let defaultTimeoutSeconds = 60
    public static let defaultListenAddress = "127.0.0.1"
    /// Bound on concurrent UDP associations; the least recently used is evicted beyond it.
    public static let defaultUDPMaxAssociations = 4096
    /// The relay's SO_MARK unless configured; `ss-redir setup --proxy-router` skips packets carrying it.
    public static let defaultOutboundFwmark: UInt32 = FirewallMarks.relayOutboundMark
    public static let defaultProbeIntervalSeconds = 15
    public static let defaultControlSocket = "/run/ss-redir.sock"
    public static let defaultHalfCloseWaitSeconds = 3

    public static func resolve(_ settings: RedirSettings) throws(ConfigError) -> RedirConfiguration {
        let members = try ServerMembers.resolve(settings)
        guard let localPortText = settings.localPort else {
            throw ConfigError("no local port given: pass -l PORT or set \"local_port\" in the config file (-c)")
        }
        let localPort = try port(localPortText, origin: settings.origin(.localPort))

        let strategyName = settings.strategy ?? SelectionStrategy.random.rawValue
        guard let strategy = SelectionStrategy(rawValue: strategyName) else {
            throw ConfigError(
                "\(settings.origin(.strategy)): unknown strategy \"\(strategyName)\"; expected one of \(SelectionStrategy.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        let probeTarget = try endpoint(settings.probeTarget, origin: settings.origin(.probeTarget), example: "www.gstatic.com:80")
        let probeUDPTarget = try endpoint(
            settings.probeUDPTarget, origin: settings.origin(.probeUDPTarget), example: "8.8.8.8:53")
        let metrics = try endpoint(settings.metrics, origin: settings.origin(.metrics), example: "127.0.0.1:9464")
        let halfCloseWait = try integer(
            settings.halfCloseWait ?? String(defaultHalfCloseWaitSeconds), origin: settings.origin(.halfCloseWait),
            range: 0...3600, expected: "seconds")
        let probeInterval = try integer(
            settings.probeInterval ?? String(defaultProbeIntervalSeconds), origin: settings.origin(.probeInterval),
            range: 1...3600, expected: "a probe interval in seconds")

        let timeout = try integer(
            settings.timeout ?? String(defaultTimeoutSeconds), origin: settings.origin(.timeout), range: 1...86_400,
            expected: "a timeout in seconds")
        let modeName = settings.mode ?? RelayMode.tcpOnly.rawValue
        guard let mode = RelayMode(rawValue: modeName) else {
            throw ConfigError(
                "\(settings.origin(.mode)): unknown mode \"\(modeName)\"; expected one of \(RelayMode.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        let nofile = try settings.nofile.map { text throws(ConfigError) in
            try integer(text, origin: settings.origin(.nofile), range: 1...(1 << 22), expected: "a file descriptor limit")
        }
        let mtu = try settings.mtu.map { text throws(ConfigError) in
            try integer(text, origin: settings.origin(.mtu), range: 576...65_535, expected: "an MTU in bytes")
        }
        let udpTimeout = try integer(
            settings.udpTimeout ?? String(timeout), origin: settings.origin(.udpTimeout), range: 1...86_400,
            expected: "a UDP idle timeout in seconds")
        let udpMaxAssociations = try integer(
            settings.udpMaxAssociations ?? String(defaultUDPMaxAssociations),
            origin: settings.origin(.udpMaxAssociations), range: 1...1_000_000, expected: "a number of associations")
        var fwmark = defaultOutboundFwmark
        if let text = settings.outboundFwmark {
            let parsed = text.lowercased().hasPrefix("0x") ? UInt32(text.dropFirst(2), radix: 16) : UInt32(text)
            guard let parsed else {
                throw ConfigError("\(settings.origin(.outboundFwmark)): expected a mark such as 255 or 0xff (0 for none), got \"\(text)\"")
            }
            fwmark = parsed
        }
        var configuration = RedirConfiguration(
            members: members, strategy: strategy, probeTarget: probeTarget, probeIntervalSeconds: probeInterval,
            probeUDPTarget: probeUDPTarget,
            controlSocket: settings.controlSocket ?? defaultControlSocket, halfCloseWaitSeconds: halfCloseWait,
            metrics: metrics,
            listenAddresses: settings.localAddresses ?? [defaultListenAddress],
            localPort: localPort, timeoutSeconds: timeout, mode: mode, reusePort: settings.reusePort ?? true,
            noDelay: settings.noDelay ?? true, fastOpen: settings.fastOpen ?? false, nofile: nofile,
            tcpTproxy: settings.tcpTproxy ?? false, mtu: mtu, udpTimeoutSeconds: udpTimeout,
            udpMaxAssociations: udpMaxAssociations, outboundFwmark: fwmark)
        configuration.maxConnectionsPerClient = try settings.maxConnectionsPerClient.map { text throws(ConfigError) in
            try integer(
                text, origin: settings.origin(.maxConnectionsPerClient), range: 1...1_000_000,
                expected: "a number of connections")
        }
        configuration.controller = try ExternalControllerSettings.resolve(settings)
        try resolveSOCKS(settings, into: &configuration)
        try resolveRouting(settings, into: &configuration)
        return configuration
    }

    private static func resolveSOCKS(
        _ settings: RedirSettings, into configuration: inout RedirConfiguration
    ) throws(ConfigError) {
        for text in settings.socks ?? [] {
            if let listen = try endpoint(text, origin: settings.origin(.socks), example: "127.0.0.1:1081") {
                configuration.socksListen.append(listen)
            }
        }
        switch (settings.socksUsername, settings.socksPassword) {
        case (nil, nil):
            break
        case (let username?, let password?):
            // RFC 1929 section 2: ULEN and PLEN are one byte each, and at least 1.
            for (value, field) in [(username, RedirSettings.Field.socksUsername), (password, .socksPassword)]
            where !(1...255).contains(value.utf8.count) {
                throw ConfigError("\(settings.origin(field)): must be 1 to 255 bytes (RFC 1929), got \(value.utf8.count)")
            }
            configuration.socksUsername = username
            configuration.socksPassword = password
        case (nil, _?):
            throw ConfigError(
                "\(settings.origin(.socksPassword)) given without a SOCKS username: add --socks-user or \"socks_username\"")
        case (_?, nil):
            throw ConfigError(
                "\(settings.origin(.socksUsername)) given without a SOCKS password: add --socks-password or \"socks_password\"")
        }
    }

    /// "host:port" or "[v6]:port", for probe targets and listen addresses; `origin` names the flag or key.
    public static func endpoint(_ text: String?, origin: String, example: String) throws(ConfigError) -> ServerEndpoint? {
        guard let text else { return nil }
        guard let (host, portText) = ServerURI.splitHostPort(Substring(text)), let port = Int(portText),
            (1...65_535).contains(port), !host.isEmpty
        else {
            throw ConfigError("\(origin): expected host:port (e.g. \(example)), got \"\(text)\"")
        }
        return ServerEndpoint(host: host, port: port)
    }

    private static func port(_ text: String, origin: String) throws(ConfigError) -> Int {
        try integer(text, origin: origin, range: 1...65_535, expected: "a port number")
    }

    static func integer(
        _ text: String, origin: String, range: ClosedRange<Int>, expected: String
    ) throws(ConfigError) -> Int {
        guard let value = Int(text), range.contains(value) else {
            throw ConfigError(
                "\(origin): expected \(expected) (\(range.lowerBound)-\(range.upperBound)), got \"\(text)\"")
        }
        return value
    }
}
