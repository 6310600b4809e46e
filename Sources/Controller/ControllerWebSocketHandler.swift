import NIOCore
import NIOWebSocket

/// A streamed endpoint over WebSocket (RFC 6455): each JSON line is one text frame. The client's frames are
/// not read for content; pings get pongs, a close frame is answered and ends the stream.
final class ControllerWebSocketHandler: ChannelInboundHandler {
    typealias InboundIn = WebSocketFrame
    typealias OutboundOut = WebSocketFrame

    private let shared: ControllerShared
    private let kind: ControllerStream
    private var session: StreamSession?
    private var closing = false

    init(shared: ControllerShared, kind: ControllerStream) {
        self.shared = shared
        self.kind = kind
    }

    func handlerAdded(context: ChannelHandlerContext) {
        let channel = context.channel
        let session = StreamSession(kind: kind, router: shared.router, channel: channel) { [weak self] line in
            guard let self, !self.closing else { return }
            var buffer = channel.allocator.buffer(capacity: line.utf8.count)
            buffer.writeString(line)
            context.writeAndFlush(
                self.wrapOutboundOut(WebSocketFrame(fin: true, opcode: .text, data: buffer)), promise: nil)
        }
        self.session = session
        session.start()
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        stop()
    }

    func channelInactive(context: ChannelHandlerContext) {
        stop()
        context.fireChannelInactive()
    }

    private func stop() {
        guard let session else { return }
        session.stop()
        self.session = nil
        shared.releaseStream()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let frame = unwrapInboundIn(data)
        switch frame.opcode {
        case .ping:
            var payload = frame.unmaskedData
            let pong = WebSocketFrame(
                fin: true, opcode: .pong, data: payload.readSlice(length: payload.readableBytes) ?? payload)
            context.writeAndFlush(wrapOutboundOut(pong), promise: nil)
        case .connectionClose:
            guard !closing else { return }
            closing = true
            stop()
            let close = WebSocketFrame(
                fin: true, opcode: .connectionClose, data: context.channel.allocator.buffer(capacity: 0))
            context.writeAndFlush(wrapOutboundOut(close)).assumeIsolated().whenComplete { _ in
                context.close(promise: nil)
            }
        default:
            break
        }
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        // WebSocket clients of these endpoints only listen: read idleness is expected.
        if event is IdleStateHandler.IdleStateEvent { return }
        context.fireUserInboundEventTriggered(event)
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        context.close(promise: nil)
    }
}
