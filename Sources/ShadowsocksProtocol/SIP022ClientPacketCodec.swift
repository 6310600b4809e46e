import NIOCore
import ShadowsocksCrypto

/// A client's SIP022 UDP session (section 3.2): one per association, with a random session id and a packet
/// counter from zero. Replies are accepted from a few server sessions at once (a restarted server starts a new
/// one), each with its own sliding-window replay filter, forgotten after 60 s of silence.
public final class SIP022ClientPacketCodec: ShadowsocksUDPCodec {
    /// Server sessions tracked at once; a packet from one more is dropped.
    static let maximumServerSessions = 4
    /// SIP022 3.2.4: associations are remembered at least 60 s.
    static let serverSessionLifetime: UInt64 = 60

    public let sessionID: UInt64
    private let cipher: SIP022PacketCipher
    private var nextPacketID: UInt64 = 0
    private var serverSessions: [UInt64: (window: PacketIDWindow, lastSeen: UInt64)] = [:]
    private let clock: () -> UInt64

    init(key: MasterKey, sessionID: UInt64? = nil, clock: @escaping () -> UInt64 = SIP022Framing.currentTime) throws {
        self.cipher = try SIP022PacketCipher(key: key)
        var random = SystemRandomNumberGenerator()
        self.sessionID = sessionID ?? random.next()
        self.clock = clock
    }

    public convenience init(key: MasterKey) throws {
        try self.init(key: key, sessionID: nil)
    }

    public func sealedSize(target: SocksAddress, payloadCount: Int) -> Int {
        cipher.sealOverhead + SIP022PacketBody.headerSize(server: false) + target.encodedLength + payloadCount
    }

    public func seal(target: SocksAddress, payload: ByteBuffer, into output: inout ByteBuffer) throws {
        let body = SIP022PacketBody.write(clientSessionID: nil, timestamp: clock(), address: target, payload: payload)
        try cipher.seal(sessionID: sessionID, packetID: nextPacketID, body: body, into: &output)
        nextPacketID += 1
    }

    /// A server packet for this session: authenticated, fresh, not replayed. Returns the source it came from.
    public func open(_ packet: ByteBuffer) throws -> (address: SocksAddress, payload: ByteBuffer) {
        let opened = try cipher.open(packet)
        let now = clock()
        if let known = serverSessions[opened.sessionID], !known.window.isAcceptable(opened.packetID) {
            throw ShadowsocksProtocolError(.replayedPacket)
        }
        let parsed = try SIP022PacketBody.parse(opened.body, server: true, now: now)
        guard parsed.clientSessionID == sessionID else { throw ShadowsocksProtocolError(.unknownSession) }
        var session = serverSessions[opened.sessionID]
        if session == nil {
            serverSessions = serverSessions.filter { now &- $0.value.lastSeen < Self.serverSessionLifetime }
            guard serverSessions.count < Self.maximumServerSessions else {
                throw ShadowsocksProtocolError(.unknownSession)
            }
            session = (PacketIDWindow(), now)
        }
        session!.window.record(opened.packetID)
        session!.lastSeen = now
        serverSessions[opened.sessionID] = session
        return (parsed.address, parsed.payload)
    }
}
