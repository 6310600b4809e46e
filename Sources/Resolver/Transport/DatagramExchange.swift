import NIOCore
import NIOPosix

/// One query over UDP to one server (RFC 1035 4.2.1). The socket is fresh for each try, so the kernel picks a
/// random source port, and connected, so ICMP errors surface as "connection refused" instead of a timeout.
/// A datagram only counts when it comes from the server and answers our id and question; anything else is
/// dropped and the wait goes on, as a stub must to resist blind spoofing.
enum DatagramExchange {
    /// Large enough for any EDNS payload size a reply may use.
    static let receiveBufferSize = 65535

    static func send(
        _ query: [UInt8], matching message: DNSMessage, to server: SocketAddress, timeout: TimeAmount,
        on eventLoop: any EventLoop, socket settings: SocketSettings
    ) async throws -> NameserverReply {
        let promise = eventLoop.makePromise(of: NameserverReply.self)
        let bootstrap = settings.apply(
            to: DatagramBootstrap(group: eventLoop)
                .channelOption(.recvAllocator, value: FixedSizeRecvByteBufferAllocator(capacity: receiveBufferSize))
                .channelInitializer { channel in
                    channel.eventLoop.makeCompletedFuture {
                        try channel.pipeline.syncOperations.addHandler(
                            DatagramReplyHandler(server: server, query: message, promise: promise))
                    }
                })
        return try await withTaskCancellationHandler {
            let channel: any Channel
            do {
                channel = try await bootstrap.connect(to: server).get()
            } catch {
                promise.fail(error)
                throw TransportFailure.mapping(error)
            }
            // The wait is for the server, from the moment the query goes out: on a loaded machine opening the
            // socket can take longer than `timeout`, and a timer started before it would expire unsent tries.
            let deadline = eventLoop.scheduleTask(in: timeout) { promise.fail(TransportFailure.timedOut) }
            promise.futureResult.whenComplete { _ in
                deadline.cancel()
                channel.close(promise: nil)
            }
            channel.writeAndFlush(ByteBuffer(bytes: query)).whenFailure { promise.fail($0) }
            do {
                return try await promise.futureResult.get()
            } catch {
                throw TransportFailure.mapping(error)
            }
        } onCancel: {
            promise.fail(CancellationError())
        }
    }
}

/// Waits for the one datagram that answers the query; fails the promise on a socket error.
final class DatagramReplyHandler: ChannelInboundHandler {
    typealias InboundIn = AddressedEnvelope<ByteBuffer>

    private let server: SocketAddress
    private let query: DNSMessage
    private let promise: EventLoopPromise<NameserverReply>
    /// Datagrams dropped as not ours (wrong source, id or question, or unparsable).
    private(set) var ignored = 0

    init(server: SocketAddress, query: DNSMessage, promise: EventLoopPromise<NameserverReply>) {
        self.server = server
        self.query = query
        self.promise = promise
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let envelope = unwrapInboundIn(data)
        let bytes = Array(envelope.data.readableBytesView)
        guard envelope.remoteAddress == server, let message = try? DNSMessage(parsing: bytes),
            message.isResponse(to: query)
        else {
            ignored += 1
            return
        }
        promise.succeed(NameserverReply(bytes: bytes, message: message))
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        promise.fail(error)
    }

    func channelInactive(context: ChannelHandlerContext) {
        promise.fail(TransportFailure.unreachable("socket closed"))
    }
}
