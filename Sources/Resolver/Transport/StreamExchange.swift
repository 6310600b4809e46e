import NIOCore
import NIOPosix

/// One query over TCP to one server: each message preceded by its 16-bit length (RFC 1035 4.2.2). Used after a
/// truncated UDP reply and for `options use-vc`. The whole try, connect included, is bounded by `timeout`.
enum StreamExchange {
    static func send(
        _ query: [UInt8], matching message: DNSMessage, to server: SocketAddress, timeout: TimeAmount,
        on eventLoop: any EventLoop, socket settings: SocketSettings
    ) async throws -> NameserverReply {
        let promise = eventLoop.makePromise(of: NameserverReply.self)
        let deadline = eventLoop.scheduleTask(in: timeout) { promise.fail(TransportFailure.timedOut) }
        let bootstrap = settings.apply(
            to: ClientBootstrap(group: eventLoop)
                .connectTimeout(timeout)
                .channelInitializer { channel in
                    channel.eventLoop.makeCompletedFuture {
                        try channel.pipeline.syncOperations.addHandler(
                            StreamReplyHandler(query: message, promise: promise))
                    }
                })
        return try await withTaskCancellationHandler {
            let connection = bootstrap.connect(to: server)
            // A connect still pending at the deadline is abandoned: close it when it completes.
            promise.futureResult.whenComplete { _ in
                deadline.cancel()
                connection.whenSuccess { $0.close(promise: nil) }
            }
            connection.whenFailure { promise.fail($0) }
            connection.whenSuccess { channel in
                var frame = channel.allocator.buffer(capacity: 2 + query.count)
                frame.writeInteger(UInt16(query.count))
                frame.writeBytes(query)
                channel.writeAndFlush(frame).whenFailure { promise.fail($0) }
            }
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

/// Collects one length-prefixed reply; anything but our answer ends the try.
final class StreamReplyHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer

    private let query: DNSMessage
    private let promise: EventLoopPromise<NameserverReply>
    private var received = ByteBuffer()

    init(query: DNSMessage, promise: EventLoopPromise<NameserverReply>) {
        self.query = query
        self.promise = promise
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var chunk = unwrapInboundIn(data)
        received.writeBuffer(&chunk)
        guard let length = received.getInteger(at: received.readerIndex, as: UInt16.self),
            received.readableBytes >= 2 + Int(length)
        else { return }
        let bytes = received.getBytes(at: received.readerIndex + 2, length: Int(length)) ?? []
        do {
            let message = try DNSMessage(parsing: bytes)
            guard message.isResponse(to: query) else {
                promise.fail(TransportFailure.badResponse("reply over TCP does not match the query"))
                return
            }
            promise.succeed(NameserverReply(bytes: bytes, message: message))
        } catch {
            promise.fail(TransportFailure.badResponse("\(error)"))
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        promise.fail(error)
    }

    func channelInactive(context: ChannelHandlerContext) {
        promise.fail(TransportFailure.unreachable("connection closed before the reply"))
    }
}
