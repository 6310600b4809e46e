#if canImport(Glibc)
import Glibc
#endif
import Logging
import NIOCore
import SOCKS5
import ShadowsocksProtocol

/// One SOCKS5 client connection until its request is carried out. Runs the handshake machine under a deadline,
/// then either hands the connection to the relay glue (CONNECT: the success reply goes out once a server is
/// reached, and this handler leaves the pipeline) or keeps it as the control connection of a UDP association
/// (UDP ASSOCIATE: the association ends when this connection does).
final class SOCKS5ServerHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private enum Phase {
        case handshaking
        /// The glue sits behind this handler; bytes go on to it until the reply is sent.
        case connecting
        case associating
        case associated(SOCKS5UDPAssociation)
        case closed
    }

    private let shared: SOCKS5Front.Shared
    private var machine: SOCKS5ServerStateMachine
    private var phase = Phase.handshaking
    /// Bytes of a message not complete yet (at most one message: the machine consumes whole ones).
    private var pending: ByteBuffer?
    private var deadline: Scheduled<Void>?
    private var context: ChannelHandlerContext?
    private var client = "?"
    /// The controller's record of this connection, handed to the relay once it connects.
    var flow: RelayedFlow?

    init(shared: SOCKS5Front.Shared) {
        self.shared = shared
        self.machine = SOCKS5ServerStateMachine(
            credentials: shared.front.credentials, supportedCommands: shared.front.supportedCommands)
    }

    private var logger: Logger { shared.front.logger }

    // MARK: Lifecycle

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
        if context.channel.isActive { started(context) }
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        deadline?.cancel()
        deadline = nil
        self.context = nil
    }

    func channelActive(context: ChannelHandlerContext) {
        started(context)
        context.fireChannelActive()
    }

    private func started(_ context: ChannelHandlerContext) {
        guard deadline == nil, case .handshaking = phase else { return }
        client = context.channel.remoteAddress?.socksAddress.map { "\($0)" } ?? "?"
        let timeout = shared.front.handshakeTimeout
        deadline = context.eventLoop.assumeIsolated().scheduleTask(in: timeout) { [self] in
            deadline = nil
            guard case .handshaking = phase else { return }
            logger.info("socks5 \(client): no request within \(timeout.nanoseconds / 1_000_000) ms; closing")
            close()
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        deadline?.cancel()
        deadline = nil
        if case .associated(let association) = phase { association.close() }
        phase = .closed
        context.fireChannelInactive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch phase {
        case .handshaking:
            var incoming = unwrapInboundIn(data)
            if pending == nil {
                pending = incoming
            } else {
                pending!.writeBuffer(&incoming)
            }
            runMachine(context)
        case .connecting:
            context.fireChannelRead(data)
        case .associating, .associated, .closed:
            break  // RFC 1928 section 7: after UDP ASSOCIATE the TCP connection only marks the association's life
        }
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if case .some(.inputClosed) = event as? ChannelEvent, !isConnecting {
            close()  // a client that stops sending ends its handshake or its association
        } else {
            context.fireUserInboundEventTriggered(event)
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        if isConnecting {
            context.fireErrorCaught(error)
        } else {
            close()
        }
    }

    private var isConnecting: Bool {
        if case .connecting = phase { return true }
        return false
    }

    // MARK: Handshake

    private func runMachine(_ context: ChannelHandlerContext) {
        while var buffer = pending {
            let action = machine.receive(&buffer)
            buffer.discardReadBytes()
            pending = buffer.readableBytes > 0 ? buffer : nil
            switch action {
            case .waitForMoreData:
                return
            case .send(let bytes):
                context.writeAndFlush(wrapOutboundOut(bytes), promise: nil)
            case .perform(let request):
                perform(request, context: context)
                return
            case .sendAndClose(let bytes, let error):
                if case .authenticationFailed = error.kind {
                    logger.notice("socks5 \(client): \(error); closing")
                } else {
                    logger.info("socks5 \(client): \(error); closing")
                }
                reply(bytes, thenClose: true)
                return
            }
        }
    }

    private func perform(_ request: SOCKS5Request, context: ChannelHandlerContext) {
        deadline?.cancel()
        deadline = nil
        switch request.command {
        case .connect:
            connect(to: request.address, context: context)
        case .udpAssociate:
            associate(requested: request.address, context: context)
        default:
            // The machine answers every other command itself; this only keeps the switch total.
            reply(SOCKS5ServerStateMachine.reply(.commandNotSupported), thenClose: true)
        }
    }

    /// Writes `bytes` (if any); with `thenClose`, closes once they are out.
    private func reply(_ bytes: ByteBuffer?, thenClose: Bool) {
        guard let context else { return }
        guard let bytes else {
            if thenClose { close() }
            return
        }
        let written = context.writeAndFlush(wrapOutboundOut(bytes))
        if thenClose {
            phase = .closed
            let channel = context.channel
            written.whenComplete { _ in channel.close(promise: nil) }
        }
    }

    private func close() {
        if case .associated(let association) = phase { association.close() }
        phase = .closed
        context?.close(promise: nil)
    }

    // MARK: CONNECT

    private func connect(to target: SocksAddress, context: ChannelHandlerContext) {
        phase = .connecting
        let lanSide = RelayGlueHandler(
            side: .lan, halfCloseWait: .seconds(Int64(shared.front.configuration.halfCloseWaitSeconds)),
            idleTimeout: .seconds(Int64(shared.front.configuration.timeoutSeconds)), idleSweepers: shared.front.idleSweepers)
        lanSide.flow = flow
        do {
            try context.pipeline.syncOperations.addHandler(lanSide)
        } catch {
            close()
            return
        }
        // Bytes the client sent right behind its request travel with the target address.
        if let early = pending {
            pending = nil
            context.fireChannelRead(wrapInboundOut(early))
        }
        let handler = NIOLoopBound(self, eventLoop: context.eventLoop)
        shared.connector.connect(
            lanSide, client: ClientName(text: "\(client) (socks5)"), target: target, on: context.eventLoop,
            onConnected: { handler.value.connected() },
            onFailure: { error in handler.value.connectFailed(error) })
    }

    /// Runs right before the glue is linked to the upstream: the reply precedes every relayed byte.
    private func connected() {
        guard let context, case .connecting = phase else { return }
        context.writeAndFlush(wrapOutboundOut(SOCKS5ServerStateMachine.reply(.succeeded)), promise: nil)
        phase = .closed
        context.pipeline.syncOperations.removeHandler(context: context, promise: nil)
    }

    /// The connector closes the connection right after this.
    private func connectFailed(_ error: Error?) {
        guard let context, case .connecting = phase else { return }
        let code = SOCKS5ReplyCode(connectError: error)
        logger.info("socks5 \(client): CONNECT failed, replying \(code)")
        phase = .closed
        context.writeAndFlush(wrapOutboundOut(SOCKS5ServerStateMachine.reply(code)), promise: nil)
    }

    // MARK: UDP ASSOCIATE

    private func associate(requested: SocksAddress, context: ChannelHandlerContext) {
        guard let peer = context.channel.remoteAddress, let local = context.channel.localAddress else {
            close()
            return
        }
        phase = .associating
        pending = nil
        keepAlive(context.channel)
        let handler = NIOLoopBound(self, eventLoop: context.eventLoop)
        SOCKS5UDPAssociation.open(
            front: shared.front, control: context.channel, controlPeer: peer, controlLocal: local, requested: requested, eventLoop: context.eventLoop
        ) { result in
            handler.value.associationOpened(result)
        }
    }

    private func associationOpened(_ result: Result<SOCKS5UDPAssociation, Error>) {
        switch result {
        case .success(let association):
            guard context?.channel.isActive == true, case .associating = phase else {
                association.close()  // the client left while the sockets were being bound
                return
            }
            phase = .associated(association)
            let bound = association.boundAddress.socksAddress ?? SOCKS5Reply.unspecifiedAddress
            reply(SOCKS5ServerStateMachine.reply(.succeeded, bound: bound), thenClose: false)
        case .failure(let error):
            logger.warning("socks5 \(client): UDP ASSOCIATE failed: \(error); replying \(SOCKS5ReplyCode.generalFailure)")
            reply(SOCKS5ServerStateMachine.reply(.generalFailure), thenClose: true)
        }
    }

    /// A control connection idles for as long as its association is used; keepalive probes find a client that
    /// vanished without closing it, which ends the association.
    private func keepAlive(_ channel: Channel) {
        guard let options = channel.syncOptions else { return }
        let idle = Int32(clamping: shared.front.configuration.udpTimeoutSeconds)
        try? options.setOption(.socketOption(.so_keepalive), value: 1)
        try? options.setOption(.tcpOption(NIOBSDSocket.Option(rawValue: TCP_KEEPIDLE)), value: SocketOptionValue(idle))
        try? options.setOption(.tcpOption(NIOBSDSocket.Option(rawValue: TCP_KEEPINTVL)), value: 10)
        try? options.setOption(.tcpOption(NIOBSDSocket.Option(rawValue: TCP_KEEPCNT)), value: 3)
    }
}
