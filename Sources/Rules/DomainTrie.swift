/// Domain rules. Suffix and exact names live in a trie over reversed labels (`a.example.com` is looked up as
/// com → example → a), so a lookup costs one hash probe per label of the name whatever the number of rules.
/// Keywords are found in one pass over the name (`KeywordIndex`); regular expressions are scanned one by one,
/// last. Matching is ASCII case-insensitive and ignores trailing dots.
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
    /// Open addressing over (parent, label): the slot hash's high 32 bits (a fingerprint, so a probe rarely
    /// touches a node that is not the one) over node index + 1; 0 is empty. A power of two, at most half full.
    private var slots = [UInt64](repeating: 0, count: 16)
    private var tails: [Int32: [Tail]] = [:]
    private var keywords = KeywordIndex()
    private var regexes: [(regex: DomainRegex, value: UInt32)] = []

    /// Patterns stored; a repeated suffix or full name counts once (its first value is kept).
    public private(set) var count = 0

    public init() {}

    /// Patterns that need a scan on every lookup: regular expressions.
    public var scannedCount: Int { regexes.count }

    public mutating func insert(_ pattern: DomainPattern, value: UInt32) {
        precondition(value != Self.noValue, "UInt32.max is reserved")
        switch pattern {
        case .suffix(let name):
            let node = Int(nodeCreating(name, keepingFirstLabel: false))
            if nodes[node].suffixValue == Self.noValue {
                nodes[node].suffixValue = value
                count += 1
            }
        case .full(let name):
            let node = Int(nodeCreating(name, keepingFirstLabel: false))
            if nodes[node].fullValue == Self.noValue {
                nodes[node].fullValue = value
                count += 1
            }
        case .endsWith(let text):
            // "x.a.b": a and b are whole labels; "x" only has to end the label before them.
            let normalized = DomainName.normalize(text)
            let firstLabel = normalized.utf8.prefix { $0 != UInt8(ascii: ".") }
            let node = nodeCreating(normalized, keepingFirstLabel: true)
            nodes[Int(node)].hasTails = true
            tails[node, default: []].append(Tail(bytes: Array(firstLabel), value: value))
            count += 1
        case .keyword(let text):
            keywords.insert(text.utf8.map(DomainName.lowercased), value: value)
            count += 1
        case .regexp(let regex):
            regexes.append((regex, value))
            count += 1
        }
    }

    /// The value of the matching pattern: the most specific trie entry (an exact name before a suffix at the
    /// same name), else the earliest matching keyword, else the first matching regular expression.
    public func match(_ name: String) -> UInt32? {
        var text = name
        let found = text.withUTF8 { whole -> UInt32? in
            var end = whole.count
            while end > 0 && whole[end - 1] == UInt8(ascii: ".") { end -= 1 }
            let bytes = UnsafeBufferPointer(rebasing: whole[0..<end])
            return trieMatch(bytes) ?? keywords.match(bytes)
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
        let slotHash = Self.slot(parent: parent, labelHash: labelHash)
        let fingerprint = UInt64(truncatingIfNeeded: slotHash) >> 32
        return slots.withUnsafeBufferPointer { slots in
            let mask = slots.count - 1
            var slot = slotHash & mask
            while true {
                let entry = slots[slot]
                if entry == 0 { return nil }
                if entry >> 32 == fingerprint {
                    let index = Int32(truncatingIfNeeded: entry & 0xFFFF_FFFF) - 1
                    let node = nodes[Int(index)]
                    if node.labelHash == labelHash && node.parent == parent && Int(node.labelLength) == label.count
                        && labelEquals(node, label)
                    {
                        return index
                    }
                }
                slot = (slot + 1) & mask
            }
        }
    }

    private func labelEquals(_ node: Node, _ label: UnsafeBufferPointer<UInt8>) -> Bool {
        labelBytes.withUnsafeBufferPointer { stored in
            let start = Int(node.labelStart)
            for offset in 0..<label.count where stored[start + offset] != DomainName.lowercased(label[offset]) {
                return false
            }
            return true
        }
    }

    /// The node for `name`'s labels, last label first, created as needed; with `keepingFirstLabel` the first
    /// (leftmost) label is left out.
    private mutating func nodeCreating(_ name: String, keepingFirstLabel: Bool) -> Int32 {
        var text = DomainName.normalize(name)
        return text.withUTF8 { bytes in
            var node: Int32 = 0
            var end = bytes.count
            while true {
                var start = end
                while start > 0 && bytes[start - 1] != UInt8(ascii: ".") { start -= 1 }
                if start == 0 && keepingFirstLabel { return node }
                node = child(of: node, label: UnsafeBufferPointer(rebasing: bytes[start..<end]))
                if start == 0 { return node }
                end = start - 1
            }
        }
    }

    private mutating func child(of parent: Int32, label: UnsafeBufferPointer<UInt8>) -> Int32 {
        if let existing = find(parent: parent, label: label) { return existing }
        let index = Int32(nodes.count)
        nodes.append(
            Node(
                labelHash: Self.hash(label), parent: parent, labelStart: Int32(labelBytes.count),
                labelLength: Int32(label.count)))
        labelBytes.append(contentsOf: label.lazy.map(DomainName.lowercased))
        if nodes.count * 2 > slots.count { grow() } else { place(index) }
        return index
    }

    private mutating func place(_ index: Int32) {
        let node = nodes[Int(index)]
        let mask = slots.count - 1
        let slotHash = Self.slot(parent: node.parent, labelHash: node.labelHash)
        var slot = slotHash & mask
        while slots[slot] != 0 { slot = (slot + 1) & mask }
        slots[slot] = (UInt64(truncatingIfNeeded: slotHash) >> 32) << 32 | UInt64(UInt32(index) + 1)
    }

    private mutating func grow() {
        slots = [UInt64](repeating: 0, count: slots.count * 2)
        for index in 1..<nodes.count { place(Int32(index)) }
    }

    // MARK: - Bytes

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
}
