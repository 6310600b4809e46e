import NIOCore

/// Reads what targets send back to an association's outbound socket and hands it to the relay.
final class ServerUDPTargetHandler: ChannelInboundHandler {
    typealias InboundIn = AddressedEnvelope<ByteBuffer>

    private let onReply: (AddressedEnvelope<ByteBuffer>) -> Void
    private let onReadComplete: () -> Void

    init(onReply: @escaping (AddressedEnvelope<ByteBuffer>) -> Void, onReadComplete: @escaping () -> Void) {
        self.onReply = onReply
        self.onReadComplete = onReadComplete
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        onReply(unwrapInboundIn(data))
    }

    /// Replies written during this read go out together.
    func channelReadComplete(context: ChannelHandlerContext) {
        onReadComplete()
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        // ICMP port unreachable and friends arrive here on a datagram socket; the association just idles out.
    }
}
