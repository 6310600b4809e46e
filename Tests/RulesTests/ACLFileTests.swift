import IPAddresses
import Testing
import SeededRandom

@testable import Rules

@Suite("shadowsocks-libev ACL files") struct ACLFileTests {
    func describe(_ acl: ACLFile) -> [String] {
        acl.entries.map { item in
            let entry: String =
                switch item.entry {
                case .cidr(let range): "\(range)"
                case .domain(let pattern): "\(pattern)"
                case .staticHost: "host?"
                }
            return "\(item.line) \(item.list): \(entry)"
        }
    }

    @Test("Sections choose the list, mode headers only the mode; lines before any list go to the bypass list")
    func sections() throws {
        let text = """
            # gfwlist-style
            1.2.3.4
            [bypass_all]
            [proxy_list]
            149.154.160.0/22   # Telegram
            (^|\\.)google\\.com$
            [black_list]
            ^intranet\\.corp$
            [outbound_block_list]
            ::ffff:127.0.0.1/104
            [white_list]
            2001:db8::/32
            [accept_all]
            [reject_all]
            """
        let acl = try ACLFile(parsing: text, origin: "gfw.acl")
        #expect(acl.mode == .bypass)
        #expect(acl.modeLine == 14)
        #expect(
            describe(acl) == [
                "2 bypass list: 1.2.3.4", "5 proxy list: 149.154.160.0/22", "6 proxy list: domain:google.com",
                "8 bypass list: full:intranet.corp", "10 outbound block list: ::ffff:127.0.0.0/104",
                "12 proxy list: 2001:db8::/32",
            ])
    }

    @Test("No mode header means proxy_all, as acl.c's default BLACK_LIST")
    func defaultMode() throws {
        let acl = try ACLFile(parsing: "[bypass_list]\n10.0.0.0/8", origin: "x.acl")
        #expect(acl.mode == .proxy)
        #expect(acl.modeLine == nil)
    }

    @Test(
        "Common regex shapes become trie entries with the same meaning",
        arguments: [
            ("(^|\\.)google\\.com$", "domain:google.com"),
            ("(?:^|\\.)Google\\.COM$", "domain:google.com"),
            ("^(.*\\.)?g-oo_gle\\.com$", "domain:g-oo_gle.com"),
            ("^www\\.google\\.com$", "full:www.google.com"),
            ("google\\.com$", "endsWith:google.com"),
            ("\\.cn$", "endsWith:.cn"),
            ("google", "keyword:google"),
            ("ad\\-server\\.", "keyword:ad-server."),
            ("(^|\\.)google.com$", "regexp:(^|\\.)google.com$"),
            ("^google\\.", "regexp:^google\\."),
            ("(^|\\.)google\\.com", "regexp:(^|\\.)google\\.com"),
            ("^ads[0-9]+\\.example\\.com$", "regexp:^ads[0-9]+\\.example\\.com$"),
            ("(^|\\.)a\\.\\.b$", "regexp:(^|\\.)a\\.\\.b$"),
        ])
    func shapes(regex: String, expected: String) throws {
        #expect(try ACLHostPattern.pattern(for: regex).description == expected)
    }

    @Test("Converted shapes agree with the regex itself on random names (seeded)")
    func shapesAgreeWithRegex() throws {
        let regexes = [
            "(^|\\.)ab\\.com$", "^ab\\.com$", "b\\.com$", "\\.com$", "ab\\.c", "(?:^|\\.)x-y\\.ab$",
            "^(.*\\.)?ab\\.ab$",
            "^(?:.*\\.)?com$", "(^|.*\\.)b\\.ab$",
        ]
        var random = SplitMix64(seed: 7)
        let labels = ["ab", "b", "com", "x-y", "cab", "c", "xab"]
        for regex in regexes {
            let pattern = try ACLHostPattern.pattern(for: regex)
            if case .regexp = pattern { Issue.record("\(regex) was not converted") }
            var trie = DomainTrie()
            trie.insert(pattern, value: 1)
            let reference = try Regex(regex).ignoresCase()
            for _ in 0..<500 {
                let name = (0..<Int.random(in: 1...4, using: &random)).map { _ in labels.randomElement(using: &random)!
                }
                .joined(separator: ".")
                #expect((trie.match(name) != nil) == name.contains(reference), "\(regex) on \(name)")
            }
        }
    }

    @Test(
        "Bad lines: unknown section, bad prefix length, bad regex",
        arguments: [
            (
                "[proxy_all]\n[bypass]\n",
                "x.acl:2: unknown section \"[bypass]\"; use [proxy_all], [bypass_all], [bypass_list], [proxy_list] or [outbound_block_list]"
            ),
            (
                "10.0.0.0/33",
                "x.acl:1: \"10.0.0.0/33\" has a bad prefix length; write ADDRESS/N with N at most 32 (IPv4) or 128 (IPv6)"
            ),
            (
                "\n\n::1/abc",
                "x.acl:3: \"::1/abc\" has a bad prefix length; write ADDRESS/N with N at most 32 (IPv4) or 128 (IPv6)"
            ),
            ("(^|\\.)a\\.com$\n(unclosed", nil),
        ] as [(String, String?)])
    func badLines(text: String, expected: String?) {
        do {
            _ = try ACLFile(parsing: text, origin: "x.acl")
            Issue.record("no error for \(text)")
        } catch {
            if let expected {
                #expect(error.message == expected)
            } else {
                #expect(error.message.hasPrefix("x.acl:2: \"(unclosed\" is not a valid regular expression"))
                #expect(error.message.hasSuffix("; fix the pattern or remove the line"))
            }
        }
    }

    @Test("# anywhere starts a comment, as acl.c's strchr")
    func comments() throws {
        let acl = try ACLFile(parsing: "  10.0.0.0/8#private\n(^|\\.)a\\.com$# note\n#[bypass_all]", origin: "x.acl")
        #expect(describe(acl) == ["1 bypass list: 10.0.0.0/8", "2 bypass list: domain:a.com"])
        #expect(acl.modeLine == nil)
    }
}
