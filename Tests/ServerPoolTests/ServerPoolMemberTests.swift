import Config
import Logging
import NIOCore
import ShadowsocksCrypto
import Testing

@testable import ServerPool

/// The connect path's API: members as identities (`chooseMember`, `connected`, `connectFailed`,
/// `Member.connectionClosed`), checked against the ServerMember-valued API and across reloads.
@Suite struct ServerPoolMemberTests {
    let a = ServerPoolTests.member("a")
    let b = ServerPoolTests.member("b")
    let c = ServerPoolTests.member("c")

    func pool(_ strategy: SelectionStrategy, _ members: [ServerMember]? = nil) -> ServerPool {
        ServerPool(members: members ?? [a, b, c], strategy: strategy, logger: Logger(label: "test"))
    }

    @Test func aReloadKeepsTheIdentityOfMembersThatStay() throws {
        let pool = pool(.failover)
        let oldA = try #require(pool.member(for: a))
        let oldC = try #require(pool.member(for: c))
        pool.connected(oldA)
        let d = ServerPoolTests.member("d")
        pool.replace(members: [d, a, b], strategy: .failover)
        #expect(pool.member(for: a) === oldA)
        #expect(pool.member(for: c) == nil)
        #expect(pool.poolMembers.map(\.server) == [d, a, b])
        // A connection through the dropped member closes after the reload: nothing that stays is touched.
        oldC.connectionClosed(bytesUp: 5, bytesDown: 5)
        #expect(pool.statuses().allSatisfy { $0.counters.bytesUp == 0 })
        oldA.connectionClosed(bytesUp: 7, bytesDown: 9)
        let statusA = pool.statuses()[1]
        #expect(statusA.counters.activeConnections == 0)
        #expect(statusA.counters.totalConnections == 1)
        #expect(statusA.counters.bytesUp == 7 && statusA.counters.bytesDown == 9)
        // Dropped and listed again: a new identity with fresh counters, so old flows cannot skew them.
        pool.replace(members: [a, c], strategy: .failover)
        let newC = try #require(pool.member(for: c))
        #expect(newC !== oldC)
        oldC.connectionClosed(bytesUp: 1, bytesDown: 1)
        #expect(pool.statuses()[1].counters == ServerPool.Counters())
    }

    @Test func aServerListedTwiceGetsTwoIdentities() {
        let pool = pool(.roundRobin, [a, a, b])
        let members = pool.poolMembers
        #expect(members[0] !== members[1])
        pool.replace(members: [a, a], strategy: .roundRobin)
        let reloaded = pool.poolMembers
        #expect(reloaded[0] === members[0] && reloaded[1] === members[1])
        #expect(pool.chooseMember() === reloaded[0])
        #expect(pool.chooseMember() === reloaded[1])
    }

    @Test func countersThroughTheConnectPath() throws {
        let pool = pool(.failover)
        let chosen = try #require(pool.chooseMember())
        #expect(chosen.server == a)
        pool.connected(chosen)
        pool.connected(chosen)
        chosen.connectionClosed(bytesUp: 10, bytesDown: 1000)
        let other = try #require(pool.chooseMember(excluding: [chosen]))
        pool.connectFailed(other, reason: "connect: refused")
        pool.member(for: c)?.udpAssociationsChanged(by: 2)
        let statuses = pool.statuses()
        #expect(statuses[0].counters.activeConnections == 1)
        #expect(statuses[0].counters.totalConnections == 2)
        #expect(statuses[0].counters.bytesUp == 10 && statuses[0].counters.bytesDown == 1000)
        #expect(statuses[0].health.consecutiveSuccesses == 2)
        #expect(statuses[1].member == b)
        #expect(statuses[1].counters.connectFailures == 1)
        #expect(statuses[1].health.lastError == "connect: refused")
        #expect(statuses[2].counters.udpAssociations == 2)
        // The ServerMember-valued calls reach the same counters.
        pool.connectionOpened(a)
        pool.connectionClosed(a, bytesUp: 1, bytesDown: 1)
        #expect(pool.statuses()[0].counters.totalConnections == 3)
        #expect(pool.statuses()[0].counters.bytesDown == 1001)
    }

    @Test func connectOutcomesEjectAndReadmitLikeProbes() throws {
        let pool = pool(.failover)
        let first = try #require(pool.member(for: a))
        for _ in 0..<3 { pool.connectFailed(first, reason: "x") }
        #expect(pool.chooseMember() !== first)
        #expect(pool.statuses()[0].health.up == false)
        pool.connected(first)
        #expect(pool.chooseMember() !== first, "one success does not re-admit (readmitAfter 2)")
        pool.connected(first)
        #expect(pool.chooseMember() === first)
        #expect(pool.statuses()[0].health.lastError == nil)
    }

    @Test func exclusionSkipsTriedMembersAndEndsWithNil() throws {
        for strategy in SelectionStrategy.allCases {
            let pool = pool(strategy)
            var tried: [ServerPool.Member] = []
            while let next = pool.chooseMember(excluding: tried) {
                #expect(!tried.contains { $0 === next }, "\(strategy)")
                tried.append(next)
            }
            #expect(Set(tried.map(\.server)) == [a, b, c], "\(strategy)")
        }
    }

    /// A random walk of probe results, connect outcomes, pins and exclusions on two pools: every choice through
    /// identities must equal the choice through ServerMember values and the naive model below, which is the
    /// selection written with candidate and healthy arrays as it was before identities.
    @Test func choicesMatchANaiveModel() {
        let servers = [a, b, c, ServerPoolTests.member("t", udp: false), ServerPoolTests.member("w", weight: 3)]
        for strategy in [SelectionStrategy.failover, .roundRobin, .leastLatency] {
            var random = XorShift(state: 0x9E37_79B9_7F4A_7C15)
            let pool = pool(strategy, servers)
            let values = self.pool(strategy, servers)
            var model = NaiveSelection(strategy: strategy)
            for step in 0..<3000 {
                let server = servers[random.below(servers.count)]
                switch random.below(8) {
                case 0: for p in [pool, values] { p.recordFailure(server, reason: "x") }
                case 1:
                    let latency = TimeAmount.milliseconds(Int64(random.below(100)))
                    for p in [pool, values] { p.recordSuccess(server, latency: latency) }
                case 2:
                    let ok = random.below(2) == 0
                    for p in [pool, values] { p.recordUDPProbe(server, ok: ok) }
                case 3:
                    let pin = random.below(4) == 0 ? server : nil
                    for p in [pool, values] { p.pin(pin) }
                default:
                    let forUDP = random.below(3) == 0
                    let excluded = servers.filter { _ in random.below(4) == 0 }
                    let expected = model.choose(
                        pool.statuses(), pinned: pool.pinned, forUDP: forUDP, excluding: excluded)
                    let identities = excluded.compactMap { pool.member(for: $0) }
                    let chosen = pool.chooseMember(forUDP: forUDP, excluding: identities)?.server
                    let chosenByValue = values.choose(forUDP: forUDP, excluding: Set(excluded))
                    #expect(chosen == expected, "\(strategy) step \(step)")
                    #expect(chosenByValue == expected, "\(strategy) step \(step)")
                }
            }
        }
    }
}

/// The pre-identity selection, kept naive on purpose: index arrays, value compares.
struct NaiveSelection {
    let strategy: SelectionStrategy
    var nextRoundRobin = 0
    var preferred: ServerMember?

    mutating func choose(
        _ statuses: [ServerPool.MemberStatus], pinned: ServerMember?, forUDP: Bool, excluding excluded: [ServerMember]
    ) -> ServerMember? {
        let candidates = statuses.indices.filter {
            !excluded.contains(statuses[$0].member) && (!forUDP || statuses[$0].member.udp)
        }
        guard !candidates.isEmpty else { return nil }
        if let pinned, candidates.contains(where: { statuses[$0].member == pinned }) { return pinned }
        let healthy = candidates.filter { statuses[$0].health.up && (!forUDP || statuses[$0].health.udpUp) }
        guard !healthy.isEmpty else {
            let failures = { (index: Int) in statuses[index].health.consecutiveFailures }
            return statuses[candidates.min { failures($0) < failures($1) }!].member
        }
        switch strategy {
        case .failover:
            return statuses[healthy[0]].member
        case .roundRobin:
            defer { nextRoundRobin += 1 }
            return statuses[healthy[nextRoundRobin % healthy.count]].member
        case .leastLatency:
            let latency = { (index: Int) in statuses[index].health.latencyMilliseconds ?? .greatestFiniteMagnitude }
            let fastest = healthy.min { latency($0) < latency($1) }!
            if let preferred, let current = healthy.first(where: { statuses[$0].member == preferred }) {
                let clearlyBetter =
                    latency(fastest) < latency(current) * (1 - ServerPool.hysteresisFraction)
                    && latency(current) - latency(fastest) > ServerPool.hysteresisMilliseconds
                if !clearlyBetter { return preferred }
            }
            preferred = statuses[fastest].member
            return preferred
        case .random:
            fatalError("random is checked by its weights (ServerPoolTests)")
        }
    }
}

/// Deterministic steps for the random walk (xorshift64), so a failure names a reproducible step.
struct XorShift {
    var state: UInt64

    mutating func below(_ bound: Int) -> Int {
        state ^= state << 13
        state ^= state >> 7
        state ^= state << 17
        return Int(state % UInt64(bound))
    }
}
