import Config
import Logging
import NIOCore
import NIOPosix
import Resolver
import ServerPool
import ShadowsocksCrypto
import ShadowsocksProtocol

/// Proxied names are asked of `--dns-remote` through a pool member: over Shadowsocks UDP (one socket per query,
/// the reply must open with the member's key and carry the query's id), and over a Shadowsocks TCP stream when
/// the UDP answer was truncated or no member relays UDP (RFC 1035 4.2.2 framing).
struct DNSTunnel: Sendable {
    let pool: ServerPool
    let remote: SocksAddress
    let group: EventLoopGroup
    let resolver: StubResolver
    let mark: UInt32?
    let logger: Logger
    var plugins: MemberPlugins?
    static let timeout: TimeAmount = .seconds(4)

    struct Failure: Error, CustomStringConvertible {
        let description: String
    }

    func exchange(_ query: [UInt8]) async throws -> [UInt8] {
        var lastError: Error = Failure(description: "no server in the pool")
        var tried: Set<ServerMember> = []
        // Two members at most: a dead one costs one timeout, not the client's whole patience.
        for _ in 0..<2 {
            guard let member = pool.choose(forUDP: true, excluding: tried) ?? pool.choose(excluding: tried) else { break }
            tried.insert(member)
            do {
                let server = try await address(of: member)
                if member.udp {
                    let reply = try await overUDP(query, member: member, server: server)
                    guard reply.count > 2, reply[2] & 0x02 != 0 else { return reply }  // TC: ask again over TCP
                }
                return try await overTCP(query, member: member, server: server)
            } catch {
                lastError = error
                logger.debug("dns: through \(member): \(error)")
            }
        }
        throw lastError
    }

    private func address(of member: ServerMember) async throws -> SocketAddress {
        let addresses = try await resolver.addresses(for: member.endpoint.host)
        guard let first = addresses.first else { throw Failure(description: "\(member.endpoint.host): no address") }
        return try SocketAddress(ipAddress: first.description, port: member.endpoint.port)
    }

    private func overUDP(_ query: [UInt8], member: ServerMember, server: SocketAddress) async throws -> [UInt8] {
        let sessionID = ShadowsocksUDP.newSessionID()
        let codec = try ShadowsocksUDP.makeCodec(key: member.key, sessionID: sessionID)
        var packet = ByteBuffer()
        try codec.seal(target: remote, payload: ByteBuffer(bytes: query), into: &packet)
        let eventLoop = group.next()
        let answered = eventLoop.makePromise(of: [UInt8].self)
        let id = DNSWireEdits.id(of: query)
        var bootstrap = DatagramBootstrap(group: eventLoop)
            .channelOption(.recvAllocator, value: FixedSizeRecvByteBufferAllocator(capacity: 65_536))
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(
                        TunnelReplyHandler(
                            server: server, key: member.key, sessionID: sessionID, id: id, answered: answered))
                }
            }
        if let mark {
            bootstrap = bootstrap.channelOption(OutboundMark.option(), value: Int(Int32(bitPattern: mark)))
        }
        let channel = try await bootstrap.bind(host: server.protocol == .inet6 ? "::" : "0.0.0.0", port: 0).get()
        let timeout = eventLoop.scheduleTask(in: Self.timeout) {
            answered.fail(Failure(description: "no answer over UDP within \(Self.timeout)"))
        }
        channel.writeAndFlush(AddressedEnvelope(remoteAddress: server, data: packet), promise: nil)
        defer {
            timeout.cancel()
            channel.close(promise: nil)
        }
        return try await answered.futureResult.get()
    }

    private func overTCP(_ query: [UInt8], member: ServerMember, server: SocketAddress) async throws -> [UInt8] {
        let eventLoop = group.next()
        let answered = eventLoop.makePromise(of: [UInt8].self)
        let remote = self.remote
        let logger = self.logger
        var bootstrap = ClientBootstrap(group: eventLoop)
            .connectTimeout(Self.timeout)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandlers([
                        ShadowsocksClientCodec(key: member.key, target: remote, logger: logger),
                        ByteToMessageHandler(DNSStreamFrameDecoder()),
                        TunnelStreamReplyHandler(answered: answered),
                    ])
                }
            }
        if let mark {
            bootstrap = bootstrap.channelOption(OutboundMark.option(), value: Int(Int32(bitPattern: mark)))
        }
        // A member with a SIP003 plugin is reached over TCP through it (UDP still goes to the server).
        let address = try await ServerAddressBook.tcpAddress(of: member, plugins: plugins) { _ in server }
        let channel = try await bootstrap.connect(to: address).get()
        let timeout = eventLoop.scheduleTask(in: Self.timeout) {
            answered.fail(Failure(description: "no answer over TCP within \(Self.timeout)"))
        }
        var framed = ByteBuffer()
        framed.writeInteger(UInt16(query.count))
        framed.writeBytes(query)
        channel.writeAndFlush(framed, promise: nil)
        defer {
            timeout.cancel()
            channel.close(promise: nil)
        }
        return try await answered.futureResult.get()
    }
}

/// The first datagram from the member that opens with its key and carries the query's id.
private final class TunnelReplyHandler: ChannelInboundHandler {
    typealias InboundIn = AddressedEnvelope<ByteBuffer>
    private let server: SocketAddress
    private let codec: any ShadowsocksUDPCodec
    private let id: UInt16?
    private let answered: EventLoopPromise<[UInt8]>

    init(
        server: SocketAddress, key: MasterKey, sessionID: UInt64, id: UInt16?, answered: EventLoopPromise<[UInt8]>
    ) throws {
        self.server = server
        self.codec = try ShadowsocksUDP.makeCodec(key: key, sessionID: sessionID)
        self.id = id
        self.answered = answered
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let envelope = unwrapInboundIn(data)
        guard envelope.remoteAddress.normalized == server.normalized,
            let opened = try? codec.open(envelope.data)
        else { return }
        let reply = Array(opened.payload.readableBytesView)
        guard DNSWireEdits.id(of: reply) == id else { return }
        answered.succeed(reply)
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {}
}

/// The first length-prefixed message on the stream.
private final class TunnelStreamReplyHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    private let answered: EventLoopPromise<[UInt8]>

    init(answered: EventLoopPromise<[UInt8]>) {
        self.answered = answered
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        answered.succeed(Array(unwrapInboundIn(data).readableBytesView))
    }

    func channelInactive(context: ChannelHandlerContext) {
        answered.fail(DNSTunnel.Failure(description: "the server closed the stream without an answer"))
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        answered.fail(error)
        context.close(promise: nil)
    }
}
