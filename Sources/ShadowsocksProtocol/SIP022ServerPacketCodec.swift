import NIOCore
import ShadowsocksCrypto

/// A server's side of SIP022 UDP (section 3.2): `open` authenticates a client packet and checks its header;
/// the caller routes it by client session id (not by source address) to a `SIP022ServerSession`, which filters
/// replays and numbers the replies. One codec per PSK; not thread-safe.
public final class SIP022ServerPacketCodec {
    public struct ClientPacket {
        public var sessionID: UInt64
        public var packetID: UInt64
        public var target: SocksAddress
        public var payload: ByteBuffer
    }

    private let cipher: SIP022PacketCipher
    private let clock: () -> UInt64

    init(key: MasterKey, clock: @escaping () -> UInt64) throws {
        self.cipher = try SIP022PacketCipher(key: key)
        self.clock = clock
    }

    public convenience init(key: MasterKey) throws {
        try self.init(key: key, clock: SIP022Framing.currentTime)
    }

    /// An authentic client packet with a fresh timestamp; the session's window is not consulted here.
    public func open(_ packet: ByteBuffer) throws -> ClientPacket {
        let opened = try cipher.open(packet)
        let parsed = try SIP022PacketBody.parse(opened.body, server: false, now: clock())
        return ClientPacket(
            sessionID: opened.sessionID, packetID: opened.packetID, target: parsed.address, payload: parsed.payload)
    }

    public func sealedSize(source: SocksAddress, payloadCount: Int) -> Int {
        cipher.overhead + SIP022PacketBody.headerSize(server: true) + source.encodedLength + payloadCount
    }

    /// A reply from `source` in `session`.
    public func seal(
        source: SocksAddress, payload: ByteBuffer, session: inout SIP022ServerSession, into output: inout ByteBuffer
    ) throws {
        let body = SIP022PacketBody.write(
            clientSessionID: session.clientSessionID, timestamp: clock(), address: source, payload: payload)
        try cipher.seal(sessionID: session.serverSessionID, packetID: session.nextPacketID, body: body, into: &output)
        session.nextPacketID += 1
    }
}

/// One client session on the server: its own random server session id, reply counter and replay window.
public struct SIP022ServerSession: Sendable {
    public let clientSessionID: UInt64
    public let serverSessionID: UInt64
    var nextPacketID: UInt64 = 0
    private var window = PacketIDWindow()

    public init(clientSessionID: UInt64) {
        var random = SystemRandomNumberGenerator()
        self.clientSessionID = clientSessionID
        self.serverSessionID = random.next()
    }

    /// True (and remembered) for a packet id not seen before and inside the window.
    public mutating func admit(packetID: UInt64) -> Bool {
        guard window.isAcceptable(packetID) else { return false }
        window.record(packetID)
        return true
    }
}
