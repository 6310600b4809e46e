import CLibCrypto

/// One AES block at a time (ECB, no padding), keyed once: SIP022 section 3.2.1 encrypts each UDP packet's
/// 16-byte separate header (session id, packet id) with the PSK this way. Not thread-safe.
public final class AESBlockCipher {
    public static let blockSize = 16
    private let context: OpaquePointer

    /// `key`: 16 or 32 bytes (AES-128 or AES-256).
    public init(key: [UInt8], encrypting: Bool) throws {
        let cipher: OpaquePointer?
        switch key.count {
        case 16: cipher = EVP_aes_128_ecb()
        case 32: cipher = EVP_aes_256_ecb()
        default: throw CryptoError(.badKeyLength, "AES needs a 16- or 32-byte key, got \(key.count)")
        }
        guard let context = EVP_CIPHER_CTX_new() else { throw CryptoError(.openSSL, "EVP_CIPHER_CTX_new") }
        self.context = context
        guard EVP_CipherInit_ex(context, cipher, nil, key, nil, encrypting ? 1 : 0) == 1,
            EVP_CIPHER_CTX_set_padding(context, 0) == 1
        else { throw CryptoError(.openSSL, "EVP_CipherInit_ex(aes-ecb)") }
    }

    deinit {
        EVP_CIPHER_CTX_free(context)
    }

    /// Encrypts or decrypts exactly one 16-byte block.
    public func process(_ block: [UInt8]) throws -> [UInt8] {
        precondition(block.count == Self.blockSize)
        var out = [UInt8](repeating: 0, count: Self.blockSize)
        var written: Int32 = 0
        guard EVP_CipherUpdate(context, &out, &written, block, Int32(Self.blockSize)) == 1, written == 16 else {
            throw CryptoError(.openSSL, "EVP_CipherUpdate(aes-ecb)")
        }
        return out
    }
}
