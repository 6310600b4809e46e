import Config
import Logging
import NIOCore
import NIOPosix

/// The forwarder's sockets: UDP and TCP on `--dns-listen`. Each query is answered in a task of its own, so a
/// slow upstream holds up only its own asker.
enum DNSForwarderFront {
    static func bind(_ forwarder: DNSForwarder, on endpoint: ServerEndpoint, group: EventLoopGroup, logger: Logger)
        async throws -> [Channel]
    {
        let address = try SocketAddress(ipAddress: endpoint.host, port: endpoint.port)
        let udp = try await DatagramBootstrap(group: group)
            .channelOption(.socketOption(.so_reuseaddr), value: 1)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(DNSDatagramHandler(forwarder: forwarder))
                }
            }
            .bind(to: address).get()
        do {
            let tcp = try await ServerBootstrap(group: group)
                .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
                .childChannelInitializer { channel in
                    channel.eventLoop.makeCompletedFuture {
                        try channel.pipeline.syncOperations.addHandlers([
                            IdleStateHandler(allTimeout: .seconds(10)),
                            ByteToMessageHandler(DNSStreamFrameDecoder()),
                            DNSStreamHandler(forwarder: forwarder),
                        ])
                    }
                }
                .bind(to: address).get()
            return [udp, tcp]
        } catch {
            try? await udp.close()
            throw error
        }
    }
}

private final class DNSDatagramHandler: ChannelInboundHandler {
    typealias InboundIn = AddressedEnvelope<ByteBuffer>
    typealias OutboundOut = AddressedEnvelope<ByteBuffer>
    private let forwarder: DNSForwarder

    init(forwarder: DNSForwarder) {
        self.forwarder = forwarder
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let envelope = unwrapInboundIn(data)
        let query = Array(envelope.data.readableBytesView)
        let channel = context.channel
        let forwarder = self.forwarder
        let client = envelope.remoteAddress
        Task {
            guard let reply = await forwarder.answer(query, client: "\(client)", udpLimit: true) else { return }
            channel.writeAndFlush(AddressedEnvelope(remoteAddress: client, data: ByteBuffer(bytes: reply)), promise: nil)
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        // ICMP errors for earlier replies; the socket keeps serving.
    }
}

private final class DNSStreamHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer
    private let forwarder: DNSForwarder

    init(forwarder: DNSForwarder) {
        self.forwarder = forwarder
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let query = Array(unwrapInboundIn(data).readableBytesView)
        let channel = context.channel
        let forwarder = self.forwarder
        let client = "\(channel.remoteAddress.map { "\($0)" } ?? "?") (tcp)"
        Task {
            guard let reply = await forwarder.answer(query, client: client, udpLimit: false) else {
                channel.close(promise: nil)
                return
            }
            var framed = ByteBuffer()
            framed.writeInteger(UInt16(reply.count))
            framed.writeBytes(reply)
            channel.writeAndFlush(framed, promise: nil)
        }
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if event is IdleStateHandler.IdleStateEvent { context.close(promise: nil) }
        context.fireUserInboundEventTriggered(event)
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        context.close(promise: nil)
    }
}
