/// A bounds-checked cursor over bytes for the sniffers: every read says nil instead of running past the end.
struct ByteReader {
    private let bytes: UnsafeRawBufferPointer
    private(set) var offset: Int
    private let end: Int

    init(_ bytes: UnsafeRawBufferPointer, from start: Int = 0, to end: Int? = nil) {
        self.bytes = bytes
        self.offset = start
        self.end = end ?? bytes.count
    }

    var remaining: Int { end - offset }

    mutating func u8() -> UInt8? {
        guard remaining >= 1 else { return nil }
        defer { offset += 1 }
        return bytes[offset]
    }

    mutating func u16() -> Int? {
        guard remaining >= 2 else { return nil }
        defer { offset += 2 }
        return Int(bytes[offset]) << 8 | Int(bytes[offset + 1])
    }

    mutating func u24() -> Int? {
        guard remaining >= 3 else { return nil }
        defer { offset += 3 }
        return Int(bytes[offset]) << 16 | Int(bytes[offset + 1]) << 8 | Int(bytes[offset + 2])
    }

    mutating func skip(_ count: Int) -> Bool {
        guard count >= 0 && remaining >= count else { return false }
        offset += count
        return true
    }

    /// A reader over the next `count` bytes, which this one skips; nil when they are not all there.
    mutating func sub(_ count: Int) -> ByteReader? {
        guard count >= 0 && remaining >= count else { return nil }
        defer { offset += count }
        return ByteReader(bytes, from: offset, to: offset + count)
    }

    func slice(_ start: Int, _ count: Int) -> UnsafeRawBufferPointer.SubSequence { bytes[start..<(start + count)] }
}
