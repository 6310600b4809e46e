#if canImport(Glibc)
import Glibc
#endif
import Logging
import NIOCore
import NIOPosix
import Redir
import ShadowsocksProtocol

/// The TCP listeners of one server port: accepts clients, reads each one's target through a
/// `ServerTCPSessionHandler`, connects it through the `TargetConnector` and relays with `RelayGlueHandler`.
struct ServerTCPFront: Sendable {
    let configuration: ServerConfiguration
    let port: ServerConfiguration.Port
    let group: EventLoopGroup
    let registry: ConnectionRegistry
    let saltFilter: any SaltFilter
    let connector: TargetConnector
    let counters: ServerCounters
    let logger: Logger

    /// Binds `address` on this port. With `reuse_port`, one listening socket per event loop (the kernel spreads
    /// connections over them); otherwise one socket whose accepted connections NIO spreads over all loops.
    func bind(_ address: String, port portNumber: Int? = nil) async throws -> [Channel] {
        let bindAddress = try SocketAddress(ipAddress: address, port: portNumber ?? port.port)
        let loops: [EventLoopGroup] =
            configuration.reusePort ? group.makeIterator().map { $0 as EventLoopGroup } : [group]
        var listeners: [Channel] = []
        do {
            for loop in loops {
                listeners.append(
                    try await makeBootstrap(group: loop, bindAddress: bindAddress).bind(to: bindAddress).get())
            }
        } catch {
            for listener in listeners { try? await listener.close() }
            throw error
        }
        return listeners
    }

    private func makeBootstrap(group: EventLoopGroup, bindAddress: SocketAddress) -> ServerBootstrap {
        var bootstrap = ServerBootstrap(group: group)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .serverChannelOption(.backlog, value: 1024)
            .childChannelOption(.allowRemoteHalfClosure, value: true)
            .childChannelOption(.tcpOption(.tcp_nodelay), value: configuration.noDelay ? 1 : 0)
            .serverChannelInitializer { [logger] channel in
                AcceptPauseHandler.install(on: channel, listener: "\(bindAddress)", logger: logger)
            }
            .childChannelInitializer { channel in
                self.accept(channel)
            }
        if bindAddress.protocol == .inet6, configuration.listensOnIPv4 {
            // The IPv4 listener takes IPv4; without this a `::` socket would claim the port for both families.
            bootstrap = bootstrap.serverChannelOption(
                ChannelOptions.Types.SocketOption(level: .ipv6, name: .ipv6_v6only), value: 1)
        }
        if configuration.reusePort {
            bootstrap = bootstrap.serverChannelOption(
                .socketOption(NIOBSDSocket.Option(rawValue: SO_REUSEPORT)), value: 1)
        }
        if configuration.fastOpen {
            // TCP_FASTOPEN (Linux 3.7+): the value is the queue of pending fast-open requests.
            bootstrap = bootstrap.serverChannelOption(.tcpOption(NIOBSDSocket.Option(rawValue: 23)), value: 256)
        }
        return bootstrap
    }

    /// Runs on the accepted channel's event loop.
    private func accept(_ channel: Channel) -> EventLoopFuture<Void> {
        let client = channel.remoteAddress?.socksAddress.map { "\($0)" } ?? "?"
        if let limit = configuration.maxConnections, registry.count >= limit {
            counters.count(
                .connectionLimit, logger: logger,
                detail: "tcp \(client): \(limit) connections open (--max-connections); closing")
            return channel.close()
        }
        registry.track(channel)
        // No held FIN: this end relays a client's half-close to the target at once (the timer runs with zero delay).
        let clientSide = RelayGlueHandler(side: .lan, halfCloseWait: .zero)
        let connector = self.connector
        let logger = self.logger
        let counters = self.counters
        do {
            let session = try ServerTCPSessionHandler(
                key: port.key, saltFilter: saltFilter,
                headerTimeout: .seconds(Int64(configuration.headerTimeoutSeconds)), client: client, logger: logger,
                counters: counters
            ) { target in
                logger.info("tcp \(client) -> \(target)")
                connector.connect(to: target, on: channel.eventLoop).assumeIsolated().whenComplete { result in
                    switch result {
                    case .success(let upstream):
                        guard
                            let targetSide = try? upstream.pipeline.syncOperations.handler(type: RelayGlueHandler.self)
                        else {
                            upstream.close(promise: nil)
                            clientSide.closeChannel()
                            return
                        }
                        clientSide.link(upstream: targetSide)
                    case .failure(TargetConnector.Failure.forbidden(let address)):
                        counters.count(
                            .forbiddenTarget, logger: logger,
                            detail: "tcp \(client) -> \(target): refused: \(address) is in forbidden_ip")
                        clientSide.closeChannel()
                    case .failure(let error):
                        logger.info("tcp \(client) -> \(target): \(error); closing")
                        clientSide.closeChannel()
                    }
                }
            }
            try channel.pipeline.syncOperations.addHandlers([
                IdleStateHandler(allTimeout: .seconds(Int64(configuration.timeoutSeconds))), session, clientSide,
            ])
        } catch {
            return channel.close()
        }
        return channel.eventLoop.makeSucceededVoidFuture()
    }
}
