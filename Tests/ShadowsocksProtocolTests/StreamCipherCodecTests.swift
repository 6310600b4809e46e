import NIOCore
import ShadowsocksCrypto
import Testing

@testable import ShadowsocksProtocol

/// Remembers every IV it admits; a repeat is refused.
final class RecordingSaltFilter: SaltFilter, @unchecked Sendable {
    private var seen = Set<[UInt8]>()
    func admit(_ salt: [UInt8]) -> Bool { seen.insert(salt).inserted }
}

@Suite struct StreamCipherCodecTests {
    func encode(_ plaintext: [UInt8], with key: MasterKey, writes: Int = 1) throws -> [UInt8] {
        var encoder = try ShadowsocksTCPEncoder(key: key)
        var output = ByteBuffer()
        let step = max(1, (plaintext.count + writes - 1) / writes)
        var offset = 0
        repeat {
            var piece = ByteBuffer(bytes: plaintext[offset..<min(plaintext.count, offset + step)])
            let bound = encoder.encodedSizeBound(piece.readableBytes)
            let before = output.readableBytes
            try encoder.encode(&piece, into: &output)
            #expect(output.readableBytes - before == bound, "a stream cipher adds nothing but the IV")
            #expect(piece.readableBytes == 0)
            offset += step
        } while offset < plaintext.count
        return Array(output.readableBytesView)
    }

    /// Feeds `stream` to the method-independent decoder in the given piece sizes, as the channel would.
    func decode(
        _ stream: [UInt8], with key: MasterKey, pieces: [Int], saltFilter: (any SaltFilter)? = nil
    ) throws -> [UInt8] {
        var decoder = ShadowsocksTCPDecoder(key: key, saltFilter: saltFilter)
        var cumulation = ByteBuffer()
        var plaintext: [UInt8] = []
        var offset = 0
        var pieceIndex = 0
        while offset < stream.count {
            let size = min(pieces[pieceIndex % pieces.count], stream.count - offset)
            cumulation.writeBytes(stream[offset..<offset + size])
            offset += size
            pieceIndex += 1
            while let chunk = try decoder.decode(buffer: &cumulation) { plaintext += chunk.readableBytesView }
        }
        while let chunk = try decoder.decodeLast(buffer: &cumulation, seenEOF: true) {
            plaintext += chunk.readableBytesView
        }
        return plaintext
    }

    @Test func knownAnswerAES256CFB() throws {
        // Password "barfoo!", IV 00..0f; `openssl enc -aes-256-cfb -K <EVP_BytesToKey> -iv 00..0f`.
        let key = MasterKey(method: .aes256CFB, password: "barfoo!")
        var encoder = try StreamCipherEncoder(key: key, iv: Array(0..<16))
        var plaintext = ByteBuffer(string: "hello, shadowsocks")
        var output = ByteBuffer()
        try encoder.encode(&plaintext, into: &output)
        #expect(Array(output.readableBytesView) == Array(0..<16) + hex("f7105d966bdd6f2a62f3326f92e2c7fe3ec0"))
    }

    @Test(arguments: CipherMethod.streamCases) func roundTripDripFedOneByteAtATime(method: CipherMethod) throws {
        let key = MasterKey(method: method, password: "drip")
        let plaintext = (0..<5_000).map { UInt8(truncatingIfNeeded: $0 &* 31) }
        let stream = try encode(plaintext, with: key, writes: 3)
        #expect(stream.count == method.ivSize + plaintext.count)
        #expect(try decode(stream, with: key, pieces: [1]) == plaintext)
    }

    @Test(arguments: CipherMethod.streamCases) func roundTripRandomSplits(method: CipherMethod) throws {
        let key = MasterKey(method: method, password: "splits")
        var generator = SystemRandomNumberGenerator()
        for _ in 0..<5 {
            let size = Int.random(in: 0...70_000, using: &generator)
            let plaintext = (0..<size).map { _ in UInt8.random(in: 0...255, using: &generator) }
            let stream = try encode(plaintext, with: key, writes: Int.random(in: 1...7, using: &generator))
            let pieces = (0..<8).map { _ in Int.random(in: 1...20_000, using: &generator) }
            #expect(try decode(stream, with: key, pieces: pieces) == plaintext)
        }
    }

    @Test func eachStreamHasItsOwnRandomIV() throws {
        let key = MasterKey(method: .chacha20, password: "iv")
        let ivs = Set(try (0..<20).map { _ in Array(try encode([1], with: key).prefix(8)) })
        #expect(ivs.count == 20)
    }

    @Test func emptyFirstWriteSendsTheIVAlone() throws {
        var encoder = try StreamCipherEncoder(key: MasterKey(method: .aes128CTR, password: "x"))
        var empty = ByteBuffer()
        var output = ByteBuffer()
        try encoder.encode(&empty, into: &output)
        #expect(output.readableBytes == 16)
        try encoder.encode(&empty, into: &output)
        #expect(output.readableBytes == 16)
    }

    @Test func replayedIVIsRefused() throws {
        let key = MasterKey(method: .aes256CTR, password: "replay")
        let filter = RecordingSaltFilter()
        let stream = try encode(Array("once".utf8), with: key)
        #expect(try decode(stream, with: key, pieces: [3], saltFilter: filter) == Array("once".utf8))
        var decoder = StreamCipherDecoder(key: key, saltFilter: filter)
        var buffer = ByteBuffer(bytes: stream)
        #expect(throws: ShadowsocksProtocolError(.replayedSalt)) { try decoder.decode(buffer: &buffer) }
        #expect(decoder.hasFailed)
        var more = ByteBuffer(bytes: [1, 2, 3])
        #expect(throws: ShadowsocksProtocolError(.replayedSalt)) { try decoder.decode(buffer: &more) }
    }

    @Test func streamEndingInsideTheIVIsTruncated() throws {
        let key = MasterKey(method: .chacha20IETF, password: "cut")
        let stream = try encode(Array(repeating: 1, count: 100), with: key)
        for cut in [1, 11] {
            #expect(throws: ShadowsocksProtocolError(.truncated)) {
                _ = try decode(Array(stream.prefix(cut)), with: key, pieces: [5])
            }
        }
        #expect(try decode(Array(stream.prefix(12)), with: key, pieces: [5]) == [])
        #expect(try decode([], with: key, pieces: [1]) == [])
        #expect(try decode(Array(stream.prefix(50)), with: key, pieces: [7]) == Array(repeating: 1, count: 38))
    }

    @Test func wrongPasswordYieldsGarbageNotAnError() throws {
        // The reason stream ciphers are legacy: nothing tells the receiver the bytes are wrong.
        let plaintext = Array("attack at dawn, attack at dawn".utf8)
        let stream = try encode(plaintext, with: MasterKey(method: .aes256CFB, password: "right"))
        let decoded = try decode(stream, with: MasterKey(method: .aes256CFB, password: "wrong"), pieces: [100])
        #expect(decoded.count == plaintext.count && decoded != plaintext)
    }
}

@Suite struct StreamPacketCodecTests {
    @Test func opensKnownAnswerPacket() throws {
        // chacha20-ietf, "barfoo!", IV 00..0b, payload 8.8.4.4:53 "dns?": libsodium crypto_stream_chacha20_ietf_xor.
        let key = MasterKey(method: .chacha20IETF, password: "barfoo!")
        let packet = ByteBuffer(bytes: hex("000102030405060708090a0b" + "5d0d963af1d2296be98687"))
        let (address, payload) = try StreamPacketCodec(key: key).open(packet)
        #expect(address == .ipv4((8, 8, 4, 4), port: 53))
        #expect(String(buffer: payload) == "dns?")
    }

    @Test(arguments: CipherMethod.streamCases) func roundTripsWithAFreshIVEachPacket(method: CipherMethod) throws {
        let key = MasterKey(method: method, password: "udp")
        let sender = try ShadowsocksUDP.makeCodec(key: key)
        let receiver = try ShadowsocksUDP.makeCodec(key: key)
        #expect(sender is StreamPacketCodec)
        var ivs = Set<[UInt8]>()
        let targets: [SocksAddress] = [
            .domain("example.org", port: 443), .ipv4((10, 0, 0, 1), port: 53), .ipv6(Array(0..<16), port: 8080),
        ]
        for (index, size) in [0, 1, 100, 1400, 65_000].enumerated() {
            let payload = ByteBuffer(bytes: (0..<size).map { UInt8(truncatingIfNeeded: $0 &* 7) })
            let target = targets[index % targets.count]
            var packet = ByteBuffer()
            try sender.seal(target: target, payload: payload, into: &packet)
            #expect(packet.readableBytes == sender.sealedSize(target: target, payloadCount: size))
            #expect(packet.readableBytes == method.ivSize + target.encodedLength + size)
            ivs.insert(packet.getBytes(at: 0, length: method.ivSize)!)
            let (address, opened) = try receiver.open(packet)
            #expect(address == target)
            #expect(opened == payload)
        }
        #expect(ivs.count == 5)
    }

    @Test func aeadMethodsStillGetTheAEADCodec() throws {
        #expect(try ShadowsocksUDP.makeCodec(key: MasterKey(method: .aes128GCM, password: "x")) is AEADPacketCodec)
        #expect(throws: CryptoError.self) { try StreamPacketCodec(key: MasterKey(method: .aes128GCM, password: "x")) }
        #expect(throws: CryptoError.self) { try AEADPacketCodec(key: MasterKey(method: .aes128CFB, password: "x")) }
    }

    @Test func badAddressesAndShortPacketsAreTypedErrors() throws {
        let key = MasterKey(method: .aes128CFB, password: "addr")
        let codec = try StreamPacketCodec(key: key)
        let iv = [UInt8](repeating: 4, count: 16)
        func packet(_ plaintext: [UInt8]) throws -> ByteBuffer {
            ByteBuffer(bytes: iv + (try key.makeStreamCipher(iv: iv, encrypting: true).update(plaintext)))
        }
        #expect(throws: ShadowsocksProtocolError(.unknownAddressType(7))) { try codec.open(try packet([7, 1, 2, 3])) }
        #expect(throws: ShadowsocksProtocolError(.emptyDomain)) { try codec.open(try packet([3, 0, 0, 80])) }
        #expect(throws: ShadowsocksProtocolError(.truncated)) { try codec.open(try packet([1, 9, 9])) }
        #expect(throws: ShadowsocksProtocolError(.truncated)) { try codec.open(ByteBuffer(bytes: iv)) }
        #expect(throws: ShadowsocksProtocolError(.truncated)) { try codec.open(ByteBuffer(bytes: [1, 2, 3])) }
        // The codec keeps working after a bad packet.
        var good = ByteBuffer()
        try codec.seal(target: .ipv4((1, 2, 3, 4), port: 5), payload: ByteBuffer(string: "ok"), into: &good)
        #expect(String(buffer: try codec.open(good).payload) == "ok")
    }

    @Test func wrongKeyNeverYieldsTheOriginal() throws {
        let target = SocksAddress.ipv4((192, 0, 2, 1), port: 7)
        let sender = try StreamPacketCodec(key: MasterKey(method: .chacha20, password: "right"))
        let receiver = try StreamPacketCodec(key: MasterKey(method: .chacha20, password: "wrong"))
        for _ in 0..<50 {
            var packet = ByteBuffer()
            try sender.seal(target: target, payload: ByteBuffer(string: "payload"), into: &packet)
            if let (address, payload) = try? receiver.open(packet) {
                #expect(address != target || String(buffer: payload) != "payload")
            }
        }
    }
}
