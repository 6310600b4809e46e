import Testing

@testable import Netfilter

@Suite("CIDR list files") struct CIDRListTests {
    @Test("Comments, blank lines, several entries per line, ranges")
    func parses() throws {
        let text = """
            # chnroute excerpt
            1.0.1.0/24
              1.0.2.0/23   # trailing comment

            2001:250::/35, 2001:251::/32
            203.0.113.5-203.0.113.9\r
            """
        let ranges = try CIDRList.parse(text, origin: "list.cidr")
        #expect(
            ranges.map(\.description) == [
                "1.0.1.0/24", "1.0.2.0/23", "2001:250::/35", "2001:251::/32", "203.0.113.5-203.0.113.9",
            ])
    }

    @Test("A bad entry names the file and line")
    func badEntry() {
        #expect {
            try CIDRList.parse("1.0.1.0/24\n\n1.0.2.0/33\n", origin: "china.cidr")
        } throws: { error in
            (error as? NetfilterError)?.message.hasPrefix("china.cidr:3: \"1.0.2.0/33\" is not") == true
        }
    }

    @Test("A missing file says so")
    func missingFile() {
        #expect(throws: NetfilterError.self) { try CIDRList.load(path: "/nonexistent/list.cidr") }
    }

    @Test("The built-in reserved list is hosts-rules/reserved.cidr, byte for byte")
    func reservedInSync() throws {
        let file = try Repository.read("hosts-rules/reserved.cidr")
        #expect(
            ReservedRanges.text + "\n" == file,
            "update Sources/Netfilter/ReservedRanges.swift from hosts-rules/reserved.cidr")
        #expect(ReservedRanges.ranges.count == 24)
    }
}
