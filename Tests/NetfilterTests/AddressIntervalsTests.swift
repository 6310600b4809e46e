import Testing
import SeededRandom

@testable import Netfilter

@Suite("Interval sets: sorting, merging, elements") struct AddressIntervalsTests {
    func ranges(_ texts: [String]) -> [IPRange] { texts.map { IPRange($0)! } }

    func merged(_ family: IPFamily, _ texts: [String]) -> [String] {
        AddressIntervals(family: family, ranges(texts)).ranges.map(\.description)
    }

    @Test("Unsorted input comes out sorted")
    func sorts() {
        #expect(
            merged(.ipv4, ["192.168.0.0/16", "10.0.0.0/8", "172.16.0.0/12"]) == [
                "10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16",
            ])
    }

    @Test("Overlapping, contained, duplicate and adjacent ranges merge; a gap of one address does not")
    func merges() {
        #expect(merged(.ipv4, ["10.0.0.0/8", "10.1.0.0/16", "10.0.0.0/8"]) == ["10.0.0.0/8"])
        #expect(merged(.ipv4, ["10.0.0.0/9", "10.128.0.0/9"]) == ["10.0.0.0/8"])
        #expect(merged(.ipv4, ["10.0.0.0-10.0.0.10", "10.0.0.5-10.0.0.20"]) == ["10.0.0.0-10.0.0.20"])
        #expect(merged(.ipv4, ["10.0.0.0-10.0.0.9", "10.0.0.10-10.0.0.15"]) == ["10.0.0.0/28"])
        #expect(
            merged(.ipv4, ["10.0.0.0-10.0.0.9", "10.0.0.11-10.0.0.15"]) == ["10.0.0.0-10.0.0.9", "10.0.0.11-10.0.0.15"])
        #expect(merged(.ipv4, ["224.0.0.0/4", "240.0.0.0/4"]) == ["224.0.0.0/3"])
        #expect(merged(.ipv6, ["::/128", "::1/128", "fc00::/7", "fd00::/8"]) == ["::/127", "fc00::/7"])
    }

    @Test("Ranges at the top of the address space merge without overflow")
    func topOfSpace() {
        #expect(merged(.ipv4, ["255.255.255.255", "255.255.255.0/24", "0.0.0.0/0"]) == ["0.0.0.0/0"])
        #expect(merged(.ipv4, ["255.255.255.255", "255.255.255.254"]) == ["255.255.255.254/31"])
        #expect(merged(.ipv6, ["ff00::/8", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"]) == ["ff00::/8"])
    }

    @Test("Only the requested family is kept")
    func filtersFamily() {
        let mixed = ["10.0.0.0/8", "fc00::/7", "192.0.2.1"]
        #expect(merged(.ipv4, mixed) == ["10.0.0.0/8", "192.0.2.1"])
        #expect(merged(.ipv6, mixed) == ["fc00::/7"])
    }

    @Test("Elements as nft sends them: a leading end at 0, start + end per range, no end at the top")
    func elements() {
        let v4 = AddressIntervals(family: .ipv4, ranges(["10.0.0.0/8", "224.0.0.0/3"])).ranges
        let elements = AddressIntervals.elements(of: v4).map {
            "\($0.key)\($0.isEnd ? " end" : "")\($0.isOpenEnded ? " open" : "")"
        }
        #expect(elements == ["0.0.0.0 end", "10.0.0.0", "11.0.0.0 end", "224.0.0.0 open"])
        let fromZero = AddressIntervals(family: .ipv4, ranges(["0.0.0.0/8"])).ranges
        #expect(AddressIntervals.elements(of: fromZero).map(\.key.description) == ["0.0.0.0", "1.0.0.0"])
        #expect(AddressIntervals.elements(of: []).isEmpty)
    }

    @Test("10,000 random prefixes merge to disjoint, sorted, non-adjacent ranges covering the same addresses")
    func randomised() {
        var generator = SplitMix64(seed: 42)
        var prefixes: [IPRange] = []
        for _ in 0..<10_000 {
            let length = Int.random(in: 8...32, using: &generator)
            let address = IPAddress(family: .ipv4, value: UInt128(UInt32.random(in: 0...UInt32.max, using: &generator)))
            prefixes.append(IPRange(prefix: address, length: length))
        }
        let result = AddressIntervals(family: .ipv4, prefixes).ranges
        for (previous, next) in zip(result, result.dropFirst()) {
            #expect(next.lower > previous.upper + 1)
        }
        // Every input lies inside exactly one output range, and every output range starts at some input's start.
        for prefix in prefixes.prefix(500) {
            let containing = result.filter { $0.lower <= prefix.lower && prefix.upper <= $0.upper }
            #expect(containing.count == 1)
        }
        let starts = Set(prefixes.map(\.lower))
        #expect(result.allSatisfy { starts.contains($0.lower) })
    }
}

