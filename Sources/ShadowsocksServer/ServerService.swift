import Config
import Logging
import NIOCore
import NIOPosix
import Redir
import ServiceLifecycle
import ShadowsocksCrypto

/// `ss-server`'s service: for every port (one, or one per `port_password` entry) a TCP and/or UDP listener on
/// every listen address, all sharing one replay filter, one target connector and one set of counters. On graceful
/// shutdown (SIGTERM/SIGINT through the ServiceGroup) it stops accepting, lets open relays finish for a short
/// grace period, closes the rest and returns.
public struct ServerService: Service {
    public let configuration: ServerConfiguration
    public let logger: Logger
    /// How target names are resolved; the seam for the project's own resolver.
    public let resolver: any TargetResolving
    /// Shared by every connection on every port (ss-libev keeps one ppbloom per server).
    public let saltFilter: PingPongBloomFilter
    /// Shadowsocks 2022 ports use an exact filter instead (SIP022 3.1.4 forbids bloom filters).
    public let recentSalts = RecentSaltSet()
    public let counters = ServerCounters()
    /// How long open relays may run after shutdown starts.
    public var shutdownGrace: TimeAmount = .seconds(3)
    /// Called once every listener is bound (a daemon's parent then exits 0).
    public var onReady: (@Sendable () -> Void)?

    public init(
        configuration: ServerConfiguration, logger: Logger, resolver: any TargetResolving = StubTargetResolver(),
        saltFilter: PingPongBloomFilter = PingPongBloomFilter()
    ) {
        self.configuration = configuration
        self.logger = logger
        self.resolver = resolver
        self.saltFilter = saltFilter
    }

    public func run() async throws {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: System.coreCount)
        let registry = ConnectionRegistry()
        let connector = TargetConnector(
            resolver: resolver, forbidden: configuration.forbidden,
            timeout: .seconds(Int64(configuration.headerTimeoutSeconds)),
            noDelay: configuration.noDelay, fastOpen: configuration.fastOpen)
        var tcpListeners: [Channel] = []
        var udpListeners: [Channel] = []
        var plugin: PluginProcess?
        // SIP003 server side: the plugin takes the public TCP port; our TCP listener moves to a loopback port.
        var tcpAddresses = configuration.listenAddresses
        var tcpPortOverride: Int?
        if let spec = configuration.plugin, let port = configuration.ports.first {
            do {
                let localPort = try PluginProcess.freeLoopbackPort()
                let environment = PluginEnvironment(
                    remoteHost: configuration.listenAddressesGiven ? configuration.listenAddresses[0] : "0.0.0.0",
                    remotePort: port.port, localHost: "127.0.0.1", localPort: localPort, options: spec.options)
                plugin = try PluginProcess(
                    spec: spec, environment: environment, label: spec.program, eventLoop: group.next(), logger: logger)
                tcpAddresses = ["127.0.0.1"]
                tcpPortOverride = localPort
            } catch {
                try? await group.shutdownGracefully()
                throw ConfigError("cannot prepare plugin \(spec.program): \(error)")
            }
        }
        do {
            for port in configuration.ports {
                let tcp = ServerTCPFront(
                    configuration: configuration, port: port, group: group, registry: registry,
                    saltFilter: port.key.method.kind == .aead2022 ? recentSalts : saltFilter,
                    connector: connector, counters: counters, logger: logger)
                let udp = ServerUDPFront(
                    configuration: configuration, port: port, group: group, connector: connector, counters: counters,
                    logger: logger)
                if configuration.relaysTCP, let localPort = tcpPortOverride {
                    tcpListeners += try await tcp.bind("127.0.0.1", port: localPort)
                }
                for address in configuration.listenAddresses {
                    var kind = "tcp"
                    do {
                        if configuration.relaysTCP, tcpAddresses.contains(address), tcpPortOverride == nil {
                            tcpListeners += try await tcp.bind(address)
                        }
                        kind = "udp"
                        if configuration.relaysUDP { udpListeners.append(try await udp.bind(address)) }
                    } catch {
                        let place = "\(address.contains(":") ? "[\(address)]" : address):\(port.port)"
                        if !configuration.listenAddressesGiven, address.contains(":") {
                            logger.warning(
                                "not listening on \(place): \(ConnectErrorText.describe(error)); serving IPv4 only")
                            continue
                        }
                        throw ConfigError(
                            "cannot listen on \(place) (\(kind)): \(ConnectErrorText.describe(error)); check -s/-p (or port_password), or stop whatever holds the port"
                        )
                    }
                }
            }
            if let plugin {
                do {
                    try plugin.start()
                } catch {
                    throw ConfigError("cannot start plugin \(error); install it or correct --plugin / \"plugin\"")
                }
            }
        } catch {
            for listener in tcpListeners + udpListeners { try? await listener.close() }
            try? await group.shutdownGracefully()
            throw error
        }
        onReady?()
        logger.notice(
            "listening: \(describe(tcp: tcpListeners, udp: udpListeners)); forbidden_ip: \(configuration.forbidden)")

        try? await gracefulShutdown()

        logger.notice("shutting down: no new connections, \(registry.count) open")
        await plugin?.stop()
        for listener in tcpListeners { try? await listener.close() }
        await registry.drain(grace: shutdownGrace)
        for listener in udpListeners { try? await listener.close() }
        let summary = counters.summary
        if !summary.isEmpty { logger.notice("turned away: \(summary)") }
        try? await group.shutdownGracefully()
    }

    private func describe(tcp: [Channel], udp: [Channel]) -> String {
        func addresses(_ channels: [Channel]) -> String {
            var seen: [String] = []
            for text in channels.compactMap({ $0.localAddress?.socksAddress.map { "\($0)" } })
            where !seen.contains(text) {
                seen.append(text)
            }
            return seen.joined(separator: ", ")
        }
        var parts: [String] = []
        if !tcp.isEmpty {
            let behind = configuration.plugin.map { " behind plugin \($0.program) on port \(configuration.ports[0].port)" } ?? ""
            parts.append("tcp on \(addresses(tcp))\(behind)")
        }
        if !udp.isEmpty { parts.append("udp on \(addresses(udp))") }
        let methods = Set(configuration.ports.map(\.key.method.name)).sorted().joined(separator: ", ")
        return parts.joined(separator: "; ") + " (\(methods))"
    }
}
