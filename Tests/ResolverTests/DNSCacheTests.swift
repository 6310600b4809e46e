import IPAddresses
import NIOCore
import Testing
import SeededRandom

@testable import Resolver

@Suite struct DNSCacheTests {
    let start = NIODeadline.uptimeNanoseconds(1_000_000_000)

    func key(_ name: String, _ type: DNSRecordType = .a) -> DNSCache.Key {
        DNSCache.Key(name: try! DNSName(name), type: type)
    }

    @Test func answersLiveForTheirTTL() {
        var cache = DNSCache(capacity: 10)
        let answer = DNSCache.Answer.addresses([IPAddress("192.0.2.1")!])
        cache.store(answer, for: key("a.test"), ttl: 30, now: start)
        #expect(cache.answer(for: key("A.TEST"), now: start + .seconds(29)) == answer)
        #expect(cache.answer(for: key("a.test", .aaaa), now: start) == nil)
        #expect(cache.answer(for: key("a.test"), now: start + .seconds(30)) == nil)
        #expect(cache.count == 0)
        #expect(cache.statistics == DNSCacheStatistics(hits: 1, misses: 2, entries: 0, evictions: 0, capacity: 10))
    }

    @Test func zeroTTLIsNotStored() {
        var cache = DNSCache(capacity: 10)
        cache.store(.nameError, for: key("a.test"), ttl: 0, now: start)
        #expect(cache.count == 0)
        var disabled = DNSCache(capacity: 0)
        disabled.store(.nameError, for: key("a.test"), ttl: 10, now: start)
        #expect(disabled.count == 0)
    }

    @Test func leastRecentlyUsedIsEvicted() {
        var cache = DNSCache(capacity: 3)
        for name in ["a", "b", "c"] { cache.store(.noData, for: key(name), ttl: 60, now: start) }
        #expect(cache.answer(for: key("a"), now: start) == .noData)  // a is now the most recent
        cache.store(.nameError, for: key("d"), ttl: 60, now: start)
        #expect(cache.count == 3 && cache.evictions == 1)
        #expect(cache.answer(for: key("b"), now: start) == nil)
        #expect(cache.answer(for: key("a"), now: start) == .noData)
        #expect(cache.answer(for: key("c"), now: start) == .noData)
        #expect(cache.answer(for: key("d"), now: start) == .nameError)
        // Replacing an entry neither grows the cache nor evicts.
        cache.store(.nameError, for: key("c"), ttl: 60, now: start)
        #expect(cache.count == 3 && cache.evictions == 1)
        #expect(cache.answer(for: key("c"), now: start) == .nameError)
    }

    /// Against a naive model (an array in use order) over a random workload.
    @Test func matchesANaiveLRU() {
        var cache = DNSCache(capacity: 8)
        var model: [(DNSCache.Key, DNSCache.Answer)] = []
        var random = SplitMix64(seed: 42)
        for step in 0..<5000 {
            let name = key("n\(random.next() % 20)")
            if random.next() % 2 == 0 {
                let answer = DNSCache.Answer.addresses([IPAddress(family: .ipv4, value: UInt128(step))])
                cache.store(answer, for: name, ttl: 60, now: start)
                model.removeAll { $0.0 == name }
                model.append((name, answer))
                if model.count > 8 { model.removeFirst() }
            } else {
                let expected = model.firstIndex { $0.0 == name }.map { model.remove(at: $0) }
                if let expected { model.append(expected) }
                #expect(cache.answer(for: name, now: start) == expected?.1)
            }
            #expect(cache.count == model.count)
        }
    }

    @Test func removeAllEmptiesButKeepsCounters() {
        var cache = DNSCache(capacity: 4)
        cache.store(.noData, for: key("a"), ttl: 60, now: start)
        _ = cache.answer(for: key("a"), now: start)
        cache.removeAll()
        #expect(cache.count == 0 && cache.hits == 1)
        #expect(cache.answer(for: key("a"), now: start) == nil)
        cache.store(.noData, for: key("a"), ttl: 60, now: start)
        #expect(cache.answer(for: key("a"), now: start) == .noData)
    }
}
