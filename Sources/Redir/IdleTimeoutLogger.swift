import Logging
import NIOCore

/// Sits after an `IdleStateHandler`: says why a connection is about to be closed for idleness (a stalled server, or
/// a client gone without a FIN), then passes the event on to the relay, which closes both sides.
final class IdleTimeoutLogger: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = NIOAny

    private let connection: String
    private let seconds: Int
    private let logger: Logger

    init(connection: String, seconds: Int, logger: Logger) {
        self.connection = connection
        self.seconds = seconds
        self.logger = logger
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        context.fireChannelRead(data)
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if event is IdleStateHandler.IdleStateEvent {
            logger.info("\(connection): no data either way for \(seconds)s (timeout); closing both sides")
        }
        context.fireUserInboundEventTriggered(event)
    }
}
