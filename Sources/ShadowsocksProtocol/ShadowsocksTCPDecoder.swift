import NIOCore
import ShadowsocksCrypto

/// The receiving half of a Shadowsocks TCP stream for any method, as an incremental decoder. A `SaltFilter`
/// (servers use one) rejects a stream whose salt/IV was seen before. A request stream's plaintext is always the
/// target address followed by payload (SIP022's header padding is removed).
public struct ShadowsocksTCPDecoder: NIOSingleStepByteToMessageDecoder {
    public typealias InboundOut = ByteBuffer

    private enum Framing {
        case aead(AEADChunkDecoder)
        case stream(StreamCipherDecoder)
        case aead2022(SIP022StreamDecoder)
    }

    private var framing: Framing

    /// For SIP004 and stream ciphers, either direction; for 2022 methods, a request stream (server side) with
    /// nobody told its salt. `ShadowsocksTCP` builds decoders linked to their encoder.
    public init(key: MasterKey, saltFilter: (any SaltFilter)? = nil, allocator: ByteBufferAllocator = ByteBufferAllocator()) {
        switch key.method.kind {
        case .aead: framing = .aead(AEADChunkDecoder(key: key, saltFilter: saltFilter, allocator: allocator))
        case .stream: framing = .stream(StreamCipherDecoder(key: key, saltFilter: saltFilter))
        case .aead2022: framing = .aead2022(SIP022StreamDecoder(key: key, saltFilter: saltFilter, allocator: allocator))
        }
    }

    /// A 2022 decoder for the given direction; other methods ignore it.
    init(key: MasterKey, sip022 direction: SIP022StreamDecoder.Direction, saltFilter: (any SaltFilter)?,
        allocator: ByteBufferAllocator)
    {
        switch key.method.kind {
        case .aead: framing = .aead(AEADChunkDecoder(key: key, saltFilter: saltFilter, allocator: allocator))
        case .stream: framing = .stream(StreamCipherDecoder(key: key, saltFilter: saltFilter))
        case .aead2022: framing = .aead2022(SIP022StreamDecoder(key: key, direction: direction, allocator: allocator))
        }
    }

    /// The bytes the next decoding step needs buffered, when the framing knows it (SIP004); nil otherwise.
    public var nextUnitSize: Int? {
        if case .aead(let decoder) = framing { return decoder.nextUnitSize }
        return nil
    }

    public mutating func decode(buffer: inout ByteBuffer) throws -> ByteBuffer? {
        switch framing {
        case .aead(var decoder):
            defer { framing = .aead(decoder) }
            return try decoder.decode(buffer: &buffer)
        case .stream(var decoder):
            defer { framing = .stream(decoder) }
            return try decoder.decode(buffer: &buffer)
        case .aead2022(var decoder):
            defer { framing = .aead2022(decoder) }
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
        case .aead2022(var decoder):
            defer { framing = .aead2022(decoder) }
            return try decoder.decodeLast(buffer: &buffer, seenEOF: seenEOF)
        }
    }
}
