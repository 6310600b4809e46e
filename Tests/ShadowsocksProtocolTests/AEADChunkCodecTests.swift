import NIOCore
import ShadowsocksCrypto
import Testing

@testable import ShadowsocksProtocol

@Suite struct AEADChunkCodecTests {
    let key = MasterKey(method: .aes256GCM, password: "barfoo!")

    func encode(_ plaintext: [UInt8], with key: MasterKey, writes: Int = 1) throws -> [UInt8] {
        var encoder = try AEADChunkEncoder(key: key)
        var output = ByteBuffer()
        let step = max(1, (plaintext.count + writes - 1) / writes)
        var offset = 0
        repeat {
            var piece = ByteBuffer(bytes: plaintext[offset..<min(plaintext.count, offset + step)])
            try encoder.encode(&piece, into: &output)
            offset += step
        } while offset < plaintext.count
        return Array(output.readableBytesView)
    }

    /// Feeds `stream` to a decoder in the given piece sizes, as the channel would, and returns all plaintext.
    func decode(_ stream: [UInt8], with key: MasterKey, pieces: [Int]) throws -> [UInt8] {
        var decoder = AEADChunkDecoder(key: key)
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

    @Test func knownAnswerFirstChunk() throws {
        // Salt 00..1f, password "barfoo!", aes-256-gcm: cross-computed with Python's cryptography package.
        var encoder = try AEADChunkEncoder(key: key, salt: Array(0..<32))
        var plaintext = ByteBuffer(string: "hello, shadowsocks")
        var output = ByteBuffer()
        try encoder.encode(&plaintext, into: &output)
        let expected =
            Array(0..<32)
            + hex("fe25c0607716229a28ab78ead0a8c651979f")
            + hex("b6f5cc0f03cbd3ad3c2e3a79b5b5c83efed0c74df27c49e6bbd757bb2ae340513616")
        #expect(Array(output.readableBytesView) == expected)
    }

    @Test(arguments: CipherMethod.aeadCases) func roundTripDripFedOneByteAtATime(method: CipherMethod) throws {
        let key = MasterKey(method: method, password: "drip")
        let plaintext = (0..<40_000).map { UInt8(truncatingIfNeeded: $0 &* 31) }
        let stream = try encode(plaintext, with: key, writes: 3)
        #expect(try decode(stream, with: key, pieces: [1]) == plaintext)
    }

    @Test func roundTripRandomSplits() throws {
        var generator = SystemRandomNumberGenerator()
        for _ in 0..<20 {
            let size = Int.random(in: 0...70_000, using: &generator)
            let plaintext = (0..<size).map { _ in UInt8.random(in: 0...255, using: &generator) }
            let stream = try encode(plaintext, with: key, writes: Int.random(in: 1...5, using: &generator))
            let pieces = (0..<8).map { _ in Int.random(in: 1...20_000, using: &generator) }
            #expect(try decode(stream, with: key, pieces: pieces) == plaintext)
        }
    }

    @Test func maximumChunkIs0x3FFF() throws {
        let exact = try encode([UInt8](repeating: 7, count: 0x3FFF), with: key)
        #expect(exact.count == 32 + 18 + 0x3FFF + 16)
        let oneMore = try encode([UInt8](repeating: 7, count: 0x4000), with: key)
        #expect(oneMore.count == 32 + 2 * 18 + 0x4000 + 2 * 16)
    }

    @Test func lengthAboveMaximumIsRejected() throws {
        let salt = [UInt8](repeating: 9, count: 32)
        let sealer = try key.makeAEADCipher(salt: salt, sealing: true)
        let stream = salt + (try sealer.seal([0x40, 0x00]))
        var decoder = AEADChunkDecoder(key: key)
        var buffer = ByteBuffer(bytes: stream)
        #expect(throws: ShadowsocksProtocolError(.chunkTooLarge(0x4000))) { try decoder.decode(buffer: &buffer) }
    }

    @Test func tamperedByteAnywhereReleasesNothing() throws {
        let plaintext = Array(repeating: UInt8(0x41), count: 100)
        let stream = try encode(plaintext, with: key)
        for position in [32, 40, 32 + 18, stream.count - 1] {
            var tampered = stream
            tampered[position] ^= 0x80
            var decoder = AEADChunkDecoder(key: key)
            var buffer = ByteBuffer(bytes: tampered)
            #expect(throws: ShadowsocksProtocolError(.authenticationFailed)) { try decoder.decode(buffer: &buffer) }
            #expect(decoder.hasFailed)
        }
    }

    @Test func wrongPasswordReleasesNothing() throws {
        let stream = try encode(Array("secret".utf8), with: key)
        var decoder = AEADChunkDecoder(key: MasterKey(method: .aes256GCM, password: "other"))
        var buffer = ByteBuffer(bytes: stream)
        #expect(throws: ShadowsocksProtocolError(.authenticationFailed)) { try decoder.decode(buffer: &buffer) }
    }

    @Test func truncatedStreamIsAnErrorAtEOF() throws {
        let stream = try encode(Array(repeating: 1, count: 1000), with: key)
        for cut in [10, 32 + 5, 32 + 18 + 10, stream.count - 1] {
            #expect(throws: ShadowsocksProtocolError(.truncated)) {
                _ = try decode(Array(stream.prefix(cut)), with: key, pieces: [7])
            }
        }
        // A stream that ends on a chunk boundary (or before any byte) is a clean end.
        #expect(try decode([], with: key, pieces: [1]) == [])
    }
}

func hex(_ text: String) -> [UInt8] {
    stride(from: 0, to: text.count, by: 2).map {
        let start = text.index(text.startIndex, offsetBy: $0)
        return UInt8(text[start..<text.index(start, offsetBy: 2)], radix: 16)!
    }
}
