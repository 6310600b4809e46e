#if canImport(Glibc)
import Glibc
#endif
import CShadowsocksLinux
import Config
import Logging
import Rules
import NIOCore
import NIOPosix
import ServerPool
import ShadowsocksCrypto
import ShadowsocksProtocol
import Synchronization

/// The UDP side of ss-redir: datagrams TPROXYed from the LAN are sealed as Shadowsocks AEAD UDP packets and sent
/// to a server on the association's own upstream socket; replies are opened, checked, and sent back to the LAN
/// client from the remote peer's address through a transparent reply socket. All state lives on one event loop.
final class UDPTransparentRelay {
    let eventLoop: EventLoop
    private let configuration: RedirConfiguration
    private let pool: ServerPool
    /// Members' resolved addresses and packet codecs (one per key), made on first use.
    private var codecs: [MasterKey: any ShadowsocksUDPCodec] = [:]
    private let mark: UInt32?
    private let logger: Logger
    private let routes: RouteRules?
    private let addressBook: ServerAddressBook?
    private var associations = LRUTable<UDPAssociation.Key, UDPAssociation>()
    private let replySockets: TransparentReplySockets
    private let localAddresses = LocalAddresses()
    private(set) var drops = UDPDropCounters()
    private var sweepTask: RepeatedTask?
    /// Lists the associations for the controller.
    var registry: ConnectionRegistry?
    /// Associations expired since the last malloc_trim; a trim follows a sweep that expired this many.
    private var expiredSinceTrim = 0
    static let trimAfterExpiries = 256

    init(
        configuration: RedirConfiguration, pool: ServerPool, mark: UInt32?, eventLoop: EventLoop, logger: Logger,
        routes: RouteRules? = nil, addressBook: ServerAddressBook? = nil
    ) {
        self.routes = routes
        self.addressBook = addressBook
        self.configuration = configuration
        self.pool = pool
        self.mark = mark
        self.eventLoop = eventLoop
        self.logger = logger
        self.replySockets = TransparentReplySockets(
            eventLoop: eventLoop, mark: mark, capacity: configuration.udpMaxAssociations)
    }

    /// The largest sealed packet we send: the MTU less IP and UDP headers (IPv6's 40 + 8, the stricter), or
    /// what a datagram can carry at all.
    private var maximumPacket: Int {
        configuration.mtu.map { $0 - 48 } ?? ShadowsocksUDP.maximumDatagram
    }

    func start() {
        let interval = TimeAmount.seconds(Int64(max(1, min(configuration.udpTimeoutSeconds / 4, 5))))
        let relay = NIOLoopBound(self, eventLoop: eventLoop)
        sweepTask = eventLoop.scheduleRepeatedTask(initialDelay: interval, delay: interval) { _ in
            relay.value.sweep(now: .now())
        }
    }

    func stop() {
        sweepTask?.cancel()
        collectDrops()
        for association in associations.removeAll() { close(association) }
        replySockets.closeAll()
        if !drops.summary.isEmpty { logger.info("udp: drop counts: \(drops.summary)") }
    }

    /// Receivers' upload paths, whose drop counts the sweep collects.
    var uploadPaths: [UDPUploadPath] = []
    /// Associations whose upload the receiver thread sends: the sweep reads their activity and byte counts.
    private var sending: [UDPAssociation.Key: UDPAssociation] = [:]

    /// The datagrams of one recvmmsg batch that `path` did not send itself.
    func handle(_ batch: [ReceivedDatagram], from path: UDPUploadPath? = nil) {
        let now = NIODeadline.now()
        var touched: [UDPAssociation] = []
        for datagram in batch {
            if let association = relay(datagram, from: path, now: now) { touched.append(association) }
        }
        for association in touched { association.flushIfNeeded() }
    }

    private func relay(_ datagram: ReceivedDatagram, from path: UDPUploadPath?, now: NIODeadline) -> UDPAssociation? {
        guard !datagram.truncated else {
            drops.count(.truncated, logger: logger, detail: "from \(datagram.source)")
            return nil
        }
        guard let destination = datagram.destination?.normalized, let target = destination.socksAddress else {
            drops.count(.noOriginalDestination, logger: logger, detail: "from \(datagram.source)")
            return nil
        }
        if localAddresses.contains(destination) {
            drops.count(.destinationIsGateway, logger: logger, detail: "\(target)")
            return nil
        }
        let key = UDPAssociation.Key(source: datagram.source.normalized, destination: destination)
        guard
            let association = associations.touch(key)
                ?? makeAssociation(key: key, flow: datagram.flow, target: target, path: path, now: now)
        else {
            return nil
        }
        association.lastActive = now
        var packet = ByteBuffer()
        do {
            guard let codec = association.codec else {
                // Direct: the datagram goes out as it came (the kernel fragments it if it must, as without us).
                guard association.send(datagram.payload) else {
                    drops.count(.upstreamBacklog, logger: logger)
                    return nil
                }
                association.relayedFlow?.datagramBytes.up &+= UInt64(datagram.payload.readableBytes)
                return association
            }
            guard codec.sealedSize(target: target, payloadCount: datagram.payload.readableBytes) <= maximumPacket
            else {
                drops.count(.oversized, logger: logger, detail: "\(datagram.payload.readableBytes) bytes to \(target)")
                return nil
            }
            try codec.seal(target: target, payload: datagram.payload, into: &packet)
        } catch {
            logger.warning("udp: cannot encrypt a datagram to \(target): \(error)")
            return nil
        }
        guard association.send(packet) else {
            drops.count(.upstreamBacklog, logger: logger)
            return nil
        }
        association.relayedFlow?.datagramBytes.up &+= UInt64(datagram.payload.readableBytes)
        return association
    }

    private func makeAssociation(
        key: UDPAssociation.Key, flow: UDPFlowKey, target: SocksAddress, path: UDPUploadPath?, now: NIODeadline
    ) -> UDPAssociation? {
        if associations.count >= configuration.udpMaxAssociations {
            // The receiver thread's sends reach the LRU order at sweeps: bring the oldest up to date before choosing.
            var checked = 0
            while checked < associations.count, let oldest = associations.oldest, collect(oldest.value) {
                checked += 1
            }
        }
        if associations.count >= configuration.udpMaxAssociations, let oldest = associations.oldest {
            associations.remove(oldest.key)
            close(oldest.value)
            drops.count(
                .associationEvicted, logger: logger, detail: "limit \(configuration.udpMaxAssociations)")
        }
        let association: UDPAssociation
        let client = key.source.socksAddress.map { "\($0)" } ?? "?"
        if let routes, case let (decision, domain, rules) = routes.decide(target: target, sniffed: nil),
            decision.action == .bypass
        {
            association = UDPAssociation(
                key: key, flow: flow, target: target, member: nil, server: key.destination, codec: nil,
                uploadPath: path, now: now)
            track(association, rule: decision, rules: rules)
            let named = domain.map { " (\($0))" } ?? ""
            logger.info("udp \(client) -> \(target)\(named): \(rules.describe(decision)), direct")
        } else {
            guard let member = pool.choose(forUDP: true) else {
                drops.count(.noUDPServer, logger: logger)
                return nil
            }
            let server: SocketAddress
            let codec: any ShadowsocksUDPCodec
            do {
                server = try address(of: member)
                codec = try self.codec(for: member.key)
            } catch {
                drops.count(.noUDPServer, logger: logger, detail: "\(member): \(error)")
                return nil
            }
            association = UDPAssociation(
                key: key, flow: flow, target: target, member: member, server: server, codec: codec,
                uploadPath: UDPUploadPath.canSeal(member.key) ? path : nil, now: now)
            pool.udpAssociationsChanged(member, by: 1)
            track(association, rule: nil, rules: nil)
            logger.info("udp \(client) -> \(target) via \(member)")
        }
        associations.set(association, for: key)

        // NIO's datagram default reads 2048 bytes: a larger reply would be cut short.
        var bootstrap = DatagramBootstrap(group: eventLoop)
            .channelOption(.recvAllocator, value: FixedSizeRecvByteBufferAllocator(capacity: 65_536))
            .channelOption(.datagramVectorReadMessageCount, value: 16)
        if let mark {
            bootstrap = bootstrap.channelOption(OutboundMark.option(), value: Int(Int32(bitPattern: mark)))
        }
        // The socket is ours to make so that the receiver thread can send on a duplicate of it.
        let socket: Int32
        do {
            socket = try Self.boundSocket(family: association.server.protocol)
        } catch {
            logger.warning("udp: cannot open an upstream socket for \(target): \(error)")
            associations.remove(key)
            close(association)
            return nil
        }
        let duplicate = association.uploadPath == nil ? -1 : dup(socket)
        bootstrap.withBoundSocket(socket).assumeIsolated().whenComplete { [self] result in
            switch result {
            case .success(let channel):
                guard associations.value(for: key) === association else {
                    if duplicate >= 0 { Glibc.close(duplicate) }
                    channel.close(promise: nil)  // expired or evicted while binding
                    return
                }
                let handler = UDPUpstreamHandler(
                    onReply: { [self] envelope in reply(envelope, for: association) },
                    onReadComplete: { [self] in replySockets.flushPending() })
                do {
                    try channel.pipeline.syncOperations.addHandler(handler)
                } catch {
                    channel.close(promise: nil)
                    return
                }
                association.attach(channel)
                if let path = association.uploadPath, duplicate >= 0 {
                    let sender = UDPUpstreamSender(
                        flow: association.flow, descriptor: duplicate, key: association.member?.key,
                        address: target.encoded, maximumPacket: maximumPacket, destination: association.server,
                        now: association.lastActive)
                    association.sender = sender
                    association.relayedFlow?.datagramSender = sender
                    sending[key] = association
                    path.add(sender)
                }
            case .failure(let error):
                if duplicate >= 0 { Glibc.close(duplicate) }
                logger.warning("udp: cannot open an upstream socket for \(target): \(error)")
                associations.remove(key)
                close(association)
            }
        }
        return association
    }

    private func reply(_ envelope: AddressedEnvelope<ByteBuffer>, for association: UDPAssociation) {
        guard let codec = association.codec else {
            // Direct: any peer may answer (full cone, as the proxied path); the reply appears to come from it.
            let now = NIODeadline.now()
            association.lastActive = now
            associations.touch(association.key)
            let source = envelope.remoteAddress.normalized
            association.relayedFlow?.datagramBytes.down &+= UInt64(envelope.data.readableBytes)
            if !replySockets.send(envelope.data, from: source, to: association.key.source, now: now) {
                drops.count(.replySocketUnavailable, logger: logger, detail: "\(source)")
            }
            return
        }
        guard envelope.remoteAddress.normalized == association.server.normalized else {
            drops.count(.foreignReply, logger: logger, detail: "\(envelope.remoteAddress)")
            return
        }
        let opened: (address: SocksAddress, payload: ByteBuffer)
        do {
            opened = try codec.open(envelope.data)
        } catch {
            drops.count(.unauthenticReply, logger: logger, detail: "server \(association.server)")
            return
        }
        let now = NIODeadline.now()
        association.lastActive = now
        associations.touch(association.key)
        // The reply's own address is the peer that answered (full-cone); a name falls back to the destination.
        let source = SocketAddress(opened.address)?.normalized ?? association.key.destination
        association.relayedFlow?.datagramBytes.down &+= UInt64(opened.payload.readableBytes)
        if !replySockets.send(opened.payload, from: source, to: association.key.source, now: now) {
            drops.count(.replySocketUnavailable, logger: logger, detail: "\(source)")
        }
    }

    /// An unconnected UDP socket bound to the wildcard address of `family`, any port.
    private static func boundSocket(family: NIOBSDSocket.ProtocolFamily) throws -> Int32 {
        let address = try SocketAddress(ipAddress: family == .inet6 ? "::" : "0.0.0.0", port: 0)
        let type = Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue) | Int32(SOCK_CLOEXEC.rawValue)
        return try BoundSocket.open(address, type: type)
    }

    /// Brings what the receiver thread did for `association` into the loop's books: activity and bytes. Returns
    /// whether it was active since the loop last looked (it is then the most recently used).
    @discardableResult
    private func collect(_ association: UDPAssociation) -> Bool {
        guard let sender = association.sender else { return false }
        let bytes = sender.unreportedBytes.exchange(0, ordering: .relaxed)
        association.relayedFlow?.datagramBytes.up &+= bytes
        let active = NIODeadline.uptimeNanoseconds(sender.lastActive.load(ordering: .relaxed))
        guard active > association.lastActive else { return false }
        association.lastActive = active
        associations.touch(association.key)
        return true
    }

    private func close(_ association: UDPAssociation) {
        if let sender = association.sender {
            collect(association)
            association.sender = nil
            association.relayedFlow?.datagramSender = nil
            if sending[association.key] === association { sending.removeValue(forKey: association.key) }
            association.uploadPath?.retire(sender)
        }
        association.close()
        if let member = association.member { pool.udpAssociationsChanged(member, by: -1) }
        if let flow = association.relayedFlow {
            association.relayedFlow = nil
            registry?.untrackAssociation(flow)
        }
    }

    /// Lists a new association for the controller; its DELETE ends it here, on the relay's loop.
    private func track(_ association: UDPAssociation, rule decision: RuleDecision?, rules: RulesSnapshot?) {
        guard let registry else { return }
        let key = association.key
        let relay = NIOLoopBound(self, eventLoop: eventLoop)
        let loop = eventLoop
        let flow = registry.trackAssociation(
            source: key.source, destination: association.target, eventLoop: eventLoop,
            close: { loop.execute { relay.value.closeFromController(key) } })
        flow.member = association.member
        flow.direct = association.member == nil
        flow.decision = decision
        flow.rules = rules
        association.relayedFlow = flow
    }

    private func closeFromController(_ key: UDPAssociation.Key) {
        guard let association = associations.value(for: key) else { return }
        associations.remove(key)
        close(association)
    }

    /// Never blocks the loop: an IP literal, or the address book's last answer (nil until the name resolved).
    private func address(of member: ServerMember) throws -> SocketAddress {
        if let addressBook {
            guard let known = addressBook.cachedAddress(of: member.endpoint) else {
                throw ServerNotResolvedYet(host: member.endpoint.host)
            }
            return known
        }
        return try SocketAddress(ipAddress: member.endpoint.host, port: member.endpoint.port)
    }

    private func codec(for key: MasterKey) throws -> any ShadowsocksUDPCodec {
        if let codec = codecs[key] { return codec }
        let codec = try ShadowsocksUDP.makeCodec(key: key)
        // SIP022 codecs are client sessions: one per association, never shared.
        if key.method.kind == .aead2022 { return codec }
        codecs[key] = codec
        return codec
    }

    private func sweep(now: NIODeadline) {
        // Each association's socket held a 64 KiB receive buffer; after a burst expires, glibc keeps the freed
        // chunks mapped inside its arenas (measured: 250 MiB after 5,000 associations, 31 MiB once trimmed). Trim
        // one sweep later, when the closes have completed.
        if expiredSinceTrim >= Self.trimAfterExpiries {
            _ = c_ss_malloc_trim()
            expiredSinceTrim = 0
        }
        collectDrops()
        for association in sending.values { collect(association) }
        let cutoff = now - .seconds(Int64(configuration.udpTimeoutSeconds))
        while let oldest = associations.oldest, oldest.value.lastActive < cutoff {
            associations.remove(oldest.key)
            close(oldest.value)
            expiredSinceTrim += 1
            logger.info(
                "udp \(oldest.key.source.socksAddress.map { "\($0)" } ?? "?") -> \(oldest.value.target): idle for \(configuration.udpTimeoutSeconds)s, closed")
        }
        replySockets.closeIdle(before: cutoff)
    }
}

extension UDPTransparentRelay {
    /// Adds what the receiver threads dropped to the counters.
    fileprivate func collectDrops() {
        for path in uploadPaths {
            drops.count(.upstreamSendRefused, times: path.refused.exchange(0, ordering: .relaxed), logger: logger)
            drops.count(.sealFailed, times: path.unsealed.exchange(0, ordering: .relaxed), logger: logger)
        }
    }
}

/// A member's name has no answer yet (no DNS at boot, or it is being looked up): its datagrams are dropped and
/// counted until it resolves.
struct ServerNotResolvedYet: Error, CustomStringConvertible {
    let host: String
    var description: String { "\(host) is not resolved yet" }
}
