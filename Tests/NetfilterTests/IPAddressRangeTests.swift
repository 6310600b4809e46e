import Testing

@testable import Netfilter

@Suite("Addresses, prefixes and ranges") struct IPAddressRangeTests {
    @Test("Parses and prints IPv4 and IPv6 addresses")
    func addresses() throws {
        let v4 = try #require(IPAddress("192.0.2.1"))
        #expect(v4.family == .ipv4)
        #expect(v4.value == 0xC000_0201)
        #expect(v4.bytes == [192, 0, 2, 1])
        #expect(v4.description == "192.0.2.1")
        let v6 = try #require(IPAddress("2001:db8::1"))
        #expect(v6.family == .ipv6)
        #expect(v6.bytes.count == 16)
        #expect(v6.description == "2001:db8::1")
        for bad in ["", "1.2.3", "1.2.3.4.5", "256.1.1.1", "::g", "[::1]", "1.2.3.4%eth0", "example.com"] {
            #expect(IPAddress(bad) == nil, "\(bad)")
        }
    }

    @Test("Prefixes: host bits are cleared, bare addresses are /32 or /128, lengths are checked")
    func prefixes() throws {
        let range = try #require(IPRange("10.1.2.3/8"))
        #expect(range.lowerAddress.description == "10.0.0.0")
        #expect(range.upperAddress.description == "10.255.255.255")
        #expect(range.description == "10.0.0.0/8")
        #expect(IPRange("192.0.2.1")?.description == "192.0.2.1")
        #expect(IPRange("::/0")?.prefixLength == 0)
        #expect(IPRange("0.0.0.0/0")?.prefixLength == 0)
        #expect(IPRange("::1/128")?.description == "::1")
        #expect(IPRange("fc00::/7")?.description == "fc00::/7")
        for bad in [
            "10.0.0.0/33", "::/129", "10.0.0.0/", "10.0.0.0/-1", "10.0.0.0/8/8", "10.0.0.0/ 8", "1.2.3.4-::1",
            "1.2.3.9-1.2.3.4",
        ] {
            #expect(IPRange(bad) == nil, "\(bad)")
        }
    }

    @Test("A range prints as a prefix only when it is exactly one CIDR block")
    func rangeSpelling() throws {
        #expect(IPRange("10.0.0.0-10.255.255.255")?.description == "10.0.0.0/8")
        #expect(IPRange("10.0.0.0-10.2.255.255")?.description == "10.0.0.0-10.2.255.255")
        #expect(IPRange("10.0.0.1-10.0.0.2")?.description == "10.0.0.1-10.0.0.2")
        #expect(IPRange("10.0.0.2-10.0.0.3")?.description == "10.0.0.2/31")
        #expect(IPRange("2001:db8::-2001:db8::ffff")?.description == "2001:db8::/112")
        #expect(IPRange("0.0.0.0-255.255.255.255")?.description == "0.0.0.0/0")
    }
}
