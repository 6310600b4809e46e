import IPAddresses
import NIOCore

/// Counters of the resolver's answer cache.
public struct DNSCacheStatistics: Sendable, Equatable, CustomStringConvertible {
    public var hits: Int
    public var misses: Int
    /// Entries held now (expired ones go when they are next looked up or pushed out).
    public var entries: Int
    /// Entries pushed out to stay within the capacity.
    public var evictions: Int
    public var capacity: Int

    public var description: String {
        "\(entries)/\(capacity) entries, \(hits) hits, \(misses) misses, \(evictions) evictions"
    }
}

/// Answers per (name, type), bounded by entry count with least-recently-used eviction; each entry lives for the
/// TTL it was stored with. The lists are kept in arrays (slot indices) so nothing is allocated per lookup.
struct DNSCache: Sendable {
    enum Answer: Equatable, Sendable {
        case addresses([IPAddress])
        /// NXDOMAIN.
        case nameError
        /// NOERROR without records of the type (RFC 2308 2.2).
        case noData
    }

    struct Key: Hashable, Sendable {
        let name: DNSName
        let type: DNSRecordType
    }

    private struct Slot: Sendable {
        var key: Key
        var answer: Answer
        var expires: NIODeadline
        var older: Int
        var newer: Int
    }

    let capacity: Int
    private var slots: [Slot] = []
    private var freeSlots: [Int] = []
    private var index: [Key: Int] = [:]
    /// Least and most recently used slots; -1 when empty.
    private var oldest = -1
    private var newest = -1
    private(set) var hits = 0
    private(set) var misses = 0
    private(set) var evictions = 0

    init(capacity: Int) { self.capacity = max(0, capacity) }

    var count: Int { index.count }

    var statistics: DNSCacheStatistics {
        DNSCacheStatistics(hits: hits, misses: misses, entries: count, evictions: evictions, capacity: capacity)
    }

    /// The live answer for `key`, made most recently used; an expired one is dropped and counts as a miss.
    mutating func answer(for key: Key, now: NIODeadline) -> Answer? {
        guard let slot = index[key] else {
            misses += 1
            return nil
        }
        guard slots[slot].expires > now else {
            remove(slot)
            misses += 1
            return nil
        }
        hits += 1
        moveToNewest(slot)
        return slots[slot].answer
    }

    /// Stores `answer` for `ttl` seconds; a TTL of 0 is not stored (RFC 1035 3.2.1: use only for this transaction).
    mutating func store(_ answer: Answer, for key: Key, ttl: UInt32, now: NIODeadline) {
        guard ttl > 0, capacity > 0 else { return }
        let expires = now + .seconds(Int64(ttl))
        if let slot = index[key] {
            slots[slot].answer = answer
            slots[slot].expires = expires
            moveToNewest(slot)
            return
        }
        if index.count >= capacity, oldest >= 0 {
            remove(oldest)
            evictions += 1
        }
        let entry = Slot(key: key, answer: answer, expires: expires, older: newest, newer: -1)
        let slot: Int
        if let free = freeSlots.popLast() {
            slots[free] = entry
            slot = free
        } else {
            slots.append(entry)
            slot = slots.count - 1
        }
        if newest >= 0 { slots[newest].newer = slot } else { oldest = slot }
        newest = slot
        index[key] = slot
    }

    mutating func removeAll() {
        slots.removeAll()
        freeSlots.removeAll()
        index.removeAll()
        oldest = -1
        newest = -1
    }

    private mutating func unlink(_ slot: Int) {
        let older = slots[slot].older
        let newer = slots[slot].newer
        if older >= 0 { slots[older].newer = newer } else { oldest = newer }
        if newer >= 0 { slots[newer].older = older } else { newest = older }
        slots[slot].older = -1
        slots[slot].newer = -1
    }

    private mutating func moveToNewest(_ slot: Int) {
        guard newest != slot else { return }
        unlink(slot)
        slots[slot].older = newest
        if newest >= 0 { slots[newest].newer = slot } else { oldest = slot }
        newest = slot
    }

    private mutating func remove(_ slot: Int) {
        unlink(slot)
        index[slots[slot].key] = nil
        slots[slot].answer = .noData  // drop the address array now rather than at reuse
        freeSlots.append(slot)
    }
}
