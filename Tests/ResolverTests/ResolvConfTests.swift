import IPAddresses
import Testing

@testable import Resolver

@Suite struct ResolvConfTests {
    @Test func emptyFileGivesGlibcDefaults() {
        let conf = ResolvConf(parsing: "")
        #expect(conf.nameservers == [IPAddress("127.0.0.1")!])
        #expect(conf.searchDomains.isEmpty)
        #expect(conf.options == ResolvConf.Options())
        #expect(conf.options.ndots == 1 && conf.options.timeout == 5 && conf.options.attempts == 2)
    }

    @Test func nameserversUpToThreeWithScopesDropped() {
        let conf = ResolvConf(
            parsing: """
                # comment
                ; comment
                nameserver 192.0.2.1
                nameserver\tfe80::1%eth0
                nameserver 2001:db8::53 # trailing words ignored
                nameserver 192.0.2.4
                nameserver not-an-address
                  nameserver 192.0.2.6
                nameserver192.0.2.7
                #nameserver 192.0.2.8
                """)
        #expect(conf.nameservers == ["192.0.2.1", "fe80::1", "2001:db8::53"].map { IPAddress($0)! })
        #expect(conf.problems.map(\.line) == [6, 7])
        #expect(conf.problems[0].message.contains("only the first 3"))
        #expect(conf.problems[1].description == "line 7: \"not-an-address\" is not an IP address")
    }

    @Test func ipv4WithScopeIsNotAnAddress() {
        let conf = ResolvConf(parsing: "nameserver 192.0.2.1%eth0\n")
        #expect(conf.nameservers == [ResolvConf.defaultNameserver])
        #expect(conf.problems.count == 1)
    }

    @Test func lastSearchOrDomainLineWins() {
        #expect(ResolvConf(parsing: "search a.test b.test\ndomain c.test\n").searchDomains == ["c.test"])
        #expect(
            ResolvConf(parsing: "domain c.test extra\nsearch a.test\tb.test\n").searchDomains == ["a.test", "b.test"])
        // A blank search line is skipped, not a reset.
        #expect(ResolvConf(parsing: "search a.test\nsearch   \n").searchDomains == ["a.test"])
        #expect(
            ResolvConf(parsing: "search a.test b.test c.test d.test e.test f.test g.test\n").searchDomains.count == 7)
    }

    @Test func hostnameGivesTheDefaultSearchDomain() {
        #expect(ResolvConf(parsing: "", hostname: "gw.lan.example").searchDomains == ["lan.example"])
        #expect(ResolvConf(parsing: "", hostname: "gw").searchDomains.isEmpty)
        #expect(ResolvConf(parsing: "search x.test\n", hostname: "gw.lan.example").searchDomains == ["x.test"])
    }

    @Test func optionsAreCappedLikeGlibc() {
        let conf = ResolvConf(parsing: "options ndots:20 timeout:99 attempts:9\n")
        #expect(conf.options.ndots == 15 && conf.options.timeout == 30 && conf.options.attempts == 5)
        let zero = ResolvConf(parsing: "options ndots:0 timeout:0 attempts:0\n")
        #expect(zero.options.ndots == 0 && zero.options.timeout == 0 && zero.options.attempts == 0)
    }

    @Test func numbersReadLikeAtoi() {
        #expect(ResolvConf(parsing: "options ndots:3x\n").options.ndots == 3)
        #expect(ResolvConf(parsing: "options ndots:\n").options.ndots == 0)
        #expect(ResolvConf(parsing: "options ndots:-2\n").options.ndots == 0)
        #expect(ResolvConf(parsing: "options timeout:+4\n").options.timeout == 4)
    }

    @Test func flagOptionsAndUnknownOnes() {
        let conf = ResolvConf(
            parsing: "options rotate edns0 single-request use-vc no-aaaa trust-ad no-tld-query bogus:1 inet6\n")
        #expect(conf.options.rotate && conf.options.edns0 && conf.options.singleRequest && conf.options.useVC)
        #expect(conf.options.noAAAA && conf.options.trustAD && conf.options.noTLDQuery)
        #expect(!conf.options.singleRequestReopen && !conf.options.noReload)
        let reopen = ResolvConf(parsing: "options single-request-reopen\n")
        #expect(reopen.options.singleRequestReopen && !reopen.options.singleRequest)
        #expect(ResolvConf(parsing: "options no_tld_query\n").options.noTLDQuery)
        // Options lines accumulate; a later value wins.
        #expect(ResolvConf(parsing: "options ndots:2\noptions rotate ndots:4\n").options.ndots == 4)
    }

    @Test func environmentOverrides() {
        let file = "search file.test\noptions ndots:3 timeout:2\n"
        let conf = ResolvConf(
            parsing: file, environment: ["RES_OPTIONS": "ndots:2 rotate", "LOCALDOMAIN": "a.test  b.test"],
            hostname: "gw.lan")
        #expect(conf.options.ndots == 2 && conf.options.rotate && conf.options.timeout == 2)
        #expect(conf.searchDomains == ["a.test", "b.test"])
        // An empty LOCALDOMAIN still replaces the file's list (and the hostname's domain).
        #expect(ResolvConf(parsing: file, environment: ["LOCALDOMAIN": ""], hostname: "gw.lan").searchDomains.isEmpty)
    }

    @Test func windowsLineEndings() {
        let conf = ResolvConf(parsing: "nameserver 10.0.0.1\r\nsearch lan\r\noptions ndots:2\r\n")
        #expect(conf.nameservers == [IPAddress("10.0.0.1")!])
        #expect(conf.searchDomains == ["lan"])
        #expect(conf.options.ndots == 2)
    }
}
