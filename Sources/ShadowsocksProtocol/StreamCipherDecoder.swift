import NIOCore
import ShadowsocksCrypto

/// Incremental decoder for a legacy stream-cipher stream: the IV (`method.ivSize` bytes, checked against the
/// replay filter if there is one), then everything readable is decrypted in place and handed out at once.
/// Nothing is authenticated: a wrong key or altered bytes come out as garbage, never as an error.
public struct StreamCipherDecoder: NIOSingleStepByteToMessageDecoder {
    public typealias InboundOut = ByteBuffer

    private enum State {
        case awaitingIV
        case decrypting(StreamCipher)
        case failed(ShadowsocksProtocolError)
    }

    private let key: MasterKey
    private let saltFilter: (any SaltFilter)?
    private var state: State = .awaitingIV

    public init(key: MasterKey, saltFilter: (any SaltFilter)? = nil) {
        self.key = key
        self.saltFilter = saltFilter
    }

    public mutating func decode(buffer: inout ByteBuffer) throws -> ByteBuffer? {
        switch state {
        case .failed(let error):
            throw error
        case .awaitingIV:
            guard let iv = buffer.readBytes(length: key.method.ivSize) else { return nil }
            if let saltFilter, !saltFilter.admit(iv) {
                state = .failed(ShadowsocksProtocolError(.replayedSalt))
                throw ShadowsocksProtocolError(.replayedSalt)
            }
            let cipher = try key.makeStreamCipher(iv: iv, encrypting: false)
            state = .decrypting(cipher)
            return try decrypt(&buffer, with: cipher)
        case .decrypting(let cipher):
            return try decrypt(&buffer, with: cipher)
        }
    }

    public mutating func decodeLast(buffer: inout ByteBuffer, seenEOF: Bool) throws -> ByteBuffer? {
        if let plaintext = try decode(buffer: &buffer) { return plaintext }
        if case .awaitingIV = state, buffer.readableBytes > 0 {
            throw ShadowsocksProtocolError(.truncated)
        }
        return nil
    }

    /// True once the stream was refused (a replayed IV); nothing more will be decoded.
    public var hasFailed: Bool {
        if case .failed = state { return true }
        return false
    }

    private func decrypt(_ buffer: inout ByteBuffer, with cipher: StreamCipher) throws -> ByteBuffer? {
        let count = buffer.readableBytes
        guard count > 0 else { return nil }
        try buffer.withUnsafeMutableReadableBytes { bytes in
            try cipher.update(UnsafeRawBufferPointer(bytes), into: bytes)
        }
        return buffer.readSlice(length: count)
    }
}
