import Config
import Logging
import NIOCore
import ShadowsocksCrypto
import Testing

@testable import ServerPool

@Suite struct ServerPoolTests {
    static func member(_ name: String, weight: Int = 1, udp: Bool = true) -> ServerMember {
        ServerMember(
            name: name, endpoint: ServerEndpoint(host: "192.0.2.\(name.utf8.first! % 200)", port: 8388),
            key: MasterKey(method: .aes256GCM, password: name), weight: weight, udp: udp)
    }

    let a = member("a")
    let b = member("b")
    let c = member("c")

    func pool(_ strategy: SelectionStrategy, _ members: [ServerMember]? = nil) -> ServerPool {
        ServerPool(members: members ?? [a, b, c], strategy: strategy, logger: Logger(label: "test"))
    }

    @Test func failoverUsesTheFirstHealthyMemberAndComesBack() {
        let pool = pool(.failover)
        #expect(pool.choose() == a)
        for _ in 0..<2 { pool.recordFailure(a, reason: "x") }
        #expect(pool.choose() == a, "two failures do not eject (ejectAfter 3)")
        pool.recordFailure(a, reason: "x")
        #expect(pool.choose() == b)
        #expect(pool.statuses()[0].health.up == false)
        pool.recordSuccess(a)
        #expect(pool.choose() == b, "one success does not re-admit (readmitAfter 2)")
        pool.recordSuccess(a)
        #expect(pool.choose() == a)
    }

    @Test func aFailedFlowRetriesTheNextMember() {
        let pool = pool(.failover)
        #expect(pool.choose(excluding: [a]) == b)
        #expect(pool.choose(excluding: [a, b]) == c)
        #expect(pool.choose(excluding: [a, b, c]) == nil)
    }

    @Test func withEveryMemberDownThePoolStillAnswers() {
        let pool = pool(.failover)
        for member in [a, b, c] {
            for _ in 0..<3 { pool.recordFailure(member, reason: "x") }
        }
        pool.recordFailure(a, reason: "x")
        // The fewest consecutive failures wins: b (3) before a (4).
        #expect(pool.choose() == b)
    }

    @Test func roundRobinCyclesOverHealthyMembers() {
        let pool = pool(.roundRobin)
        #expect((0..<6).map { _ in pool.choose()! } == [a, b, c, a, b, c])
        for _ in 0..<3 { pool.recordFailure(b, reason: "x") }
        let picks = (0..<4).map { _ in pool.choose()! }
        #expect(!picks.contains(b))
    }

    @Test func weightedRandomFollowsWeights() {
        let heavy = Self.member("h", weight: 9)
        let light = Self.member("l", weight: 1)
        let pool = pool(.random, [heavy, light])
        var heavyCount = 0
        for _ in 0..<2000 where pool.choose() == heavy { heavyCount += 1 }
        #expect((1600...1990).contains(heavyCount), "\(heavyCount) of 2000")
    }

    @Test func leastLatencyMovesOnlyForAClearImprovement() {
        let pool = pool(.leastLatency)
        pool.recordSuccess(a, latency: .milliseconds(50))
        pool.recordSuccess(b, latency: .milliseconds(40))
        pool.recordSuccess(c, latency: .milliseconds(100))
        #expect(pool.choose() == b)
        // a gets a little faster than b: within the hysteresis, stay on b.
        pool.recordSuccess(a, latency: .milliseconds(30))  // smoothed: 50 + 0.3*(30-50) = 44
        pool.recordSuccess(b, latency: .milliseconds(40))
        #expect(pool.choose() == b)
        // b slows down a lot: move.
        for _ in 0..<6 { pool.recordSuccess(b, latency: .milliseconds(200)) }
        #expect(pool.choose() == a)
        // b ejected entirely; a stays.
        for _ in 0..<3 { pool.recordFailure(b, reason: "x") }
        #expect(pool.choose() == a)
    }

    @Test func udpSkipsMembersWithoutUDP() {
        let tcpOnly = Self.member("t", udp: false)
        let pool = pool(.failover, [tcpOnly, b])
        #expect(pool.choose() == tcpOnly)
        #expect(pool.choose(forUDP: true) == b)
    }

    @Test func udpProbesEjectForUDPOnly() {
        let pool = pool(.failover)
        for _ in 0..<3 { pool.recordUDPProbe(a, ok: false, reason: "no answer") }
        #expect(pool.choose() == a, "TCP still uses a")
        #expect(pool.choose(forUDP: true) == b)
        pool.recordUDPProbe(a, ok: true)
        pool.recordUDPProbe(a, ok: true)
        #expect(pool.choose(forUDP: true) == a)
    }

    @Test func reloadKeepsHealthOfMembersThatStay() {
        let pool = pool(.failover)
        for _ in 0..<3 { pool.recordFailure(a, reason: "x") }
        pool.connectionOpened(b)
        let d = Self.member("d")
        pool.replace(members: [a, b, d], strategy: .roundRobin)
        let statuses = pool.statuses()
        #expect(statuses.map(\.member) == [a, b, d])
        #expect(statuses[0].health.up == false)
        #expect(statuses[1].counters.activeConnections == 1)
        #expect(statuses[2].health == ServerPool.Health())
    }

    @Test func countersAddUp() {
        let pool = pool(.failover)
        pool.connectionOpened(a)
        pool.connectionOpened(a)
        pool.connectionClosed(a, bytesUp: 10, bytesDown: 1000)
        pool.recordFailure(b, reason: "refused", connecting: true)
        pool.udpAssociationsChanged(c, by: 2)
        let statuses = pool.statuses()
        #expect(statuses[0].counters.activeConnections == 1)
        #expect(statuses[0].counters.totalConnections == 2)
        #expect(statuses[0].counters.bytesDown == 1000)
        #expect(statuses[1].counters.connectFailures == 1)
        #expect(statuses[1].health.lastError == "refused")
        #expect(statuses[2].counters.udpAssociations == 2)
    }

    @Test("A pin overrides every strategy for new flows; excluded (failed) it falls back; unpin restores")
    func pinOverridesStrategy() {
        for strategy in SelectionStrategy.allCases {
            let pool = pool(strategy)
            #expect(pool.pin(c))
            for _ in 0..<20 { #expect(pool.choose() == c, "\(strategy)") }
            #expect(pool.choose(excluding: [c]) != c)
            #expect(pool.pin(nil))
            #expect(pool.pinned == nil)
        }
        let pool = pool(.failover)
        #expect(!pool.pin(Self.member("z")), "not a member")
        #expect(pool.pin(b))
        pool.replace(members: [a, c], strategy: .failover)
        #expect(pool.pinned == nil, "a reload that drops the pinned member unpins")
        #expect(pool.choose() == a)
        let noUDP = Self.member("u", udp: false)
        let udpPool = self.pool(.failover, [a, noUDP])
        #expect(udpPool.pin(noUDP))
        #expect(udpPool.choose(forUDP: true) == a, "a pin on a TCP-only member does not take UDP flows")
    }
}
