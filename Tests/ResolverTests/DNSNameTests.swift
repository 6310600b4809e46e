import Testing

@testable import Resolver

@Suite struct DNSNameTests {
    @Test func parsesTextWithAndWithoutFinalDot() throws {
        let name = try DNSName("www.Example.com")
        #expect(name.labels == [Array("www".utf8), Array("Example".utf8), Array("com".utf8)])
        #expect(try DNSName("www.example.com.") == name)
        #expect(name.wireLength == 17)
        #expect(name.description == "www.Example.com")
        #expect(try DNSName(".") == .root)
        #expect(DNSName.root.description == ".")
        #expect(DNSName.root.wireLength == 1)
    }

    @Test func comparesAndHashesCaseInsensitively() throws {
        let lower = try DNSName("example.com")
        let upper = try DNSName("EXAMPLE.Com")
        #expect(lower == upper)
        #expect(Set([lower, upper]).count == 1)
        #expect(try DNSName("example.co") != lower)
        // Octets outside A-Z are compared exactly.
        #expect(try DNSName("\\200x.com") != DNSName("\\232x.com"))
    }

    @Test func rejectsEmptyLabelsAndEmptyText() {
        for text in ["", "..", "a..b", ".a", "a\\"] {
            #expect(throws: DNSMessageError.self, "\(text)") { try DNSName(text) }
        }
    }

    @Test func enforcesRFC1035Limits() throws {
        let label63 = String(repeating: "a", count: 63)
        #expect(try DNSName(label63).wireLength == 65)
        #expect(throws: DNSMessageError(.labelTooLong(64))) { try DNSName(label63 + "a") }
        // 3 x 64 + 62 + 1 (root) = 255 octets: the longest legal name.
        let longest = [label63, label63, label63, String(repeating: "b", count: 61)].joined(separator: ".")
        #expect(try DNSName(longest).wireLength == 255)
        #expect(throws: DNSMessageError(.nameTooLong)) { try DNSName(longest + "b") }
        #expect(throws: DNSMessageError(.nameTooLong)) { try DNSName(longest).appending(DNSName("x")) }
    }

    @Test func escapesRoundTrip() throws {
        let name = try DNSName("a\\.b.c\\\\d.\\000\\255")
        #expect(name.labels == [Array("a.b".utf8), Array("c\\d".utf8), [0, 255]])
        #expect(name.description == "a\\.b.c\\\\d.\\000\\255")
        #expect(try DNSName(name.description) == name)
        #expect(throws: DNSMessageError.self) { try DNSName("\\256") }
        #expect(throws: DNSMessageError.self) { try DNSName("\\12") }
    }

    @Test func subdomainsFollowLabelBoundaries() throws {
        let zone = try DNSName("example.com")
        #expect(try DNSName("a.b.example.com").isSubdomain(of: zone))
        #expect(try DNSName("EXAMPLE.com").isSubdomain(of: zone))
        #expect(try !DNSName("badexample.com").isSubdomain(of: zone))
        #expect(try !DNSName("com").isSubdomain(of: zone))
        #expect(zone.isSubdomain(of: .root))
    }

    @Test func appendsSearchDomain() throws {
        #expect(try DNSName("host").appending(DNSName("lan.example.")) == DNSName("host.lan.example"))
    }
}
