#if canImport(Glibc)
import Glibc
#endif
import Config
import Logging
import NIOCore
import NIOPosix
import ServerPool
import ShadowsocksCrypto
import ShadowsocksProtocol

/// Accepts the LAN TCP connections that nftables REDIRECTs to us and relays each one through a Shadowsocks
/// server to its original destination.
struct TCPRedirectFront: Sendable {
    let configuration: RedirConfiguration
    let group: MultiThreadedEventLoopGroup
    let registry: ConnectionRegistry
    let logger: Logger
    /// SO_MARK for upstream sockets, when the process may set one.
    let mark: UInt32?
    let pool: ServerPool
    let localAddresses = LocalAddresses()

    /// Binds every listen address. With `reuse_port`, one listening socket per event loop (the kernel spreads
    /// connections over them); otherwise one socket whose accepted connections NIO spreads over all loops.
    func bind() async throws -> [Channel] {
        var listeners: [Channel] = []
        do {
            for address in configuration.listenAddresses {
                let loops: [EventLoopGroup] =
                    configuration.reusePort ? group.makeIterator().map { $0 as EventLoopGroup } : [group]
                for loop in loops {
                    let bindAddress = try SocketAddress(ipAddress: address, port: configuration.localPort)
                    let channel = try await makeBootstrap(group: loop, bindAddress: bindAddress)
                        .bind(to: bindAddress).get()
                    listeners.append(channel)
                }
            }
        } catch {
            for listener in listeners { try? await listener.close() }
            throw error
        }
        return listeners
    }

    private func makeBootstrap(group: EventLoopGroup, bindAddress: SocketAddress) -> ServerBootstrap {
        let noDelay: SocketOptionValue = configuration.noDelay ? 1 : 0
        var bootstrap = ServerBootstrap(group: group)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .serverChannelOption(.backlog, value: 1024)
            .childChannelOption(.allowRemoteHalfClosure, value: true)
            .childChannelOption(.tcpOption(.tcp_nodelay), value: noDelay)
            .childChannelInitializer { channel in
                self.accept(channel)
            }
        if configuration.reusePort {
            bootstrap = bootstrap.serverChannelOption(.socketOption(NIOBSDSocket.Option(rawValue: SO_REUSEPORT)), value: 1)
        }
        if configuration.tcpTproxy {
            // -T: the tproxy rule hands us connections for foreign addresses; the listener must be transparent.
            bootstrap = bootstrap.serverChannelOption(TransparentOption.forAddress(bindAddress), value: 1)
        }
        return bootstrap
    }

    /// Runs on the accepted channel's event loop.
    private func accept(_ channel: Channel) -> EventLoopFuture<Void> {
        let client = channel.remoteAddress?.socksAddress.map { "\($0)" } ?? "?"
        let target: SocksAddress
        do {
            target = try destination(of: channel)
        } catch {
            logger.warning("tcp \(client): \(error); closing")
            return channel.close()
        }
        if isLoop(channel, target: target) {
            logger.warning(
                "tcp \(client) -> \(target): the destination is this listener itself (a loop, or a connection that was not redirected); refusing"
            )
            return channel.close()
        }
        registry.track(channel)
        let halfCloseWait = TimeAmount.seconds(Int64(configuration.halfCloseWaitSeconds))
        let lanSide = RelayGlueHandler(side: .lan, halfCloseWait: halfCloseWait) { lanSide in
            self.connect(lanSide, client: client, target: target, on: channel.eventLoop, tried: [])
        }
        do {
            try channel.pipeline.syncOperations.addHandlers([
                IdleStateHandler(allTimeout: .seconds(Int64(configuration.timeoutSeconds))), lanSide,
            ])
        } catch {
            return channel.close()
        }
        return channel.eventLoop.makeSucceededVoidFuture()
    }

    /// REDIRECT: the conntrack original destination. TPROXY (-T): the accepted socket's own local address.
    private func destination(of channel: Channel) throws -> SocksAddress {
        let address = configuration.tcpTproxy ? channel.localAddress : try OriginalDestination.read(from: channel)
        guard let target = address?.socksAddress else { throw OriginalDestination.LookupFailed(errno: 0) }
        return target
    }

    private func isLoop(_ channel: Channel, target: SocksAddress) -> Bool {
        if configuration.tcpTproxy {
            // Every TPROXYed socket's local address is its destination; a loop is one aimed at this gateway.
            guard let local = channel.localAddress else { return true }
            return localAddresses.contains(local)
        }
        return channel.localAddress?.socksAddress == target
    }

    /// Connects to a member chosen by the pool; when that fails before any byte was exchanged, the next member
    /// is tried, so a dead server costs a client nothing but the connect attempt.
    private func connect(
        _ lanSide: RelayGlueHandler, client: String, target: SocksAddress, on eventLoop: EventLoop,
        tried: Set<ServerMember>
    ) {
        guard let member = pool.choose(excluding: tried) else {
            logger.warning("tcp \(client) -> \(target): no server could be reached (tried \(tried.count)); closing")
            lanSide.closeChannel()
            return
        }
        logger.info("tcp \(client) -> \(target) via \(member)")
        connectUpstream(member: member, target: target, on: eventLoop).assumeIsolated().whenComplete { result in
            switch result {
            case .success(let upstreamSide):
                pool.recordSuccess(member)
                pool.connectionOpened(member)
                lanSide.onClose = { up, down in pool.connectionClosed(member, bytesUp: up, bytesDown: down) }
                lanSide.link(upstream: upstreamSide)
            case .failure(let error):
                let reason = ConnectErrorText.describe(error)
                pool.recordFailure(member, reason: "connect: \(reason)", connecting: true)
                logger.warning("tcp \(client) -> \(target): cannot reach server \(member): \(reason)")
                guard lanSide.isActive else { return }
                connect(lanSide, client: client, target: target, on: eventLoop, tried: tried.union([member]))
            }
        }
    }

    private func connectUpstream(
        member: ServerMember, target: SocksAddress, on eventLoop: EventLoop
    ) -> EventLoopFuture<RelayGlueHandler> {
        let server = member.endpoint
        let key = member.key
        let logger = self.logger
        let noDelay: SocketOptionValue = configuration.noDelay ? 1 : 0
        var bootstrap = ClientBootstrap(group: eventLoop)
            .channelOption(.allowRemoteHalfClosure, value: true)
            .channelOption(.tcpOption(.tcp_nodelay), value: noDelay)
            .connectTimeout(.seconds(Int64(min(configuration.timeoutSeconds, 10))))
            .channelInitializer { upstream in
                do {
                    try upstream.pipeline.syncOperations.addHandlers([
                        ShadowsocksClientCodec(key: key, target: target, logger: logger),
                        RelayGlueHandler(side: .upstream),
                    ])
                    return upstream.eventLoop.makeSucceededVoidFuture()
                } catch {
                    return upstream.eventLoop.makeFailedFuture(error)
                }
            }
        if let mark {
            bootstrap = bootstrap.channelOption(OutboundMark.option(), value: Int(Int32(bitPattern: mark)))
        }
        if configuration.fastOpen {
            // TCP_FASTOPEN_CONNECT (Linux 4.11+): the first write rides on the SYN.
            bootstrap = bootstrap.channelOption(.tcpOption(NIOBSDSocket.Option(rawValue: 30)), value: 1)
        }
        return bootstrap.connect(host: server.host, port: server.port).flatMapThrowing { upstream in
            try upstream.pipeline.syncOperations.handler(type: RelayGlueHandler.self)
        }
    }
}
