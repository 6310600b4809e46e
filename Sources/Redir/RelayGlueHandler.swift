import NIOCore

/// One side of a relay: what this channel reads is written to the partner's channel.
///
/// Backpressure: a `read` is only passed on while the partner's channel is writable; otherwise it is held and
/// issued when the partner becomes writable again, so neither side buffers more than one read.
///
/// Half-close: the upstream side forwards its end of stream to the LAN client as a FIN (shutdown of output).
/// The LAN side *holds* its end of stream while the server is still sending: shadowsocks-libev's `ss-server`
/// tears the whole connection down when its client sends FIN, which would lose the reply a half-closed client
/// is waiting for. Once the server has been silent for `halfCloseWait`, the FIN is passed on (an upload that
/// ends with EOF then reaches its target's end). Once both inputs have ended, both channels are closed.
package final class RelayGlueHandler: ChannelDuplexHandler {
    package typealias InboundIn = ByteBuffer
    package typealias OutboundIn = ByteBuffer
    package typealias OutboundOut = ByteBuffer

    package enum Side { case lan, upstream }

    package let side: Side
    private var partner: RelayGlueHandler?
    private var context: ChannelHandlerContext?
    private var pendingRead = false
    private(set) var inputClosed = false
    /// Plaintext bytes this side has read (LAN side: sent up; upstream side: received down).
    private(set) var bytesRead: UInt64 = 0
    /// LAN side: what the controller shows of this flow; it reads the counters through `lanSide`.
    /// The flow holds this handler only while it is in a pipeline (set in handlerAdded, cleared in handlerRemoved).
    var flow: RelayedFlow? {
        didSet { if context != nil { flow?.lanSide = self } }
    }
    /// Plaintext bytes the partner has read (LAN side: received down).
    var partnerBytesRead: UInt64 { partner?.bytesRead ?? 0 }
    /// LAN side: said when the idle timeout closes the connection.
    var idleNote: IdleTimeoutNote?
    /// LAN side: told the byte counts of both directions when the connection ends.
    package var onClose: ((_ up: UInt64, _ down: UInt64) -> Void)?
    /// LAN bytes that arrived while the upstream was still connecting.
    private var early: ByteBuffer?
    /// Before the upstream is connected, one read is let through so the first client bytes can travel in the
    /// same chunk as the target address.
    private var earlyReadIssued = false
    /// LAN side: something (at least the target address) has been written to the upstream.
    private var firstSent = false
    /// LAN side: starts the upstream connection once the accepted channel is active (not before: an upstream
    /// that connects first would find the LAN channel not yet active).
    private var onActive: ((RelayGlueHandler) -> Void)?

    /// LAN side: how long the server must be silent after the client's FIN before the FIN is passed on.
    private let halfCloseWait: TimeAmount?
    private var heldFIN: Scheduled<Void>?
    /// Closing once what is queued is written (`finishChannel`); an error (a reset, a stream that failed to
    /// decode) closes the partner at once instead.
    private var finishing = false
    private var failed = false

    /// LAN side: both sides are closed after this long without a byte read either way (nil: never), by the event
    /// loop's `IdleSweeper` (one task per loop, not a timer per connection).
    private let idleTimeout: TimeAmount?
    private let idleSweepers: IdleSweepers?
    private var idleSweeper: IdleSweeper?
    /// The sweeper's bookkeeping: this handler's place in its list (-1: not tracked), the ticks it has been idle
    /// and may be, and whether this side or its partner read something since the last tick.
    var idleSlot = -1
    var idleTicks = 0
    private(set) var idleTicksAllowed = Int.max
    var sawActivity = false

    package init(
        side: Side, halfCloseWait: TimeAmount? = nil, idleTimeout: TimeAmount? = nil,
        idleSweepers: IdleSweepers? = nil, onActive: ((RelayGlueHandler) -> Void)? = nil
    ) {
        self.side = side
        self.halfCloseWait = halfCloseWait
        self.idleTimeout = idleTimeout
        precondition(idleTimeout == nil || idleSweepers != nil, "an idle timeout needs the front's IdleSweepers")
        self.idleSweepers = idleSweepers
        self.onActive = onActive
    }

    /// Starts the idle clock once the channel is active.
    private func startIdleCheck() {
        guard let idleTimeout, idleTimeout > .zero, let idleSweepers, idleSweeper == nil, let context,
            context.channel.isActive
        else { return }
        let sweeper = idleSweepers.sweeper(for: context.eventLoop)
        idleSweeper = sweeper
        idleTicksAllowed = IdleSweeper.ticks(for: idleTimeout)
        sweeper.track(self)
    }

    private func stopIdleCheck() {
        idleSweeper?.untrack(self)
        idleSweeper = nil
    }

    /// The sweeper found this connection silent for its whole timeout.
    func idleTimedOut() {
        idleSweeper = nil
        guard context != nil else { return }
        idleNote?.say()
        closeChannel()
        partner?.closeChannel()
    }

    /// Bytes moved in either direction: the idle clock starts again.
    private func noteActivity() {
        sawActivity = true
    }

    /// Joins the LAN side (self) to its connected upstream; sends the early bytes (maybe none: the codec still
    /// sends the target address). Runs on the shared event loop.
    package func link(upstream: RelayGlueHandler) {
        guard let context, context.channel.isActive else {
            upstream.closeChannel()
            return
        }
        partner = upstream
        upstream.partner = self
        if let early {
            self.early = nil
            sendFirst(early)
        } else if inputClosed {
            sendFirst(context.channel.allocator.buffer(capacity: 0))
        } else {
            // No client bytes yet. A request already waiting in this event-loop round (the connect and the request
            // often complete in the same epoll batch) still rides in the header's segment; otherwise the header
            // leaves alone at the end of the round: a server-first protocol needs it to reach its target.
            context.eventLoop.assumeIsolated().execute { [self] in
                if !firstSent, let context = self.context { sendFirst(context.channel.allocator.buffer(capacity: 0)) }
            }
        }
        if inputClosed { inputDidClose() }
        partnerBecameWritable()
        upstream.partnerBecameWritable()
    }

    /// LAN side: the first write to the upstream (the codec puts the target address in front of it).
    private func sendFirst(_ buffer: ByteBuffer) {
        firstSent = true
        partner?.partnerWrite(buffer)
        partner?.partnerFlush()
    }

    // MARK: Calls from the partner

    private func partnerWrite(_ buffer: ByteBuffer) {
        context?.write(wrapOutboundOut(buffer), promise: nil)
    }

    private func partnerFlush() {
        context?.flush()
    }

    private func partnerEnded() {
        guard !finishing else { return }
        context?.flush()
        context?.close(mode: .output, promise: nil)
    }

    package var isActive: Bool { context?.channel.isActive ?? false }

    /// Both directions are done: write what is still queued for this channel, then close it (a FIN: its input
    /// has ended, nothing unread is left). A plain close, and also an output half-close on a channel whose input
    /// has ended (NIO makes that a full close), would drop the queued writes: the tail of a reply held back by
    /// backpressure. An empty write completes once everything queued before it is written.
    private func finishChannel() {
        guard let context, !finishing else { return }
        finishing = true
        let channel = context.channel
        let flushed = channel.eventLoop.makePromise(of: Void.self)
        context.writeAndFlush(wrapOutboundOut(channel.allocator.buffer(capacity: 0)), promise: flushed)
        flushed.futureResult.whenComplete { _ in channel.close(promise: nil) }
    }

    package func closeChannel() {
        context?.close(promise: nil)
    }

    private func partnerBecameWritable() {
        if pendingRead, partner?.context?.channel.isWritable ?? false {
            pendingRead = false
            context?.read()
        }
    }

    private func inputDidClose() {
        guard let partner else { return }
        if partner.inputClosed {
            finishChannel()
            partner.finishChannel()
        } else if side == .upstream {
            partner.partnerEnded()
        } else {
            holdFIN()
        }
    }

    /// (Re)starts the wait after which the LAN client's FIN goes on to the server.
    private func holdFIN() {
        guard let halfCloseWait, let context, let partner, !partner.inputClosed else { return }
        heldFIN?.cancel()
        heldFIN = context.eventLoop.assumeIsolated().scheduleTask(in: halfCloseWait) { [self] in
            heldFIN = nil
            guard let partner = self.partner else { return }
            if partner.pendingRead, halfCloseWait > .zero {
                // The relay stopped reading the server (the client has not taken what came before): that is not
                // the server's silence. The FIN waits on; a client that never reads meets the idle timeout.
                holdFIN()
            } else {
                partner.partnerEnded()
            }
        }
    }

    /// Upstream bytes arrived: a held FIN waits again.
    private func upstreamIsTalking() {
        if heldFIN != nil { holdFIN() }
    }

    // MARK: ChannelDuplexHandler

    package func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
        flow?.lanSide = self
        startIdleCheck()
    }

    package func handlerRemoved(context: ChannelHandlerContext) {
        stopIdleCheck()
        flow?.finalBytes = flow?.finalBytes ?? (bytesRead, partnerBytesRead)
        flow?.lanSide = nil
        heldFIN?.cancel()
        heldFIN = nil
        self.context = nil
        partner = nil
    }

    package func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let buffer = unwrapInboundIn(data)
        bytesRead &+= UInt64(buffer.readableBytes)
        if let partner {
            firstSent = true
            partner.partnerWrite(buffer)
            if side == .upstream { partner.upstreamIsTalking() }
        } else if early == nil {
            early = buffer
        } else {
            var incoming = buffer
            early!.writeBuffer(&incoming)
        }
    }

    package func channelReadComplete(context: ChannelHandlerContext) {
        if side == .lan { noteActivity() } else { partner?.noteActivity() }
        partner?.partnerFlush()
    }

    package func channelActive(context: ChannelHandlerContext) {
        startIdleCheck()
        context.fireChannelActive()
        if let start = onActive {
            onActive = nil
            start(self)
        }
    }

    package func channelInactive(context: ChannelHandlerContext) {
        // Closed: no idle verdict any more (NIO removes the handlers a loop iteration later).
        stopIdleCheck()
        flow?.finalBytes = (bytesRead, partnerBytesRead)
        if let report = onClose {
            onClose = nil
            report(bytesRead, partner?.bytesRead ?? 0)
        }
        if let partner {
            if !failed && partner.inputClosed {
                // A clean end after the partner's client finished sending (NIO closes a channel whose output is
                // shut on EOF without an input-closed event): the partner still writes what it has queued.
                partner.finishChannel()
            } else {
                partner.closeChannel()
            }
        }
        context.fireChannelInactive()
    }

    package func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if case .some(.inputClosed) = event as? ChannelEvent {
            inputClosed = true
            inputDidClose()
        } else if event is IdleStateHandler.IdleStateEvent {
            idleNote?.say()
            closeChannel()
            partner?.closeChannel()
        } else {
            context.fireUserInboundEventTriggered(event)
        }
    }

    package func errorCaught(context: ChannelHandlerContext, error: Error) {
        failed = true
        closeChannel()
        partner?.closeChannel()
    }

    package func channelWritabilityChanged(context: ChannelHandlerContext) {
        if context.channel.isWritable { partner?.partnerBecameWritable() }
        context.fireChannelWritabilityChanged()
    }

    package func read(context: ChannelHandlerContext) {
        if let partner, partner.context?.channel.isWritable ?? false {
            context.read()
        } else if partner == nil, !earlyReadIssued {
            earlyReadIssued = true
            context.read()
        } else {
            // No partner yet (still connecting): keep what we have and wait; or the partner is full.
            pendingRead = true
        }
    }
}
