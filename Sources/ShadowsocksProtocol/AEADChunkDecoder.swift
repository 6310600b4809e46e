import NIOCore
import ShadowsocksCrypto

/// Incremental SIP004 AEAD stream decoder: salt, then [length + tag][payload + tag] chunks.
/// Returns the authenticated payloads of every whole chunk buffered (up to `batchPlaintext` bytes) in one buffer
/// per call, or nil until a whole chunk is buffered. Plaintext is only ever handed out after its tag verified;
/// any failure is a typed `ShadowsocksProtocolError` and the stream is dead.
public struct AEADChunkDecoder: NIOSingleStepByteToMessageDecoder {
    public typealias InboundOut = ByteBuffer

    private enum State {
        case awaitingSalt
        case awaitingLength(AEADCipher)
        case awaitingPayload(AEADCipher, length: Int)
        /// The error is thrown again by every later call: a failure after authenticated chunks of the same call
        /// comes out on the next one, once those chunks have been handed out.
        case failed(ShadowsocksProtocolError)
    }

    /// Plaintext gathered into one output buffer: four full chunks (a 64 KiB read), so that one buffer, one
    /// channel read and one write carry what took four; the capacity stays below 64 KiB (NIO rounds to a power
    /// of two, and 128 KiB is where glibc maps and unmaps every allocation).
    public static let batchPlaintext = 4 * AEADFraming.maximumPayload

    private let key: MasterKey
    private let allocator: ByteBufferAllocator
    private let saltFilter: (any SaltFilter)?
    private let tagSize: Int
    private var state: State = .awaitingSalt

    public init(key: MasterKey, saltFilter: (any SaltFilter)? = nil, allocator: ByteBufferAllocator = ByteBufferAllocator()) {
        self.key = key
        self.saltFilter = saltFilter
        self.allocator = allocator
        self.tagSize = key.method.tagSize
    }

    /// The number of bytes the next step (salt, sealed length or sealed payload) needs buffered; nil once failed.
    public var nextUnitSize: Int? {
        switch state {
        case .awaitingSalt: key.method.saltSize
        case .awaitingLength: AEADFraming.lengthFieldSize + tagSize
        case .awaitingPayload(_, let length): length + tagSize
        case .failed: nil
        }
    }

    public mutating func decode(buffer: inout ByteBuffer) throws -> ByteBuffer? {
        var output: ByteBuffer?
        while true {
            switch state {
            case .failed(let error):
                // Authenticated plaintext of this call first; the error on the next call.
                if let output, output.readableBytes > 0 { return output }
                throw error
            case .awaitingSalt:
                guard let salt = buffer.readBytes(length: key.method.saltSize) else { return output }
                if let saltFilter, !saltFilter.admit(salt) {
                    state = .failed(ShadowsocksProtocolError(.replayedSalt))
                    continue
                }
                state = .awaitingLength(try key.makeAEADCipher(salt: salt, sealing: false))
            case .awaitingLength(let cipher):
                let sealedSize = AEADFraming.lengthFieldSize + tagSize
                guard buffer.readableBytes >= sealedSize else { return output }
                var field: (UInt8, UInt8) = (0, 0)  // on the stack: an array here was an allocation per chunk
                guard open(cipher, &buffer, sealedSize: sealedSize, { sealed in
                    try withUnsafeMutableBytes(of: &field) { try cipher.open(sealed, into: $0) }
                }) else { continue }
                let length = Int(field.0) << 8 | Int(field.1)
                guard length <= AEADFraming.maximumPayload else {
                    state = .failed(ShadowsocksProtocolError(.chunkTooLarge(length)))
                    continue
                }
                state = .awaitingPayload(cipher, length: length)
            case .awaitingPayload(let cipher, let length):
                let sealedSize = length + tagSize
                guard buffer.readableBytes >= sealedSize else { return output }
                if let gathered = output, gathered.writableBytes < length { return output }
                if output == nil {
                    // Room for every whole chunk already buffered, up to the batch size (the plaintext is shorter
                    // than the ciphertext that carries it).
                    output = allocator.buffer(capacity: max(length, min(buffer.readableBytes, Self.batchPlaintext)))
                }
                // The writer index moves only after the tag verified: a failed chunk leaves nothing readable.
                guard open(cipher, &buffer, sealedSize: sealedSize, { sealed in
                    _ = try output!.writeWithUnsafeMutableBytes(minimumWritableBytes: length) { out in
                        try cipher.open(sealed, into: out)
                        return length
                    }
                }) else { continue }
                state = .awaitingLength(cipher)
            }
        }
    }

    public mutating func decodeLast(buffer: inout ByteBuffer, seenEOF: Bool) throws -> ByteBuffer? {
        if let chunk = try decode(buffer: &buffer) { return chunk }
        switch state {
        case .awaitingSalt where buffer.readableBytes == 0, .awaitingLength where buffer.readableBytes == 0:
            return nil
        case .failed:
            return nil
        default:
            throw ShadowsocksProtocolError(.truncated)
        }
    }

    /// True once the stream has failed authentication; nothing more will be decoded.
    public var hasFailed: Bool {
        if case .failed = state { return true }
        return false
    }

    /// Opens the first `sealedSize` readable bytes and consumes them; false (the stream failed) if the tag did
    /// not verify.
    private mutating func open(
        _ cipher: AEADCipher, _ buffer: inout ByteBuffer, sealedSize: Int,
        _ body: (UnsafeRawBufferPointer) throws -> Void
    ) -> Bool {
        do {
            try buffer.withUnsafeReadableBytes { readable in
                try body(UnsafeRawBufferPointer(rebasing: readable.prefix(sealedSize)))
            }
        } catch {
            state = .failed(ShadowsocksProtocolError(.authenticationFailed))
            return false
        }
        buffer.moveReaderIndex(forwardBy: sealedSize)
        return true
    }
}
