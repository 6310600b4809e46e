#if canImport(Glibc)
import Glibc
#endif

/// A classic bloom filter over byte strings: `hashCount` bit positions per entry, taken by double hashing
/// (Kirsch and Mitzenmacher, "Less hashing, same performance", 2006) from one keyed 128-bit digest.
/// Not thread-safe; `PingPongBloomFilter` wraps two of these behind a lock.
struct BloomFilter {
    /// Two independent 64-bit hashes of one entry; every filter derives its bit positions from these.
    struct Digest {
        let first: UInt64
        let second: UInt64

        /// Swift's `Hasher` is SipHash keyed with a per-process random seed, so a peer cannot aim salts at
        /// chosen bit positions.
        init(_ bytes: [UInt8]) {
            var a = Hasher()
            var b = Hasher()
            b.combine(0x5A17_F11E as UInt32)  // a different prefix gives an independent second hash
            bytes.withUnsafeBytes { raw in
                a.combine(bytes: raw)
                b.combine(bytes: raw)
            }
            first = UInt64(bitPattern: Int64(a.finalize()))
            second = UInt64(bitPattern: Int64(b.finalize())) | 1  // odd: never a zero stride
        }
    }

    let bitCount: Int
    let hashCount: Int
    /// Entries the filter was sized for.
    let capacity: Int
    private var words: [UInt64]

    /// Sized for `capacity` entries at `falsePositiveRate`: m = -n ln p / (ln 2)^2 bits, k = (m / n) ln 2.
    init(capacity: Int, falsePositiveRate: Double) {
        precondition(capacity > 0 && falsePositiveRate > 0 && falsePositiveRate < 1)
        let ln2 = log(2.0)
        let bits = (-Double(capacity) * log(falsePositiveRate) / (ln2 * ln2)).rounded(.up)
        self.capacity = capacity
        self.bitCount = max(64, Int(bits))
        self.hashCount = max(1, Int((Double(bitCount) / Double(capacity) * ln2).rounded()))
        self.words = [UInt64](repeating: 0, count: (bitCount + 63) / 64)
    }

    /// Bytes of memory the bit array takes.
    var byteCount: Int { words.count * 8 }

    func contains(_ digest: Digest) -> Bool {
        var position = digest.first
        for _ in 0..<hashCount {
            let bit = Int(position % UInt64(bitCount))
            if words[bit >> 6] & (1 << UInt64(bit & 63)) == 0 { return false }
            position &+= digest.second
        }
        return true
    }

    mutating func insert(_ digest: Digest) {
        var position = digest.first
        for _ in 0..<hashCount {
            let bit = Int(position % UInt64(bitCount))
            words[bit >> 6] |= 1 << UInt64(bit & 63)
            position &+= digest.second
        }
    }

    mutating func removeAll() {
        words.withUnsafeMutableBufferPointer { $0.update(repeating: 0) }
    }
}
