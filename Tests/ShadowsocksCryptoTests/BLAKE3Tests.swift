import Testing

@testable import ShadowsocksCrypto

@Suite struct BLAKE3Tests {
    private static func input(_ length: Int) -> [UInt8] { (0..<length).map { UInt8($0 % 251) } }

    // Every official vector: one and many blocks, one and many chunks, full and partial trees (up to 100 KiB).
    @Test(arguments: BLAKE3TestVectors.cases.map(\.inputLength))
    func officialVectors(length: Int) throws {
        let vector = try #require(BLAKE3TestVectors.cases.first { $0.inputLength == length })
        let input = Self.input(length)
        let hash = hex(vector.hash)
        let derived = hex(vector.deriveKey)
        #expect(BLAKE3.hash(input, outputCount: hash.count) == hash)
        #expect(BLAKE3.hash(input) == Array(hash.prefix(32)))
        #expect(
            BLAKE3.deriveKey(context: BLAKE3TestVectors.contextString, material: input, outputCount: derived.count)
                == derived)
        #expect(
            BLAKE3.deriveKey(context: BLAKE3TestVectors.contextString, material: input) == Array(derived.prefix(32)))
    }

    // Feeding the hasher in odd pieces must not change the result (block and chunk boundaries inside a piece).
    @Test func incrementalUpdatesMatchOneShot() throws {
        let vector = try #require(BLAKE3TestVectors.cases.first { $0.inputLength == 5121 })
        let input = Self.input(vector.inputLength)
        for piece in [1, 7, 63, 64, 65, 1023, 1024, 1025] {
            var hasher = BLAKE3Hasher(key: BLAKE3Compression.iv, flags: [])
            var offset = 0
            while offset < input.count {
                hasher.update(input[offset..<min(offset + piece, input.count)])
                offset += piece
            }
            #expect(hasher.finalize(count: 131) == hex(vector.hash), "pieces of \(piece)")
        }
    }

    @Test func reusedContextMatchesOneShot() {
        let context = BLAKE3.KeyDerivationContext(BLAKE3TestVectors.contextString)
        for length in [0, 48, 64, 65] {
            #expect(
                context.deriveKey(material: Self.input(length), outputCount: 16)
                    == BLAKE3.deriveKey(context: BLAKE3TestVectors.contextString, material: Self.input(length),
                        outputCount: 16))
        }
    }
}
