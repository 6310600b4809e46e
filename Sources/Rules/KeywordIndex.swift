/// `keyword:` entries: a name matches when it contains one. Instead of testing every keyword at every position,
/// keywords are bucketed by their first two bytes, so a lookup walks the name once and only verifies keywords
/// whose first two bytes occur in it (one-byte keywords are a 256-entry table).
struct KeywordIndex: Sendable {
    private static let bucketCount = 4096

    private var keywords: [[UInt8]] = []
    private var values: [UInt32] = []
    private var nextInBucket: [Int32] = []
    private var bucketHeads: [Int32] = []
    private var singleByte: [Int32] = []
    /// The first empty keyword, which every name contains.
    private var emptyKeyword: Int32 = -1

    var count: Int { keywords.count }

    /// `keyword` is lower-cased by the caller.
    mutating func insert(_ keyword: [UInt8], value: UInt32) {
        let index = Int32(keywords.count)
        keywords.append(keyword)
        values.append(value)
        nextInBucket.append(-1)
        if keyword.isEmpty {
            if emptyKeyword < 0 { emptyKeyword = index }
            return
        }
        if keyword.count == 1 {
            if singleByte.isEmpty { singleByte = [Int32](repeating: -1, count: 256) }
            if singleByte[Int(keyword[0])] < 0 { singleByte[Int(keyword[0])] = index }
            return
        }
        if bucketHeads.isEmpty { bucketHeads = [Int32](repeating: -1, count: Self.bucketCount) }
        // Append to the bucket's chain so earlier keywords come first.
        let bucket = Self.bucket(keyword[0], keyword[1])
        if bucketHeads[bucket] < 0 {
            bucketHeads[bucket] = index
        } else {
            var last = Int(bucketHeads[bucket])
            while nextInBucket[last] >= 0 { last = Int(nextInBucket[last]) }
            nextInBucket[last] = index
        }
    }

    /// The value of the earliest-inserted keyword contained in `name` (ASCII case-insensitive).
    func match(_ name: UnsafeBufferPointer<UInt8>) -> UInt32? {
        guard !keywords.isEmpty else { return nil }
        var best = emptyKeyword >= 0 ? emptyKeyword : Int32.max
        if !singleByte.isEmpty {
            for byte in name {
                let index = singleByte[Int(DomainName.lowercased(byte))]
                if index >= 0 && index < best { best = index }
            }
        }
        if !bucketHeads.isEmpty && name.count >= 2 {
            for start in 0..<(name.count - 1) {
                var index = bucketHeads[
                    Self.bucket(DomainName.lowercased(name[start]), DomainName.lowercased(name[start + 1]))]
                while index >= 0 {
                    if index < best && Self.matches(keywords[Int(index)], name, at: start) { best = index }
                    index = nextInBucket[Int(index)]
                }
            }
        }
        return best == .max ? nil : values[Int(best)]
    }

    private static func bucket(_ first: UInt8, _ second: UInt8) -> Int {
        (Int(first) &* 31 &+ Int(second)) & (bucketCount - 1)
    }

    private static func matches(_ keyword: [UInt8], _ name: UnsafeBufferPointer<UInt8>, at start: Int) -> Bool {
        guard keyword.count <= name.count - start else { return false }
        for offset in 0..<keyword.count where DomainName.lowercased(name[start + offset]) != keyword[offset] {
            return false
        }
        return true
    }
}
