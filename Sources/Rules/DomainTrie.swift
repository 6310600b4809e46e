/// Domain rules. Suffix and exact names live in a trie over reversed labels (`a.example.com` is looked up as
/// com → example → a), so a lookup costs one hash probe per label of the name whatever the number of rules.
/// Keywords are a scan over their (short) list; regular expressions are scanned last, after the trie.
/// Matching is ASCII case-insensitive and ignores a trailing dot.
public struct DomainTrie: Sendable {
    private struct Node: Sendable {
        var labelHash: UInt64
        var parent: Int32
        var labelStart: Int32
        var labelLength: Int32
        var suffixValue: UInt32 = DomainTrie.noValue
        var fullValue: UInt32 = DomainTrie.noValue
        var hasTails = false
    }

    /// The first label's tail of an `endsWith` pattern: the name's label at this depth must end with it.
    private struct Tail: Sendable {
        var bytes: [UInt8]
        var value: UInt32
    }

    private static var noValue: UInt32 { .max }

    private var nodes: [Node] = [Node(labelHash: 0, parent: -1, labelStart: 0, labelLength: 0)]
    /// Lower-cased label bytes, shared by all nodes.
    private var labelBytes: [UInt8] = []
    /// Open addressing over (parent, label) → node index; -1 is empty. Capacity is a power of two, at most half full.
    private var slots = [Int32](repeating: -1, count: 16)
    private var tails: [Int32: [Tail]] = [:]
    private var keywords: [(bytes: [UInt8], value: UInt32)] = []
    private var regexes: [(regex: DomainRegex, value: UInt32)] = []

    /// Patterns stored; a repeated suffix or full name counts once (its first value is kept).
    public private(set) var count = 0

    public init() {}

    /// Patterns that need a scan on every lookup (keywords and regular expressions).
    public var scannedCount: Int { keywords.count + regexes.count }

    public mutating func insert(_ pattern: DomainPattern, value: UInt32) {
        precondition(value != Self.noValue, "UInt32.max is reserved")
        switch pattern {
        case .suffix(let name):
            let node = Int(nodeCreating(labels: Self.reversedLabels(name)))
            if nodes[node].suffixValue == Self.noValue {
                nodes[node].suffixValue = value
                count += 1
            }
        case .full(let name):
            let node = Int(nodeCreating(labels: Self.reversedLabels(name)))
            if nodes[node].fullValue == Self.noValue {
                nodes[node].fullValue = value
                count += 1
            }
        case .endsWith(let text):
            // "x.a.b": a, b are whole labels; "x" only has to end the label before them.
            var labels = Self.reversedLabels(text)
            let tail = labels.removeLast()
            let node = nodeCreating(labels: labels)
            nodes[Int(node)].hasTails = true
            tails[node, default: []].append(Tail(bytes: tail, value: value))
            count += 1
        case .keyword(let text):
            keywords.append((Array(text.utf8).map(DomainName.lowercased), value))
            count += 1
        case .regexp(let regex):
            regexes.append((regex, value))
            count += 1
        }
    }

    /// The value of the matching pattern: the most specific trie entry (an exact name before a suffix at the
    /// same name), else the first matching keyword, else the first matching regular expression.
    public func match(_ name: String) -> UInt32? {
        var text = name
        let found = text.withUTF8 { whole -> UInt32? in
            var end = whole.count
            while end > 0 && whole[end - 1] == UInt8(ascii: ".") { end -= 1 }
            let bytes = UnsafeBufferPointer(rebasing: whole[0..<end])
            if let value = trieMatch(bytes) { return value }
            for keyword in keywords where Self.contains(bytes, keyword.bytes) { return keyword.value }
            return nil
        }
        if found != nil || regexes.isEmpty { return found }
        let normalized = DomainName.normalize(name)
        for entry in regexes where entry.regex.matches(normalized) { return entry.value }
        return nil
    }

    private func trieMatch(_ bytes: UnsafeBufferPointer<UInt8>) -> UInt32? {
        var best: UInt32?
        var node: Int32 = 0
        var end = bytes.count
        while true {
            var start = end
            while start > 0 && bytes[start - 1] != UInt8(ascii: ".") { start -= 1 }
            let label = UnsafeBufferPointer(rebasing: bytes[start..<end])
            if nodes[Int(node)].hasTails, let tails = tails[node] {
                for tail in tails where Self.hasSuffix(label, tail.bytes) {
                    best = tail.value
                    break
                }
            }
            guard let child = find(parent: node, label: label) else { return best }
            node = child
            let entry = nodes[Int(child)]
            if start == 0 {
                if entry.fullValue != Self.noValue { return entry.fullValue }
                return entry.suffixValue != Self.noValue ? entry.suffixValue : best
            }
            if entry.suffixValue != Self.noValue { best = entry.suffixValue }
            end = start - 1
        }
    }

    // MARK: - Hash table

    private func find(parent: Int32, label: UnsafeBufferPointer<UInt8>) -> Int32? {
        let labelHash = Self.hash(label)
        let mask = slots.count - 1
        var slot = Self.slot(parent: parent, labelHash: labelHash) & mask
        while true {
            let index = slots[slot]
            if index < 0 { return nil }
            let node = nodes[Int(index)]
            if node.parent == parent && node.labelHash == labelHash && Int(node.labelLength) == label.count
                && labelEquals(node, label)
            {
                return index
            }
            slot = (slot + 1) & mask
        }
    }

    private func labelEquals(_ node: Node, _ label: UnsafeBufferPointer<UInt8>) -> Bool {
        let start = Int(node.labelStart)
        for offset in 0..<label.count where labelBytes[start + offset] != DomainName.lowercased(label[offset]) {
            return false
        }
        return true
    }

    private mutating func nodeCreating(labels: [[UInt8]]) -> Int32 {
        var node: Int32 = 0
        for label in labels {
            let existing = label.withUnsafeBufferPointer { find(parent: node, label: $0) }
            if let existing {
                node = existing
                continue
            }
            let index = Int32(nodes.count)
            let labelHash = label.withUnsafeBufferPointer { Self.hash($0) }
            nodes.append(
                Node(
                    labelHash: labelHash, parent: node, labelStart: Int32(labelBytes.count),
                    labelLength: Int32(label.count)))
            labelBytes += label
            if nodes.count * 2 > slots.count { grow() } else { place(index) }
            node = index
        }
        return node
    }

    private mutating func place(_ index: Int32) {
        let node = nodes[Int(index)]
        let mask = slots.count - 1
        var slot = Self.slot(parent: node.parent, labelHash: node.labelHash) & mask
        while slots[slot] >= 0 { slot = (slot + 1) & mask }
        slots[slot] = index
    }

    private mutating func grow() {
        slots = [Int32](repeating: -1, count: slots.count * 2)
        for index in 1..<nodes.count { place(Int32(index)) }
    }

    // MARK: - Bytes

    private static func reversedLabels(_ name: String) -> [[UInt8]] {
        var text = Substring(name.lowercased())
        while text.hasSuffix(".") { text.removeLast() }
        return text.split(separator: ".", omittingEmptySubsequences: false).reversed().map { Array($0.utf8) }
    }

    /// FNV-1a (64-bit) over the lower-cased label.
    private static func hash(_ label: UnsafeBufferPointer<UInt8>) -> UInt64 {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in label { hash = (hash ^ UInt64(DomainName.lowercased(byte))) &* 0x100_0000_01b3 }
        return hash
    }

    /// Mixes the parent in and finalizes (MurmurHash3's fmix64) so nearby parents spread over the table.
    private static func slot(parent: Int32, labelHash: UInt64) -> Int {
        var key = labelHash ^ (UInt64(UInt32(bitPattern: parent)) &* 0x9e37_79b9_7f4a_7c15)
        key ^= key >> 33
        key &*= 0xff51_afd7_ed55_8ccd
        key ^= key >> 33
        key &*= 0xc4ce_b9fe_1a85_ec53
        key ^= key >> 33
        return Int(truncatingIfNeeded: key)
    }

    private static func hasSuffix(_ label: UnsafeBufferPointer<UInt8>, _ tail: [UInt8]) -> Bool {
        guard tail.count <= label.count else { return false }
        let offset = label.count - tail.count
        for index in 0..<tail.count where DomainName.lowercased(label[offset + index]) != tail[index] { return false }
        return true
    }

    private static func contains(_ bytes: UnsafeBufferPointer<UInt8>, _ needle: [UInt8]) -> Bool {
        guard needle.count <= bytes.count else { return false }
        if needle.isEmpty { return true }
        outer: for start in 0...(bytes.count - needle.count) {
            for index in 0..<needle.count where DomainName.lowercased(bytes[start + index]) != needle[index] {
                continue outer
            }
            return true
        }
        return false
    }
}
