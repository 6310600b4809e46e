/// A path-compressed binary trie over `Key`'s bits (most significant first), one value per prefix, for
/// longest-prefix match. Nodes live in one array; a lookup follows at most one node per stored prefix on the
/// path, not one per bit.
struct PrefixTrie<Key: FixedWidthInteger & UnsignedInteger & Sendable>: Sendable {
    struct Node: Sendable {
        /// The node's prefix, host bits zero.
        var key: Key
        var left: Int32 = -1
        var right: Int32 = -1
        var value: UInt32 = PrefixTrie.noValue
        var length: UInt8
    }

    static var noValue: UInt32 { .max }

    private(set) var nodes: [Node] = [Node(key: 0, length: 0)]
    private(set) var prefixCount = 0

    @inline(__always) private static func mask(_ length: Int) -> Key {
        // Masking shifts stay below the width, so length 0 (a shift by the full width) is its own case.
        length == 0 ? 0 : Key.max &<< Key(truncatingIfNeeded: Key.bitWidth - length)
    }

    @inline(__always) private static func bit(_ key: Key, at index: Int) -> Int {
        Int(truncatingIfNeeded: (key &>> Key(truncatingIfNeeded: Key.bitWidth - 1 - index)) & 1)
    }

    /// Adds `key/length`. When the prefix is already present the first value is kept (first file:line wins).
    mutating func insert(key rawKey: Key, length: Int, value: UInt32) {
        precondition(length >= 0 && length <= Key.bitWidth && value != PrefixTrie.noValue)
        let key = rawKey & Self.mask(length)
        var current = 0
        while true {
            let node = nodes[current]
            if Int(node.length) == length {
                if node.value == Self.noValue {
                    nodes[current].value = value
                    prefixCount += 1
                }
                return
            }
            let direction = Self.bit(key, at: Int(node.length))
            let childIndex = direction == 0 ? node.left : node.right
            guard childIndex >= 0 else {
                attach(Node(key: key, value: value, length: UInt8(length)), under: current, direction: direction)
                prefixCount += 1
                return
            }
            let child = nodes[Int(childIndex)]
            let limit = min(Int(child.length), length)
            let common = min(limit, (child.key ^ key).leadingZeroBitCount)
            if common == Int(child.length) {
                current = Int(childIndex)
                continue
            }
            // The new prefix branches off inside the child's compressed edge: split the edge at `common`.
            var middle = Node(key: key & Self.mask(common), length: UInt8(common))
            if Self.bit(child.key, at: common) == 0 { middle.left = childIndex } else { middle.right = childIndex }
            if common == length {
                middle.value = value
            }
            let middleIndex = Int32(nodes.count)
            nodes.append(middle)
            if direction == 0 { nodes[current].left = middleIndex } else { nodes[current].right = middleIndex }
            if common < length {
                attach(
                    Node(key: key, value: value, length: UInt8(length)), under: Int(middleIndex),
                    direction: Self.bit(key, at: common))
            }
            prefixCount += 1
            return
        }
    }

    private mutating func attach(_ node: Node, under parent: Int, direction: Int) {
        let index = Int32(nodes.count)
        nodes.append(node)
        if direction == 0 { nodes[parent].left = index } else { nodes[parent].right = index }
    }

    /// The value of the longest stored prefix containing `key`.
    func longestMatch(_ key: Key) -> UInt32? {
        nodes.withUnsafeBufferPointer { nodes in
            var best = nodes[0].value
            var current = nodes[0]
            while Int(current.length) < Key.bitWidth {
                let next = Self.bit(key, at: Int(current.length)) == 0 ? current.left : current.right
                guard next >= 0 else { break }
                let child = nodes[Int(next)]
                guard (key ^ child.key) & Self.mask(Int(child.length)) == 0 else { break }
                if child.value != Self.noValue { best = child.value }
                current = child
            }
            return best == Self.noValue ? nil : best
        }
    }
}
