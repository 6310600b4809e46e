import Foundation
import Testing
import SeededRandom

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

    /// nf_tables attributes are big endian (nf_tables.h: "all attributes are in network byte order").
    static func bigEndian(_ value: ArraySlice<UInt8>) -> UInt64 { value.reduce(0) { $0 << 8 | UInt64($1) } }

    static func attribute(_ kind: UInt16, in bytes: ArraySlice<UInt8>) -> Netlink.Attribute? {
        Netlink.attributes(in: bytes).first { $0.kind == kind }
    }

    @Test("A DNS bypass set is created as `flags timeout` with a size and no set-wide timeout, and holds no elements")
    func timeoutSetMessage() throws {
        let table = GatewayRuleset.build(RulesetFixtures.options())
        let batch = NftBatchEncoder.replace(table)
        let entry = try #require(batch.entries.first { $0.object == "set bypass4_dns" })
        #expect(!batch.entries.contains { $0.object.hasSuffix("of set bypass4_dns") })
        let message = batch.bytes[entry.start..<(entry.start + entry.length)]
        let attributes = message.dropFirst(Netlink.headerSize + 4)  // nfgenmsg
        // NFTA_SET_NAME 2, FLAGS 3, KEY_TYPE 4, KEY_LEN 5, DESC 9 { DESC_SIZE 1 }, TIMEOUT 11, USERDATA 13.
        #expect(
            String(decoding: Self.attribute(2, in: attributes)!.value.prefix { $0 != 0 }, as: UTF8.self)
                == "bypass4_dns")
        #expect(Self.bigEndian(Self.attribute(3, in: attributes)!.value) == 0x10)  // NFT_SET_TIMEOUT only
        #expect(Self.bigEndian(Self.attribute(4, in: attributes)!.value) == 7)  // TYPE_IPADDR
        #expect(Self.bigEndian(Self.attribute(5, in: attributes)!.value) == 4)
        let description = try #require(Self.attribute(9, in: attributes))
        #expect(Self.bigEndian(Self.attribute(1, in: description.value)!.value) == 65_536)
        #expect(Self.attribute(11, in: attributes) == nil)
        #expect(Array(Self.attribute(13, in: attributes)!.value) == [0, 4, 2, 0, 0, 0])  // key byte order: big endian

        let v6 = try #require(table.sets.first { $0.name == "bypass6_dns" })
        #expect(v6.keyFamily == .ipv6 && v6.kind == .timeout(maxElements: GatewayRuleset.dnsBypassCapacity))
    }

    @Test("Timed elements: one NEWSETELEM per set, key, timeout and expiration in milliseconds, no EXCL, no set id")
    func timedElementMessages() throws {
        let v4 = [
            NftBatchEncoder.TimedElement(address: IPAddress("198.51.100.7")!, timeoutMilliseconds: 120_000),
            NftBatchEncoder.TimedElement(address: IPAddress("203.0.113.9")!, timeoutMilliseconds: 60_000),
        ]
        let v6 = [NftBatchEncoder.TimedElement(address: IPAddress("2001:db8::7")!, timeoutMilliseconds: 86_400_000)]
        let batch = NftBatchEncoder.addTimedElements(
            family: .inet, table: "ss_redir", sets: [("bypass4_dns", v4), ("bypass6_dns", v6)], firstSequence: 500)
        #expect(batch.messageCount == 2)
        let messages = Netlink.messages(in: batch.bytes)
        #expect(messages.map(\.sequence) == [500, 501, 502, 503])
        for (message, expected) in zip(messages.dropFirst().prefix(2), [("bypass4_dns", v4), ("bypass6_dns", v6)]) {
            #expect(message.type == 0x0a00 | 12)  // NFNL_SUBSYS_NFTABLES << 8 | NFT_MSG_NEWSETELEM
            #expect(message.flags == 0x0400 | 0x0004 | 0x0001)  // NLM_F_CREATE | NLM_F_ACK | NLM_F_REQUEST
            let top = message.payload.dropFirst(4)
            // NFTA_SET_ELEM_LIST_TABLE 1, SET 2, ELEMENTS 3, SET_ID 4.
            #expect(String(decoding: Self.attribute(1, in: top)!.value.prefix { $0 != 0 }, as: UTF8.self) == "ss_redir")
            #expect(String(decoding: Self.attribute(2, in: top)!.value.prefix { $0 != 0 }, as: UTF8.self) == expected.0)
            #expect(Self.attribute(4, in: top) == nil)
            let elements = Netlink.attributes(in: Self.attribute(3, in: top)!.value)
            #expect(elements.count == expected.1.count)
            for (element, timed) in zip(elements, expected.1) {
                // NFTA_SET_ELEM_KEY 1 { NFTA_DATA_VALUE 1 }, TIMEOUT 4, EXPIRATION 5, FLAGS 3.
                let key = try #require(Self.attribute(1, in: element.value))
                #expect(Array(Self.attribute(1, in: key.value)!.value) == timed.address.bytes)
                #expect(Self.bigEndian(Self.attribute(4, in: element.value)!.value) == timed.timeoutMilliseconds)
                #expect(Self.bigEndian(Self.attribute(5, in: element.value)!.value) == timed.timeoutMilliseconds)
                #expect(Self.attribute(3, in: element.value) == nil)
            }
        }
        let entry = try #require(batch.entries.first)
        #expect(entry.label(ofElement: 1) == "element 203.0.113.9")
    }

    @Test("2,500 timed IPv6 elements are split into messages of at most 1,024, each under the 16-bit nest limit")
    func timedElementChunks() throws {
        let elements = (0..<2500).map {
            NftBatchEncoder.TimedElement(
                address: IPAddress(family: .ipv6, value: 0x2001_0db8 << 96 | UInt128($0)), timeoutMilliseconds: 60_000)
        }
        let batch = NftBatchEncoder.addTimedElements(family: .inet, table: "t", sets: [("bypass6_dns", elements)])
        #expect(
            batch.entries.map(\.object) == [
                "elements 1-1024 of 2500 of set bypass6_dns", "elements 1025-2048 of 2500 of set bypass6_dns",
                "elements 2049-2500 of 2500 of set bypass6_dns",
            ])
        for entry in batch.entries { #expect(entry.length < 65_535, "\(entry.object)") }
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
