import NIOCore
import ShadowsocksCrypto

/// Incremental SIP004 AEAD stream decoder: salt, then [length + tag][payload + tag] chunks.
/// Returns one authenticated payload per call, or nil until a whole chunk is buffered. Plaintext is only ever
/// handed out after its tag verified; any failure is a typed `ShadowsocksProtocolError` and the stream is dead.
public struct AEADChunkDecoder: NIOSingleStepByteToMessageDecoder {
    public typealias InboundOut = ByteBuffer

    private enum State {
        case awaitingSalt
        case awaitingLength(AEADCipher)
        case awaitingPayload(AEADCipher, length: Int)
        case failed
    }

    private let key: MasterKey
    private let allocator: ByteBufferAllocator
    private let saltFilter: (any SaltFilter)?
    private var state: State = .awaitingSalt

    public init(key: MasterKey, saltFilter: (any SaltFilter)? = nil, allocator: ByteBufferAllocator = ByteBufferAllocator()) {
        self.key = key
        self.saltFilter = saltFilter
        self.allocator = allocator
    }

    public mutating func decode(buffer: inout ByteBuffer) throws -> ByteBuffer? {
        while true {
            switch state {
            case .failed:
                throw ShadowsocksProtocolError(.authenticationFailed)
            case .awaitingSalt:
                guard let salt = buffer.readBytes(length: key.method.saltSize) else { return nil }
                if let saltFilter, !saltFilter.admit(salt) {
                    state = .failed
                    throw ShadowsocksProtocolError(.replayedSalt)
                }
                state = .awaitingLength(try key.makeAEADCipher(salt: salt, sealing: false))
            case .awaitingLength(let cipher):
                let sealedSize = AEADFraming.lengthFieldSize + key.method.tagSize
                guard buffer.readableBytes >= sealedSize else { return nil }
                var field: (UInt8, UInt8) = (0, 0)  // on the stack: an array here was an allocation per chunk
                try open(cipher, &buffer, sealedSize: sealedSize) { sealed in
                    try withUnsafeMutableBytes(of: &field) { try cipher.open(sealed, into: $0) }
                }
                let length = Int(field.0) << 8 | Int(field.1)
                guard length <= AEADFraming.maximumPayload else {
                    state = .failed
                    throw ShadowsocksProtocolError(.chunkTooLarge(length))
                }
                state = .awaitingPayload(cipher, length: length)
            case .awaitingPayload(let cipher, let length):
                let sealedSize = length + key.method.tagSize
                guard buffer.readableBytes >= sealedSize else { return nil }
                var plaintext = allocator.buffer(capacity: length)
                try open(cipher, &buffer, sealedSize: sealedSize) { sealed in
                    _ = try plaintext.writeWithUnsafeMutableBytes(minimumWritableBytes: length) { out in
                        try cipher.open(sealed, into: out)
                        return length
                    }
                }
                state = .awaitingLength(cipher)
                return plaintext
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

    private mutating func open(
        _ cipher: AEADCipher, _ buffer: inout ByteBuffer, sealedSize: Int,
        _ body: (UnsafeRawBufferPointer) throws -> Void
    ) throws {
        do {
            try buffer.withUnsafeReadableBytes { readable in
                try body(UnsafeRawBufferPointer(rebasing: readable.prefix(sealedSize)))
            }
        } catch {
            state = .failed
            throw ShadowsocksProtocolError(.authenticationFailed)
        }
        buffer.moveReaderIndex(forwardBy: sealedSize)
    }
}
