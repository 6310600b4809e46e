/// HChaCha20 (draft-irtf-cfrg-xchacha-03 section 2.2): the ChaCha20 core without the final addition, over the
/// key and a 16-byte nonce, keeping state words 0-3 and 12-15 as a 32-byte subkey. XChaCha20 is ChaCha20 keyed
/// with it; OpenSSL has no XChaCha, so this is the piece we add.
enum HChaCha20 {
    static func subkey(key: [UInt8], nonce: ArraySlice<UInt8>) -> [UInt8] {
        precondition(key.count == 32 && nonce.count == 16)
        var state: [UInt32] = [0x6170_7865, 0x3320_646e, 0x7962_2d32, 0x6b20_6574]  // "expand 32-byte k"
        state += littleEndianWords(key[...])
        state += littleEndianWords(nonce)
        state.withUnsafeMutableBufferPointer { s in
            for _ in 0..<10 {
                quarterRound(s, 0, 4, 8, 12)
                quarterRound(s, 1, 5, 9, 13)
                quarterRound(s, 2, 6, 10, 14)
                quarterRound(s, 3, 7, 11, 15)
                quarterRound(s, 0, 5, 10, 15)
                quarterRound(s, 1, 6, 11, 12)
                quarterRound(s, 2, 7, 8, 13)
                quarterRound(s, 3, 4, 9, 14)
            }
        }
        var out: [UInt8] = []
        out.reserveCapacity(32)
        for word in state[0..<4] + state[12..<16] {
            for shift in stride(from: UInt32(0), to: 32, by: 8) { out.append(UInt8(truncatingIfNeeded: word >> shift)) }
        }
        return out
    }

    /// RFC 8439 section 2.1.
    @inline(__always)
    private static func quarterRound(_ s: UnsafeMutableBufferPointer<UInt32>, _ a: Int, _ b: Int, _ c: Int, _ d: Int) {
        s[a] &+= s[b]
        s[d] = rotateLeft(s[d] ^ s[a], 16)
        s[c] &+= s[d]
        s[b] = rotateLeft(s[b] ^ s[c], 12)
        s[a] &+= s[b]
        s[d] = rotateLeft(s[d] ^ s[a], 8)
        s[c] &+= s[d]
        s[b] = rotateLeft(s[b] ^ s[c], 7)
    }

    @inline(__always)
    private static func rotateLeft(_ value: UInt32, _ count: UInt32) -> UInt32 {
        (value << count) | (value >> (32 - count))
    }

    private static func littleEndianWords(_ bytes: ArraySlice<UInt8>) -> [UInt32] {
        stride(from: bytes.startIndex, to: bytes.endIndex, by: 4).map { index in
            (0..<4).reduce(UInt32(0)) { $0 | UInt32(bytes[index + $1]) << (8 * UInt32($1)) }
        }
    }
}
