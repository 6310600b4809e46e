import Logging
import NIOCore
import ShadowsocksCrypto
import ShadowsocksProtocol

/// The server end of one client connection, between the socket and the relay's client side: decrypts what the
/// client sends (first the target address, then payload for the target) and encrypts what the target answers.
///
/// Until the target address has arrived it reads on its own (the relay holds reads while it has no partner), and
/// a connection that has sent bytes but no valid address by the deadline (min(timeout, 10 s)) is closed then. A
/// stream that fails authentication, replays a salt or carries a malformed address is not closed early: its
/// bytes are read and discarded until that same deadline, so a prober sees the same thing whatever it sent
/// (no oracle for the key; SIP004 servers are advised to behave like this).
final class ServerTCPSessionHandler: ChannelDuplexHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer
    typealias OutboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private enum State {
        case awaitingTarget
        /// The target is known: payload goes on to the relay, which connects and then drives the reads.
        case forwarding
        /// Bad authentication, replay or malformed address: read and discard until the deadline.
        case rejected
    }

    private var state: State = .awaitingTarget
    private var decoder: ServerStreamDecoder
    private var encoder: ShadowsocksTCPEncoder
    private let headerTimeout: TimeAmount
    private var deadline: Scheduled<Void>?
    private var receivedAny = false
    private let client: String
    private let logger: Logger
    private let counters: ServerCounters
    /// Runs once, on the channel's event loop, when the target address has arrived.
    private let onTarget: (SocksAddress) -> Void

    init(
        key: MasterKey, saltFilter: (any SaltFilter)?, headerTimeout: TimeAmount, client: String, logger: Logger,
        counters: ServerCounters, onTarget: @escaping (SocksAddress) -> Void
    ) throws {
        let (decoder, encoder) = try ShadowsocksTCP.makeServerCodecs(key: key, saltFilter: saltFilter)
        self.decoder = ServerStreamDecoder(decoder)
        self.encoder = encoder
        self.headerTimeout = headerTimeout
        self.client = client
        self.logger = logger
        self.counters = counters
        self.onTarget = onTarget
    }

    // MARK: Deadline

    func handlerAdded(context: ChannelHandlerContext) {
        if context.channel.isActive { startDeadline(context: context) }
    }

    func channelActive(context: ChannelHandlerContext) {
        startDeadline(context: context)
        context.fireChannelActive()
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        deadline?.cancel()
        deadline = nil
    }

    private func startDeadline(context: ChannelHandlerContext) {
        guard deadline == nil, case .awaitingTarget = state else { return }
        let channel = context.channel
        deadline = context.eventLoop.assumeIsolated().scheduleTask(in: headerTimeout) { [self] in
            deadline = nil
            switch state {
            case .awaitingTarget:
                if receivedAny {
                    counters.count(
                        .noTargetInTime, logger: logger,
                        detail: "tcp \(client): no target address within \(seconds)s; closing")
                }
            case .rejected:
                logger.info("tcp \(client): closing the rejected connection at its \(seconds)s deadline")
            case .forwarding:
                return
            }
            channel.close(promise: nil)
        }
    }

    private var seconds: Int64 { headerTimeout.nanoseconds / 1_000_000_000 }

    // MARK: Inbound

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let ciphertext = unwrapInboundIn(data)
        receivedAny = true
        switch state {
        case .rejected:
            return
        case .awaitingTarget, .forwarding:
            var target: SocksAddress?
            do {
                try decoder.process(ciphertext) { output in
                    switch output {
                    case .target(let address): target = address
                    case .payload(let payload): context.fireChannelRead(wrapInboundOut(payload))
                    }
                }
            } catch {
                fail(context: context, error)
            }
            // After the first payload has gone to the relay, so it travels with the connect.
            if let target { targetArrived(target) }
        }
    }

    private func targetArrived(_ target: SocksAddress) {
        guard case .awaitingTarget = state else { return }
        state = .forwarding
        deadline?.cancel()
        deadline = nil
        onTarget(target)
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        switch state {
        case .awaitingTarget, .rejected:
            context.read()  // the relay lets no read through before it has a target
        case .forwarding:
            break
        }
        context.fireChannelReadComplete()
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        guard case .some(.inputClosed) = event as? ChannelEvent else {
            context.fireUserInboundEventTriggered(event)
            return
        }
        switch state {
        case .awaitingTarget where !receivedAny:
            context.close(promise: nil)  // connected and left without a byte: nothing to hide
        case .awaitingTarget, .rejected:
            break  // the deadline closes it
        case .forwarding:
            do {
                try decoder.finish { output in
                    if case .payload(let payload) = output { context.fireChannelRead(wrapInboundOut(payload)) }
                }
            } catch {
                fail(context: context, error)
                return
            }
            context.fireUserInboundEventTriggered(event)
        }
    }

    private func fail(context: ChannelHandlerContext, _ error: Error) {
        switch state {
        case .awaitingTarget:
            state = .rejected
            let event: ServerCounters.Event
            switch (error as? ShadowsocksProtocolError)?.kind {
            case .replayedSalt, .staleTimestamp: event = .replayedSalt
            case .unknownAddressType, .emptyDomain, .invalidDomain: event = .malformedTarget
            default: event = .authenticationFailed
            }
            counters.count(
                event, logger: logger,
                detail: "tcp \(client): \(error); discarding its bytes until the \(seconds)s deadline")
        case .forwarding:
            logger.info("tcp \(client): \(error); closing")
            context.close(promise: nil)
        case .rejected:
            break
        }
    }

    // MARK: Outbound

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        var plaintext = unwrapOutboundIn(data)
        guard plaintext.readableBytes > 0 else {
            context.write(data, promise: promise)
            return
        }
        var ciphertext = context.channel.allocator.buffer(capacity: encoder.encodedSizeBound(plaintext.readableBytes))
        do {
            try encoder.encode(&plaintext, into: &ciphertext)
        } catch {
            promise?.fail(error)
            logger.warning("tcp \(client): cannot encrypt: \(error); closing")
            context.close(promise: nil)
            return
        }
        context.write(wrapOutboundOut(ciphertext), promise: promise)
    }
}
