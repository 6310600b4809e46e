import Config
import Logging
import NIOCore
import NIOPosix
import ServiceLifecycle

/// `ss-redir`'s main service: the TCP redirect front on an event loop per core. On graceful shutdown
/// (SIGTERM/SIGINT through the ServiceGroup) it stops accepting, lets open relays finish for a short grace
/// period, closes the rest and returns.
public struct RedirService: Service {
    public let configuration: RedirConfiguration
    public let logger: Logger
    /// How long open relays may run after shutdown starts.
    public var shutdownGrace: TimeAmount = .seconds(3)

    public init(configuration: RedirConfiguration, logger: Logger) {
        self.configuration = configuration
        self.logger = logger
    }

    public func run() async throws {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: System.coreCount)
        let registry = ConnectionRegistry()
        let mark = OutboundMark.usable(configuration.outboundFwmark, logger: logger)
        var listeners: [Channel] = []
        var udpFront: UDPTransparentFront?
        do {
            if configuration.relaysTCP {
                let front = TCPRedirectFront(
                    configuration: configuration, group: group, registry: registry, logger: logger, mark: mark)
                do {
                    listeners = try await front.bind()
                } catch {
                    let addresses = configuration.listenAddresses.map { "\($0) port \(configuration.localPort)" }
                    throw ConfigError(
                        "cannot listen on \(addresses.joined(separator: ", ")): \(error); check -b/-l or stop whatever holds the port")
                }
            }
            if configuration.relaysUDP {
                udpFront = try await UDPTransparentFront.start(
                    configuration: configuration, group: group, mark: mark, logger: logger)
            }
        } catch {
            for listener in listeners { try? await listener.close() }
            try? await group.shutdownGracefully()
            throw error
        }
        let servers = configuration.servers.map(\.description).joined(separator: ", ")
        var fronts: [String] = []
        if !listeners.isEmpty {
            let addresses = listeners.compactMap { $0.localAddress?.socksAddress.map { "\($0)" } }
            fronts.append("tcp \(configuration.tcpTproxy ? "tproxy" : "redirect") on \(addresses.joined(separator: ", "))")
        }
        if let udpFront {
            let addresses = udpFront.listenAddresses.compactMap { $0.socksAddress.map { "\($0)" } }
            fronts.append("udp tproxy on \(addresses.joined(separator: ", "))")
        }
        logger.notice(
            "listening: \(fronts.joined(separator: "; ")) (\(configuration.key.method.name), servers: \(servers))")

        try? await gracefulShutdown()

        logger.notice("shutting down: no new connections, \(registry.count) open")
        for listener in listeners { try? await listener.close() }
        await udpFront?.stop()
        await registry.drain(grace: shutdownGrace)
        try? await group.shutdownGracefully()
    }
}
