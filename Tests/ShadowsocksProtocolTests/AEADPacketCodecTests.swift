import NIOCore
import ShadowsocksCrypto
import Testing

@testable import ShadowsocksProtocol

@Suite struct AEADPacketCodecTests {
    let key = MasterKey(method: .chacha20IETFPoly1305, password: "barfoo!")

    @Test func opensKnownAnswerPacket() throws {
        // salt 00..1f, chacha20-ietf-poly1305, "barfoo!", payload 8.8.4.4:53 "dns?": computed with Python's
        // cryptography package.
        let packet = ByteBuffer(
            bytes: hex(
                "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"
                    + "a127acf95e8f929c7e20ff589c1b4f36c49fffb2871689de77a05f"))
        let (address, payload) = try (try AEADPacketCodec(key: key)).open(packet)
        #expect(address == .ipv4((8, 8, 4, 4), port: 53))
        #expect(String(buffer: payload) == "dns?")
    }

    @Test(arguments: CipherMethod.aeadCases) func roundTripsWithAFreshSaltEachPacket(method: CipherMethod) throws {
        let key = MasterKey(method: method, password: "udp")
        let sender = (try AEADPacketCodec(key: key))
        let receiver = (try AEADPacketCodec(key: key))
        var salts = Set<[UInt8]>()
        for size in [0, 1, 100, 1400, 65_000] {
            let payload = ByteBuffer(bytes: (0..<size).map { UInt8(truncatingIfNeeded: $0) })
            let target = SocksAddress.domain("example.org", port: 443)
            var packet = ByteBuffer()
            try sender.seal(target: target, payload: payload, into: &packet)
            #expect(packet.readableBytes == sender.sealedSize(target: target, payloadCount: size))
            salts.insert(packet.getBytes(at: 0, length: method.saltSize)!)
            let (address, opened) = try receiver.open(packet)
            #expect(address == target)
            #expect(opened == payload)
        }
        #expect(salts.count == 5)
    }

    @Test func tamperedTruncatedOrForeignPacketsAreRejected() throws {
        let codec = (try AEADPacketCodec(key: key))
        var packet = ByteBuffer()
        try codec.seal(target: .ipv4((1, 2, 3, 4), port: 5), payload: ByteBuffer(string: "x"), into: &packet)
        var bytes = Array(packet.readableBytesView)
        bytes[40] ^= 0x10
        #expect(throws: ShadowsocksProtocolError(.authenticationFailed)) {
            try codec.open(ByteBuffer(bytes: bytes))
        }
        #expect(throws: ShadowsocksProtocolError(.truncated)) { try codec.open(ByteBuffer(bytes: [1, 2, 3])) }
        let other = try AEADPacketCodec(key: MasterKey(method: .chacha20IETFPoly1305, password: "other"))
        #expect(throws: ShadowsocksProtocolError(.authenticationFailed)) { try other.open(packet) }
        // Authentic, but the plaintext is too short to hold an address.
        let salt = [UInt8](repeating: 3, count: 32)
        let sealer = try key.makeAEADCipher(salt: salt, sealing: true)
        let shortAddress = salt + (try sealer.seal([1, 9, 9]))
        #expect(throws: ShadowsocksProtocolError(.truncated)) { try codec.open(ByteBuffer(bytes: shortAddress)) }
    }
}
