#if canImport(Glibc)
import Glibc
#endif
import Config
import Logging
import NIOCore
import NIOPosix
import IPAddresses
import ServerPool
import Rules
import ShadowsocksCrypto
import ShadowsocksProtocol

/// The shared TCP relay client: given a LAN-side relay handler and a target, it picks a pool member, opens the
/// encrypted upstream connection and links the two. Every front (redirect, TPROXY, SOCKS5) goes through here.
///
/// A class: every connection's callbacks capture it, and a struct holding the whole configuration was copied into
/// each of them (a kilobyte and about a hundred retains per connection; docs/performance.md).
final class UpstreamConnector: Sendable {
    let logger: Logger
    /// SO_MARK for upstream sockets, when the process may set one.
    let mark: UInt32?
    let pool: ServerPool
    /// TCP_NODELAY on upstream sockets (`no_delay`).
    private let noDelay: Bool
    /// `timeout`, at most 10 s: how long a connect may take before the next member is tried.
    private let connectTimeout: TimeAmount
    /// TCP_FASTOPEN_CONNECT on upstream sockets (`fast_open`).
    private let fastOpen: Bool
    /// Bypass rules; nil: everything is proxied.
    let routes: RouteRules?
    /// Counts of direct (bypassed) connections, for status.
    let directCounters: DirectCounters?
    /// Resolves members' host names (nil: NIO's getaddrinfo, for tools like `check`).
    let addressBook: ServerAddressBook?

    init(
        configuration: RedirConfiguration, logger: Logger, mark: UInt32?, pool: ServerPool, routes: RouteRules?,
        directCounters: DirectCounters?, addressBook: ServerAddressBook?
    ) {
        self.logger = logger
        self.mark = mark
        self.pool = pool
        self.noDelay = configuration.noDelay
        self.connectTimeout = .seconds(Int64(min(configuration.timeoutSeconds, 10)))
        self.fastOpen = configuration.fastOpen
        self.routes = routes
        self.directCounters = directCounters
        self.addressBook = addressBook
    }

    /// Decides by the rules (a `sniffed` name from the client's first bytes counts as the target's name), then
    /// either connects directly (bypass) or through a pool member. When a member fails before any byte was
    /// exchanged, the next member is tried, so a dead server costs a client nothing but the connect attempt.
    /// `onFailure` runs when nothing could be reached, with the last connect error (the LAN side is closed
    /// right after).
    func connect(
        _ lanSide: RelayGlueHandler, client: ClientName, target: SocksAddress, sniffed: String? = nil,
        on eventLoop: EventLoop, onConnected: (@Sendable () -> Void)? = nil,
        onFailure: (@Sendable (Error?) -> Void)? = nil
    ) {
        var upstreamTarget = target
        // An address in the Host header ("Host: 192.0.2.1") names nothing more than the destination does.
        let sniffed = sniffed.flatMap { name in
            IPAddress(name) == nil && !(name.hasPrefix("[") && name.hasSuffix("]")) ? name : nil
        }
        let flow = lanSide.flow
        flow?.destination = target
        if let routes {
            let (decision, domain, rules) = routes.decide(target: target, sniffed: sniffed)
            let named = domain.map { " (\($0))" } ?? ""
            if let flow {
                flow.host = domain ?? ""
                flow.decision = decision
                flow.rules = rules
            }
            if decision.action == .bypass {
                logger.info("tcp \(client) -> \(target)\(named): \(rules.describe(decision)), direct")
                connectDirect(lanSide, client: client, target: target, on: eventLoop, onConnected: onConnected,
                    onFailure: onFailure)
                return
            }
            logger.debug("tcp \(client) -> \(target)\(named): \(rules.describe(decision))")
            // A sniffed name goes to the server instead of the address, so the server resolves it (sing-box's
            // sniff_override_destination): the client's own resolver may have been poisoned.
            if let sniffed { upstreamTarget = .domain(sniffed, port: target.port) }
        }
        connect(lanSide, client: client, target: upstreamTarget, on: eventLoop, tried: [], lastError: nil,
            onConnected: onConnected, onFailure: onFailure)
    }

    /// A bypassed flow: a plain TCP connection to the destination, marked so the gateway's rules let it pass.
    private func connectDirect(
        _ lanSide: RelayGlueHandler, client: ClientName, target: SocksAddress, on eventLoop: EventLoop,
        onConnected: (@Sendable () -> Void)?, onFailure: (@Sendable (Error?) -> Void)?
    ) {
        let noDelay: SocketOptionValue = self.noDelay ? 1 : 0
        let mark = self.mark
        let bootstrap = ClientBootstrap(group: eventLoop)
            .channelOption(.tcpOption(.tcp_nodelay), value: noDelay)
            .connectTimeout(connectTimeout)
            .channelInitializer { upstream in
                upstream.eventLoop.makeCompletedFuture {
                    try Self.applyOptions(to: upstream, mark: mark)
                    try upstream.pipeline.syncOperations.addHandler(RelayGlueHandler(side: .upstream))
                }
            }
        let connecting: EventLoopFuture<Channel>
        if let address = SocketAddress(target) {
            connecting = bootstrap.connect(to: address)
        } else {
            connecting = bootstrap.connect(host: target.domainName ?? "", port: Int(target.port))
        }
        let counters = directCounters
        let logger = self.logger
        connecting.flatMapThrowing { upstream in
            try upstream.pipeline.syncOperations.handler(type: RelayGlueHandler.self)
        }.assumeIsolated().whenComplete { result in
            switch result {
            case .success(let upstreamSide):
                lanSide.flow?.direct = true
                counters?.opened()
                lanSide.onClose = { up, down in counters?.closed(bytesUp: up, bytesDown: down) }
                onConnected?()
                lanSide.link(upstream: upstreamSide)
            case .failure(let error):
                counters?.failed()
                logger.warning("tcp \(client) -> \(target) (direct): \(ConnectErrorText.describe(error)); closing")
                onFailure?(error)
                lanSide.closeChannel()
            }
        }
    }

    private func connect(
        _ lanSide: RelayGlueHandler, client: ClientName, target: SocksAddress, on eventLoop: EventLoop,
        tried: [ServerPool.Member], lastError: Error?, onConnected: (@Sendable () -> Void)?,
        onFailure: (@Sendable (Error?) -> Void)?
    ) {
        // The pool's member object, not a ServerMember value: the connect path passes and compares a reference.
        guard let chosen = pool.chooseMember(excluding: tried) else {
            logger.warning("tcp \(client) -> \(target): no server could be reached (tried \(tried.count)); closing")
            onFailure?(lastError)
            lanSide.closeChannel()
            return
        }
        logger.info("tcp \(client) -> \(target) via \(chosen.server)")
        let pool = self.pool
        connectUpstream(through: chosen, target: target, on: eventLoop).assumeIsolated().whenComplete {
            [self] result in
            switch result {
            case .success(let upstreamSide):
                lanSide.flow?.poolMember = chosen
                pool.connected(chosen)
                lanSide.onClose = { up, down in chosen.connectionClosed(bytesUp: up, bytesDown: down) }
                onConnected?()
                lanSide.link(upstream: upstreamSide)
            case .failure(let error):
                let reason = ConnectErrorText.describe(error)
                pool.connectFailed(chosen, reason: "connect: \(reason)")
                logger.warning("tcp \(client) -> \(target): cannot reach server \(chosen.server): \(reason)")
                guard lanSide.isActive else { return }
                connect(lanSide, client: client, target: target, on: eventLoop, tried: tried + [chosen],
                    lastError: error, onConnected: onConnected, onFailure: onFailure)
            }
        }
    }

    /// Half-closure, receive buffer sizes and SO_MARK, set in place from the initializer: a bootstrap's channel
    /// options are applied as a chain of futures, a few allocations and callbacks each, for every connection.
    private static func applyOptions(to upstream: Channel, mark: UInt32?) throws {
        guard let options = upstream.syncOptions else { return }
        try options.setOption(.allowRemoteHalfClosure, value: true)
        try options.setOption(.recvAllocator, value: RelayReceiveAllocator.adaptive)
        if let mark { try options.setOption(OutboundMark.option(), value: Int(Int32(bitPattern: mark))) }
    }

    private func connectUpstream(
        through poolMember: ServerPool.Member, target: SocksAddress, on eventLoop: EventLoop
    ) -> EventLoopFuture<RelayGlueHandler> {
        // Fields read through the reference: a whole ServerMember copy is a retain per string and key.
        let server = poolMember.server.endpoint
        let key = poolMember.server.key
        let logger = self.logger
        // One connect makes one channel: its relay handler is made here and handed back when it connects, instead
        // of being looked up in the pipeline by type (a walk with a dynamic cast per handler).
        let upstreamSide = NIOLoopBound(RelayGlueHandler(side: .upstream), eventLoop: eventLoop)
        let noDelay: SocketOptionValue = self.noDelay ? 1 : 0
        let mark = self.mark
        var bootstrap = ClientBootstrap(group: eventLoop)
            .channelOption(.tcpOption(.tcp_nodelay), value: noDelay)
            .connectTimeout(connectTimeout)
            .channelInitializer { upstream in
                do {
                    try Self.applyOptions(to: upstream, mark: mark)
                    try upstream.pipeline.syncOperations.addHandlers([
                        ShadowsocksClientCodec(key: key, target: target, logger: logger), upstreamSide.value,
                    ])
                    return upstream.eventLoop.makeSucceededVoidFuture()
                } catch {
                    return upstream.eventLoop.makeFailedFuture(error)
                }
            }
        if fastOpen {
            // TCP_FASTOPEN_CONNECT (Linux 4.11+): the first write rides on the SYN.
            bootstrap = bootstrap.channelOption(.tcpOption(NIOBSDSocket.Option(rawValue: 30)), value: 1)
        }
        let connecting: EventLoopFuture<Channel>
        if let address = addressBook?.immediateTCPAddress(of: poolMember.server) {
            // No task hop for an address known now: a Task per connection cost a thread wake-up each.
            connecting = bootstrap.connect(to: address)
        } else if let addressBook {
            let configured = NIOLoopBound(bootstrap, eventLoop: eventLoop)
            connecting = eventLoop.makeFutureWithTask { try await addressBook.tcpAddress(of: poolMember.server) }
                .flatMap { configured.value.connect(to: $0) }
        } else if poolMember.server.plugin != nil {
            connecting = eventLoop.makeFailedFuture(PluginNotRunning(member: poolMember.server))
        } else {
            connecting = bootstrap.connect(host: server.host, port: server.port)
        }
        return connecting.map { _ in upstreamSide.value }
    }
}
