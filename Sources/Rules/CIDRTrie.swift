import IPAddresses

/// Longest-prefix match over IPv4 and IPv6 prefixes (one path-compressed trie per family). The value stored
/// with a prefix is a 32-bit index, in `BypassRules` an index into the table of rule origins.
public struct CIDRTrie: Sendable {
    private var ipv4 = PrefixTrie<UInt32>()
    private var ipv6 = PrefixTrie<UInt128>()

    public init() {}

    /// Distinct prefixes stored (ranges count once per CIDR block they were split into).
    public var prefixCount: Int { ipv4.prefixCount + ipv6.prefixCount }

    /// Adds `address/length`; the first value given for a prefix is kept.
    public mutating func insert(_ address: IPAddress, length: Int, value: UInt32) {
        precondition(value != .max, "UInt32.max is reserved")
        switch address.family {
        case .ipv4: ipv4.insert(key: UInt32(truncatingIfNeeded: address.value), length: length, value: value)
        case .ipv6: ipv6.insert(key: address.value, length: length, value: value)
        }
    }

    /// Adds a prefix, an address (a /32 or /128), or a range split into the prefixes that cover it exactly.
    public mutating func insert(_ range: IPRange, value: UInt32) {
        for prefix in range.prefixes {
            insert(IPAddress(family: range.family, value: prefix.address), length: prefix.length, value: value)
        }
    }

    /// The value of the most specific prefix containing `address`, nil when none does.
    public func lookup(_ address: IPAddress) -> UInt32? {
        switch address.family {
        case .ipv4: ipv4.longestMatch(UInt32(truncatingIfNeeded: address.value))
        case .ipv6: ipv6.longestMatch(address.value)
        }
    }
}
