import NIOConcurrencyHelpers

/// Bypassed (direct) connections, for status and metrics: what the pool counters are for proxied ones.
final class DirectCounters: Sendable {
    struct Snapshot: Sendable {
        var open = 0
        var total = 0
        var failures = 0
        var bytesUp: UInt64 = 0
        var bytesDown: UInt64 = 0
    }

    private let state = NIOLockedValueBox(Snapshot())

    func opened() { state.withLockedValue { $0.open += 1; $0.total += 1 } }
    func failed() { state.withLockedValue { $0.failures += 1 } }

    func closed(bytesUp: UInt64, bytesDown: UInt64) {
        state.withLockedValue {
            $0.open -= 1
            $0.bytesUp &+= bytesUp
            $0.bytesDown &+= bytesDown
        }
    }

    var snapshot: Snapshot { state.withLockedValue { $0 } }
}
