import Foundation
import Testing

@testable import ShadowsocksServer

@Suite struct PingPongBloomFilterTests {
    /// Distinct 32-byte salts: a counter and a tag (the filter's hash is keyed SipHash, so structure in the input
    /// does not help collisions).
    static func salts(_ range: Range<Int>, tag: UInt8) -> [[UInt8]] {
        range.map { index in
            withUnsafeBytes(of: UInt64(index).littleEndian) { Array($0) } + [tag] + [UInt8](repeating: 0xA5, count: 23)
        }
    }

    @Test func everyReplayIsCaught() {
        let filter = PingPongBloomFilter(capacity: 200_000)
        let salts = Self.salts(0..<50_000, tag: 1)
        for salt in salts { #expect(filter.admit(salt)) }
        var replaysAdmitted = 0
        for salt in salts where filter.admit(salt) { replaysAdmitted += 1 }
        #expect(replaysAdmitted == 0)
    }

    @Test func defaultSizingMatchesSsLibevServer() {
        let filter = PingPongBloomFilter()
        #expect(filter.entriesPerFilter == 500_000)
        // m = -n ln p / (ln 2)^2 = 14.38 Mbit per half, k = 20: about 3.6 MB for both.
        #expect(filter.hashCount == 20)
        #expect((3_500_000...3_700_000).contains(filter.byteCount))
    }

    /// Half the filter filled to capacity, then fresh salts asked: the rate seen stays near the design rate.
    @Test func falsePositiveRateOnABoundedSample() {
        let designRate = 1e-3
        let filter = PingPongBloomFilter(capacity: 40_000, falsePositiveRate: designRate)
        for salt in Self.salts(0..<19_999, tag: 2) { _ = filter.admit(salt) }  // one short of the swap
        let queries = 200_000
        var falsePositives = 0
        for salt in Self.salts(0..<queries, tag: 3) where filter.contains(salt) { falsePositives += 1 }
        let rate = Double(falsePositives) / Double(queries)
        // Expected about 200; the bound leaves room for chance (sd ~ 14) but not for a broken hash.
        #expect(rate < designRate * 1.5, "measured \(rate)")
        #expect(falsePositives > 0, "a filter at capacity with p = 1e-3 shows some false positives")
    }

    /// The server's own sizing, one half filled to its 500,000 entries: false positives stay near 1e-6.
    @Test func defaultFilterAtCapacityOnHalfAMillionQueries() {
        let filter = PingPongBloomFilter()
        for salt in Self.salts(0..<499_999, tag: 4) { _ = filter.admit(salt) }
        var falsePositives = 0
        for salt in Self.salts(0..<500_000, tag: 5) where filter.contains(salt) { falsePositives += 1 }
        // Expected 0.5; 5 or more would happen by chance with probability below 2e-4.
        #expect(falsePositives < 5, "\(falsePositives) false positives in 500,000")
    }

    /// Ping-pong: when the current half fills, the older half is cleared, so the last half-capacity is remembered.
    @Test func olderHalfIsForgottenAfterTwoSwaps() {
        let filter = PingPongBloomFilter(capacity: 1000)
        let first = Self.salts(0..<500, tag: 6)
        let second = Self.salts(500..<1000, tag: 6)
        for salt in first { #expect(filter.admit(salt)) }
        // First swap done: `first` sits in the older half and is still remembered.
        #expect(first.allSatisfy(filter.contains))
        for salt in second { #expect(filter.admit(salt)) }
        // Second swap cleared the half holding `first`; `second` is still remembered.
        #expect(second.allSatisfy(filter.contains))
        #expect(first.filter(filter.contains).count <= 1)
    }

    @Test func concurrentAdmissionsOfTheSameSaltAdmitExactlyOne() {
        let filter = PingPongBloomFilter(capacity: 100_000)
        let salts = Self.salts(0..<5_000, tag: 7)
        let admitted = (0..<4).map { _ in Box() }
        DispatchQueue.concurrentPerform(iterations: 4) { worker in
            var count = 0
            for salt in salts where filter.admit(salt) { count += 1 }
            admitted[worker].value = count
        }
        #expect(admitted.map(\.value).reduce(0, +) == salts.count)
    }

    final class Box: @unchecked Sendable {
        var value = 0
    }
}
