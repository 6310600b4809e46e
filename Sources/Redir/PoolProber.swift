import Config
import Logging
import NIOCore
import NIOPosix
import ServerPool
import ShadowsocksCrypto
import ShadowsocksProtocol

/// Health probes for every pool member, on jittered intervals: a TCP connect, then (with a probe target) a real
/// Shadowsocks request through the member to that target, which must answer with authentic bytes. The time
/// to the first answer byte is the member's latency sample.
final class PoolProber: Sendable {
    static let timeout: TimeAmount = .seconds(5)

    private let pool: ServerPool
    private let target: SocksAddress?
    private let targetHost: String
    private let udpTarget: SocksAddress?
    private let interval: TimeAmount
    private let eventLoop: EventLoop
    private let mark: UInt32?
    /// The daemon's resolver for members' names.
    let addressBook: ServerAddressBook?
    private let logger: Logger

    init(
        pool: ServerPool, target: ServerEndpoint?, udpTarget: ServerEndpoint?, interval: TimeAmount,
        eventLoop: EventLoop, mark: UInt32?, logger: Logger, addressBook: ServerAddressBook? = nil
    ) {
        self.addressBook = addressBook
        self.udpTarget = udpTarget.map { SocksAddress(host: $0.host, port: $0.port) }
        self.pool = pool
        self.target = target.map { SocksAddress(host: $0.host, port: $0.port) }
        self.targetHost = target?.host ?? ""
        self.interval = interval
        self.eventLoop = eventLoop
        self.mark = mark
        self.logger = logger
    }

    /// Starts the probe cycle; it reschedules itself until the event loop shuts down.
    func start() {
        scheduleRound(after: .milliseconds(Int64.random(in: 100...500)))
    }

    private func scheduleRound(after delay: TimeAmount) {
        eventLoop.scheduleTask(in: delay) { [self] in
            for member in pool.members {
                probe(member)
                if member.udp { probeUDP(member) }
            }
            // ±20% jitter so members (and routers) do not probe in lockstep.
            let jitter = Double.random(in: 0.8...1.2)
            scheduleRound(after: .nanoseconds(Int64(Double(interval.nanoseconds) * jitter)))
        }
    }

    private func probe(_ member: ServerMember) {
        let started = NIODeadline.now()
        Self.request(
            through: member, target: target, targetHost: targetHost, eventLoop: eventLoop, mark: mark,
            addressBook: addressBook)
            .whenComplete { [pool, logger] result in
                switch result {
                case .success:
                    pool.recordSuccess(member, latency: .now() - started)
                case .failure(let error):
                    let reason = ConnectErrorText.describe(error)
                    logger.debug("probe \(member): \(reason)")
                    pool.recordFailure(member, reason: "probe: \(reason)")
                }
            }
    }

    /// A TCP connect to the member and, with a target, a real Shadowsocks request (HTTP HEAD) through it that
    /// must be answered with authentic bytes within `timeout`.
    static func request(
        through member: ServerMember, target: SocksAddress?, targetHost: String, eventLoop: EventLoop, mark: UInt32?,
        addressBook: ServerAddressBook? = nil, plugins: MemberPlugins? = nil
    ) -> EventLoopFuture<Void> {
        let answered = eventLoop.makePromise(of: Void.self)
        var bootstrap = ClientBootstrap(group: eventLoop)
            .connectTimeout(Self.timeout)
            .channelInitializer { channel in
                do {
                    if let target {
                        try channel.pipeline.syncOperations.addHandlers([
                            ShadowsocksClientCodec(key: member.key, target: target, logger: Logger(label: "probe")),
                            ProbeAnswerHandler(answered: answered),
                        ])
                    }
                    return channel.eventLoop.makeSucceededVoidFuture()
                } catch {
                    return channel.eventLoop.makeFailedFuture(error)
                }
            }
        if let mark {
            bootstrap = bootstrap.channelOption(OutboundMark.option(), value: Int(Int32(bitPattern: mark)))
        }
        let request = "HEAD / HTTP/1.1\r\nHost: \(targetHost)\r\nConnection: close\r\n\r\n"
        let connecting: EventLoopFuture<Channel>
        if let addressBook {
            let configured = NIOLoopBound(bootstrap, eventLoop: eventLoop)
            connecting = eventLoop.makeFutureWithTask { try await addressBook.tcpAddress(of: member) }
                .flatMap { configured.value.connect(to: $0) }
        } else if member.plugin != nil {
            if let local = plugins?.localAddress(for: member) {
                connecting = bootstrap.connect(to: local)
            } else {
                connecting = eventLoop.makeFailedFuture(PluginNotRunning(member: member))
            }
        } else {
            connecting = bootstrap.connect(host: member.endpoint.host, port: member.endpoint.port)
        }
        connecting.whenComplete { result in
            switch result {
            case .failure(let error):
                answered.fail(error)
            case .success(let channel):
                guard target != nil else {
                    answered.succeed()
                    channel.close(promise: nil)
                    return
                }
                channel.writeAndFlush(ByteBuffer(string: request), promise: nil)
                let timeout = eventLoop.scheduleTask(in: Self.timeout) {
                    answered.fail(ProbeFailure.noAnswer)
                }
                answered.futureResult.whenComplete { _ in
                    timeout.cancel()
                    channel.close(promise: nil)
                }
            }
        }
        return answered.futureResult
    }
}

extension PoolProber {
    /// A DNS query for the root's NS records (RFC 1035 section 4.1): any authentic answer proves the member
    /// relays UDP both ways.
    static let dnsQuery: [UInt8] = [0x5A, 0x5A, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 2, 0, 1]

    fileprivate func probeUDP(_ member: ServerMember) {
        guard let udpTarget else { return }
        Self.query(through: member, target: udpTarget, eventLoop: eventLoop, mark: mark, addressBook: addressBook)
            .whenComplete { [pool] result in
            switch result {
            case .success: pool.recordUDPProbe(member, ok: true)
            case .failure(let error): pool.recordUDPProbe(member, ok: false, reason: "\(error)")
            }
        }
    }

    /// One DNS query to `target` sealed as a Shadowsocks UDP packet; succeeds at the first authentic reply.
    /// `addressBook`: the daemon's (never blocks its loop); without one (`check`, on a loop of its own) the name
    /// is resolved with getaddrinfo.
    static func query(
        through member: ServerMember, target: SocksAddress, eventLoop: EventLoop, mark: UInt32?,
        addressBook: ServerAddressBook? = nil, plugins: MemberPlugins? = nil
    ) -> EventLoopFuture<Void> {
        let answered = eventLoop.makePromise(of: Void.self)
        let server: SocketAddress
        let packet: ByteBuffer
        let sessionID = ShadowsocksUDP.newSessionID()
        do {
            if let addressBook {
                guard let known = addressBook.cachedAddress(of: member.endpoint) else {
                    throw ServerNotResolvedYet(host: member.endpoint.host)
                }
                server = known
            } else {
                server = try SocketAddress.makeAddressResolvingHost(member.endpoint.host, port: member.endpoint.port)
            }
            var sealed = ByteBuffer()
            try ShadowsocksUDP.makeCodec(key: member.key, sessionID: sessionID).seal(
                target: target, payload: ByteBuffer(bytes: Self.dnsQuery), into: &sealed)
            packet = sealed
        } catch {
            answered.fail(error)
            return answered.futureResult
        }
        let key = member.key
        var bootstrap = DatagramBootstrap(group: eventLoop)
            .channelOption(.recvAllocator, value: FixedSizeRecvByteBufferAllocator(capacity: 65_536))
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(
                        try UDPProbeHandler(server: server, key: key, sessionID: sessionID, answered: answered))
                }
            }
        if let mark {
            bootstrap = bootstrap.channelOption(OutboundMark.option(), value: Int(Int32(bitPattern: mark)))
        }
        bootstrap.bind(host: server.protocol == .inet6 ? "::" : "0.0.0.0", port: 0).whenComplete { result in
            switch result {
            case .failure(let error):
                answered.fail(error)
            case .success(let channel):
                channel.writeAndFlush(AddressedEnvelope(remoteAddress: server, data: packet), promise: nil)
                let timeout = eventLoop.scheduleTask(in: Self.timeout) { answered.fail(ProbeFailure.noAnswer) }
                answered.futureResult.whenComplete { _ in
                    timeout.cancel()
                    channel.close(promise: nil)
                }
            }
        }
        return answered.futureResult
    }
}

/// Succeeds the UDP probe at the first datagram from the server that opens as an authentic packet.
final class UDPProbeHandler: ChannelInboundHandler {
    typealias InboundIn = AddressedEnvelope<ByteBuffer>
    private let server: SocketAddress
    private let codec: any ShadowsocksUDPCodec
    private let answered: EventLoopPromise<Void>

    init(server: SocketAddress, key: MasterKey, sessionID: UInt64, answered: EventLoopPromise<Void>) throws {
        self.server = server
        self.codec = try ShadowsocksUDP.makeCodec(key: key, sessionID: sessionID)
        self.answered = answered
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let envelope = unwrapInboundIn(data)
        guard envelope.remoteAddress.normalized == server.normalized, (try? codec.open(envelope.data)) != nil else {
            return
        }
        answered.succeed()
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        // ICMP unreachable: the timeout reports it.
    }
}

enum ProbeFailure: Error, CustomStringConvertible {
    case noAnswer, closedWithoutAnswer
    var description: String {
        switch self {
        case .noAnswer: "no answer through the server within \(PoolProber.timeout)"
        case .closedWithoutAnswer: "the server closed without an authentic answer"
        }
    }
}

/// Succeeds the probe at the first authentic plaintext byte; fails it if the connection ends first.
final class ProbeAnswerHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    private let answered: EventLoopPromise<Void>

    init(answered: EventLoopPromise<Void>) {
        self.answered = answered
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        if unwrapInboundIn(data).readableBytes > 0 { answered.succeed() }
    }

    func channelInactive(context: ChannelHandlerContext) {
        answered.fail(ProbeFailure.closedWithoutAnswer)
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        answered.fail(error)
        context.close(promise: nil)
    }
}

extension SocksAddress {
    /// An IP literal becomes an address, anything else a domain name for the server to resolve.
    init(host: String, port: Int) {
        if let address = try? SocketAddress(ipAddress: host, port: port), let socks = address.socksAddress {
            self = socks
        } else {
            self = .domain(host, port: UInt16(port))
        }
    }
}
