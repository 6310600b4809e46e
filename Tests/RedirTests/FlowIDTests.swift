import Testing

@testable import Redir

/// Connection ids as dashboards see them: UUID-shaped text made from a serial, and back.
@Suite struct FlowIDTests {
    @Test func idsAreVersion4UUIDsThatNameTheirSerial() {
        for serial: UInt64 in [1, 2, 255, 65_536, 1 << 40, (1 << 62) - 1] {
            let text = RelayedFlow.idText(serial)
            let groups = text.split(separator: "-")
            #expect(groups.map(\.count) == [8, 4, 4, 4, 12], "\(text)")
            #expect(groups[2].first == "4", "version nibble: \(text)")
            #expect("89ab".contains(groups[3].first!), "variant: \(text)")
            #expect(RelayedFlow.serial(fromID: text) == serial)
            #expect(RelayedFlow.serial(fromID: text.uppercased()) == serial)
        }
        #expect(RelayedFlow.idText(1) != RelayedFlow.idText(2))
    }

    @Test func foreignOrMalformedIdsNameNothing() {
        #expect(RelayedFlow.serial(fromID: "") == nil)
        #expect(RelayedFlow.serial(fromID: "not-an-id") == nil)
        let ours = RelayedFlow.idText(7)
        // Another process's id (a different prefix) names nothing here.
        let otherFirst: Character = ours.first == "0" ? "1" : "0"
        #expect(RelayedFlow.serial(fromID: String(otherFirst) + ours.dropFirst()) == nil)
        #expect(RelayedFlow.serial(fromID: ours + "0") == nil)
        #expect(RelayedFlow.serial(fromID: String(ours.dropLast())) == nil)
    }
}
