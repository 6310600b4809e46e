/// A dictionary that remembers use order: `touch` makes an entry the most recent, `oldest` is the least recently
/// used. Inserts, lookups, touches and removals are O(1). Not thread-safe: owned by one event loop.
package struct LRUTable<Key: Hashable, Value> {
    private final class Node {
        let key: Key
        var value: Value
        var newer: Node?
        weak var older: Node?
        init(key: Key, value: Value) {
            self.key = key
            self.value = value
        }
    }

    private var nodes: [Key: Node] = [:]
    /// Least recently used end (strong chain runs oldest -> newest through `newer`).
    private var head: Node?
    private weak var tail: Node?

    package init() {}

    package var count: Int { nodes.count }

    package func value(for key: Key) -> Value? { nodes[key]?.value }

    /// The least recently used entry.
    package var oldest: (key: Key, value: Value)? { head.map { ($0.key, $0.value) } }

    /// Inserts or replaces `key` as the most recent entry.
    package mutating func set(_ value: Value, for key: Key) {
        if let node = nodes[key] {
            node.value = value
            moveToNewest(node)
            return
        }
        let node = Node(key: key, value: value)
        nodes[key] = node
        append(node)
    }

    /// Marks `key` as just used; returns its value.
    @discardableResult
    package mutating func touch(_ key: Key) -> Value? {
        guard let node = nodes[key] else { return nil }
        moveToNewest(node)
        return node.value
    }

    @discardableResult
    package mutating func remove(_ key: Key) -> Value? {
        guard let node = nodes.removeValue(forKey: key) else { return nil }
        unlink(node)
        return node.value
    }

    package mutating func removeAll() -> [Value] {
        let values = nodes.values.map(\.value)
        nodes.removeAll()
        head = nil  // releases the chain
        tail = nil
        return values
    }

    private mutating func append(_ node: Node) {
        node.older = tail
        node.newer = nil
        if let tail { tail.newer = node } else { head = node }
        tail = node
    }

    private mutating func unlink(_ node: Node) {
        let older = node.older
        let newer = node.newer
        if let older { older.newer = newer } else { head = newer }
        if let newer { newer.older = older } else { tail = older }
        node.newer = nil
        node.older = nil
    }

    private mutating func moveToNewest(_ node: Node) {
        guard tail !== node else { return }
        unlink(node)
        append(node)
    }
}
