import NIOConcurrencyHelpers

/// Lookups in progress, so concurrent callers for one (name, type) share a single query. A caller that is
/// cancelled stops waiting at once; the query itself runs on (bounded by the timeouts) and its answer is cached.
final class InFlightLookups: Sendable {
    private struct State {
        var nextWaiter = 0
        var waiters: [DNSCache.Key: [Int: CheckedContinuation<NameSearch.Outcome, any Error>]] = [:]
    }

    private let state = NIOLockedValueBox(State())

    /// Waits for the query running for `key`, starting it with `query` when none is.
    func join(_ key: DNSCache.Key, query: @escaping @Sendable () async -> NameSearch.Outcome) async throws
        -> NameSearch.Outcome
    {
        let waiter = state.withLockedValue { state in
            defer { state.nextWaiter &+= 1 }
            return state.nextWaiter
        }
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { continuation in
                guard !Task.isCancelled else {
                    continuation.resume(throwing: CancellationError())
                    return
                }
                let first = state.withLockedValue { state in
                    let first = state.waiters[key] == nil
                    state.waiters[key, default: [:]][waiter] = continuation
                    return first
                }
                guard first else { return }
                Task {
                    let outcome = await query()
                    let waiting = self.state.withLockedValue { $0.waiters.removeValue(forKey: key) } ?? [:]
                    for continuation in waiting.values { continuation.resume(returning: outcome) }
                }
            }
        } onCancel: {
            let continuation = state.withLockedValue { $0.waiters[key]?.removeValue(forKey: waiter) }
            continuation?.resume(throwing: CancellationError())
        }
    }
}
