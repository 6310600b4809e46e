import NIOCore
import ShadowsocksCrypto

/// Encrypts a plaintext stream with a legacy stream cipher (shadowsocks 2.8.2 / ss-libev): the IV first, then
/// every byte through one continuous keystream. No framing and no tags: the ciphertext is as long as the input.
public struct StreamCipherEncoder {
    private let cipher: StreamCipher
    private var pendingIV: [UInt8]?

    /// A new session with a random IV.
    public init(key: MasterKey) throws {
        let (iv, cipher) = try key.makeStreamEncrypter()
        self.cipher = cipher
        self.pendingIV = iv
    }

    /// A session with a chosen IV (known-answer tests).
    public init(key: MasterKey, iv: [UInt8]) throws {
        self.cipher = try key.makeStreamCipher(iv: iv, encrypting: true)
        self.pendingIV = iv
    }

    /// The bytes `encode` appends for `count` plaintext bytes (exact, not just a bound).
    public func encodedSizeBound(_ count: Int) -> Int { (pendingIV?.count ?? 0) + count }

    /// Consumes every readable byte of `plaintext` and appends the IV (first time) and the ciphertext to `output`.
    /// An empty `plaintext` appends only a pending IV.
    public mutating func encode(_ plaintext: inout ByteBuffer, into output: inout ByteBuffer) throws {
        output.reserveCapacity(minimumWritableBytes: encodedSizeBound(plaintext.readableBytes))
        if let iv = pendingIV {
            output.writeBytes(iv)
            pendingIV = nil
        }
        let count = plaintext.readableBytes
        guard count > 0 else { return }
        try plaintext.withUnsafeReadableBytes { readable in
            _ = try output.writeWithUnsafeMutableBytes(minimumWritableBytes: count) { out in
                try cipher.update(readable, into: out)
                return count
            }
        }
        plaintext.moveReaderIndex(forwardBy: count)
    }
}
