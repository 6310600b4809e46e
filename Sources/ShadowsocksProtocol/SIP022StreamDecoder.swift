import NIOCore
import ShadowsocksCrypto

/// Incremental decoder for one direction of a Shadowsocks 2022 TCP stream (SIP022 section 3.1). A request stream
/// (read by a server) yields the target address followed by the initial payload as its first output, padding
/// removed, so a reader sees the same "address, then payload" plaintext as with SIP004; a response stream (read
/// by a client) yields payload only. Headers are checked before anything is handed out: type, timestamp (±30 s),
/// then the salt against the replay filter (request) or the request salt it must name (response). Plaintext
/// is only handed out after its tag verified; any failure is a typed `ShadowsocksProtocolError` and the stream
/// is dead.
public struct SIP022StreamDecoder: NIOSingleStepByteToMessageDecoder {
    public typealias InboundOut = ByteBuffer

    enum Direction {
        /// Reading a request; the salt is checked with the filter and published through the link.
        case request(saltFilter: (any SaltFilter)?, link: SIP022RequestSaltLink?)
        /// Reading the response to our request, which had this salt.
        case response(requestSalt: [UInt8])
    }

    private enum State {
        case awaitingFixedHeader
        case awaitingVariableHeader(AEADCipher, length: Int)
        case awaitingLength(AEADCipher)
        case awaitingPayload(AEADCipher, length: Int)
        case failed(ShadowsocksProtocolError)
    }

    private let key: MasterKey
    private let direction: Direction
    private let allocator: ByteBufferAllocator
    private let clock: () -> UInt64
    private var state: State = .awaitingFixedHeader

    init(
        key: MasterKey, direction: Direction, allocator: ByteBufferAllocator = ByteBufferAllocator(),
        clock: @escaping () -> UInt64 = SIP022Framing.currentTime
    ) {
        self.key = key
        self.direction = direction
        self.allocator = allocator
        self.clock = clock
    }

    /// A server reading a client's request stream.
    public init(key: MasterKey, saltFilter: (any SaltFilter)?, allocator: ByteBufferAllocator = ByteBufferAllocator()) {
        self.init(key: key, direction: .request(saltFilter: saltFilter, link: nil), allocator: allocator)
    }

    /// A client reading the response to its request stream that started with `requestSalt`.
    public init(key: MasterKey, requestSalt: [UInt8], allocator: ByteBufferAllocator = ByteBufferAllocator()) {
        self.init(key: key, direction: .response(requestSalt: requestSalt), allocator: allocator)
    }

    public mutating func decode(buffer: inout ByteBuffer) throws -> ByteBuffer? {
        do {
            while true {
                switch state {
                case .failed(let error):
                    throw error
                case .awaitingFixedHeader:
                    guard try readFixedHeader(&buffer) else { return nil }
                case .awaitingVariableHeader(let cipher, let length):
                    guard let sealed = buffer.readSlice(length: length + key.method.tagSize) else { return nil }
                    let header = try open(sealed, with: cipher)
                    state = .awaitingLength(cipher)
                    return try parseVariableHeader(header)
                case .awaitingLength(let cipher):
                    guard let sealed = buffer.readSlice(length: AEADFraming.lengthFieldSize + key.method.tagSize)
                    else { return nil }
                    let field = try open(sealed, with: cipher)
                    state = .awaitingPayload(cipher, length: Int(field.getInteger(at: field.readerIndex) as UInt16? ?? 0))
                case .awaitingPayload(let cipher, let length):
                    guard let sealed = buffer.readSlice(length: length + key.method.tagSize) else { return nil }
                    let payload = try open(sealed, with: cipher)
                    state = .awaitingLength(cipher)
                    if payload.readableBytes > 0 { return payload }
                }
            }
        } catch let error as ShadowsocksProtocolError {
            state = .failed(error)
            throw error
        }
    }

    public mutating func decodeLast(buffer: inout ByteBuffer, seenEOF: Bool) throws -> ByteBuffer? {
        if let output = try decode(buffer: &buffer) { return output }
        switch state {
        case .awaitingFixedHeader where buffer.readableBytes == 0, .awaitingLength where buffer.readableBytes == 0:
            return nil
        case .failed:
            return nil
        default:
            throw ShadowsocksProtocolError(.truncated)
        }
    }

    /// True once the stream has failed; nothing more will be decoded.
    public var hasFailed: Bool {
        if case .failed = state { return true }
        return false
    }

    /// Salt and fixed-length header: false (nothing consumed) until all of it is buffered.
    private mutating func readFixedHeader(_ buffer: inout ByteBuffer) throws -> Bool {
        let saltSize = key.method.saltSize
        let headerSize =
            switch direction {
            case .request: SIP022Framing.requestFixedHeaderSize
            case .response: SIP022Framing.responseFixedHeaderSize(saltSize: saltSize)
            }
        guard buffer.readableBytes >= saltSize + headerSize + key.method.tagSize else { return false }
        let salt = buffer.readBytes(length: saltSize)!
        let cipher: AEADCipher
        do {
            cipher = try key.makeSIP022Cipher(salt: salt, sealing: false)
        } catch {
            throw ShadowsocksProtocolError(.authenticationFailed)
        }
        var header = try open(buffer.readSlice(length: headerSize + key.method.tagSize)!, with: cipher)
        let type: UInt8 = header.readInteger()!
        let timestamp: UInt64 = header.readInteger()!
        switch direction {
        case .request(let saltFilter, let link):
            guard type == SIP022Framing.StreamType.request.rawValue else {
                throw ShadowsocksProtocolError(.wrongHeaderType(type))
            }
            guard SIP022Framing.isFresh(timestamp, now: clock()) else {
                throw ShadowsocksProtocolError(.staleTimestamp)
            }
            // SIP022 3.1.4: the salt is checked (and stored) only once the timestamp is known to be fresh.
            if let saltFilter, !saltFilter.admit(salt) { throw ShadowsocksProtocolError(.replayedSalt) }
            link?.salt = salt
            let length = Int(header.readInteger(as: UInt16.self)!)
            state = .awaitingVariableHeader(cipher, length: length)
        case .response(let requestSalt):
            guard type == SIP022Framing.StreamType.response.rawValue else {
                throw ShadowsocksProtocolError(.wrongHeaderType(type))
            }
            guard SIP022Framing.isFresh(timestamp, now: clock()) else {
                throw ShadowsocksProtocolError(.staleTimestamp)
            }
            guard header.readBytes(length: saltSize)! == requestSalt else {
                throw ShadowsocksProtocolError(.responseSaltMismatch)
            }
            let length = Int(header.readInteger(as: UInt16.self)!)
            state = .awaitingPayload(cipher, length: length)
        }
        return true
    }

    /// Address, padding length, padding, initial payload; returns the address re-encoded followed by the payload.
    /// SIP022 3.1.3: the header must not extend beyond its chunk, and it must carry padding or payload.
    private func parseVariableHeader(_ header: ByteBuffer) throws -> ByteBuffer {
        var header = header
        guard let target = try header.readSocksAddress(),
            let padding = header.readInteger(as: UInt16.self).map(Int.init),
            padding <= SIP022Framing.maximumPadding, header.readableBytes >= padding
        else { throw ShadowsocksProtocolError(.malformedHeader) }
        header.moveReaderIndex(forwardBy: padding)
        guard padding > 0 || header.readableBytes > 0 else { throw ShadowsocksProtocolError(.malformedHeader) }
        var output = allocator.buffer(capacity: target.encodedLength + header.readableBytes)
        output.writeSocksAddress(target)
        output.writeBuffer(&header)
        return output
    }

    /// Opens one sealed chunk into a fresh buffer; any failure is an authentication failure.
    private func open(_ sealed: ByteBuffer, with cipher: AEADCipher) throws -> ByteBuffer {
        let length = sealed.readableBytes - key.method.tagSize
        var plaintext = allocator.buffer(capacity: length)
        do {
            try sealed.withUnsafeReadableBytes { readable in
                _ = try plaintext.writeWithUnsafeMutableBytes(minimumWritableBytes: length) { out in
                    try cipher.open(readable, into: out)
                    return length
                }
            }
        } catch {
            throw ShadowsocksProtocolError(.authenticationFailed)
        }
        return plaintext
    }
}
