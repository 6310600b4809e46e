/// Plain textbook implementations to check OpenSSL's output against, written from the specs, slow on purpose.

/// ChaCha20 block function (RFC 8439 section 2.3) in DJB's layout: words 12-13 a 64-bit block counter,
/// words 14-15 an 8-byte nonce.
enum NaiveChaCha20 {
    static func block(key: [UInt8], counter: UInt64, nonce: [UInt8]) -> [UInt8] {
        precondition(key.count == 32 && nonce.count == 8)
        func word(_ bytes: [UInt8], _ index: Int) -> UInt32 {
            (0..<4).reduce(0) { $0 | UInt32(bytes[4 * index + $1]) << (8 * UInt32($1)) }
        }
        var state: [UInt32] = [0x6170_7865, 0x3320_646e, 0x7962_2d32, 0x6b20_6574]
        state += (0..<8).map { word(key, $0) }
        state += [UInt32(truncatingIfNeeded: counter), UInt32(truncatingIfNeeded: counter >> 32)]
        state += (0..<2).map { word(nonce, $0) }
        var x = state
        func quarterRound(_ a: Int, _ b: Int, _ c: Int, _ d: Int) {
            x[a] &+= x[b]; x[d] ^= x[a]; x[d] = x[d] << 16 | x[d] >> 16
            x[c] &+= x[d]; x[b] ^= x[c]; x[b] = x[b] << 12 | x[b] >> 20
            x[a] &+= x[b]; x[d] ^= x[a]; x[d] = x[d] << 8 | x[d] >> 24
            x[c] &+= x[d]; x[b] ^= x[c]; x[b] = x[b] << 7 | x[b] >> 25
        }
        for _ in 0..<10 {
            quarterRound(0, 4, 8, 12); quarterRound(1, 5, 9, 13); quarterRound(2, 6, 10, 14); quarterRound(3, 7, 11, 15)
            quarterRound(0, 5, 10, 15); quarterRound(1, 6, 11, 12); quarterRound(2, 7, 8, 13); quarterRound(3, 4, 9, 14)
        }
        return (0..<16).flatMap { index in
            let value = x[index] &+ state[index]
            return (0..<4).map { UInt8(truncatingIfNeeded: value >> (8 * UInt32($0))) }
        }
    }
}

/// RC4 (the key-scheduling and pseudo-random generation algorithms, as RFC 6229 tests them).
enum NaiveRC4 {
    static func keystream(key: [UInt8], count: Int) -> [UInt8] {
        var s = (0...255).map { UInt8($0) }
        var j = 0
        for i in 0..<256 {
            j = (j + Int(s[i]) + Int(key[i % key.count])) & 0xFF
            s.swapAt(i, j)
        }
        var i = 0
        j = 0
        return (0..<count).map { _ in
            i = (i + 1) & 0xFF
            j = (j + Int(s[i])) & 0xFF
            s.swapAt(i, j)
            return s[(Int(s[i]) + Int(s[j])) & 0xFF]
        }
    }
}
