import NIOCore
import ShadowsocksCrypto
import Testing

@testable import ShadowsocksProtocol

/// A multi-user client's streams and packets (SIP023): identity headers sit where the spec puts them, and with
/// them taken out (what a multi-user server does after finding the user) the rest is a plain SIP022 request of
/// the user's key.
@Suite struct SIP023IdentityCodecTests {
    static let identity: [UInt8] = Array(0..<16)
    static let user: [UInt8] = Array(100..<116)

    static func clientKey() throws -> MasterKey {
        try MasterKey(method: .blake3AES128GCM, rawKey: user, identityKeys: [identity])
    }

    @Test func requestCarriesTheIdentityHeaderAfterItsSalt() throws {
        let salt: [UInt8] = Array(200..<216)
        let payload = (0..<70_000).map { UInt8(truncatingIfNeeded: $0 &* 13) }
        let (_, stream) = try SIP022StreamCodecTests.request(payload, key: Self.clientKey(), salt: salt, writes: 2)
        #expect(Array(stream[..<16]) == salt)
        #expect(Array(stream[16..<32]) == hex("376e237baecf4118fed5e8af9f1a5c1d"))

        let userKey = try MasterKey(method: .blake3AES128GCM, rawKey: Self.user)
        let withoutIdentity = Array(stream[..<16]) + Array(stream[32...])
        let plaintext = try SIP022StreamCodecTests.decode(
            withoutIdentity, with: SIP022StreamCodecTests.serverDecoder(userKey), pieces: [1, 7, 300])
        #expect(plaintext == SIP022StreamCodecTests.addressBytes(SIP022StreamCodecTests.target) + payload)
        // The stream as sent is not a request of the user key alone.
        #expect(throws: (any Error).self) {
            try SIP022StreamCodecTests.decode(stream, with: SIP022StreamCodecTests.serverDecoder(userKey))
        }
    }

    @Test func packetCarriesTheSeparateHeaderUnderIPSKThenTheIdentityHeader() throws {
        let cipher = try SIP022PacketCipher(key: Self.clientKey())
        var packet = ByteBuffer()
        try cipher.seal(sessionID: 0x0102_0304_0506_0708, packetID: 5, body: [1, 2, 3], into: &packet)
        let bytes = Array(packet.readableBytesView)
        #expect(bytes.count == cipher.sealOverhead + 3)
        #expect(Array(bytes[..<16]) == hex("8e27435dfc522793dbd676d13a03be50"))
        #expect(Array(bytes[16..<32]) == hex("e2f098f60be2aa88d6216c2b2fc4f5af"))

        // A server of the user key opens it once the relay put the separate header back under that key.
        let userKey = try MasterKey(method: .blake3AES128GCM, rawKey: Self.user)
        let separate = try AESBlockCipher(key: Self.identity, encrypting: false).process(Array(bytes[..<16]))
        let reencrypted = try AESBlockCipher(key: Self.user, encrypting: true).process(separate)
        let opened = try SIP022PacketCipher(key: userKey).open(ByteBuffer(bytes: reencrypted + bytes[32...]))
        #expect(opened.sessionID == 0x0102_0304_0506_0708 && opened.packetID == 5)
        #expect(Array(opened.body.readableBytesView) == [1, 2, 3])
    }

    @Test func repliesAreOpenedWithTheUserKey() throws {
        let userKey = try MasterKey(method: .blake3AES128GCM, rawKey: Self.user)
        var reply = ByteBuffer()
        try SIP022PacketCipher(key: userKey).seal(sessionID: 9, packetID: 0, body: [7], into: &reply)
        let opened = try SIP022PacketCipher(key: Self.clientKey()).open(reply)
        #expect(Array(opened.body.readableBytesView) == [7])
    }
}
