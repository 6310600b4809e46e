import NIOConcurrencyHelpers
import NIOCore
import Resolver

/// The forwarder's answers by (name, type, class), LRU-bounded, each kept for its TTL (RFC 2181, negative
/// answers per RFC 2308). A hit is served with the TTLs aged by the time it spent here and the asker's id.
package final class DNSAnswerCache: Sendable {
    package struct Key: Hashable, Sendable {
        let name: String
        let type: UInt16
        let questionClass: UInt16

        package init(name: String, type: UInt16, questionClass: UInt16) {
            self.name = name
            self.type = type
            self.questionClass = questionClass
        }
    }

    private struct Entry {
        var message: DNSMessage
        var stored: NIODeadline
        var expires: NIODeadline
    }

    /// Answers are kept at most a day, whatever their TTL says.
    static let maximumTTL: UInt32 = 86_400
    private let state: NIOLockedValueBox<(entries: [Key: Entry], order: [Key])>
    private let capacity: Int
    private let counters = NIOLockedValueBox((hits: 0, misses: 0))

    package init(capacity: Int = 4096) {
        self.capacity = capacity
        self.state = NIOLockedValueBox(([:], []))
    }

    package func lookup(_ key: Key, id: UInt16, now: NIODeadline = .now()) -> DNSMessage? {
        let found: DNSMessage? = state.withLockedValue { state in
            guard let entry = state.entries[key] else { return nil }
            guard entry.expires > now else {
                state.entries[key] = nil
                return nil
            }
            let elapsed = UInt32(clamping: (now - entry.stored).nanoseconds / 1_000_000_000)
            var message = entry.message
            message.header.id = id
            func age(_ records: inout [DNSResourceRecord]) {
                for index in records.indices { records[index].ttl = records[index].effectiveTTL &- min(elapsed, records[index].effectiveTTL) }
            }
            age(&message.answers)
            age(&message.authorities)
            age(&message.additionals)
            return message
        }
        counters.withLockedValue { found == nil ? ($0.misses += 1) : ($0.hits += 1) }
        return found
    }

    package func store(_ message: DNSMessage, for key: Key, now: NIODeadline = .now()) {
        guard let ttl = message.minimumTTL, ttl > 0 else { return }
        let lifetime = TimeAmount.seconds(Int64(min(ttl, Self.maximumTTL)))
        state.withLockedValue { state in
            if state.entries[key] == nil {
                state.order.append(key)
                if state.order.count > capacity {
                    // Drop the oldest stored quarter at once; cheaper than keeping exact LRU order per hit.
                    let dropped = state.order.prefix(capacity / 4)
                    for old in dropped { state.entries[old] = nil }
                    state.order.removeFirst(dropped.count)
                }
            }
            state.entries[key] = Entry(message: message, stored: now, expires: now + lifetime)
        }
    }

    var statistics: (hits: Int, misses: Int, entries: Int) {
        let (hits, misses) = counters.withLockedValue { ($0.hits, $0.misses) }
        return (hits, misses, state.withLockedValue { $0.entries.count })
    }
}
