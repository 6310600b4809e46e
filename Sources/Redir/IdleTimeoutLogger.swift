import Logging
import NIOCore
import ShadowsocksProtocol

/// Sits after an `IdleStateHandler`: says why a connection is about to be closed for idleness (a stalled server, or
/// a client gone without a FIN), then passes the event on to the relay, which closes both sides.
final class IdleTimeoutLogger: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = NIOAny

    // The parts, not the line: it is written only when a connection times out, not for each one accepted.
    private let client: String
    private let target: SocksAddress
    private let seconds: Int
    private let logger: Logger

    init(client: String, target: SocksAddress, seconds: Int, logger: Logger) {
        self.client = client
        self.target = target
        self.seconds = seconds
        self.logger = logger
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if event is IdleStateHandler.IdleStateEvent {
            logger.info("tcp \(client) -> \(target): no data either way for \(seconds)s (timeout); closing both sides")
        }
        context.fireUserInboundEventTriggered(event)
    }
}
