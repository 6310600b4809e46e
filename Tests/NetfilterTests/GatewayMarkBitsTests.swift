import Config
import Foundation
import Testing

@testable import Netfilter

/// `--fwmark MARK/MASK`: our rules set and match only the bits of the mask, so other tools' marks (mwan3 0x3F00,
/// wg-quick 51820) survive them.
@Suite("Tproxy mark bits")
struct GatewayMarkBitsTests {
    static func masked() -> GatewayOptions {
        var options = GatewayOptions(localPort: 1080, tproxyMark: 0x10000, relayMark: 0xff, routeTable: 4242)
        options.tproxyMask = 0x10000
        options.udp = true
        options.tcp = .tproxy
        options.proxyRouter = true
        options.lanInterfaces = ["br-lan"]
        options.bypass = ReservedRanges.ranges
        return options
    }

    /// What a rule's mark statements leave of a packet mark that arrived with `initial`.
    static func apply(_ statements: [NftStatement], to initial: UInt32) -> UInt32 {
        statements.reduce(initial) { mark, statement in
            switch statement {
            case .setMark(let value): value
            case .setMarkBits(let value, let mask): mark & ~mask | value
            case .redirect, .tproxy: mark
            }
        }
    }

    @Test("Every mark our rules set keeps the bits outside the mask (mwan3's 0x3F00, wg-quick's 0xca6c, random ones)")
    func onlyOurBits() {
        let table = GatewayRuleset.build(Self.masked())
        let statements = table.chains.flatMap(\.rules).map(\.statements).filter { statements in
            statements.contains { if case .setMark = $0 { true } else if case .setMarkBits = $0 { true } else { false } }
        }
        #expect(statements.count == 4)  // lan_tproxy udp, tcp; output_route udp, tcp
        var generator = SystemRandomNumberGenerator()
        let others: [UInt32] = [0, 0x3F00, 51820, 0xffff_ffff] + (0..<1_000).map { _ in UInt32.random(in: 0...UInt32.max, using: &generator) }
        for rule in statements {
            #expect(!rule.contains { if case .setMark = $0 { true } else { false } }, "a whole-mark set: \(rule)")
            for initial in others {
                let after = Self.apply(rule, to: initial)
                #expect(after & ~0x10000 == initial & ~0x10000)
                #expect(after & 0x10000 == 0x10000)
            }
        }
        let text = NftTextRenderer.render(table)
        #expect(text.contains("meta mark set meta mark & 0xfffeffff | 0x00010000"))
        #expect(text.contains("meta mark & 0x00010000 != 0x00010000 return") || text.contains("meta mark & 0x00010000 == 0x00010000 jump lan_tproxy"))
        #expect(!text.contains("meta mark set 0x"))
        #expect(GatewayRuleset.comment(for: Self.masked()).hasSuffix("policy routing fwmark 0x10000/0x10000 table 4242"))
        #expect(
            GatewayRuleset.policyRoute(fromComment: GatewayRuleset.comment(for: Self.masked()))
                == PolicyRoute(mark: 0x10000, mask: 0x10000, table: 4242))
    }

    @Test("The default (every bit) keeps ss-libev's `meta mark set 0x1` and `fwmark 0x1`")
    func defaultWholeMark() {
        var options = GatewayOptions(localPort: 1080, tproxyMark: FirewallMarks.tproxyMark, relayMark: 0xff, routeTable: 100)
        options.udp = true
        let text = NftTextRenderer.render(GatewayRuleset.build(options))
        #expect(text.contains("tproxy to :1080 meta mark set 0x1 accept"))
        #expect(options.policyRoute?.markText == "0x1")
    }

    @Test("MARK[/MASK] parsing: no zero mark, the mark inside the mask, hex or decimal")
    func parsing() {
        #expect(FirewallMarks.parseMarkAndMask("0x1")! == (1, 0xffff_ffff))
        #expect(FirewallMarks.parseMarkAndMask("0x10000/0x10000")! == (0x10000, 0x10000))
        #expect(FirewallMarks.parseMarkAndMask("65536/0x30000")! == (0x10000, 0x30000))
        for bad in ["0", "0x0/0x1", "0x3/0x1", "x", "1/2/3", "0x1/", ""] {
            #expect(FirewallMarks.parseMarkAndMask(bad) == nil, "\(bad)")
        }
    }

    @Test(
        "The kernel gets the same masked rules from our batch as from `nft -f` of the text; the policy rule carries the mask",
        .enabled(if: isRoot, "needs root for network namespaces"))
    func kernelAgrees() throws {
        let table = GatewayRuleset.build(Self.masked())
        let text = NftTextRenderer.render(table)
        let route = Self.masked().policyRoute!
        let (viaNetlink, rules) = try NetworkNamespace.with { namespace in
            try namespace.enter {
                try NftConnection().commit(NftBatchEncoder.replace(table))
                _ = try PolicyRouting().install(route, family: .ipv4)
            }
            let listed = try namespace.nft(["--debug=netlink", "list", "ruleset"])
            let rules = try Shell.run(["ip", "-n", namespace.name, "rule"])
            return (listed.stdout, rules.stdout)
        }
        let viaText = try NetworkNamespace.with { namespace in
            let load = try namespace.nft(["-f", "-"], input: text)
            #expect(load.status == 0, "\(load.summary)")
            return try namespace.nft(["--debug=netlink", "list", "ruleset"]).stdout
        }
        #expect(viaNetlink == viaText)
        #expect(viaNetlink.contains("[ bitwise reg 1 = ( reg 1 & 0xfffeffff ) ^ 0x00010000 ]"))
        #expect(rules.contains("fwmark 0x10000/0x10000 lookup 4242"), "\(rules)")
    }
}
