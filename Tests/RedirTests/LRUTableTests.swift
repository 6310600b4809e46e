import Testing

@testable import Redir

@Suite struct LRUTableTests {
    @Test func evictionOrderFollowsUse() {
        var table = LRUTable<Int, String>()
        for key in 1...4 { table.set("v\(key)", for: key) }
        #expect(table.oldest?.key == 1)
        table.touch(1)
        #expect(table.oldest?.key == 2)
        table.set("v2'", for: 2)  // replacing also counts as use
        #expect(table.oldest?.key == 3)
        #expect(table.remove(3) == "v3")
        #expect(table.oldest?.key == 4)
        #expect(table.count == 3)
        #expect(table.value(for: 2) == "v2'")
        #expect(table.touch(99) == nil)
    }

    @Test func drainsInUseOrderAndEmptiesCleanly() {
        var table = LRUTable<Int, Int>()
        for key in 0..<1000 { table.set(key, for: key) }
        for key in stride(from: 0, to: 1000, by: 2) { table.touch(key) }
        var order: [Int] = []
        while let oldest = table.oldest {
            order.append(oldest.key)
            table.remove(oldest.key)
        }
        #expect(order == Array(stride(from: 1, to: 1000, by: 2)) + Array(stride(from: 0, to: 1000, by: 2)))
        #expect(table.count == 0)
        table.set(1, for: 1)
        #expect(table.removeAll() == [1])
        #expect(table.oldest == nil)
    }
}
