import IPAddresses
import Testing

@testable import Resolver

@Suite struct HostsFileTests {
    @Test func parsesNamesAliasesCommentsAndScopes() {
        let file = HostsFile(
            parsing: """
                127.0.0.1\tlocalhost
                ::1 localhost ip6-localhost # comment
                # 192.0.2.9 commented.out
                192.0.2.1 Gateway.LAN. gw
                fe80::1%eth0 router
                bogus name
                192.0.2.2
                """)
        #expect(file.addresses(for: "LOCALHOST") == [IPAddress("127.0.0.1")!, IPAddress("::1")!])
        #expect(file.addresses(for: "gateway.lan") == [IPAddress("192.0.2.1")!])
        #expect(file.addresses(for: "gw.") == [IPAddress("192.0.2.1")!])
        #expect(file.addresses(for: "router") == [IPAddress("fe80::1")!])
        #expect(file.addresses(for: "commented.out").isEmpty)
        #expect(file.problems.map(\.line) == [6, 7])
    }

    @Test func windowsLineEndingsSplitLines() {
        let file = HostsFile(parsing: "192.0.2.1 one\r\n192.0.2.2 two\r\n")
        #expect(file.entries.count == 2)
        #expect(file.addresses(for: "two") == [IPAddress("192.0.2.2")!])
        #expect(file.entries[1].line == 2)
    }

    @Test func resolverIndexKeepsFileOrderWithoutDuplicates() {
        let file = HostsFile(parsing: "192.0.2.1 a b\n192.0.2.2 a\n192.0.2.1 a\n")
        let index = ResolverFiles.index(file)
        #expect(index["a"] == [IPAddress("192.0.2.1")!, IPAddress("192.0.2.2")!])
        #expect(index["b"] == [IPAddress("192.0.2.1")!])
    }
}
