import IPAddresses
import Logging
import NIOCore
import NIOPosix
import Redir
import ShadowsocksCrypto
import ShadowsocksProtocol

/// The UDP relay of one server port on one listen address, as the handler of its listening socket: each
/// datagram is opened with the port's key, its client gets an association (its own outbound sockets, LRU-bounded,
/// idle ones expire after the timeout), the target is resolved and checked against `forbidden_ip`, and the
/// payload is sent. Replies are sealed with the address they came from and sent back to the client. SIP022
/// associations are keyed by client session id, filter replayed packet ids and reply to the client's last
/// address. All state lives on the listening socket's event loop.
final class ServerUDPRelay: ChannelInboundHandler {
    typealias InboundIn = AddressedEnvelope<ByteBuffer>
    typealias OutboundOut = AddressedEnvelope<ByteBuffer>

    /// How client packets are opened and replies sealed.
    enum Packets {
        /// SIP004 and stream ciphers: one codec for every client.
        case perClient(any ShadowsocksUDPCodec)
        /// SIP022: sessions carried in the packets.
        case sip022(SIP022ServerPacketCodec)

        static func make(for key: MasterKey) throws -> Packets {
            key.method.kind == .aead2022
                ? .sip022(try SIP022ServerPacketCodec(key: key)) : .perClient(try ShadowsocksUDP.makeCodec(key: key))
        }
    }

    /// SIP022 3.2.4: "Each relay session MUST be remembered for at least 60 seconds."
    static let minimumSIP022SessionSeconds = 60

    private let packets: Packets
    private let connector: TargetConnector
    private let timeoutSeconds: Int
    private let maximumAssociations: Int
    private let counters: ServerCounters
    private let logger: Logger
    private var associations = LRUTable<ServerUDPAssociation.Key, ServerUDPAssociation>()
    private var touched: [ServerUDPAssociation] = []
    private var listener: Channel?
    private var listenerNeedsFlush = false
    private var sweepTask: RepeatedTask?

    convenience init(
        codec: any ShadowsocksUDPCodec, connector: TargetConnector, timeoutSeconds: Int, maximumAssociations: Int,
        counters: ServerCounters, logger: Logger
    ) {
        self.init(
            packets: .perClient(codec), connector: connector, timeoutSeconds: timeoutSeconds,
            maximumAssociations: maximumAssociations, counters: counters, logger: logger)
    }

    init(
        packets: Packets, connector: TargetConnector, timeoutSeconds: Int, maximumAssociations: Int,
        counters: ServerCounters, logger: Logger
    ) {
        self.packets = packets
        self.connector = connector
        self.timeoutSeconds = timeoutSeconds
        self.maximumAssociations = maximumAssociations
        self.counters = counters
        self.logger = logger
    }

    var associationCount: Int { associations.count }

    // MARK: Listening socket

    func handlerAdded(context: ChannelHandlerContext) {
        listener = context.channel
        let interval = TimeAmount.seconds(Int64(max(1, min(timeoutSeconds / 4, 5))))
        let relay = NIOLoopBound(self, eventLoop: context.eventLoop)
        sweepTask = context.eventLoop.scheduleRepeatedTask(initialDelay: interval, delay: interval) { _ in
            relay.value.sweep(now: .now())
        }
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        sweepTask?.cancel()
        sweepTask = nil
        for association in associations.removeAll() { association.close() }
        listener = nil
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let envelope = unwrapInboundIn(data)
        let now = NIODeadline.now()
        let association: ServerUDPAssociation
        let target: SocksAddress
        let payload: ByteBuffer
        do {
            switch packets {
            case .perClient(let codec):
                (target, payload) = try codec.open(envelope.data)
                let key = ServerUDPAssociation.Key.client(envelope.remoteAddress)
                association = associations.touch(key) ?? makeAssociation(key, envelope.remoteAddress, now: now)
            case .sip022(let codec):
                let packet = try codec.open(envelope.data)
                let key = ServerUDPAssociation.Key.session(packet.sessionID)
                association = associations.touch(key) ?? makeAssociation(key, envelope.remoteAddress, now: now)
                if association.session == nil { association.session = SIP022ServerSession(clientSessionID: packet.sessionID) }
                guard association.session!.admit(packetID: packet.packetID) else {
                    throw ShadowsocksProtocolError(.replayedPacket)
                }
                association.client = envelope.remoteAddress  // SIP022 3.2.4: replies follow the client
                (target, payload) = (packet.target, packet.payload)
            }
        } catch {
            let client = envelope.remoteAddress.socksAddress.map { "\($0)" } ?? "?"
            counters.count(.udpUnauthentic, logger: logger, detail: "udp \(client): \(error); dropped")
            return
        }
        association.lastActive = now
        route(payload, to: target, for: association, on: context.eventLoop)
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        for association in touched { association.flushIfNeeded() }
        touched.removeAll()
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        // A datagram socket reports ICMP errors for earlier sends here; nothing to close.
    }

    // MARK: Client to target

    private func makeAssociation(
        _ key: ServerUDPAssociation.Key, _ client: SocketAddress, now: NIODeadline
    ) -> ServerUDPAssociation {
        if associations.count >= maximumAssociations, let oldest = associations.oldest {
            associations.remove(oldest.key)
            oldest.value.close()
            counters.count(
                .udpEvicted, logger: logger,
                detail: "udp: \(maximumAssociations) associations open; closed the least recently used")
        }
        let association = ServerUDPAssociation(key: key, client: client, now: now)
        associations.set(association, for: key)
        return association
    }

    private func route(
        _ payload: ByteBuffer, to target: SocksAddress, for association: ServerUDPAssociation, on eventLoop: EventLoop
    ) {
        if let address = target.ipAddress {
            guard !connector.forbidden.contains(address) else {
                counters.count(
                    .udpForbidden, logger: logger,
                    detail: "udp \(describe(association)) -> \(target): refused: \(address) is in forbidden_ip")
                return
            }
            send(
                payload, to: SocketAddress(address.unmappedIPv4, port: Int(target.port)), for: association,
                target: target)
            return
        }
        if let known = association.resolvedNames[target.description] {
            send(payload, to: known[0], for: association, target: target)
            return
        }
        let key = target.description
        if association.pendingNames[key] != nil {
            if association.pendingNames[key]!.count < ServerUDPAssociation.maximumPendingPerName {
                association.pendingNames[key]!.append(payload)
            }
            return
        }
        association.pendingNames[key] = [payload]
        connector.addresses(for: target, on: eventLoop).assumeIsolated().whenComplete { [self] result in
            let waiting = association.pendingNames.removeValue(forKey: key) ?? []
            guard associations.value(for: association.key) === association else { return }  // expired meanwhile
            switch result {
            case .success(let addresses):
                if association.resolvedNames.count >= ServerUDPAssociation.maximumResolvedNames {
                    association.resolvedNames.removeAll()
                }
                association.resolvedNames[key] = addresses
                for payload in waiting { send(payload, to: addresses[0], for: association, target: target) }
                association.flushIfNeeded()
            case .failure(TargetConnector.Failure.forbidden(let address)):
                counters.count(
                    .udpForbidden, logger: logger,
                    detail: "udp \(describe(association)) -> \(target): refused: \(address) is in forbidden_ip")
            case .failure(let error):
                counters.count(
                    .udpUnresolvable, logger: logger, detail: "udp \(describe(association)) -> \(target): \(error)")
            }
        }
    }

    private func send(
        _ payload: ByteBuffer, to address: SocketAddress, for association: ServerUDPAssociation, target: SocksAddress
    ) {
        let family: IPFamily = address.protocol == .inet6 ? .ipv6 : .ipv4
        if !association.hasSocket(for: family) && !association.isBinding(family) {
            logger.info("udp \(describe(association)) -> \(target)")
            bindSocket(family, for: association)
        }
        if association.send(payload, to: address, family: family) {
            touched.append(association)
        } else {
            counters.count(.udpBacklog, logger: logger, detail: "udp \(describe(association)) -> \(target): dropped")
        }
    }

    private func bindSocket(_ family: IPFamily, for association: ServerUDPAssociation) {
        guard let eventLoop = listener?.eventLoop else { return }
        association.startBinding(family)
        // NIO's datagram default reads 2048 bytes: a larger reply would be cut short.
        DatagramBootstrap(group: eventLoop)
            .channelOption(.recvAllocator, value: FixedSizeRecvByteBufferAllocator(capacity: 65_536))
            .channelOption(.datagramVectorReadMessageCount, value: 16)
            .bind(host: family == .ipv4 ? "0.0.0.0" : "::", port: 0)
            .assumeIsolated().whenComplete { [self] result in
                switch result {
                case .success(let socket):
                    guard associations.value(for: association.key) === association else {
                        socket.close(promise: nil)  // expired or evicted while binding
                        return
                    }
                    let handler = ServerUDPTargetHandler(
                        onReply: { [self] envelope in reply(envelope, for: association) },
                        onReadComplete: { [self] in flushListener() })
                    do {
                        try socket.pipeline.syncOperations.addHandler(handler)
                    } catch {
                        socket.close(promise: nil)
                        association.bindFailed(family)
                        return
                    }
                    association.attach(socket, family: family)
                case .failure(let error):
                    logger.warning("udp \(describe(association)): cannot open an outbound \(family) socket: \(error)")
                    association.bindFailed(family)
                }
            }
    }

    // MARK: Target to client

    private func reply(_ envelope: AddressedEnvelope<ByteBuffer>, for association: ServerUDPAssociation) {
        guard let listener, let source = envelope.remoteAddress.socksAddress else { return }
        if let address = envelope.remoteAddress.ipAddress, connector.forbidden.contains(address) {
            counters.count(
                .udpForbidden, logger: logger,
                detail: "udp \(describe(association)) <- \(source): dropped: \(address) is in forbidden_ip")
            return
        }
        let now = NIODeadline.now()
        association.lastActive = now
        associations.touch(association.key)
        let size =
            switch packets {
            case .perClient(let codec): codec.sealedSize(target: source, payloadCount: envelope.data.readableBytes)
            case .sip022(let codec): codec.sealedSize(source: source, payloadCount: envelope.data.readableBytes)
            }
        guard size <= ShadowsocksUDP.maximumDatagram else {
            counters.count(
                .udpOversized, logger: logger,
                detail: "udp \(describe(association)) <- \(source): \(envelope.data.readableBytes) bytes; dropped")
            return
        }
        var packet = listener.allocator.buffer(capacity: size)
        do {
            switch packets {
            case .perClient(let codec):
                try codec.seal(target: source, payload: envelope.data, into: &packet)
            case .sip022(let codec):
                guard association.session != nil else { return }
                try codec.seal(source: source, payload: envelope.data, session: &association.session!, into: &packet)
            }
        } catch {
            logger.warning("udp \(describe(association)) <- \(source): cannot encrypt: \(error)")
            return
        }
        listener.write(AddressedEnvelope(remoteAddress: association.client, data: packet), promise: nil)
        listenerNeedsFlush = true
    }

    private func flushListener() {
        if listenerNeedsFlush {
            listenerNeedsFlush = false
            listener?.flush()
        }
    }

    // MARK: Expiry

    private func sweep(now: NIODeadline) {
        var seconds = timeoutSeconds
        if case .sip022 = packets { seconds = max(seconds, Self.minimumSIP022SessionSeconds) }
        let cutoff = now - .seconds(Int64(seconds))
        while let oldest = associations.oldest, oldest.value.lastActive < cutoff {
            associations.remove(oldest.key)
            oldest.value.close()
            logger.info("udp \(describe(oldest.value)): idle for \(timeoutSeconds)s, closed")
        }
    }

    private func describe(_ association: ServerUDPAssociation) -> String {
        association.client.socksAddress.map { "\($0)" } ?? "?"
    }
}
