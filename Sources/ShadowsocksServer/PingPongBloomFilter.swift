import NIOConcurrencyHelpers
import ShadowsocksProtocol

/// The server's replay filter: two bloom filters used in turn, as shadowsocks-libev's ppbloom. New salts go into
/// the current one; a salt in either is a replay. When the current one has taken its share (half the capacity),
/// the older one is cleared and becomes current, so the last capacity/2 to capacity salts are always remembered
/// and memory stays fixed. One instance is shared by every connection of a server; `admit` takes a lock only
/// around the bit tests (the hashing happens outside it).
public final class PingPongBloomFilter: SaltFilter, Sendable {
    /// ss-libev's server sizing (BF_NUM_ENTS_FOR_SERVER, BF_ERROR_RATE_FOR_SERVER).
    public static let defaultCapacity = 1_000_000
    public static let defaultFalsePositiveRate = 1e-6

    private struct State {
        var filters: [BloomFilter]
        var counts = [0, 0]
        var current = 0
    }

    private let state: NIOLockedValueBox<State>
    /// Entries each half takes before the roles swap.
    public let entriesPerFilter: Int

    /// `capacity` salts remembered at most (at least half of them at any time); each half is sized for
    /// capacity/2 entries at `falsePositiveRate` (a lookup consults both, so the rate seen is about twice that).
    public init(capacity: Int = defaultCapacity, falsePositiveRate: Double = defaultFalsePositiveRate) {
        let half = max(1, capacity / 2)
        entriesPerFilter = half
        let filter = BloomFilter(capacity: half, falsePositiveRate: falsePositiveRate)
        state = NIOLockedValueBox(State(filters: [filter, filter]))
    }

    /// Memory the two bit arrays take, in bytes.
    public var byteCount: Int { state.withLockedValue { $0.filters[0].byteCount + $0.filters[1].byteCount } }

    /// Bit positions set per entry.
    public var hashCount: Int { state.withLockedValue { $0.filters[0].hashCount } }

    public func admit(_ salt: [UInt8]) -> Bool {
        let digest = BloomFilter.Digest(salt)
        return state.withLockedValue { state in
            if state.filters[0].contains(digest) || state.filters[1].contains(digest) { return false }
            let current = state.current
            state.filters[current].insert(digest)
            state.counts[current] += 1
            if state.counts[current] >= entriesPerFilter {
                let older = 1 - current
                state.filters[older].removeAll()
                state.counts[older] = 0
                state.current = older
            }
            return true
        }
    }

    /// True if `salt` was admitted before (or collides with one that was); remembers nothing.
    public func contains(_ salt: [UInt8]) -> Bool {
        let digest = BloomFilter.Digest(salt)
        return state.withLockedValue { $0.filters[0].contains(digest) || $0.filters[1].contains(digest) }
    }
}
