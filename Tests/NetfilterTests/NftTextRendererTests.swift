import Foundation
import Testing

@testable import Netfilter

@Suite("nft text: golden files, templates, nft -c") struct NftTextRendererTests {
    static let updating = ProcessInfo.processInfo.environment["UPDATE_GOLDEN"] == "1"

    /// Compares with the file, or rewrites it under UPDATE_GOLDEN=1.
    func check(_ rendered: String, against url: URL) throws {
        if Self.updating {
            try rendered.write(to: url, atomically: true, encoding: .utf8)
            return
        }
        let expected = try String(contentsOf: url, encoding: .utf8)
        #expect(
            rendered == expected,
            "\(url.lastPathComponent) differs; rerun with UPDATE_GOLDEN=1 if the change is intended")
    }

    @Test("Rendered rulesets match the golden files", arguments: RulesetFixtures.golden.map(\.file))
    func golden(file: String) throws {
        let fixture = try #require(RulesetFixtures.golden.first { $0.file == file })
        let text = NftTextRenderer.render(GatewayRuleset.build(fixture.options), header: fixture.header)
        try check(text, against: Repository.golden.appendingPathComponent(file))
    }

    @Test("The nftables/ templates are the renderer's output", arguments: RulesetFixtures.templates.map(\.file))
    func templates(file: String) throws {
        let fixture = try #require(RulesetFixtures.templates.first { $0.file == file })
        let text = NftTextRenderer.render(GatewayRuleset.build(fixture.options), header: fixture.header)
        try check(text, against: Repository.root.appendingPathComponent("nftables").appendingPathComponent(file))
    }

    @Test(
        "nft -c accepts every golden file and template (in a throwaway network namespace)",
        .enabled(if: isRoot, "nft -c needs CAP_NET_ADMIN"))
    func nftAccepts() throws {
        let files =
            RulesetFixtures.golden.map { Repository.golden.appendingPathComponent($0.file) }
            + RulesetFixtures.templates.map { Repository.root.appendingPathComponent("nftables/\($0.file)") }
        for file in files {
            let result = try Shell.run(["unshare", "--net", "nft", "-c", "-f", file.path])
            #expect(result.status == 0, "\(file.lastPathComponent): \(result.summary)")
        }
    }

    @Test("Rule syntax, one construct at a time")
    func rules() {
        let cases: [(NftRule, String)] = [
            (NftRule([.inputInterface("br-lan")], verdict: .jump("lan")), "iifname \"br-lan\" jump lan"),
            (NftRule([.inputInterface("ppp*", negated: true)], verdict: .return), "iifname != \"ppp*\" return"),
            (NftRule([.destinationPort(.udp, 53)], [.redirect(port: 5353)]), "udp dport 53 redirect to :5353"),
            (NftRule([.mark(0xff)], verdict: .return), "meta mark 0xff return"),
            (
                NftRule([.inputInterface("lo"), .mark(1, negated: true)], verdict: .return),
                "iifname \"lo\" meta mark != 0x1 return"
            ),
            (NftRule([.conntrackReplyDirection], verdict: .return), "ct direction reply return"),
            (NftRule([.destinationIsLocal], verdict: .return), "fib daddr type local return"),
            (
                NftRule([.destinationInSet(.ipv6, set: "proxy6", negated: true)], verdict: .return),
                "ip6 daddr != @proxy6 return"
            ),
            (
                NftRule([.transportProtocol(.udp)], [.tproxy(port: 1080), .setMark(1)], verdict: .accept),
                "meta l4proto udp tproxy to :1080 meta mark set 0x1 accept"
            ),
            (NftRule([], verdict: .goto("x")), "goto x"),
        ]
        for (rule, text) in cases { #expect(NftTextRenderer.render(rule) == text) }
    }

    @Test("Wherever bypass4/bypass6 let traffic go direct, bypass4_dns/bypass6_dns do too, in every mode")
    func dnsBypassEverywhere() {
        var count = 0
        for tcp in [GatewayOptions.TCPCapture.redirect, .tproxy, .none] {
            for udp in [false, true] where tcp != .none || udp {
                for proxyRouter in [false, true] {
                    for proxyOnly in [[], [IPRange("8.8.8.0/24")!]] {
                        var options = RulesetFixtures.options()
                        options.tcp = tcp
                        options.udp = udp
                        options.proxyRouter = proxyRouter
                        options.proxyOnly = proxyOnly
                        options.dnsHijackPort = 5353
                        let table = GatewayRuleset.build(options)
                        #expect(
                            table.sets.filter { $0.kind != .interval }.map(\.name) == ["bypass4_dns", "bypass6_dns"])
                        for chain in table.chains {
                            let rules = chain.rules.map(NftTextRenderer.render)
                            // The first rule that redirects, tproxies or marks (the DNS hijack's port 53 aside).
                            guard
                                let capture = chain.rules.firstIndex(where: { rule in
                                    !rule.statements.isEmpty
                                        && !rule.matches.contains {
                                            if case .destinationPort(_, 53) = $0 { true } else { false }
                                        }
                                })
                            else { continue }
                            count += 1
                            for set in ["ip daddr @bypass4", "ip6 daddr @bypass6"] {
                                let plain = rules.firstIndex(of: "\(set) return")
                                let dns = rules.firstIndex(of: "\(set)_dns return")
                                #expect(plain != nil && plain! < capture, "\(chain.name): \(rules)")
                                #expect(dns != nil && dns! < capture, "\(chain.name): \(rules)")
                            }
                        }
                    }
                }
            }
        }
        #expect(count == 36)  // every capturing chain of the 20 option combinations
    }

    @Test("The comment records the policy routing, and reads back")
    func commentRoundTrip() {
        var options = RulesetFixtures.options()
        #expect(GatewayRuleset.comment(for: options) == "managed by ss-redir setup")
        #expect(GatewayRuleset.policyRoute(fromComment: GatewayRuleset.comment(for: options)) == nil)
        options.udp = true
        let comment = GatewayRuleset.comment(for: options)
        #expect(comment == "managed by ss-redir setup; policy routing fwmark 0x1 table 100")
        #expect(GatewayRuleset.policyRoute(fromComment: comment) == PolicyRoute(mark: 1, table: 100))
        #expect(GatewayRuleset.isOwned(comment: comment))
        #expect(!GatewayRuleset.isOwned(comment: "my firewall"))
        #expect(!GatewayRuleset.isOwned(comment: nil))
    }

    @Test("Chains follow the options")
    func chainsPerMode() {
        func chains(_ change: (inout GatewayOptions) -> Void) -> [String] {
            var options = RulesetFixtures.options()
            change(&options)
            return GatewayRuleset.build(options).chains.map(\.name)
        }
        #expect(chains { _ in } == ["prerouting_nat", "lan_nat"])
        #expect(chains { $0.udp = true } == ["prerouting_nat", "lan_nat", "prerouting_mangle", "lan_tproxy"])
        #expect(chains { $0.tcp = .tproxy } == ["prerouting_mangle", "lan_tproxy"])
        #expect(
            chains {
                $0.tcp = .none
                $0.udp = true
                $0.dnsHijackPort = 53
            } == ["prerouting_nat", "lan_nat", "prerouting_mangle", "lan_tproxy"])
        #expect(chains { $0.proxyRouter = true } == ["prerouting_nat", "lan_nat", "output_nat"])
        #expect(
            chains {
                $0.proxyRouter = true
                $0.tcp = .tproxy
            } == ["prerouting_mangle", "lan_tproxy", "output_route"])
        #expect(
            chains {
                $0.proxyRouter = true
                $0.udp = true
            }
                == ["prerouting_nat", "lan_nat", "prerouting_mangle", "lan_tproxy", "output_nat", "output_route"])
    }
}
