import Foundation
import Testing

@testable import Netfilter

/// Batches committed in a throwaway network namespace from this process (a thread that joined it), checked
/// with the `nft` tool.
@Suite("Netlink commits in a network namespace", .serialized, .enabled(if: isRoot, "needs root for network namespaces"))
struct NetlinkCommitTests {
    static func fullTable() -> NftTable {
        GatewayRuleset.build(RulesetFixtures.golden.first { $0.file == "full.nft" }!.options)
    }

    @Test("The netlink batch and `nft -f` of the rendered text give the same kernel state, expression for expression")
    func batchEqualsText() throws {
        for fixture in RulesetFixtures.golden {
            let table = GatewayRuleset.build(fixture.options)
            let text = NftTextRenderer.render(table)
            let viaNetlink = try NetworkNamespace.with { namespace in
                try namespace.enter { try NftConnection().commit(NftBatchEncoder.replace(table)) }
                return try namespace.nft(["--debug=netlink", "list", "ruleset"])
            }
            let viaText = try NetworkNamespace.with { namespace in
                let load = try namespace.nft(["-f", "-"], input: text)
                #expect(load.status == 0, "\(load.summary)")
                return try namespace.nft(["--debug=netlink", "list", "ruleset"])
            }
            #expect(viaNetlink.status == 0 && !viaNetlink.stdout.isEmpty, "\(viaNetlink.summary)")
            #expect(viaNetlink.stdout == viaText.stdout, "\(fixture.file)")
        }
    }

    @Test("A batch with one bad element changes nothing, and the error names the set and the element")
    func badElementChangesNothing() throws {
        try NetworkNamespace.with { namespace in
            let good = Self.fullTable()
            try namespace.enter { try NftConnection().commit(NftBatchEncoder.replace(good)) }
            let before = try namespace.nft(["list", "ruleset"])
            #expect(before.stdout.contains("table inet ss_redir"))

            var bad = good
            bad.sets[0].ranges.append(IPRange("2001:db8::/32")!)  // an IPv6 key in the IPv4 set
            bad.chains[0].rules.append(NftRule([], verdict: .drop))  // a change that must not land either
            let badTable = bad
            let message = try namespace.enter { () -> String in
                do {
                    try NftConnection().commit(NftBatchEncoder.replace(badTable))
                    return "committed"
                } catch {
                    return String(describing: error)
                }
            }
            #expect(message.hasPrefix("nf_tables rejected the batch, nothing was changed: "), "\(message)")
            #expect(message.contains("set bypass4, element 2001:db8:: of 2001:db8::/32"), "\(message)")
            #expect(message.contains("EINVAL"), "\(message)")
            let after = try namespace.nft(["list", "ruleset"])
            #expect(after.stdout == before.stdout)
        }
    }

    @Test("A rule jumping to a missing chain is named in the error")
    func badRuleNamed() throws {
        try NetworkNamespace.with { namespace in
            let table = NftTable(
                name: "t",
                chains: [
                    NftChain(
                        name: "c",
                        rules: [
                            NftRule([.destinationIsLocal], verdict: .return), NftRule([], verdict: .jump("nowhere")),
                        ])
                ])
            let message = try namespace.enter { () -> String in
                do {
                    try NftConnection().commit(NftBatchEncoder.replace(table))
                    return "committed"
                } catch {
                    return String(describing: error)
                }
            }
            #expect(message.contains("rule 2 of chain c (jump nowhere)"), "\(message)")
            #expect(try namespace.nft(["list", "ruleset"]).stdout.isEmpty)
        }
    }

    @Test("A table made with the owner flag lives exactly as long as the socket that made it (NFT_TABLE_F_OWNER)")
    func ownedTableGoesWithItsSocket() throws {
        try NetworkNamespace.with { namespace in
            let table = NftTable(name: "owned", ownedBySocket: true, chains: [NftChain(name: "c")])
            let name = namespace.name
            let (seen, owner, portID) = try namespace.enter { () -> (String, UInt32?, UInt32) in
                let connection = try NftConnection()
                try connection.commit(NftBatchEncoder.replace(table))
                let listed = try Shell.run(["ip", "netns", "exec", name, "nft", "list", "ruleset"])
                let installed = try connection.table(family: .inet, name: "owned")
                return (listed.stdout, installed?.ownerPortID, connection.portID)
            }  // the connection closes here
            #expect(seen.contains("table inet owned"), "\(seen)")
            #expect(seen.contains("flags owner"), "\(seen)")
            #expect(owner == portID)
            var after = try namespace.nft(["list", "ruleset"]).stdout
            for _ in 0..<50 where !after.isEmpty {
                Thread.sleep(forTimeInterval: 0.02)
                after = try namespace.nft(["list", "ruleset"]).stdout
            }
            #expect(after.isEmpty, "\(after)")
        }
    }

    @Test("10,000 prefixes load in one batch (timings printed; nft -f of the same text for comparison)")
    func tenThousandPrefixesLoad() throws {
        var base = RulesetFixtures.options()
        base.lanInterfaces = ["br-lan"]
        let options = base
        let list = NftBatchEncoderTests.bigList(count: 10_000).map(\.description).joined(separator: "\n")
        try NetworkNamespace.with { namespace in
            let (elapsed, messages) = try namespace.enter { () -> (Duration, Int) in
                let clock = ContinuousClock()
                var messages = 0
                let elapsed = try clock.measure {
                    var options = options
                    options.bypass = ReservedRanges.ranges + (try CIDRList.parse(list, origin: "big.cidr"))
                    let batch = NftBatchEncoder.replace(GatewayRuleset.build(options))
                    messages = batch.messageCount
                    try NftConnection().commit(batch)
                }
                return (elapsed, messages)
            }
            let listed = try namespace.nft(["-j", "list", "set", "inet", "ss_redir", "bypass4"])
            let elements = try Self.elementCount(listed.stdout)
            #expect(elements > 9_000, "\(listed.summary.prefix(400))")

            var withText = options
            withText.bypass = ReservedRanges.ranges + (try CIDRList.parse(list, origin: "big.cidr"))
            let text = NftTextRenderer.render(GatewayRuleset.build(withText))
            let start = Date()
            let load = try namespace.nft(["-f", "-"], input: text)
            let nftSeconds = Date().timeIntervalSince(start)
            #expect(load.status == 0, "\(load.summary)")
            print(
                "10,000 prefixes (\(elements) ranges after merging): parse + build + encode + commit over netlink \(elapsed) "
                    + "in \(messages) messages; nft -f of the rendered text \(Int(nftSeconds * 1000)) ms")
        }
    }

    static func elementCount(_ json: String) throws -> Int {
        let root = try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any]
        let items = root?["nftables"] as? [[String: Any]] ?? []
        let set = items.compactMap { $0["set"] as? [String: Any] }.first
        return (set?["elem"] as? [Any])?.count ?? 0
    }
}
