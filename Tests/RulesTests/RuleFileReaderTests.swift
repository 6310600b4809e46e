import IPAddresses
import Testing

@testable import Rules

@Suite("Rule file readers: CIDR lists, domain lists, dnsmasq lines, hosts lines") struct RuleFileReaderTests {
    func entries(_ text: String, _ format: RuleFileFormat = .auto) throws -> [String] {
        try RuleFileReader.read(text, origin: "rules.txt", format: format).map { item in
            switch item.entry {
            case .cidr(let range): "\(item.line) cidr \(range)"
            case .domain(let pattern): "\(item.line) \(pattern)"
            case .staticHost(let name, let address): "\(item.line) host \(name)=\(address)"
            }
        }
    }

    func problem(_ text: String, _ format: RuleFileFormat = .auto) -> String? {
        do {
            _ = try RuleFileReader.read(text, origin: "rules.txt", format: format)
            return nil
        } catch {
            return error.message
        }
    }

    @Test("Auto format: each line is a prefix, a dnsmasq line, a hosts line or a domain entry")
    func autoDetects() throws {
        let text = """
            # mixed list
            1.0.1.0/24
            2001:250::/35, 2001:251::/32   # two on one line
            203.0.113.5-203.0.113.9\r
            server=/baidu.com/114.114.114.114
            server=/a.cn/b.cn/
            ipset=/qq.com/china
            nftset=/taobao.com/4#inet#fw4#china
            10.0.0.5 nas.lan NAS
            example.com
            .leading.test
            domain:Sub.Example.ORG.
            full:exact.test
            keyword:tracker
            regexp:^ads[0-9]+\\.
            geo.test @cn @!ads

            """
        #expect(
            try entries(text) == [
                "2 cidr 1.0.1.0/24", "3 cidr 2001:250::/35", "3 cidr 2001:251::/32", "4 cidr 203.0.113.5-203.0.113.9",
                "5 domain:baidu.com", "6 domain:a.cn", "6 domain:b.cn", "7 domain:qq.com", "8 domain:taobao.com",
                "9 host nas.lan=10.0.0.5", "9 host nas=10.0.0.5", "10 domain:example.com", "11 domain:leading.test",
                "12 domain:sub.example.org", "13 full:exact.test", "14 keyword:tracker", "15 regexp:^ads[0-9]+\\.",
                "16 domain:geo.test",
            ])
    }

    @Test(
        "Bad lines name the file and line and say what to do",
        arguments: [
            (
                "ok.test\nexa mple.com",
                "rules.txt:2: \"exa mple.com\" is not an IP prefix, a domain entry, a hosts line (IP name…) or a dnsmasq server=/…/ line; write one entry per line"
            ),
            (
                "a..b",
                "rules.txt:1: \"a..b\" has an empty label (two dots in a row, or a leading dot); fix or remove the line"
            ),
            (
                "\n\nbad_char!.com",
                "rules.txt:3: \"bad_char!.com\" contains \"!\", which a domain cannot hold; fix or remove the line"
            ),
            ("bücher.de", "rules.txt:1: \"bücher.de\" is not ASCII; write the xn-- (punycode) form"),
            ("foo:bar.com", "rules.txt:1: unknown prefix \"foo:\"; use domain:, full:, keyword: or regexp:"),
            ("regexp:a(b", nil),
            ("include:other", "rules.txt:1: include: is not supported; append the included list's lines instead"),
            ("*.example.com", "rules.txt:1: wildcards are not supported; write example.com for it and its subdomains"),
            ("server=/bad domain/1.1.1.1", nil),
            (
                "server=/x.com",
                "rules.txt:1: \"server=/x.com\" is missing the closing \"/\"; write server=/example.com/VALUE"
            ),
            (
                "address=/x.com/1.2.3.4",
                "rules.txt:1: dnsmasq address= lines are not read; use a hosts line (IP name) for a static answer"
            ),
            (
                "10.0.0.1 bad!name",
                "rules.txt:1: \"bad!name\" contains \"!\", which a domain cannot hold; fix the host name"
            ),
            (
                "\(String(repeating: "a", count: 64)).com",
                "rules.txt:1: a label of \"\(String(repeating: "a", count: 64)).com\" is longer than 63 characters (RFC 1035); fix or remove the line"
            ),
        ] as [(String, String?)])
    func badLines(text: String, expected: String?) {
        let message = problem(text)
        #expect(message != nil)
        if let expected { #expect(message == expected) }
        #expect(message?.hasPrefix("rules.txt:") == true)
    }

    @Test("A regex that does not compile is reported with its line")
    func badRegex() {
        let message = problem("ok.test\nregexp:a(b")
        #expect(message?.hasPrefix("rules.txt:2: \"a(b\" is not a valid regular expression") == true)
        #expect(message?.hasSuffix("; fix or remove the line") == true)
    }

    @Test("Strict formats reject the other kinds of line")
    func strictFormats() throws {
        #expect(try entries("10.0.0.0/8\n::1", .cidr) == ["1 cidr 10.0.0.0/8", "2 cidr ::1"])
        #expect(
            problem("10.0.0.0/8\n10.0.0.0/33", .cidr)
                == "rules.txt:2: \"10.0.0.0/33\" is not an IPv4/IPv6 address, prefix (a.b.c.d/n) or range (a-b); fix or remove the line"
        )
        #expect(problem("example.com", .cidr)?.hasPrefix("rules.txt:1: ") == true)
        #expect(try entries("server=/x.cn/1.2.4.8\nfull:y.cn", .domains) == ["1 domain:x.cn", "2 full:y.cn"])
        #expect(problem("10.0.0.1 host.lan", .domains) != nil)
        #expect(try entries("127.0.0.1 localhost ip6-localhost # comment\n::1\tlocalhost", .hosts).count == 3)
        #expect(problem("127.0.0.1 localhost\nnot-an-ip name", .hosts)?.hasPrefix("rules.txt:2: ") == true)
        #expect(problem("127.0.0.1", .hosts) == "rules.txt:1: address 127.0.0.1 has no host name; write \"IP name…\"")
    }

    @Test("# starts a comment only at the start or after a blank")
    func comments() throws {
        #expect(try entries("#whole line\n  # indented\nexample.com # trailing") == ["3 domain:example.com"])
        #expect(problem("example.com#x") != nil)
        #expect(try entries("regexp:a#b # note") == ["1 regexp:a#b"])
    }
}

extension RuleFileReaderTests {
    @Test("CRLF files keep their line numbers")
    func crlf() throws {
        #expect(
            try entries("# dos\r\n10.0.0.0/8\r\n\r\nexample.com\r\n") == ["2 cidr 10.0.0.0/8", "4 domain:example.com"])
        #expect(problem("ok.com\r\nbad name\r\n")?.hasPrefix("rules.txt:2: \"bad name\"") == true)
        let acl = try ACLFile(parsing: "[bypass_all]\r\n[proxy_list]\r\n1.2.3.4\r\n", origin: "dos.acl")
        #expect(acl.mode == .bypass && acl.entries.count == 1 && acl.entries[0].line == 3)
    }
}
