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
        var member: ServerMember
        var health = Health()
        var counters = Counters()
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
        var preferred: ServerMember?
        /// Set from the controller (PUT /proxies/{group}): new flows use it whatever the strategy.
        var pinned: ServerMember?
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
        self.state = NIOLockedValueBox(State(entries: members.map { Entry(member: $0) }, strategy: strategy))
        self.ejectAfter = ejectAfter
        self.readmitAfter = readmitAfter
        self.logger = logger
    }

    public var members: [ServerMember] { state.withLockedValue { $0.entries.map(\.member) } }

    /// The member a new flow should use, skipping `excluded` (members that already failed this flow). With no
    /// healthy member left, the one with the fewest consecutive failures: a pool never refuses outright.
    public func choose(forUDP: Bool = false, excluding excluded: Set<ServerMember> = []) -> ServerMember? {
        state.withLockedValue { state in
            let candidates = state.entries.indices.filter {
                !excluded.contains(state.entries[$0].member) && (!forUDP || state.entries[$0].member.udp)
            }
            guard !candidates.isEmpty else { return nil }
            if let pinned = state.pinned, let index = candidates.first(where: { state.entries[$0].member == pinned }) {
                return state.entries[index].member
            }
            let healthy = candidates.filter {
                state.entries[$0].health.up && (!forUDP || state.entries[$0].health.udpUp)
            }
            guard !healthy.isEmpty else {
                let best = candidates.min { state.entries[$0].health.consecutiveFailures < state.entries[$1].health.consecutiveFailures }!
                return state.entries[best].member
            }
            switch state.strategy {
            case .failover:
                return state.entries[healthy[0]].member
            case .roundRobin:
                let index = healthy[state.nextRoundRobin % healthy.count]
                state.nextRoundRobin &+= 1
                return state.entries[index].member
            case .random:
                if healthy.count == 1 { return state.entries[healthy[0]].member }
                let total = healthy.reduce(0) { $0 + state.entries[$1].member.weight }
                var pick = Int(state.random.next() % UInt64(total))
                for index in healthy {
                    pick -= state.entries[index].member.weight
                    if pick < 0 { return state.entries[index].member }
                }
                return state.entries[healthy.last!].member
            case .leastLatency:
                return Self.leastLatency(&state, healthy: healthy)
            }
        }
    }

    private static func leastLatency(_ state: inout State, healthy: [Int]) -> ServerMember {
        let latencies = state.entries.map { $0.health.latencyMilliseconds ?? .greatestFiniteMagnitude }
        let latency = { (index: Int) in latencies[index] }
        let fastest = healthy.min { latency($0) < latency($1) }!
        if let preferred = state.preferred,
            let current = healthy.first(where: { state.entries[$0].member == preferred })
        {
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
            guard let index = state.entries.firstIndex(where: { $0.member == member }) else { return false }
            var health = state.entries[index].health
            health.consecutiveFailures = 0
            health.consecutiveSuccesses += 1
            if let latency {
                let sample = Double(latency.nanoseconds) / 1_000_000
                health.latencyMilliseconds = health.latencyMilliseconds.map {
                    $0 + Self.latencySmoothing * (sample - $0)
                } ?? sample
            }
            let wasDown = !health.up
            if wasDown && health.consecutiveSuccesses >= readmitAfter {
                health.up = true
                health.lastError = nil
            }
            state.entries[index].health = health
            return wasDown && health.up
        }
        if readmitted { logger.notice("pool: \(member) is back up") }
    }

    /// A probe or connection to `member` failed.
    public func recordFailure(_ member: ServerMember, reason: String, connecting: Bool = false) {
        let ejected: Bool = state.withLockedValue { state in
            guard let index = state.entries.firstIndex(where: { $0.member == member }) else { return false }
            var entry = state.entries[index]
            entry.health.consecutiveSuccesses = 0
            entry.health.consecutiveFailures += 1
            entry.health.lastError = reason
            if connecting { entry.counters.connectFailures += 1 }
            let eject = entry.health.up && entry.health.consecutiveFailures >= ejectAfter
            if eject { entry.health.up = false }
            state.entries[index] = entry
            return eject
        }
        if ejected {
            logger.warning("pool: \(member) is down after \(ejectAfter) failures (\(reason)); new flows go elsewhere")
        }
    }

    /// A UDP probe through `member` got an authentic answer (`ok`) or not. Ejects or re-admits the member for
    /// UDP only, with the same thresholds as TCP.
    public func recordUDPProbe(_ member: ServerMember, ok: Bool, reason: String = "") {
        let change: String? = state.withLockedValue { state in
            guard let index = state.entries.firstIndex(where: { $0.member == member }) else { return nil }
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
        update(member) {
            $0.activeConnections += 1
            $0.totalConnections += 1
        }
    }

    public func connectionClosed(_ member: ServerMember, bytesUp: UInt64, bytesDown: UInt64) {
        update(member) {
            $0.activeConnections -= 1
            $0.bytesUp &+= bytesUp
            $0.bytesDown &+= bytesDown
        }
    }

    public func udpAssociationsChanged(_ member: ServerMember, by delta: Int) {
        update(member) { $0.udpAssociations += delta }
    }

    private func update(_ member: ServerMember, _ body: (inout Counters) -> Void) {
        state.withLockedValue { state in
            if let index = state.entries.firstIndex(where: { $0.member == member }) {
                body(&state.entries[index].counters)
            }
        }
    }

    /// Reload: the new member list and strategy; members that stay keep their health and counters.
    public func replace(members: [ServerMember], strategy: SelectionStrategy) {
        precondition(!members.isEmpty, "a pool needs a member")
        state.withLockedValue { state in
            let old = state.entries
            state.entries = members.map { member in old.first { $0.member == member } ?? Entry(member: member) }
            state.strategy = strategy
            if let preferred = state.preferred, !members.contains(preferred) { state.preferred = nil }
            if let pinned = state.pinned, !members.contains(pinned) { state.pinned = nil }
        }
    }

    /// The member new flows are pinned to (nil: the strategy chooses). A pinned member that fails a flow's
    /// connect is skipped for that flow like any other; a reload that drops it unpins.
    public var pinned: ServerMember? { state.withLockedValue { $0.pinned } }

    /// Pins new flows to `member` (nil unpins); false when it is not in the pool.
    @discardableResult
    public func pin(_ member: ServerMember?) -> Bool {
        state.withLockedValue { state in
            guard let member else {
                state.pinned = nil
                return true
            }
            guard state.entries.contains(where: { $0.member == member }) else { return false }
            state.pinned = member
            return true
        }
    }

    public var strategy: SelectionStrategy { state.withLockedValue { $0.strategy } }

    public func statuses() -> [MemberStatus] {
        state.withLockedValue { state in
            state.entries.map { MemberStatus(member: $0.member, health: $0.health, counters: $0.counters) }
        }
    }
}
