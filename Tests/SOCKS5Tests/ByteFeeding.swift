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

extension ByteBuffer {
    var bytes: [UInt8] { getBytes(at: readerIndex, length: readableBytes) ?? [] }
}
