/// SIP022 section 3.2.4's sliding-window replay filter over one session's packet ids, as WireGuard keeps it
/// (RFC 6479): the highest id seen and a bitmap of the `size` ids below it. An id is acceptable if it is newer
/// than the highest, or inside the window and not yet seen. `isAcceptable` is side-effect free so the caller can
/// check before validating the packet and `record` only after (the spec forbids updating the window earlier).
public struct PacketIDWindow: Sendable {
    /// Packet ids remembered below the highest one (WireGuard's 2048 less a word).
    public static let size: UInt64 = 2048 - 64
    private static let wordCount = 32  // 2048 bits

    private var highest: UInt64 = 0
    private var seenAny = false
    private var bitmap = [UInt64](repeating: 0, count: wordCount)

    public init() {}

    public func isAcceptable(_ id: UInt64) -> Bool {
        guard seenAny, id <= highest else { return true }
        guard highest - id < Self.size else { return false }
        let (word, bit) = Self.position(id)
        return bitmap[word] & (1 << bit) == 0
    }

    /// Marks `id` seen (call only after the packet validated and only if `isAcceptable(id)`).
    public mutating func record(_ id: UInt64) {
        if !seenAny || id > highest {
            // Clear the words the window slides over (at most all of them, after a long jump).
            if seenAny {
                var word = highest / 64 + 1
                var cleared = 0
                while word <= id / 64 && cleared < Self.wordCount {
                    bitmap[Int(word % UInt64(Self.wordCount))] = 0
                    word += 1
                    cleared += 1
                }
            }
            highest = id
            seenAny = true
        }
        let (word, bit) = Self.position(id)
        bitmap[word] |= 1 << bit
    }

    private static func position(_ id: UInt64) -> (word: Int, bit: UInt64) {
        (Int((id / 64) % UInt64(wordCount)), id % 64)
    }
}
