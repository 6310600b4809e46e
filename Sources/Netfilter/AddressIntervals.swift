/// The contents of an nftables interval set for one address family: ranges sorted, with overlapping and
/// adjacent ones merged. The kernel rejects overlapping intervals in one batch and the `nft` tool merges in user
/// space before it sends anything; sending through libnftnl, we have to do the same.
public struct AddressIntervals: Sendable, Equatable {
    public let family: IPFamily
    /// Sorted by `lower`, pairwise disjoint and never adjacent (`next.lower > previous.upper + 1`).
    public let ranges: [IPRange]

    /// Keeps the ranges of `family` from `ranges` (others are skipped), then sorts and merges them.
    public init(family: IPFamily, _ ranges: some Sequence<IPRange>) {
        self.family = family
        let sorted = ranges.filter { $0.family == family }.sorted { ($0.lower, $0.upper) < ($1.lower, $1.upper) }
        var merged: [IPRange] = []
        merged.reserveCapacity(sorted.count)
        for range in sorted {
            if let last = merged.last, last.upper == family.maxValue || range.lower <= last.upper + 1 {
                if range.upper > last.upper {
                    merged[merged.count - 1] = IPRange(family: family, lower: last.lower, upper: range.upper)
                }
            } else {
                merged.append(range)
            }
        }
        self.ranges = merged
    }

    public var isEmpty: Bool { ranges.isEmpty }

    /// The elements nft sends for these ranges: a start element per range and an end element one past its
    /// upper bound (flagged NFT_SET_ELEM_INTERVAL_END), except for a range that ends at the top of the address
    /// space. Like nft, an end element at address 0 comes first when the first range does not start there.
    public static func elements(of ranges: [IPRange]) -> [IntervalElement] {
        var elements: [IntervalElement] = []
        elements.reserveCapacity(ranges.count * 2 + 1)
        if let first = ranges.first, first.lower != 0 {
            elements.append(
                IntervalElement(
                    key: IPAddress(family: first.family, value: 0), isEnd: true, isOpenEnded: false, rangeIndex: nil))
        }
        for (index, range) in ranges.enumerated() {
            let openEnded = range.upper == range.family.maxValue
            elements.append(
                IntervalElement(key: range.lowerAddress, isEnd: false, isOpenEnded: openEnded, rangeIndex: index))
            if !openEnded {
                elements.append(
                    IntervalElement(
                        key: IPAddress(family: range.family, value: range.upper + 1), isEnd: true, isOpenEnded: false,
                        rangeIndex: index))
            }
        }
        return elements
    }
}

/// One element of an interval set as the kernel stores it.
public struct IntervalElement: Sendable, Hashable {
    public var key: IPAddress
    /// NFT_SET_ELEM_INTERVAL_END: the range before this key ends here.
    public var isEnd: Bool
    /// A start element whose range runs to the top of the address space (no end element follows); nft marks it
    /// in the element's user data (NFTNL_SET_ELEM_F_INTERVAL_OPEN) to print the range back.
    public var isOpenEnded: Bool
    /// Which range of the set this element opens or closes (nil for the leading end element at 0).
    public var rangeIndex: Int?
}
