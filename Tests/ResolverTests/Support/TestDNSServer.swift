import IPAddresses
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import Resolver

/// A tiny scripted DNS server on loopback, UDP and TCP on one port, for the behaviours dnsmasq will not produce
/// on demand (truncation, silence, spoofed replies, SERVFAIL). `script` returns the replies to send, in order;
/// an empty list means stay silent.
final class TestDNSServer: Sendable {
    enum Transport: Sendable, Equatable { case udp, tcp }

    enum Reply: Sendable {
        case message(DNSMessage)
        case raw([UInt8])
    }

    typealias Script = @Sendable (DNSMessage, Transport) -> [Reply]

    struct Received: Sendable {
        let question: DNSQuestion
        let transport: Transport
        let id: UInt16
        let edns: EDNSRecord?
    }

    let address: SocketAddress
    var port: Int { address.port! }
    private let channels: [any Channel]
    private let log: NIOLockedValueBox<[Received]>

    private init(address: SocketAddress, channels: [any Channel], log: NIOLockedValueBox<[Received]>) {
        self.address = address
        self.channels = channels
        self.log = log
    }

    var received: [Received] { log.withLockedValue { $0 } }

    func count(_ name: String, _ type: DNSRecordType, over transport: Transport? = nil) -> Int {
        let wanted = try! DNSName(name)
        return received.filter {
            $0.question.name == wanted && $0.question.type == type && (transport == nil || $0.transport == transport)
        }.count
    }

    /// Binds UDP on `host` (port 0 picks one) and TCP on the same port.
    static func start(
        host: String = "127.0.0.1", port: Int = 0, group: any EventLoopGroup, script: @escaping Script
    ) async throws -> TestDNSServer {
        let log = NIOLockedValueBox<[Received]>([])
        for _ in 0..<10 {
            let udp = try await DatagramBootstrap(group: group)
                .channelInitializer { channel in
                    channel.eventLoop.makeCompletedFuture {
                        try channel.pipeline.syncOperations.addHandler(DatagramServerHandler(script: script, log: log))
                    }
                }
                .bind(host: host, port: port).get()
            let bound = udp.localAddress!
            do {
                let tcp = try await ServerBootstrap(group: group)
                    .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
                    .childChannelInitializer { channel in
                        channel.eventLoop.makeCompletedFuture {
                            try channel.pipeline.syncOperations.addHandler(
                                StreamServerHandler(script: script, log: log))
                        }
                    }
                    .bind(to: bound).get()
                return TestDNSServer(address: bound, channels: [udp, tcp], log: log)
            } catch {
                try? await udp.close()
                if port != 0 { throw error }
            }
        }
        throw ChannelError.inappropriateOperationForState
    }

    func stop() async {
        for channel in channels { try? await channel.close() }
    }

    /// The usual answer: A or AAAA records from `addresses` for any name.
    static func answering(_ addresses: [String], ttl: UInt32 = 60) -> Script {
        let parsed = addresses.map { IPAddress($0)! }
        return { query, _ in
            [.message(DNSMessage.answer(to: query, addresses: parsed, ttl: ttl))]
        }
    }

    fileprivate static func handle(
        _ bytes: [UInt8], over transport: Transport, script: Script,
        log: NIOLockedValueBox<[Received]>
    ) -> [[UInt8]] {
        guard let query = try? DNSMessage(parsing: bytes), let question = query.questions.first else { return [] }
        log.withLockedValue {
            $0.append(Received(question: question, transport: transport, id: query.header.id, edns: query.edns))
        }
        return script(query, transport).map {
            switch $0 {
            case .message(let message): try! message.serialized()
            case .raw(let bytes): bytes
            }
        }
    }
}

private final class DatagramServerHandler: ChannelInboundHandler {
    typealias InboundIn = AddressedEnvelope<ByteBuffer>
    typealias OutboundOut = AddressedEnvelope<ByteBuffer>
    let script: TestDNSServer.Script
    let log: NIOLockedValueBox<[TestDNSServer.Received]>

    init(script: @escaping TestDNSServer.Script, log: NIOLockedValueBox<[TestDNSServer.Received]>) {
        self.script = script
        self.log = log
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let envelope = unwrapInboundIn(data)
        let replies = TestDNSServer.handle(
            Array(envelope.data.readableBytesView), over: .udp, script: script, log: log)
        for reply in replies {
            context.write(
                wrapOutboundOut(
                    AddressedEnvelope(remoteAddress: envelope.remoteAddress, data: ByteBuffer(bytes: reply))),
                promise: nil)
        }
        context.flush()
    }
}

private final class StreamServerHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer
    let script: TestDNSServer.Script
    let log: NIOLockedValueBox<[TestDNSServer.Received]>
    var buffer = ByteBuffer()

    init(script: @escaping TestDNSServer.Script, log: NIOLockedValueBox<[TestDNSServer.Received]>) {
        self.script = script
        self.log = log
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var chunk = unwrapInboundIn(data)
        buffer.writeBuffer(&chunk)
        while let length = buffer.getInteger(at: buffer.readerIndex, as: UInt16.self),
            buffer.readableBytes >= 2 + Int(length)
        {
            buffer.moveReaderIndex(forwardBy: 2)
            let query = buffer.readBytes(length: Int(length))!
            for reply in TestDNSServer.handle(query, over: .tcp, script: script, log: log) {
                var frame = ByteBuffer()
                frame.writeInteger(UInt16(reply.count))
                frame.writeBytes(reply)
                context.write(wrapOutboundOut(frame), promise: nil)
            }
            context.flush()
        }
    }
}
