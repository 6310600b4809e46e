import IPAddresses
import Testing
import SeededRandom

@testable import Rules

@Suite("CIDR trie: longest-prefix match for IPv4 and IPv6") struct CIDRTrieTests {
    func trie(_ prefixes: [(String, UInt32)]) -> CIDRTrie {
        var trie = CIDRTrie()
        for (text, value) in prefixes { trie.insert(IPRange(text)!, value: value) }
        return trie
    }

    @Test("The most specific prefix wins; addresses outside every prefix miss")
    func longestPrefix() {
        let trie = trie([("10.0.0.0/8", 1), ("10.1.0.0/16", 2), ("10.1.2.3", 3), ("0.0.0.0/1", 4)])
        #expect(trie.lookup(IPAddress("10.9.9.9")!) == 1)
        #expect(trie.lookup(IPAddress("10.1.9.9")!) == 2)
        #expect(trie.lookup(IPAddress("10.1.2.3")!) == 3)
        #expect(trie.lookup(IPAddress("10.1.2.4")!) == 2)
        #expect(trie.lookup(IPAddress("127.0.0.1")!) == 4)
        #expect(trie.lookup(IPAddress("128.0.0.1")!) == nil)
        #expect(trie.lookup(IPAddress("::1")!) == nil)
    }

    @Test("IPv6 and IPv4 live apart; /0 and full-length prefixes work")
    func families() {
        let trie = trie([("::/0", 1), ("2001:db8::/32", 2), ("2001:db8::1", 3), ("0.0.0.0/0", 4)])
        #expect(trie.lookup(IPAddress("2001:db8::1")!) == 3)
        #expect(trie.lookup(IPAddress("2001:db8::2")!) == 2)
        #expect(trie.lookup(IPAddress("fe80::1")!) == 1)
        #expect(trie.lookup(IPAddress("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff")!) == 1)
        #expect(trie.lookup(IPAddress("255.255.255.255")!) == 4)
    }

    @Test("A repeated prefix keeps its first value; inserting a shorter prefix later splits an edge")
    func firstValueAndSplits() {
        var trie = trie([("10.1.2.0/24", 1), ("10.1.2.0/24", 2), ("10.1.3.0/24", 3), ("10.0.0.0/8", 4)])
        #expect(trie.lookup(IPAddress("10.1.2.9")!) == 1)
        #expect(trie.lookup(IPAddress("10.1.3.9")!) == 3)
        #expect(trie.lookup(IPAddress("10.200.0.1")!) == 4)
        #expect(trie.prefixCount == 3)
        trie.insert(IPRange("10.1.0.0/23")!, value: 5)
        #expect(trie.lookup(IPAddress("10.1.1.1")!) == 5)
        #expect(trie.lookup(IPAddress("10.1.2.1")!) == 1)
    }

    @Test("Ranges are split into the exact covering prefixes")
    func rangeSplitting() {
        func split(_ text: String) -> [String] {
            let range = IPRange(text)!
            return range.prefixes.map {
                IPRange(prefix: IPAddress(family: range.family, value: $0.address), length: $0.length).description
            }
        }
        #expect(split("10.0.0.1-10.0.0.6") == ["10.0.0.1", "10.0.0.2/31", "10.0.0.4/31", "10.0.0.6"])
        #expect(split("10.0.0.0-10.0.0.255") == ["10.0.0.0/24"])
        #expect(split("0.0.0.0-255.255.255.255") == ["0.0.0.0/0"])
        #expect(split("::-ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff") == ["::/0"])
        #expect(split("255.255.255.254-255.255.255.255") == ["255.255.255.254/31"])
        #expect(split("::1-::2") == ["::1", "::2"])
        let trie = trie([("192.0.2.10-192.0.2.20", 7)])
        #expect(trie.lookup(IPAddress("192.0.2.9")!) == nil)
        #expect(trie.lookup(IPAddress("192.0.2.10")!) == 7)
        #expect(trie.lookup(IPAddress("192.0.2.20")!) == 7)
        #expect(trie.lookup(IPAddress("192.0.2.21")!) == nil)
    }

    @Test("Matches a linear scan over random prefixes and ranges (seeded)", arguments: [IPFamily.ipv4, .ipv6])
    func againstLinearScan(family: IPFamily) {
        var random = SplitMix64(seed: family == .ipv4 ? 4 : 6)
        let width = family.bitWidth
        // Addresses drawn near a few bases so prefixes nest and overlap often.
        let bases: [UInt128] = (0..<4).map { _ in UInt128.random(in: 0...family.maxValue, using: &random) }
        func address() -> UInt128 {
            let base = bases.randomElement(using: &random)!
            let noise =
                UInt128.random(in: 0...UInt128(UInt32.max), using: &random)
                >> UInt128(Int.random(in: 0...31, using: &random))
            return family == .ipv4 ? (base ^ noise) & family.maxValue : base ^ noise
        }
        var entries: [(range: IPRange, value: UInt32)] = []
        var trie = CIDRTrie()
        for value in 0..<400 {
            let range: IPRange
            if value % 5 == 0 {
                let a = address()
                let b = address()
                range = IPRange(family: family, lower: min(a, b), upper: max(a, b))
            } else {
                let length = Int.random(in: (width - 32)...width, using: &random)
                range = IPRange(
                    prefix: IPAddress(family: family, value: address()), length: value % 50 == 1 ? 0 : length)
            }
            entries.append((range, UInt32(value)))
            trie.insert(range, value: UInt32(value))
        }
        // The naive answer: among the covering prefixes of every range, the longest; on a tie, the first inserted.
        let prefixes = entries.flatMap { entry in
            entry.range.prefixes.map { (lower: $0.address, length: $0.length, value: entry.value) }
        }
        func naive(_ value: UInt128) -> UInt32? {
            var best: (length: Int, value: UInt32)?
            for prefix in prefixes {
                let hostBits = width - prefix.length
                let mask: UInt128 = hostBits >= 128 ? 0 : ~((1 << UInt128(hostBits)) - 1) & family.maxValue
                guard value & mask == prefix.lower else { continue }
                if best == nil || prefix.length > best!.length { best = (prefix.length, prefix.value) }
            }
            return best?.value
        }
        for _ in 0..<1500 {
            let value = address()
            #expect(trie.lookup(IPAddress(family: family, value: value)) == naive(value))
        }
    }
}
