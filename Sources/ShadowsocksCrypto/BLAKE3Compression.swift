/// The BLAKE3 compression function (BLAKE3 spec section 2.2): a 16-word state from the chaining value, the
/// first four IV words, the 64-bit counter, the block length and the flags; seven rounds of the ChaCha-like G
/// over the 16 message words, permuted between rounds.
enum BLAKE3Compression {
    /// The IV is SHA-256's (BLAKE3 spec table 1).
    static let iv: [UInt32] = [
        0x6A09_E667, 0xBB67_AE85, 0x3C6E_F372, 0xA54F_F53A, 0x510E_527F, 0x9B05_688C, 0x1F83_D9AB, 0x5BE0_CD19,
    ]

    /// Domain separation flags (BLAKE3 spec table 3).
    struct Flags: OptionSet, Sendable {
        let rawValue: UInt32
        static let chunkStart = Flags(rawValue: 1 << 0)
        static let chunkEnd = Flags(rawValue: 1 << 1)
        static let parent = Flags(rawValue: 1 << 2)
        static let root = Flags(rawValue: 1 << 3)
        static let keyedHash = Flags(rawValue: 1 << 4)
        static let deriveKeyContext = Flags(rawValue: 1 << 5)
        static let deriveKeyMaterial = Flags(rawValue: 1 << 6)
    }

    /// Bytes per block, and per chunk (16 blocks), from the spec.
    static let blockSize = 64
    static let chunkSize = 1024

    /// The message word order of round r+1 is that of round r permuted by this (BLAKE3 spec table 2).
    private static let permutation: [Int] = [2, 6, 3, 10, 7, 0, 4, 13, 1, 11, 12, 5, 9, 14, 15, 8]

    /// compress(h, m, t, b, d): all 16 output words (the first 8 are the next chaining value; all 16 are used
    /// for root output bytes).
    static func compress(
        chainingValue: [UInt32], block: [UInt32], counter: UInt64, blockLength: Int, flags: Flags
    ) -> [UInt32] {
        var state: [UInt32] = [
            chainingValue[0], chainingValue[1], chainingValue[2], chainingValue[3],
            chainingValue[4], chainingValue[5], chainingValue[6], chainingValue[7],
            iv[0], iv[1], iv[2], iv[3],
            UInt32(truncatingIfNeeded: counter), UInt32(truncatingIfNeeded: counter >> 32),
            UInt32(blockLength), flags.rawValue,
        ]
        var message = block
        state.withUnsafeMutableBufferPointer { v in
            for round in 0..<7 {
                if round > 0 { message = permutation.map { message[$0] } }
                message.withUnsafeBufferPointer { m in
                    // Columns, then diagonals.
                    mix(v, 0, 4, 8, 12, m[0], m[1])
                    mix(v, 1, 5, 9, 13, m[2], m[3])
                    mix(v, 2, 6, 10, 14, m[4], m[5])
                    mix(v, 3, 7, 11, 15, m[6], m[7])
                    mix(v, 0, 5, 10, 15, m[8], m[9])
                    mix(v, 1, 6, 11, 12, m[10], m[11])
                    mix(v, 2, 7, 8, 13, m[12], m[13])
                    mix(v, 3, 4, 9, 14, m[14], m[15])
                }
            }
            for i in 0..<8 {
                v[i] ^= v[i + 8]
                v[i + 8] ^= chainingValue[i]
            }
        }
        return state
    }

    /// The quarter-round G (BLAKE3 spec section 2.2).
    @inline(__always)
    private static func mix(
        _ v: UnsafeMutableBufferPointer<UInt32>, _ a: Int, _ b: Int, _ c: Int, _ d: Int, _ x: UInt32, _ y: UInt32
    ) {
        v[a] = v[a] &+ v[b] &+ x
        v[d] = rotateRight(v[d] ^ v[a], 16)
        v[c] = v[c] &+ v[d]
        v[b] = rotateRight(v[b] ^ v[c], 12)
        v[a] = v[a] &+ v[b] &+ y
        v[d] = rotateRight(v[d] ^ v[a], 8)
        v[c] = v[c] &+ v[d]
        v[b] = rotateRight(v[b] ^ v[c], 7)
    }

    @inline(__always)
    private static func rotateRight(_ value: UInt32, _ count: UInt32) -> UInt32 {
        (value >> count) | (value << (32 - count))
    }

    /// 64 bytes (zero-padded if shorter) as 16 little-endian words.
    static func words(_ bytes: ArraySlice<UInt8>) -> [UInt32] {
        var words = [UInt32](repeating: 0, count: 16)
        for (offset, byte) in bytes.enumerated() {
            words[offset / 4] |= UInt32(byte) << (8 * UInt32(offset % 4))
        }
        return words
    }
}
