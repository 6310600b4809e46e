import NIOCore
import Rules

/// With domain rules loaded, a redirected connection is held for at most `wait` until the client's first bytes
/// name a host (TLS ClientHello SNI, HTTP Host). Then the buffered bytes go on to the relay glue, the handler
/// removes itself, and `onDecided` runs with the name (nil: none found; decide by address). A client that
/// sends nothing (server-first protocols) costs `wait` once; nothing waits longer, and at most
/// `maximumBuffered` bytes are held.
final class FirstBytesSniffer: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer
    typealias OutboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    /// A ClientHello with post-quantum key shares is ~1.8 KiB; 16 KiB (one TLS record) is plenty.
    static let maximumBuffered = 16 << 10

    private let wait: TimeAmount
    private var onDecided: ((String?) -> Void)?
    private var buffered: ByteBuffer?
    private var timer: Scheduled<Void>?
    private var heldInputClosed = false

    init(wait: TimeAmount, onDecided: @escaping (String?) -> Void) {
        self.wait = wait
        self.onDecided = onDecided
    }

    func channelActive(context: ChannelHandlerContext) {
        context.fireChannelActive()
        timer = context.eventLoop.assumeIsolated().scheduleTask(in: wait) { [self] in
            decide(context: context, domain: nil)
        }
        context.read()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard onDecided != nil else {
            context.fireChannelRead(data)
            return
        }
        var incoming = unwrapInboundIn(data)
        if buffered == nil {
            buffered = incoming
        } else {
            buffered!.writeBuffer(&incoming)
        }
        let bytes = buffered!.readableBytesView
        let tls = TLSClientHello.serverName(in: bytes)
        if case .found(let name) = tls { return decide(context: context, domain: name) }
        let http = HTTPRequestHost.host(in: bytes)
        if case .found(let name) = http { return decide(context: context, domain: name) }
        if tls == .notThisProtocol && http == .notThisProtocol || bytes.count >= Self.maximumBuffered {
            return decide(context: context, domain: nil)
        }
        context.read()
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if onDecided != nil, case .some(.inputClosed) = event as? ChannelEvent {
            // The client is done sending: what it sent is all there is to sniff.
            heldInputClosed = true
            decide(context: context, domain: nil)
            return
        }
        context.fireUserInboundEventTriggered(event)
    }

    func channelInactive(context: ChannelHandlerContext) {
        timer?.cancel()
        timer = nil
        onDecided = nil
        context.fireChannelInactive()
    }

    private func decide(context: ChannelHandlerContext, domain: String?) {
        guard let onDecided else { return }
        self.onDecided = nil
        timer?.cancel()
        timer = nil
        if let buffered {
            self.buffered = nil
            context.fireChannelRead(wrapInboundOut(buffered))
        }
        if heldInputClosed { context.fireUserInboundEventTriggered(ChannelEvent.inputClosed) }
        context.pipeline.syncOperations.removeHandler(context: context, promise: nil)
        onDecided(domain)
    }
}
