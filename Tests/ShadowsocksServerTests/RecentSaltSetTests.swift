import NIOConcurrencyHelpers
import Testing

@testable import ShadowsocksServer

@Suite struct RecentSaltSetTests {
    /// A settable clock in seconds.
    final class Clock: Sendable {
        let seconds = NIOLockedValueBox<UInt64>(1000)
        func advance(_ by: UInt64) { seconds.withLockedValue { $0 += by } }
        var read: @Sendable () -> UInt64 { { self.seconds.withLockedValue { $0 } } }
    }

    static func salt(_ index: Int) -> [UInt8] {
        withUnsafeBytes(of: UInt64(index).littleEndian) { Array($0) } + [UInt8](repeating: 0, count: 24)
    }

    @Test func exactNoFalsePositives() {
        let set = RecentSaltSet(capacity: 300_000)
        for index in 0..<200_000 { #expect(set.admit(Self.salt(index))) }
        var replaysAdmitted = 0
        for index in 0..<200_000 where set.admit(Self.salt(index)) { replaysAdmitted += 1 }
        #expect(replaysAdmitted == 0)
    }

    // SIP022 3.1.4: at least 60 s; this structure keeps a salt 60-120 s.
    @Test func remembersEverySaltForAtLeastSixtySeconds() {
        let clock = Clock()
        let set = RecentSaltSet(clock: clock.read)
        for step in 0..<10 {
            #expect(set.admit(Self.salt(step)))
            clock.advance(59)
            #expect(!set.admit(Self.salt(step)), "forgotten after 59 s (step \(step))")
            clock.advance(1)
        }
        clock.advance(121)
        #expect(set.admit(Self.salt(9)), "kept beyond two generations")
    }

    @Test func fullSetRefusesInsteadOfForgetting() {
        let clock = Clock()
        let set = RecentSaltSet(capacity: 3, clock: clock.read)
        for index in 0..<3 { #expect(set.admit(Self.salt(index))) }
        #expect(!set.admit(Self.salt(3)))
        clock.advance(60)
        #expect(set.admit(Self.salt(3)), "room again in the next generation")
        #expect(!set.admit(Self.salt(0)), "the previous generation is still remembered")
    }
}
