import IPAddresses
import NIOConcurrencyHelpers
import NIOCore

/// Address → the name whose DNS answer carried it, learnt by the DNS forwarder, kept until the answer's TTL
/// (at least `minimumLifetime`, since clients connect after the TTL of short-lived answers), bounded.
final class LearnedNames: Sendable {
    static let minimumLifetime: TimeAmount = .seconds(60)
    private struct Entry {
        var name: String
        var expires: NIODeadline
    }

    private let capacity: Int
    private let state = NIOLockedValueBox<[IPAddress: Entry]>([:])

    init(capacity: Int = 65_536) {
        self.capacity = capacity
    }

    func learn(_ addresses: [IPAddress], name: String, ttlSeconds: UInt32, now: NIODeadline = .now()) {
        let lifetime = max(TimeAmount.seconds(Int64(ttlSeconds)), Self.minimumLifetime)
        state.withLockedValue { table in
            if table.count + addresses.count > capacity {
                table = table.filter { $0.value.expires > now }
                // Still full of live entries: start over rather than scan for the oldest on every answer.
                if table.count + addresses.count > capacity { table.removeAll(keepingCapacity: true) }
            }
            for address in addresses { table[address] = Entry(name: name, expires: now + lifetime) }
        }
    }

    func name(for address: IPAddress, now: NIODeadline = .now()) -> String? {
        state.withLockedValue { table in
            guard let entry = table[address] else { return nil }
            guard entry.expires > now else {
                table[address] = nil
                return nil
            }
            return entry.name
        }
    }

    var count: Int { state.withLockedValue { $0.count } }
}
