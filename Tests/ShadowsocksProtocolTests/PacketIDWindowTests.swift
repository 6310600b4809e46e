import Testing

@testable import ShadowsocksProtocol

@Suite struct PacketIDWindowTests {
    /// The rule stated plainly: newer than the highest, or within the window below it and unseen.
    struct Naive {
        var seen = Set<UInt64>()
        var highest: UInt64?
        func isAcceptable(_ id: UInt64) -> Bool {
            guard let highest, id <= highest else { return true }
            return highest - id < PacketIDWindow.size && !seen.contains(id)
        }
        mutating func record(_ id: UInt64) {
            seen.insert(id)
            highest = max(highest ?? id, id)
        }
    }

    @Test func agreesWithTheNaiveRuleOnRandomTraffic() {
        var generator = SystemRandomNumberGenerator()
        for _ in 0..<20 {
            var window = PacketIDWindow()
            var naive = Naive()
            var base: UInt64 = UInt64.random(in: 0...10, using: &generator)
            for _ in 0..<5000 {
                // Mostly near the front, some reordering, replays and big jumps.
                let roll = Int.random(in: 0..<100, using: &generator)
                let id: UInt64
                switch roll {
                case 0..<60: base += UInt64.random(in: 0...3, using: &generator); id = base
                case 60..<90: id = base &- UInt64.random(in: 0...2500, using: &generator) % (base + 1)
                case 90..<97: id = base &- UInt64.random(in: 0...5, using: &generator) % (base + 1)
                default: base += UInt64.random(in: 64...5000, using: &generator); id = base
                }
                let expected = naive.isAcceptable(id)
                #expect(window.isAcceptable(id) == expected, "id \(id), base \(base)")
                if expected {
                    window.record(id)
                    naive.record(id)
                }
            }
        }
    }

    @Test func edges() {
        var window = PacketIDWindow()
        #expect(window.isAcceptable(0))
        window.record(0)
        #expect(!window.isAcceptable(0))
        window.record(PacketIDWindow.size)
        #expect(!window.isAcceptable(0), "just out of the window")
        #expect(window.isAcceptable(1))
        window.record(UInt64.max)
        #expect(!window.isAcceptable(UInt64.max))
        #expect(window.isAcceptable(UInt64.max - 1))
    }
}
