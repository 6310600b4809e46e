import Config
import Logging
import NIOCore
import NIOPosix
import Rules
import SOCKS5
import ServerPool
import ShadowsocksCrypto
import ShadowsocksProtocol

/// One SOCKS5 UDP ASSOCIATE (RFC 1928 section 7): a socket for the client, bound on the address its TCP
/// control connection reached, and an upstream socket to one pool member. Client datagrams lose their SOCKS
/// header and are sealed as Shadowsocks UDP packets; the server's replies are opened and sent back under a
/// SOCKS header naming the peer that answered. With bypass rules each target is decided once (as a TPROXY
/// association is): a bypassed one gets the bare payload from a direct socket (`SOCKS5UDPDirectSockets`).
/// Fragments (FRAG != 0) are dropped: nothing is reassembled. Lives on the control connection's event loop and
/// ends with that connection; the controller lists it (under its latest new target) and may end it.
final class SOCKS5UDPAssociation {
    struct OpenFailed: Error, CustomStringConvertible {
        let description: String
    }

    /// Where the client sends its datagrams (BND.ADDR/BND.PORT of the reply).
    let boundAddress: SocketAddress
    let member: ServerMember
    private let server: SocketAddress
    private let codec: any ShadowsocksUDPCodec
    private let clientSide: Channel
    private let upstream: Channel
    private let pool: ServerPool
    private let logger: Logger
    private let label: String
    /// Only datagrams from the control connection's IP are taken; from the requested port when the request
    /// named one, else from the port of the first datagram (RFC 1928 section 7 lets the server limit this).
    private let clientIP: [UInt8]
    private let requestedPort: Int?
    private var client: SocketAddress?
    private let maximumPacket: Int
    private var drops = UDPDropCounters()
    /// Targets logged so far with their route (true: direct), bounded so a client spraying destinations cannot
    /// grow it.
    private var loggedTargets: [SocksAddress: Bool] = [:]
    private static let maximumLoggedTargets = 16
    private let routes: RouteRules?
    /// Each target's route (true: direct), decided on its first datagram; emptied when full.
    private var decisions: [SocksAddress: Bool] = [:]
    private static let maximumDecisions = 256
    private let mark: UInt32?
    /// Opened on the first bypassed datagram.
    private var direct: SOCKS5UDPDirectSockets?
    /// What the controller lists (nil without a registry).
    private var flow: RelayedFlow?
    private var registry: ConnectionRegistry?
    private var clientNeedsFlush = false
    private var upstreamNeedsFlush = false
    private var closed = false

    private init(
        boundAddress: SocketAddress, member: ServerMember, server: SocketAddress, codec: any ShadowsocksUDPCodec,
        clientSide: Channel, upstream: Channel, pool: ServerPool, logger: Logger, label: String, clientIP: [UInt8],
        requestedPort: Int?, maximumPacket: Int, routes: RouteRules?, mark: UInt32?
    ) {
        self.routes = routes
        self.mark = mark
        self.boundAddress = boundAddress
        self.member = member
        self.server = server
        self.codec = codec
        self.clientSide = clientSide
        self.upstream = upstream
        self.pool = pool
        self.logger = logger
        self.label = label
        self.clientIP = clientIP
        self.requestedPort = requestedPort
        self.maximumPacket = maximumPacket
    }

    /// Chooses a UDP member and binds both sockets on `eventLoop` (the control connection's); `completion`
    /// runs there. `requested` is the request's DST.ADDR/DST.PORT; `control` is closed when the controller ends
    /// the association.
    static func open(
        front: SOCKS5Front, control: Channel, controlPeer: SocketAddress, controlLocal: SocketAddress,
        requested: SocksAddress, eventLoop: EventLoop,
        completion: @escaping (Result<SOCKS5UDPAssociation, Error>) -> Void
    ) {
        guard let clientIP = controlPeer.normalizedIPBytes, let localIP = controlLocal.normalizedIPBytes else {
            return completion(.failure(OpenFailed(description: "the control connection has no IP address")))
        }
        guard let member = front.pool.choose(forUDP: true) else {
            return completion(.failure(OpenFailed(description: UDPDropReason.noUDPServer.rawValue)))
        }
        let codec: any ShadowsocksUDPCodec
        do {
            codec = try ShadowsocksUDP.makeCodec(key: member.key)
        } catch {
            return completion(.failure(error))
        }
        let label = "udp \(controlPeer.socksAddress.map { "\($0)" } ?? "?") (socks5)"
        // The same address the client reached over TCP, so the reply's BND.ADDR is one it can reach.
        let clientBind = localIP.count == 4 ? SocketAddress(ipv4: localIP, port: 0) : SocketAddress(ipv6: localIP, port: 0)
        let maximumPacket = front.configuration.mtu.map { $0 - 48 } ?? ShadowsocksUDP.maximumDatagram
        let requestedPort = requested.port == 0 ? nil : Int(requested.port)

        resolve(member.endpoint, on: eventLoop).flatMap { server in
            bindPair(client: clientBind, upstreamFamily: server.protocol, mark: front.mark, on: eventLoop)
                .map { (server, $0.0, $0.1) }
        }.assumeIsolated().whenComplete { result in
            switch result {
            case .failure(let error):
                completion(.failure(error))
            case .success(let (server, clientSide, upstream)):
                guard let boundAddress = clientSide.localAddress else {
                    clientSide.close(promise: nil)
                    upstream.close(promise: nil)
                    return completion(.failure(OpenFailed(description: "the client-side socket has no address")))
                }
                let association = SOCKS5UDPAssociation(
                    boundAddress: boundAddress, member: member, server: server, codec: codec, clientSide: clientSide,
                    upstream: upstream, pool: front.pool, logger: front.logger, label: label, clientIP: clientIP,
                    requestedPort: requestedPort, maximumPacket: maximumPacket, routes: front.routes, mark: front.mark)
                do {
                    try association.attachHandlers()
                } catch {
                    clientSide.close(promise: nil)
                    upstream.close(promise: nil)
                    return completion(.failure(error))
                }
                front.pool.udpAssociationsChanged(member, by: 1)
                association.track(in: front.registry, source: controlPeer, control: control)
                front.logger.info("\(label): associated on \(Self.describe(boundAddress)) via \(member)")
                completion(.success(association))
            }
        }
    }

    /// Ends the association: both sockets closed, the member's count given back. Idempotent.
    func close() {
        guard !closed else { return }
        closed = true
        clientSide.close(promise: nil)
        upstream.close(promise: nil)
        direct?.close()
        direct = nil  // its reply closures hold this association
        pool.udpAssociationsChanged(member, by: -1)
        if let flow {
            self.flow = nil
            registry?.untrackAssociation(flow)
        }
        let summary = drops.summary
        logger.info("\(label): association closed\(summary.isEmpty ? "" : " (drop counts: \(summary))")")
    }

    private func attachHandlers() throws {
        try clientSide.pipeline.syncOperations.addHandler(
            UDPUpstreamHandler(
                onReply: { [self] envelope in fromClient(envelope) },
                onReadComplete: { [self] in flushUpstream() }))
        try upstream.pipeline.syncOperations.addHandler(
            UDPUpstreamHandler(
                onReply: { [self] envelope in fromServer(envelope) },
                onReadComplete: { [self] in flushClient() }))
    }

    private func fromClient(_ envelope: AddressedEnvelope<ByteBuffer>) {
        let source = envelope.remoteAddress
        let expectedPort = client?.port ?? requestedPort
        guard source.normalizedIPBytes == clientIP, expectedPort == nil || source.port == expectedPort else {
            drops.count(.socksForeignSource, logger: logger, detail: "\(Self.describe(source)) on \(label)")
            return
        }
        if client == nil { client = source }
        var datagram = envelope.data
        let header: SOCKS5UDPHeader
        do {
            header = try datagram.readSOCKS5UDPHeader()
        } catch {
            drops.count(.socksMalformed, logger: logger, detail: "\(error), from \(Self.describe(source))")
            return
        }
        guard header.fragment == 0 else {
            drops.count(.socksFragment, logger: logger, detail: "from \(Self.describe(source))")
            return
        }
        let payloadBytes = UInt64(datagram.readableBytes)
        if isDirect(header.address) {
            // As the TPROXY direct path: the payload as it came (the kernel fragments it if it must).
            guard directSockets().send(datagram, to: header.address) else {
                drops.count(.upstreamBacklog, logger: logger, detail: "direct to \(header.address)")
                return
            }
            flow?.datagramBytes.up &+= payloadBytes
            return
        }
        let sealedSize = codec.sealedSize(target: header.address, payloadCount: datagram.readableBytes)
        guard sealedSize <= maximumPacket else {
            drops.count(.oversized, logger: logger, detail: "\(datagram.readableBytes) bytes to \(header.address)")
            return
        }
        var packet = upstream.allocator.buffer(capacity: sealedSize)
        do {
            try codec.seal(target: header.address, payload: datagram, into: &packet)
        } catch {
            logger.warning("\(label): cannot encrypt a datagram to \(header.address): \(error)")
            return
        }
        flow?.datagramBytes.up &+= payloadBytes
        upstream.write(AddressedEnvelope(remoteAddress: server, data: packet), promise: nil)
        upstreamNeedsFlush = true
    }

    private func fromServer(_ envelope: AddressedEnvelope<ByteBuffer>) {
        guard envelope.remoteAddress.normalized == server.normalized else {
            drops.count(.foreignReply, logger: logger, detail: Self.describe(envelope.remoteAddress))
            return
        }
        let opened: (address: SocksAddress, payload: ByteBuffer)
        do {
            opened = try codec.open(envelope.data)
        } catch {
            drops.count(.unauthenticReply, logger: logger, detail: "server \(Self.describe(server))")
            return
        }
        guard let client else { return }  // nothing was sent yet, so this answers nobody
        if case .domain(let name, _) = opened.address, name.utf8.count > 255 {
            // A name that was not valid UTF-8 grew when decoded; it no longer fits the one-byte length.
            drops.count(.socksMalformed, logger: logger, detail: "a reply from the server names an over-long domain")
            return
        }
        var payload = opened.payload
        flow?.datagramBytes.down &+= UInt64(payload.readableBytes)
        var datagram = clientSide.allocator.buffer(capacity: 3 + opened.address.encodedLength + payload.readableBytes)
        datagram.writeSOCKS5UDPHeader(SOCKS5UDPHeader(address: opened.address))
        datagram.writeBuffer(&payload)
        clientSide.write(AddressedEnvelope(remoteAddress: client, data: datagram), promise: nil)
        clientNeedsFlush = true
    }

    /// A reply on a direct socket: sent on under a SOCKS header naming the peer that answered.
    private func fromDirect(_ envelope: AddressedEnvelope<ByteBuffer>) {
        guard let client, let peer = envelope.remoteAddress.normalized.socksAddress else { return }
        var payload = envelope.data
        flow?.datagramBytes.down &+= UInt64(payload.readableBytes)
        var datagram = clientSide.allocator.buffer(capacity: 3 + peer.encodedLength + payload.readableBytes)
        datagram.writeSOCKS5UDPHeader(SOCKS5UDPHeader(address: peer))
        datagram.writeBuffer(&payload)
        clientSide.write(AddressedEnvelope(remoteAddress: client, data: datagram), promise: nil)
        clientNeedsFlush = true
    }

    /// The target's route, decided by the rules on its first datagram (true: direct); logged once per target
    /// and route, and shown by the controller as the association's latest new target.
    private func isDirect(_ target: SocksAddress) -> Bool {
        if let known = decisions[target] { return known }
        var bypass = false
        var line = " via \(member)"
        if let routes {
            let (decision, domain, rules) = routes.decide(target: target, sniffed: nil)
            bypass = decision.action == .bypass
            if bypass { line = "\(domain.map { " (\($0))" } ?? ""): \(rules.describe(decision)), direct" }
            flow?.decision = decision
            flow?.rules = rules
        }
        if decisions.count >= Self.maximumDecisions { decisions.removeAll(keepingCapacity: true) }
        decisions[target] = bypass
        flow?.destination = target
        flow?.direct = bypass
        flow?.member = bypass ? nil : member
        if loggedTargets.count < Self.maximumLoggedTargets || loggedTargets[target] != nil,
            loggedTargets.updateValue(bypass, forKey: target) != bypass
        {
            logger.info("\(label) -> \(target)\(line)")
        }
        return bypass
    }

    private func directSockets() -> SOCKS5UDPDirectSockets {
        if let direct { return direct }
        let sockets = SOCKS5UDPDirectSockets(
            eventLoop: clientSide.eventLoop, mark: mark, logger: logger, label: label,
            onReply: { [self] envelope in fromDirect(envelope) },
            onReadComplete: { [self] in flushClient() })
        direct = sockets
        return sockets
    }

    /// Lists the association for the controller (inbound Socks5); its DELETE closes the control connection,
    /// which ends the association (RFC 1928 section 7).
    private func track(in registry: ConnectionRegistry, source: SocketAddress, control: Channel) {
        self.registry = registry
        let flow = registry.trackAssociation(
            source: source, destination: nil, inbound: "Socks5", eventLoop: clientSide.eventLoop,
            close: { control.close(promise: nil) })
        flow.member = member
        self.flow = flow
    }

    private func flushUpstream() {
        if upstreamNeedsFlush {
            upstreamNeedsFlush = false
            upstream.flush()
        }
        direct?.flush()
    }

    private func flushClient() {
        if clientNeedsFlush {
            clientNeedsFlush = false
            clientSide.flush()
        }
    }

    /// The client-side socket and an upstream socket on the wildcard address of the server's family; when one
    /// bind fails the other socket is closed.
    private static func bindPair(
        client: SocketAddress, upstreamFamily: NIOBSDSocket.ProtocolFamily, mark: UInt32?, on eventLoop: EventLoop
    ) -> EventLoopFuture<(Channel, Channel)> {
        let anyAddress =
            upstreamFamily == .inet6
            ? SocketAddress(ipv6: Array(repeating: 0, count: 16), port: 0) : SocketAddress(ipv4: [0, 0, 0, 0], port: 0)
        let clientSide = bindDatagram(at: client, mark: nil, on: eventLoop)
        let upstream = bindDatagram(at: anyAddress, mark: mark, on: eventLoop)
        clientSide.whenSuccess { channel in upstream.whenFailure { _ in channel.close(promise: nil) } }
        upstream.whenSuccess { channel in clientSide.whenFailure { _ in channel.close(promise: nil) } }
        return clientSide.and(upstream)
    }

    /// "10.0.0.2:5353" rather than NIO's "[IPv4]10.0.0.2/10.0.0.2:5353".
    static func describe(_ address: SocketAddress) -> String {
        address.socksAddress.map { "\($0)" } ?? "\(address)"
    }

    /// NIO's datagram default reads 2048 bytes: a larger datagram would be cut short.
    static func bindDatagram(at address: SocketAddress, mark: UInt32?, on eventLoop: EventLoop) -> EventLoopFuture<Channel> {
        var bootstrap = DatagramBootstrap(group: eventLoop)
            .channelOption(.recvAllocator, value: FixedSizeRecvByteBufferAllocator(capacity: 65_536))
            .channelOption(.datagramVectorReadMessageCount, value: 16)
        if let mark {
            bootstrap = bootstrap.channelOption(OutboundMark.option(), value: Int(Int32(bitPattern: mark)))
        }
        return bootstrap.bind(to: address)
    }

    /// An IP literal as is; a name through getaddrinfo on NIO's thread pool (it blocks).
    private static func resolve(_ endpoint: ServerEndpoint, on eventLoop: EventLoop) -> EventLoopFuture<SocketAddress> {
        if let address = try? SocketAddress(ipAddress: endpoint.host, port: endpoint.port) {
            return eventLoop.makeSucceededFuture(address)
        }
        return NIOThreadPool.singleton.runIfActive(eventLoop: eventLoop) {
            try SocketAddress.makeAddressResolvingHost(endpoint.host, port: endpoint.port)
        }
    }
}
