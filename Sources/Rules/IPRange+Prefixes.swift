import IPAddresses

extension IPRange {
    /// The fewest CIDR blocks covering exactly this range, lowest first ("10.0.0.1-10.0.0.6" is
    /// .1/32, .2/31, .4/31, .6/32), as (first address, prefix length).
    var prefixes: [(address: UInt128, length: Int)] {
        let width = family.bitWidth
        var result: [(address: UInt128, length: Int)] = []
        var start = lower
        while true {
            // The largest aligned block starting at `start` that stays inside the range.
            var hostBits = start == 0 ? width : min(width, start.trailingZeroBitCount)
            while hostBits > 0 && upper - start < Self.span(hostBits) { hostBits -= 1 }
            result.append((start, width - hostBits))
            let end = start + Self.span(hostBits)
            if end >= upper { return result }
            start = end + 1
        }
    }

    /// 2^hostBits - 1 without overflowing at 128.
    private static func span(_ hostBits: Int) -> UInt128 {
        hostBits >= 128 ? .max : (1 << UInt128(hostBits)) - 1
    }
}
