import Foundation
import IPAddresses
import Testing

@testable import Rules

@Suite("Bypass rules: ss-libev precedence, loading, status") struct BypassRulesTests {
    func rules(acl: String? = nil, bypass: String = "", proxy: String = "") throws -> BypassRules {
        var builder = RuleSetBuilder()
        if let acl { try builder.addACL(acl, origin: "test.acl") }
        try builder.addRules(bypass, origin: "bypass.txt", list: .bypass)
        try builder.addRules(proxy, origin: "proxy.txt", list: .proxy)
        return builder.build()
    }

    func action(_ rules: BypassRules, _ address: String) -> RuleAction {
        rules.decide(address: IPAddress(address)!).action
    }

    @Test("proxy_all (the default): bypass-list addresses go direct, the rest is proxied, both lists → bypass")
    func proxyAllMode() throws {
        let rules = try rules(bypass: "10.0.0.0/8\n192.0.2.0/24", proxy: "10.1.0.0/16\n198.51.100.0/24")
        #expect(rules.mode == .proxy)
        #expect(action(rules, "10.2.0.1") == .bypass)
        // acl_match_host checks the black (bypass) list first, whatever the prefix lengths.
        #expect(action(rules, "10.1.0.1") == .bypass)
        #expect(action(rules, "198.51.100.7") == .proxy)
        #expect(action(rules, "8.8.8.8") == .proxy)
        #expect(rules.decide(address: IPAddress("8.8.8.8")!).source == .defaultAction)
    }

    @Test("bypass_all: only proxy-list addresses are proxied, unless also on the bypass list")
    func bypassAllMode() throws {
        let rules = try rules(
            acl: "[bypass_all]\n[proxy_list]\n149.154.160.0/22\n2001:67c:4e8::/48\n[bypass_list]\n149.154.161.0/24")
        #expect(rules.mode == .bypass)
        #expect(action(rules, "149.154.160.1") == .proxy)
        #expect(action(rules, "2001:67c:4e8::1") == .proxy)
        #expect(action(rules, "149.154.161.1") == .bypass)
        #expect(action(rules, "8.8.8.8") == .bypass)
        #expect(
            rules.describe(rules.decide(address: IPAddress("8.8.8.8")!)) == "bypass (default, test.acl:1 [bypass_all])")
    }

    @Test("Domain rules: bypass list first, then proxy list, else nil (decide by address)")
    func domains() throws {
        let rules = try rules(
            acl: "[proxy_all]\n[proxy_list]\n(^|\\.)google\\.com$\n[bypass_list]\n^mail\\.google\\.com$",
            bypass: "baidu.com\nkeyword:qq", proxy: "full:www.baidu.com\nregexp:^cdn[0-9]+\\.")
        #expect(rules.hasDomainRules)
        #expect(rules.decide(domain: "www.google.com")?.action == .proxy)
        #expect(rules.decide(domain: "MAIL.google.com.")?.action == .bypass)
        #expect(rules.decide(domain: "www.baidu.com")?.action == .bypass)
        #expect(rules.decide(domain: "im.qq.example")?.action == .bypass)
        #expect(rules.decide(domain: "cdn7.example.net")?.action == .proxy)
        #expect(rules.decide(domain: "example.org") == nil)
        #expect(rules.domainCount == 6)
        let decision = try #require(rules.decide(domain: "mail.google.com"))
        #expect(rules.origin(of: decision.source) == RuleOrigin(file: "test.acl", line: 5, list: .bypass))
        #expect(rules.describe(decision) == "bypass (test.acl:5)")
        #expect(rules.describe(try #require(rules.decide(domain: "a.baidu.com"))) == "bypass (bypass.txt:1)")
    }

    @Test("A domain that is an IP literal is checked against the address entries only")
    func ipLiteralDomain() throws {
        let rules = try rules(bypass: "10.0.0.0/8", proxy: "2001:db8::/32")
        #expect(rules.decide(domain: "10.1.1.1")?.action == .bypass)
        #expect(rules.decide(domain: "2001:db8::5")?.action == .proxy)
        #expect(rules.decide(domain: "8.8.8.8") == nil)
        #expect(!rules.hasDomainRules)
    }

    @Test("Hosts lines are static answers, not rules")
    func staticHosts() throws {
        let rules = try rules(bypass: "10.0.0.5 nas.lan NAS.lan.\n10.0.0.6 nas.lan\nfd00::5 nas.lan\n10.0.0.5 nas.lan")
        #expect(
            rules.staticHosts == ["nas.lan": [IPAddress("10.0.0.5")!, IPAddress("10.0.0.6")!, IPAddress("fd00::5")!]])
        #expect(rules.decide(domain: "nas.lan") == nil)
        #expect(rules.domainCount == 0 && rules.cidrCount == 0)
    }

    @Test("The outbound block list is kept apart from the decisions")
    func outboundBlock() throws {
        let rules = try rules(acl: "[outbound_block_list]\n127.0.0.0/8\n(^|\\.)internal\\.test$")
        #expect(rules.outboundBlock(address: IPAddress("127.0.0.1")!) != nil)
        #expect(rules.outboundBlock(address: IPAddress("8.8.8.8")!) == nil)
        #expect(rules.outboundBlock(domain: "db.internal.test").map { rules.origin(of: $0)?.line } == 3)
        #expect(rules.outboundBlock(domain: "127.0.0.2") != nil)
        #expect(rules.outboundBlockCount == 2 && rules.hasOutboundBlockRules)
        #expect(action(rules, "127.0.0.1") == .proxy)
        #expect(!rules.hasDomainRules)
    }

    @Test("No rules: everything is proxied")
    func empty() {
        let rules = BypassRules()
        #expect(rules.decide(address: IPAddress("10.0.0.1")!) == .proxy(.defaultAction))
        #expect(rules.decide(domain: "example.com") == nil)
        #expect(rules.describe(.proxy(.defaultAction)) == "proxy (default)")
        #expect(rules.cidrCount == 0 && rules.domainCount == 0 && !rules.hasDomainRules)
    }

    @Test("--rules arguments: FILE and bypass:FILE join the bypass list, proxy:FILE the proxy list")
    func specs() {
        #expect(RuleFileSpec(argument: "/etc/chnroute.txt") == RuleFileSpec(path: "/etc/chnroute.txt", list: .bypass))
        #expect(RuleFileSpec(argument: "bypass:cn.txt") == RuleFileSpec(path: "cn.txt", list: .bypass))
        #expect(RuleFileSpec(argument: "proxy:gfw.txt") == RuleFileSpec(path: "gfw.txt", list: .proxy))
        #expect(RuleFileSpec(argument: "./proxy:odd") == RuleFileSpec(path: "./proxy:odd", list: .bypass))
    }

    @Test("load: files from disk in order, built-in lists first, file errors say which file")
    func load() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent(
            "rules-\(getpid())-\(UInt32.random(in: 0...UInt32.max))")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let acl = directory.appendingPathComponent("my.acl").path
        let china = directory.appendingPathComponent("chnroute.txt").path
        let gfw = directory.appendingPathComponent("gfw.txt").path
        try "[proxy_all]\n[bypass_list]\n(^|\\.)cn$\n".write(toFile: acl, atomically: true, encoding: .utf8)
        try "1.0.1.0/24\n10.0.0.0/8\n".write(toFile: china, atomically: true, encoding: .utf8)
        try "google.com\n1.0.1.128/25\n".write(toFile: gfw, atomically: true, encoding: .utf8)

        let rules = try BypassRules.load(
            acl: acl, ruleFiles: [RuleFileSpec(argument: china), RuleFileSpec(argument: "proxy:" + gfw)],
            includeReserved: true)
        #expect(
            rules.describe(rules.decide(address: IPAddress("10.1.2.3")!))
                == "bypass (hosts-rules/reserved.cidr (built in):4)")
        #expect(rules.describe(rules.decide(address: IPAddress("1.0.1.200")!)) == "bypass (\(china):1)")
        #expect(rules.decide(address: IPAddress("8.8.8.8")!).action == .proxy)
        #expect(
            rules.describe(try #require(rules.decide(domain: "printer.lan")))
                == "bypass (hosts-rules/lan.domains (built in):13)")
        #expect(rules.decide(domain: "www.gov.cn")?.action == .bypass)
        #expect(rules.decide(domain: "www.google.com")?.action == .proxy)
        #expect(rules.cidrCount == 24 + 3)

        let withoutReserved = try BypassRules.load(
            acl: nil, ruleFiles: [RuleFileSpec(path: gfw)], includeReserved: false)
        #expect(withoutReserved.decide(address: IPAddress("192.168.1.1")!).action == .proxy)
        #expect(withoutReserved.decide(domain: "www.google.com")?.action == .bypass)

        let missing = directory.appendingPathComponent("missing.txt").path
        #expect(
            throws: RulesError(
                .unreadableFile, "\(missing): cannot open the rule file (No such file or directory); check the path")
        ) {
            try BypassRules.load(acl: nil, ruleFiles: [RuleFileSpec(path: missing)], includeReserved: false)
        }
        try "ok.com\n\nnot a domain\n".write(toFile: gfw, atomically: true, encoding: .utf8)
        #expect(throws: RulesError.self) {
            try BypassRules.load(acl: nil, ruleFiles: [RuleFileSpec(path: gfw)], includeReserved: false)
        }
        do {
            _ = try BypassRules.load(acl: nil, ruleFiles: [RuleFileSpec(path: gfw)], includeReserved: false)
        } catch {
            #expect(error.kind == .invalidLine)
            #expect(error.message.hasPrefix("\(gfw):3: \"not a domain\" is not"))
        }
    }

    @Test("The built-in lists are the files in hosts-rules/ and parse cleanly")
    func builtinListsMatchFiles() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent()
        let reserved = try String(contentsOf: root.appendingPathComponent("hosts-rules/reserved.cidr"), encoding: .utf8)
        let lan = try String(contentsOf: root.appendingPathComponent("hosts-rules/lan.domains"), encoding: .utf8)
        #expect(BuiltinLists.reserved + "\n" == reserved)
        #expect(BuiltinLists.lanDomains + "\n" == lan)
        _ = try RuleFileReader.read(BuiltinLists.reserved, origin: "reserved", format: .cidr)
        _ = try RuleFileReader.read(BuiltinLists.lanDomains, origin: "lan", format: .domains)
        var builder = RuleSetBuilder()
        builder.addBuiltinLists()
        let rules = builder.build()
        #expect(rules.cidrCount == 24)
        #expect(rules.domainCount == 10)
        for address in ["127.0.0.1", "192.168.1.1", "fe80::1", "::1", "fd12::1", "224.0.0.251"] {
            #expect(rules.decide(address: IPAddress(address)!).action == .bypass, "\(address)")
        }
        for address in ["8.8.8.8", "2606:4700::1111"] {
            #expect(rules.decide(address: IPAddress(address)!).action == .proxy, "\(address)")
        }
    }
}

extension BypassRulesTests {
    @Test("A name longer than DNS allows matches no domain rule")
    func overlongName() throws {
        let rules = try rules(bypass: "keyword:a\nexample.com")
        #expect(rules.decide(domain: String(repeating: "a", count: 250) + ".example.com") == nil)
        #expect(rules.decide(domain: String(repeating: "a", count: 240) + ".example.com")?.action == .bypass)
    }
}
