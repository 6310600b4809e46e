import Config
import Logging
import NIOConcurrencyHelpers
import NIOCore
import SeededRandom

/// The pool of Shadowsocks servers: which members are healthy, how fast they answer, and which one a new flow
/// should use. Probe results and real connection outcomes both feed the health state: a member is ejected
/// after `ejectAfter` consecutive failures and re-admitted after `readmitAfter` consecutive successes.
/// Thread-safe: every front and the prober share one pool.
public final class ServerPool: Sendable {
    public struct Health: Sendable, Equatable {
        public var up = true
        public var consecutiveFailures = 0
        public var consecutiveSuccesses = 0
        /// Smoothed probe latency in milliseconds (exponentially weighted), nil until measured.
        public var latencyMilliseconds: Double?
        public var lastError: String?
        /// UDP relaying through the member, from UDP probes (when configured); separate from TCP health.
        public var udpUp = true
        public var udpConsecutiveFailures = 0
        public var udpConsecutiveSuccesses = 0
    }

    public struct Counters: Sendable, Equatable {
        public var activeConnections = 0
        public var totalConnections = 0
        public var connectFailures = 0
        public var bytesUp: UInt64 = 0
        public var bytesDown: UInt64 = 0
        public var udpAssociations = 0
    }

    public struct MemberStatus: Sendable {
        public let member: ServerMember
        public let health: Health
        public let counters: Counters
    }

    private struct Entry {
        let member: Member
        var health = Health()

        func isCandidate(forUDP: Bool, excluding excluded: [Member]) -> Bool {
            (!forUDP || member.udp) && !excluded.contains { $0 === member }
        }

        func isHealthy(forUDP: Bool) -> Bool { health.up && (!forUDP || health.udpUp) }
    }

    private struct State {
        var entries: [Entry]
        var strategy: SelectionStrategy
        var nextRoundRobin = 0
        /// The random strategy's picks: SplitMix64 seeded once. Spreading load needs no CSPRNG, and
        /// `Int.random` cost a getrandom system call per connection.
        var random: SplitMix64 = {
            var system = SystemRandomNumberGenerator()
            return SplitMix64(seed: system.next())
        }()
        var preferred: Member?
        /// Set from the controller (PUT /proxies/{group}): new flows use it whatever the strategy.
        var pinned: Member?

        /// Identity is the object: a pointer compare per entry, never a compare of `ServerMember` fields.
        func index(of member: Member) -> Int? {
            for index in entries.indices where entries[index].member === member { return index }
            return nil
        }

        func index(of server: ServerMember) -> Int? {
            for index in entries.indices where entries[index].member.server == server { return index }
            return nil
        }
    }

    public let ejectAfter: Int
    public let readmitAfter: Int
    /// least-latency switches only to a member at least this much faster (fraction and milliseconds both).
    static let hysteresisFraction = 0.2
    static let hysteresisMilliseconds = 5.0
    static let latencySmoothing = 0.3

    private let state: NIOLockedValueBox<State>
    private let logger: Logger

    public init(
        members: [ServerMember], strategy: SelectionStrategy, ejectAfter: Int = 3, readmitAfter: Int = 2,
        logger: Logger
    ) {
        precondition(!members.isEmpty, "a pool needs a member")
        self.state = NIOLockedValueBox(
            State(entries: members.map { Entry(member: Member($0)) }, strategy: strategy))
        self.ejectAfter = ejectAfter
        self.readmitAfter = readmitAfter
        self.logger = logger
    }

    public var members: [ServerMember] { state.withLockedValue { $0.entries.map(\.member.server) } }

    /// The pool's members as identities, in pool order (the same objects until a reload drops one).
    public var poolMembers: [Member] { state.withLockedValue { $0.entries.map(\.member) } }

    /// The pool's member for `server`, nil when it is not in the pool.
    public func member(for server: ServerMember) -> Member? {
        state.withLockedValue { state in state.index(of: server).map { state.entries[$0].member } }
    }

    /// The member a new flow should use, skipping `excluded` (members that already failed this flow). With no
    /// healthy member left, the one with the fewest consecutive failures: a pool never refuses outright.
    public func choose(forUDP: Bool = false, excluding excluded: Set<ServerMember> = []) -> ServerMember? {
        state.withLockedValue { state in
            let skipped = excluded.isEmpty ? [] : state.entries.compactMap {
                excluded.contains($0.member.server) ? $0.member : nil
            }
            return Self.select(&state, forUDP: forUDP, excluding: skipped)?.server
        }
    }

    /// `choose` for the connect path: identities in and out, and no allocation when nothing is excluded.
    public func chooseMember(forUDP: Bool = false, excluding excluded: [Member] = []) -> Member? {
        state.withLockedValue { Self.select(&$0, forUDP: forUDP, excluding: excluded) }
    }

    /// Counts and walks the entries instead of building candidate and healthy index arrays: one selection is
    /// made per connection, and those arrays were two allocations each time.
    private static func select(_ state: inout State, forUDP: Bool, excluding excluded: [Member]) -> Member? {
        var candidates = 0
        var healthy = 0
        var healthyWeight = 0
        var firstHealthy = 0
        var lastHealthy = 0
        var leastFailed = 0
        for index in state.entries.indices where state.entries[index].isCandidate(forUDP: forUDP, excluding: excluded) {
            if state.entries[index].member === state.pinned { return state.pinned }
            if candidates == 0
                || state.entries[index].health.consecutiveFailures
                    < state.entries[leastFailed].health.consecutiveFailures
            {
                leastFailed = index
            }
            candidates += 1
            guard state.entries[index].isHealthy(forUDP: forUDP) else { continue }
            if healthy == 0 { firstHealthy = index }
            lastHealthy = index
            healthy += 1
            healthyWeight += state.entries[index].member.weight
        }
        guard candidates > 0 else { return nil }
        guard healthy > 0 else { return state.entries[leastFailed].member }
        func isChoosable(_ entry: Entry) -> Bool {
            entry.isCandidate(forUDP: forUDP, excluding: excluded) && entry.isHealthy(forUDP: forUDP)
        }
        switch state.strategy {
        case .failover:
            return state.entries[firstHealthy].member
        case .roundRobin:
            var skip = state.nextRoundRobin % healthy
            state.nextRoundRobin &+= 1
            for index in firstHealthy...lastHealthy where isChoosable(state.entries[index]) {
                if skip == 0 { return state.entries[index].member }
                skip -= 1
            }
            return state.entries[lastHealthy].member
        case .random:
            if healthy == 1 { return state.entries[firstHealthy].member }
            var pick = Int(state.random.next() % UInt64(healthyWeight))
            for index in firstHealthy...lastHealthy where isChoosable(state.entries[index]) {
                pick -= state.entries[index].member.weight
                if pick < 0 { return state.entries[index].member }
            }
            return state.entries[lastHealthy].member
        case .leastLatency:
            return leastLatency(&state, among: firstHealthy...lastHealthy, where: isChoosable)
        }
    }

    private static func leastLatency(
        _ state: inout State, among range: ClosedRange<Int>, where isChoosable: (Entry) -> Bool
    ) -> Member {
        func latency(_ index: Int) -> Double {
            state.entries[index].health.latencyMilliseconds ?? .greatestFiniteMagnitude
        }
        var fastest = range.lowerBound
        var current: Int?
        for index in range where isChoosable(state.entries[index]) {
            if latency(index) < latency(fastest) { fastest = index }
            if current == nil && state.entries[index].member === state.preferred { current = index }
        }
        if let current, let preferred = state.preferred {
            let currentLatency = latency(current)
            let fastestLatency = latency(fastest)
            let clearlyBetter =
                fastestLatency < currentLatency * (1 - hysteresisFraction)
                && currentLatency - fastestLatency > hysteresisMilliseconds
            if !clearlyBetter { return preferred }
        }
        state.preferred = state.entries[fastest].member
        return state.entries[fastest].member
    }

    /// A probe or connection to `member` worked; `latency` when it was measured.
    public func recordSuccess(_ member: ServerMember, latency: TimeAmount? = nil) {
        let readmitted: Bool = state.withLockedValue { state in
            guard let index = state.index(of: member) else { return false }
            return succeeded(&state.entries[index].health, latency: latency)
        }
        if readmitted { logger.notice("pool: \(member) is back up") }
    }

    /// A flow's connect through `member` worked: a success for its health and one more open connection, under
    /// one lock. Close it with `member.connectionClosed(bytesUp:bytesDown:)`.
    public func connected(_ member: Member) {
        member.activeConnections.wrappingAdd(1, ordering: .relaxed)
        member.totalConnections.wrappingAdd(1, ordering: .relaxed)
        let readmitted: Bool = state.withLockedValue { state in
            guard let index = state.index(of: member) else { return false }
            return succeeded(&state.entries[index].health, latency: nil)
        }
        if readmitted { logger.notice("pool: \(member.server) is back up") }
    }

    /// True when this success re-admitted the member.
    private func succeeded(_ health: inout Health, latency: TimeAmount?) -> Bool {
        health.consecutiveFailures = 0
        health.consecutiveSuccesses += 1
        if let latency {
            let sample = Double(latency.nanoseconds) / 1_000_000
            health.latencyMilliseconds = health.latencyMilliseconds.map {
                $0 + Self.latencySmoothing * (sample - $0)
            } ?? sample
        }
        guard !health.up && health.consecutiveSuccesses >= readmitAfter else { return false }
        health.up = true
        health.lastError = nil
        return true
    }

    /// A probe or connection to `member` failed.
    public func recordFailure(_ member: ServerMember, reason: String, connecting: Bool = false) {
        let ejected: Bool = state.withLockedValue { state in
            guard let index = state.index(of: member) else { return false }
            if connecting { state.entries[index].member.connectFailures.wrappingAdd(1, ordering: .relaxed) }
            return failed(&state.entries[index].health, reason: reason)
        }
        if ejected { logEjection(member, reason: reason) }
    }

    /// A flow's connect through `member` failed.
    public func connectFailed(_ member: Member, reason: String) {
        member.connectFailures.wrappingAdd(1, ordering: .relaxed)
        let ejected: Bool = state.withLockedValue { state in
            guard let index = state.index(of: member) else { return false }
            return failed(&state.entries[index].health, reason: reason)
        }
        if ejected { logEjection(member.server, reason: reason) }
    }

    /// True when this failure ejected the member.
    private func failed(_ health: inout Health, reason: String) -> Bool {
        health.consecutiveSuccesses = 0
        health.consecutiveFailures += 1
        health.lastError = reason
        guard health.up && health.consecutiveFailures >= ejectAfter else { return false }
        health.up = false
        return true
    }

    private func logEjection(_ member: ServerMember, reason: String) {
        logger.warning("pool: \(member) is down after \(ejectAfter) failures (\(reason)); new flows go elsewhere")
    }

    /// A UDP probe through `member` got an authentic answer (`ok`) or not. Ejects or re-admits the member for
    /// UDP only, with the same thresholds as TCP.
    public func recordUDPProbe(_ member: ServerMember, ok: Bool, reason: String = "") {
        let change: String? = state.withLockedValue { state in
            guard let index = state.index(of: member) else { return nil }
            var health = state.entries[index].health
            defer { state.entries[index].health = health }
            if ok {
                health.udpConsecutiveFailures = 0
                health.udpConsecutiveSuccesses += 1
                if !health.udpUp && health.udpConsecutiveSuccesses >= readmitAfter {
                    health.udpUp = true
                    return "pool: \(member) relays UDP again"
                }
            } else {
                health.udpConsecutiveSuccesses = 0
                health.udpConsecutiveFailures += 1
                if health.udpUp && health.udpConsecutiveFailures >= ejectAfter {
                    health.udpUp = false
                    return "pool: \(member) does not relay UDP (\(reason)); new UDP flows go elsewhere"
                }
            }
            return nil
        }
        if let change { logger.warning("\(change)") }
    }

    public func connectionOpened(_ member: ServerMember) {
        guard let member = self.member(for: member) else { return }
        member.activeConnections.wrappingAdd(1, ordering: .relaxed)
        member.totalConnections.wrappingAdd(1, ordering: .relaxed)
    }

    public func connectionClosed(_ member: ServerMember, bytesUp: UInt64, bytesDown: UInt64) {
        self.member(for: member)?.connectionClosed(bytesUp: bytesUp, bytesDown: bytesDown)
    }

    public func udpAssociationsChanged(_ member: ServerMember, by delta: Int) {
        self.member(for: member)?.udpAssociationsChanged(by: delta)
    }

    /// Reload: the new member list and strategy; members that stay keep their identity, health and counters.
    public func replace(members: [ServerMember], strategy: SelectionStrategy) {
        precondition(!members.isEmpty, "a pool needs a member")
        state.withLockedValue { state in
            // Each old entry is taken at most once, so a server listed twice gets two identities, as at startup.
            var old: [Entry?] = state.entries
            state.entries = members.map { server in
                for index in old.indices where old[index]?.member.server == server {
                    defer { old[index] = nil }
                    return old[index]!
                }
                return Entry(member: Member(server))
            }
            state.strategy = strategy
            if let preferred = state.preferred, state.index(of: preferred) == nil { state.preferred = nil }
            if let pinned = state.pinned, state.index(of: pinned) == nil { state.pinned = nil }
        }
    }

    /// The member new flows are pinned to (nil: the strategy chooses). A pinned member that fails a flow's
    /// connect is skipped for that flow like any other; a reload that drops it unpins.
    public var pinned: ServerMember? { state.withLockedValue { $0.pinned?.server } }

    /// Pins new flows to `member` (nil unpins); false when it is not in the pool.
    @discardableResult
    public func pin(_ member: ServerMember?) -> Bool {
        state.withLockedValue { state in
            guard let member else {
                state.pinned = nil
                return true
            }
            guard let index = state.index(of: member) else { return false }
            state.pinned = state.entries[index].member
            return true
        }
    }

    public var strategy: SelectionStrategy { state.withLockedValue { $0.strategy } }

    public func statuses() -> [MemberStatus] {
        state.withLockedValue { state in
            state.entries.map {
                MemberStatus(member: $0.member.server, health: $0.health, counters: $0.member.counters)
            }
        }
    }
}
