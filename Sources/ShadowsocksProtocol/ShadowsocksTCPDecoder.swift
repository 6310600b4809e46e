import NIOCore
import ShadowsocksCrypto

/// The receiving half of a Shadowsocks TCP stream for any method, as an incremental decoder. A `SaltFilter`
/// (servers use one) rejects a stream whose salt/IV was seen before.
public struct ShadowsocksTCPDecoder: NIOSingleStepByteToMessageDecoder {
    public typealias InboundOut = ByteBuffer

    private enum Framing {
        case aead(AEADChunkDecoder)
        case stream(StreamCipherDecoder)
    }

    private var framing: Framing

    public init(key: MasterKey, saltFilter: (any SaltFilter)? = nil, allocator: ByteBufferAllocator = ByteBufferAllocator()) {
        switch key.method.kind {
        case .aead: framing = .aead(AEADChunkDecoder(key: key, saltFilter: saltFilter, allocator: allocator))
        case .stream: framing = .stream(StreamCipherDecoder(key: key, saltFilter: saltFilter))
        }
    }

    public mutating func decode(buffer: inout ByteBuffer) throws -> ByteBuffer? {
        switch framing {
        case .aead(var decoder):
            defer { framing = .aead(decoder) }
            return try decoder.decode(buffer: &buffer)
        case .stream(var decoder):
            defer { framing = .stream(decoder) }
            return try decoder.decode(buffer: &buffer)
        }
    }

    public mutating func decodeLast(buffer: inout ByteBuffer, seenEOF: Bool) throws -> ByteBuffer? {
        switch framing {
        case .aead(var decoder):
            defer { framing = .aead(decoder) }
            return try decoder.decodeLast(buffer: &buffer, seenEOF: seenEOF)
        case .stream(var decoder):
            defer { framing = .stream(decoder) }
            return try decoder.decodeLast(buffer: &buffer, seenEOF: seenEOF)
        }
    }
}
