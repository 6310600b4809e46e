import Foundation
import Testing

@testable import Netfilter

@Suite("Netlink batch encoding") struct NftBatchEncoderTests {
    static func bigList(count: Int, seed: UInt64 = 7) -> [IPRange] {
        // Distinct /24s spread over the address space, like a China route list (which has about 8,000 entries).
        var generator = SplitMix64(seed: seed)
        var chosen = Set<UInt32>()
        while chosen.count < count {
            chosen.insert(UInt32.random(in: 0x0100_00...0xDFFF_FF, using: &generator) << 8)
        }
        return chosen.map { IPRange(prefix: IPAddress(family: .ipv4, value: UInt128($0)), length: 24) }
    }

    @Test("Begin, three table messages, one per set, chained element messages, chains, rules, end")
    func messageLayout() throws {
        var options = RulesetFixtures.options()
        options.udp = true
        options.lanInterfaces = ["br-lan"]
        options.bypass = ReservedRanges.ranges + Self.bigList(count: 3000)
        let table = GatewayRuleset.build(options)
        let batch = NftBatchEncoder.replace(table, firstSequence: 100)
        let v4Elements = AddressIntervals.elements(of: table.sets[0].ranges).count
        let v6Elements = AddressIntervals.elements(of: table.sets[1].ranges).count
        let elementMessages = (v4Elements + 1023) / 1024 + (v6Elements + 1023) / 1024
        #expect(batch.messageCount == 3 + table.sets.count + elementMessages + table.chains.count + table.ruleCount)

        let messages = Netlink.messages(in: batch.bytes)
        #expect(messages.count == batch.messageCount + 2)
        #expect(messages.first?.type == 0x10)  // NFNL_MSG_BATCH_BEGIN
        #expect(messages.last?.type == 0x11)  // NFNL_MSG_BATCH_END
        #expect(messages.map(\.sequence) == Array(100..<(100 + UInt32(messages.count))))
        // Every element list fits the 16-bit nested attribute length.
        for entry in batch.entries where entry.elements != nil {
            #expect(entry.length < 65_535, "\(entry.object)")
        }
    }

    @Test("An error offset inside an element list names that element")
    func describesElement() throws {
        var set = NftSet(
            name: "bypass4",
            intervals: AddressIntervals(family: .ipv4, [IPRange("10.0.0.0/8")!, IPRange("192.168.0.0/16")!]))
        set.ranges.append(IPRange("2001:db8::/32")!)  // an IPv6 key in an IPv4 set
        let table = NftTable(name: "t", sets: [set])
        let batch = NftBatchEncoder.replace(table)
        let entry = try #require(batch.entries.first { $0.elements != nil })
        #expect(entry.label(ofElement: 0) == "element 0.0.0.0 (interval end) of the gap below the first range")
        #expect(entry.label(ofElement: 5) == "element 2001:db8:: of 2001:db8::/32")
        #expect(entry.label(ofElement: 6) == "element 2001:db9:: (interval end) of 2001:db8::/32")
        // The offset of the IPv6 start element, as the kernel's extended ack reports it (from the message start).
        let message = batch.bytes[entry.start..<(entry.start + entry.length)]
        let list = try #require(Netlink.attributes(in: message.dropFirst(20)).first { $0.kind == 3 })
        let elements = Netlink.attributes(in: list.value)
        #expect(elements.count == 7)
        let text = batch.describe(sequence: entry.sequence, badAttributeOffset: elements[5].offset - entry.start + 4)
        #expect(text == "elements 1-7 of 7 of set bypass4, element 2001:db8:: of 2001:db8::/32")
        #expect(batch.describe(sequence: entry.sequence, badAttributeOffset: nil) == "elements 1-7 of 7 of set bypass4")
        #expect(batch.describe(sequence: batch.beginSequence, badAttributeOffset: nil) == "the batch itself")
    }

    @Test("10,000 prefixes: parse, merge, render and encode (timings printed, not asserted)")
    func tenThousandPrefixes() throws {
        let list = Self.bigList(count: 10_000).map(\.description).joined(separator: "\n")
        let clock = ContinuousClock()
        var table = NftTable(name: "x")
        var text = ""
        var batch = NftBatch()
        let parse = try clock.measure {
            var options = RulesetFixtures.options()
            options.lanInterfaces = ["br-lan"]
            options.bypass = ReservedRanges.ranges + (try CIDRList.parse(list, origin: "big.cidr"))
            table = GatewayRuleset.build(options)
        }
        let render = clock.measure { text = NftTextRenderer.render(table) }
        let encode = clock.measure { batch = NftBatchEncoder.replace(table) }
        print(
            "10,000 prefixes: parse+merge+build \(parse), render \(render) (\(text.utf8.count) bytes), "
                + "encode \(encode) (\(batch.messageCount) messages, \(batch.bytes.count) bytes)")
        #expect(table.sets[0].ranges.count > 9_000)
    }
}
