import NIOCore
import ShadowsocksCrypto
import Testing

@testable import ShadowsocksProtocol

/// `sealInPlace`, the relay's receive-buffer path, against the buffer-to-buffer `seal` and a cipher made directly.
@Suite struct AEADPacketSealInPlaceTests {
    /// Seals `payload` for `target` in a buffer with `before`/`after` spare bytes around it.
    private func sealInPlace(
        _ codec: AEADPacketCodec, target: SocksAddress, payload: [UInt8], before: Int = 64, after: Int = 64
    ) throws -> [UInt8] {
        var region = [UInt8](repeating: 0xEE, count: before + payload.count + after)
        region.replaceSubrange(before..<before + payload.count, with: payload)
        let range = try region.withUnsafeMutableBytes { packet in
            try target.encoded.withUnsafeBytes { address in
                try codec.sealInPlace(
                    address: address, packet: packet, payloadOffset: before, payloadCount: payload.count)
            }
        }
        return Array(region[range])
    }

    @Test(arguments: CipherMethod.aeadCases) func sameBytesAsSealingTheSameSaltDirectly(method: CipherMethod) throws {
        let key = MasterKey(method: method, password: "in place")
        let codec = try AEADPacketCodec(key: key)
        let opener = try AEADPacketCodec(key: key)
        for target in [SocksAddress.ipv4((10, 0, 0, 1), port: 53), .ipv6(Array(0..<16), port: 443)] {
            for size in [0, 1, 1200, 65_000] {
                let payload = (0..<size).map { UInt8(truncatingIfNeeded: $0 * 31) }
                let packet = try sealInPlace(codec, target: target, payload: payload)
                #expect(packet.count == codec.sealedSize(target: target, payloadCount: size))
                // salt || AEAD(HKDF(key, salt), nonce 0, address || payload): what `seal` writes for that salt.
                let salt = Array(packet.prefix(method.saltSize))
                let expected = try key.makeAEADCipher(salt: salt, sealing: true).seal(target.encoded + payload)
                #expect(Array(packet.dropFirst(method.saltSize)) == expected)
                var buffered = ByteBuffer()
                try codec.seal(target: target, payload: ByteBuffer(bytes: payload), into: &buffered)
                let (address, opened) = try opener.open(ByteBuffer(bytes: packet))
                let (bufferedAddress, bufferedOpened) = try opener.open(buffered)
                #expect(address == target && bufferedAddress == target)
                #expect(Array(opened.readableBytesView) == payload && opened == bufferedOpened)
            }
        }
    }

    @Test func exactRoomIsEnoughAndNothingOutsideIsTouched() throws {
        let key = MasterKey(method: .aes256GCM, password: "room")
        let codec = try AEADPacketCodec(key: key)
        let target = SocksAddress.ipv4((1, 2, 3, 4), port: 5)
        let headroom = codec.headroom(addressCount: target.encodedLength)
        var region = [UInt8](repeating: 0xEE, count: 8 + headroom + 3 + codec.tailroom + 8)
        region.replaceSubrange(8 + headroom..<8 + headroom + 3, with: [7, 8, 9])
        let range = try region.withUnsafeMutableBytes { packet in
            try target.encoded.withUnsafeBytes { address in
                try codec.sealInPlace(address: address, packet: packet, payloadOffset: 8 + headroom, payloadCount: 3)
            }
        }
        #expect(range == 8..<region.count - 8)
        #expect(region.prefix(8).allSatisfy { $0 == 0xEE } && region.suffix(8).allSatisfy { $0 == 0xEE })
        let (_, opened) = try codec.open(ByteBuffer(bytes: region[range]))
        #expect(Array(opened.readableBytesView) == [7, 8, 9])
    }

    @Test func aTamperedInPlacePacketIsRejected() throws {
        let key = MasterKey(method: .chacha20IETFPoly1305, password: "tamper")
        let codec = try AEADPacketCodec(key: key)
        let packet = try sealInPlace(codec, target: .ipv4((8, 8, 8, 8), port: 53), payload: Array("query".utf8))
        for index in [0, 31, 32, 40, packet.count - 1] {  // salt, address, payload, tag
            var tampered = packet
            tampered[index] ^= 0x01
            #expect(throws: ShadowsocksProtocolError(.authenticationFailed)) {
                try codec.open(ByteBuffer(bytes: tampered))
            }
        }
    }
}
