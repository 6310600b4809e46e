import NIOCore
import ShadowsocksCrypto
import ShadowsocksProtocol

/// The client-to-server half of a Shadowsocks TCP stream as the server reads it: the method's decoder (with the
/// replay filter), then the target address that opens the plaintext (SIP004: the first bytes of the stream are a
/// SOCKS5-style address, RFC 1928 section 5), then payload. Incremental: any split of the ciphertext gives the
/// same outputs. Nothing is returned before it has authenticated.
struct ServerStreamDecoder {
    enum Output {
        case target(SocksAddress)
        case payload(ByteBuffer)
    }

    /// The longest address: ATYP, length, 255-byte name, port. More plaintext than this without a parsable
    /// address cannot happen (the parser decides by then), so the header buffer is bounded by it.
    static let maximumHeader = 1 + 1 + 255 + 2

    private var processor: NIOSingleStepByteToMessageProcessor<ShadowsocksTCPDecoder>
    /// Plaintext before the address is complete.
    private var header: ByteBuffer?
    private var targetRead = false

    init(key: MasterKey, saltFilter: (any SaltFilter)?, allocator: ByteBufferAllocator = ByteBufferAllocator()) {
        self.init(ShadowsocksTCPDecoder(key: key, saltFilter: saltFilter, allocator: allocator))
    }

    /// Over a request decoder built by `ShadowsocksTCP.makeServerCodecs` (SIP022 links it to the response encoder).
    init(_ decoder: ShadowsocksTCPDecoder) {
        // The decoder holds at most one chunk (SIP022: 2 + 16 + 0xFFFF + 16 bytes) plus one read's worth.
        processor = NIOSingleStepByteToMessageProcessor(decoder, maximumBufferSize: 1 << 20)
    }

    var hasTarget: Bool { targetRead }

    /// Decodes `ciphertext`; `emit` gets the target once, then payload. Throws `ShadowsocksProtocolError` on
    /// a failed tag, a replayed salt or a malformed address; the stream is then unusable.
    mutating func process(_ ciphertext: ByteBuffer, _ emit: (Output) throws -> Void) throws {
        var chunks: [ByteBuffer] = []
        try processor.process(buffer: ciphertext) { chunks.append($0) }
        for chunk in chunks { try accept(chunk, emit) }
    }

    /// The client closed its side: throws if it stopped inside a chunk.
    mutating func finish(_ emit: (Output) throws -> Void) throws {
        var chunks: [ByteBuffer] = []
        try processor.finishProcessing(seenEOF: true) { chunks.append($0) }
        for chunk in chunks { try accept(chunk, emit) }
    }

    private mutating func accept(_ chunk: ByteBuffer, _ emit: (Output) throws -> Void) throws {
        guard !targetRead else {
            if chunk.readableBytes > 0 { try emit(.payload(chunk)) }
            return
        }
        var buffer = chunk
        if var pending = header {
            pending.writeBuffer(&buffer)
            buffer = pending
        }
        guard let target = try buffer.readSocksAddress() else {
            header = buffer
            return
        }
        header = nil
        targetRead = true
        try emit(.target(target))
        if buffer.readableBytes > 0 { try emit(.payload(buffer)) }
    }
}
