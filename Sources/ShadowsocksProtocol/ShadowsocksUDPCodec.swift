import NIOCore
import ShadowsocksCrypto

/// One encrypted datagram per UDP packet, for any method. Implemented by the AEAD (SIP004) and stream-cipher
/// packet codecs; `ShadowsocksUDP.makeCodec(key:)` picks the one a method needs.
public protocol ShadowsocksUDPCodec: AnyObject {
    /// Bytes `seal` writes for a payload of `payloadCount` bytes to `target`.
    func sealedSize(target: SocksAddress, payloadCount: Int) -> Int
    /// Appends one encrypted packet carrying `payload` for `target` to `output`.
    func seal(target: SocksAddress, payload: ByteBuffer, into output: inout ByteBuffer) throws
    /// Decrypts one packet; returns the address it carries and the payload. AEAD: nothing unauthenticated is
    /// returned. Stream ciphers authenticate nothing: only an address that does not parse is an error.
    func open(_ packet: ByteBuffer) throws -> (address: SocksAddress, payload: ByteBuffer)
}

public enum ShadowsocksUDP {
    /// A client's packet codec for `key`'s method. SIP022 codecs are stateful client sessions (a session id and a
    /// packet counter, SIP022 3.2): make one per association and open its replies with the same one.
    public static func makeCodec(key: MasterKey) throws -> any ShadowsocksUDPCodec {
        try makeCodec(key: key, sessionID: newSessionID())
    }

    /// Codecs made with the same `sessionID` open each other's replies (SIP022: a reply names the client
    /// session); other methods ignore it. For a sealing side and a separate reply handler.
    public static func makeCodec(key: MasterKey, sessionID: UInt64) throws -> any ShadowsocksUDPCodec {
        switch key.method.kind {
        case .aead: try AEADPacketCodec(key: key)
        case .stream: try StreamPacketCodec(key: key)
        case .aead2022: try SIP022ClientPacketCodec(key: key, sessionID: sessionID)
        }
    }

    /// A random SIP022 client session id.
    public static func newSessionID() -> UInt64 {
        var random = SystemRandomNumberGenerator()
        return random.next()
    }

    /// The largest datagram IPv4 can carry (65535 - 20 IP - 8 UDP).
    public static let maximumDatagram = 65_507
}
