import NIOConcurrencyHelpers
import NIOCore
import ShadowsocksProtocol

/// The replay filter for Shadowsocks 2022 streams (SIP022 section 3.1.4: every salt stored for 60 seconds, in a
/// structure with no false positives, so never a bloom filter). Two exact sets used in turn: new salts go into the
/// current one, and each 60 s the current one becomes the previous one, so every salt is remembered for 60-120 s.
/// Memory is bounded: when the current set is full, new salts are refused (counted as replays) rather than old
/// ones forgotten early. One instance is shared by every 2022 connection of a server.
public final class RecentSaltSet: SaltFilter, Sendable {
    /// SIP022 3.1.4: "Servers MUST store all incoming salts for 60 seconds."
    public static let retentionSeconds: UInt64 = 60
    /// Salts per 60 s generation: about 8000 new streams a second.
    public static let defaultCapacity = 500_000

    private struct State {
        var current: Set<[UInt8]> = []
        var previous: Set<[UInt8]> = []
        var generationStart: UInt64
    }

    private let state: NIOLockedValueBox<State>
    private let capacity: Int
    private let clock: @Sendable () -> UInt64

    /// `clock`: monotonic seconds (tests pass their own).
    public init(
        capacity: Int = defaultCapacity,
        clock: @escaping @Sendable () -> UInt64 = { NIODeadline.now().uptimeNanoseconds / 1_000_000_000 }
    ) {
        self.capacity = capacity
        self.clock = clock
        self.state = NIOLockedValueBox(State(generationStart: clock()))
    }

    public func admit(_ salt: [UInt8]) -> Bool {
        let now = clock()
        return state.withLockedValue { state in
            let elapsed = now &- state.generationStart
            if elapsed >= Self.retentionSeconds {
                // Salts enter only within 60 s of the generation start, so after 120 s all of them are old enough.
                state.previous = elapsed >= 2 * Self.retentionSeconds ? [] : state.current
                state.current = []
                state.generationStart = now
            }
            guard !state.current.contains(salt), !state.previous.contains(salt) else { return false }
            guard state.current.count < capacity else { return false }
            state.current.insert(salt)
            return true
        }
    }
}
