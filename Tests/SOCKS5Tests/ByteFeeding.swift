import NIOCore

/// Helpers for feeding parsers the way a network does: a byte at a time, or in random chunks.
enum ByteFeeding {
    /// Calls `read` after every byte appended; returns what the first non-nil read gave, the number of bytes fed
    /// by then, and whether every earlier read left the reader index where it was.
    static func dripFeed<T>(
        _ bytes: [UInt8], read: (inout ByteBuffer) throws -> T?
    ) rethrows -> (value: T?, fed: Int, rewound: Bool, buffer: ByteBuffer) {
        var buffer = ByteBuffer()
        var rewound = true
        for (index, byte) in bytes.enumerated() {
            buffer.writeInteger(byte)
            let before = buffer.readerIndex
            if let value = try read(&buffer) { return (value, index + 1, rewound, buffer) }
            if buffer.readerIndex != before { rewound = false }
        }
        return (nil, bytes.count, rewound, buffer)
    }
}

/// SplitMix64: a small seeded generator, so a failing random case can be replayed.
struct SeededGenerator: RandomNumberGenerator {
    private var state: UInt64

    init(seed: UInt64) { state = seed }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

extension ByteBuffer {
    var bytes: [UInt8] { getBytes(at: readerIndex, length: readableBytes) ?? [] }
}
