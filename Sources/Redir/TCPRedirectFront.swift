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
    /// Bypass rules (nil: everything proxied) and the direct connections' counters.
    var routes: RouteRules?
    var directCounters: DirectCounters?
    var addressBook: ServerAddressBook?
    /// The connections' idle clocks, one sweeper per event loop (RedirService gives every front the same one).
    var idleSweepers = IdleSweepers()

    var connector: UpstreamConnector {
        UpstreamConnector(
            configuration: configuration, logger: logger, mark: mark, pool: pool, routes: routes,
            directCounters: directCounters, addressBook: addressBook)
    }

    /// Binds every listen address. With `reuse_port` (the default), one listening socket per event loop: the
    /// kernel spreads connections over them and each is served on the loop that accepted it, without a hand-off
    /// to another thread (docs/performance.md). Otherwise one socket whose accepted connections NIO spreads over
    /// all loops.
    func bind() async throws -> [Channel] {
        var listeners: [Channel] = []
        do {
            let addresses = configuration.listenAddresses
            for address in addresses where !(address == "0.0.0.0" && addresses.contains("::")) {
                let loops: [EventLoopGroup] =
                    configuration.reusePort ? group.makeIterator().map { $0 as EventLoopGroup } : [group]
                for loop in loops {
                    // Redirected IPv6 reaches only an IPv6 socket: 0.0.0.0 is widened to a dual-stack `::`
                    // (it stays 0.0.0.0 where IPv6 is off), as the UDP tproxy socket is.
                    if address == "0.0.0.0",
                        let wide = try? SocketAddress(ipAddress: "::", port: configuration.localPort),
                        (try? probe(wide, first: loop === loops.first)) != nil,
                        let channel = try? await makeBootstrap(group: loop, bindAddress: wide).bind(to: wide).get()
                    {
                        listeners.append(channel)
                        continue
                    }
                    let bindAddress = try SocketAddress(ipAddress: address, port: configuration.localPort)
                    try probe(bindAddress, first: loop === loops.first)
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

    /// Before the first of the per-core listeners: is the port free for a listener without SO_REUSEPORT?
    private func probe(_ address: SocketAddress, first: Bool) throws {
        if configuration.reusePort && first { try ListenPortProbe.check(address) }
    }

    private func makeBootstrap(group: EventLoopGroup, bindAddress: SocketAddress) -> ServerBootstrap {
        let noDelay: SocketOptionValue = configuration.noDelay ? 1 : 0
        // Built once per listener, not per accepted connection (it copies the configuration).
        let connector = self.connector
        var bootstrap = ServerBootstrap(group: group)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .serverChannelOption(.backlog, value: 1024)
            // Accepted sockets inherit TCP_NODELAY from the listener (Linux): no setsockopt per connection, and
            // none of the getsockname NIO makes before each TCP_NODELAY it sets.
            .serverChannelOption(.tcpOption(.tcp_nodelay), value: noDelay)
            .serverChannelInitializer { [logger] channel in
                AcceptPauseHandler.install(on: channel, listener: "\(bindAddress)", logger: logger)
            }
            .childChannelInitializer { channel in
                // Set in place, not as child channel options (a chain of futures per accepted connection).
                if let options = channel.syncOptions {
                    do {
                        try options.setOption(.allowRemoteHalfClosure, value: true)
                        try options.setOption(.recvAllocator, value: RelayReceiveAllocator.adaptive)
                    } catch {
                        return channel.close()
                    }
                }
                return self.accept(channel, connector: connector)
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
    private func accept(_ channel: Channel, connector: UpstreamConnector) -> EventLoopFuture<Void> {
        let client = ClientName(channel.remoteAddress)
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
        guard
            registry.admit(
                channel, limit: configuration.maxConnectionsPerClient, logger: logger, listener: "tcp")
        else { return channel.close() }
        let flow = registry.track(channel, inbound: configuration.tcpTproxy ? "TProxy" : "Redir")
        let halfCloseWait = TimeAmount.seconds(Int64(configuration.halfCloseWaitSeconds))
        let idleTimeout = TimeAmount.seconds(Int64(configuration.timeoutSeconds))
        let idleNote = IdleTimeoutNote(
            client: client, target: target, seconds: configuration.timeoutSeconds, logger: logger)
        let sniffWait = configuration.routing.sniffWaitMilliseconds
        do {
            if let routes, sniffWait > 0, routes.hasDomainRules {
                // Domain rules: the name in the client's first bytes may decide the route.
                let lanSide = RelayGlueHandler(
                    side: .lan, halfCloseWait: halfCloseWait, idleTimeout: idleTimeout, idleSweepers: idleSweepers)
                lanSide.flow = flow
                lanSide.idleNote = idleNote
                let sniffer = FirstBytesSniffer(wait: .milliseconds(Int64(sniffWait))) { name in
                    connector.connect(lanSide, client: client, target: target, sniffed: name, on: channel.eventLoop)
                }
                try channel.pipeline.syncOperations.addHandlers([sniffer, lanSide])
            } else {
                let lanSide = RelayGlueHandler(
                    side: .lan, halfCloseWait: halfCloseWait, idleTimeout: idleTimeout, idleSweepers: idleSweepers) {
                    lanSide in
                    connector.connect(lanSide, client: client, target: target, on: channel.eventLoop)
                }
                lanSide.flow = flow
                lanSide.idleNote = idleNote
                try channel.pipeline.syncOperations.addHandler(lanSide)
            }
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
}
