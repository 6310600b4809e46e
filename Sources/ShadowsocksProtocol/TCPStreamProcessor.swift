import NIOCore

/// Feeds a connection's reads to a `ShadowsocksTCPDecoder` without gathering them into one buffer first.
///
/// NIO's `NIOSingleStepByteToMessageProcessor` appends every read to the bytes left over from the one before:
/// with SIP004 chunks (16 KiB) that never line up with reads (64 KiB), that copied almost every read whole and
/// grew the buffer past 128 KiB. Here only the unfinished step is completed from the next read (at most one
/// sealed chunk, `nextUnitSize` bytes); the rest is decoded straight from the read. A framing that does not
/// say its step size (stream ciphers, SIP022) is gathered as before, up to `maximumBufferSize`.
public struct TCPStreamProcessor {
    public private(set) var decoder: ShadowsocksTCPDecoder
    /// Undecoded bytes of earlier reads: less than one step when the step size is known.
    private var carry: ByteBuffer?
    /// `carry` is a buffer of ours with room for its whole step, so the next read's bytes are appended in place
    /// (otherwise it is the tail of a read, or gathered reads).
    private var carryHasRoom = false
    private let maximumBufferSize: Int

    public init(_ decoder: ShadowsocksTCPDecoder, maximumBufferSize: Int) {
        self.decoder = decoder
        self.maximumBufferSize = maximumBufferSize
    }

    /// Bytes held back for the next read.
    public var bufferedBytes: Int { carry?.readableBytes ?? 0 }

    /// Decodes what `read` completes; `receive` gets each authenticated plaintext buffer in stream order.
    public mutating func process(_ read: ByteBuffer, _ receive: (ByteBuffer) throws -> Void) throws {
        var input = read
        if var pending = carry, pending.readableBytes > 0 {
            carry = nil  // `pending` is then the only reference: appending to it does not copy it
            var hasRoom = carryHasRoom
            carryHasRoom = false
            while pending.readableBytes > 0 {
                guard let unit = decoder.nextUnitSize, unit > 0 else {
                    input = Self.joined(pending, input)
                    break
                }
                if pending.readableBytes < unit {
                    let missing = unit - pending.readableBytes
                    if input.readableBytes < missing {
                        // Still short of the step (small reads): kept in a buffer with room for the whole step, so
                        // that the next reads append to it instead of copying it again.
                        Self.append(&input, to: &pending, hasRoom: hasRoom, room: unit)
                        try keep(pending, hasRoom: true)
                        return
                    }
                    // Exactly one step in a buffer of its own; the read itself stays untouched.
                    var part = input.readSlice(length: missing)!
                    Self.append(&part, to: &pending, hasRoom: hasRoom, room: unit)
                }
                hasRoom = false
                let before = pending.readableBytes
                let output = try decoder.decode(buffer: &pending)
                if let output { try receive(output) }
                if output == nil, pending.readableBytes == before {
                    // The step size did not fit this framing state: gather as NIO does, never spin.
                    input = Self.joined(pending, input)
                    break
                }
            }
        }
        while input.readableBytes > 0, let output = try decoder.decode(buffer: &input) {
            try receive(output)
        }
        if input.readableBytes > 0 { try keep(input, hasRoom: false) }
    }

    /// The stream ended: decodes what is left; throws if it stopped inside a step.
    public mutating func finish(_ receive: (ByteBuffer) throws -> Void) throws {
        var input = carry ?? ByteBuffer()
        carry = nil
        while true {
            let before = input.readableBytes
            guard let output = try decoder.decodeLast(buffer: &input, seenEOF: true) else { return }
            try receive(output)
            // Called once more on what is left, even nothing: a stream cut inside a step throws there.
            if before == 0 { return }
        }
    }

    private mutating func keep(_ rest: ByteBuffer, hasRoom: Bool) throws {
        guard rest.readableBytes <= maximumBufferSize else { throw ByteToMessageDecoderError.PayloadTooLargeError() }
        carry = rest
        carryHasRoom = hasRoom
    }

    /// Appends `tail` to `head`: in place when `head` is a step buffer of ours with room, else in a new buffer of
    /// at least `room` bytes.
    private static func append(_ tail: inout ByteBuffer, to head: inout ByteBuffer, hasRoom: Bool, room: Int) {
        if hasRoom, head.writableBytes >= tail.readableBytes {
            head.writeBuffer(&tail)
        } else {
            head = joined(head, tail, capacity: room)
            tail.moveReaderIndex(to: tail.writerIndex)
        }
    }

    /// `head` followed by the readable bytes of `tail`, in a new buffer.
    private static func joined(_ head: ByteBuffer, _ tail: ByteBuffer, capacity: Int = 0) -> ByteBuffer {
        var joined = ByteBuffer()
        joined.reserveCapacity(max(capacity, head.readableBytes + tail.readableBytes))
        joined.writeImmutableBuffer(head)
        joined.writeImmutableBuffer(tail)
        return joined
    }
}
