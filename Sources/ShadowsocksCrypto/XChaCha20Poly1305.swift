import CLibCrypto

/// XChaCha20-Poly1305 (draft-irtf-cfrg-xchacha-03 section 2.3): a 24-byte nonce; the key for each message is
/// HChaCha20(key, nonce[0..<16]) and the message is sealed with RFC 8439 ChaCha20-Poly1305 under that key and
/// the nonce 00000000 || nonce[16..<24]. SIP022 section 4.1 seals every UDP packet of
/// 2022-blake3-chacha20-poly1305 this way with the PSK. One reused EVP context, re-keyed per message;
/// not thread-safe.
public final class XChaCha20Poly1305 {
    public static let nonceSize = 24
    public static let tagSize = 16
    private let key: [UInt8]
    private let context: OpaquePointer

    public init(key: [UInt8]) throws {
        guard key.count == 32 else { throw CryptoError(.badKeyLength, "XChaCha20-Poly1305 needs 32 bytes") }
        guard let context = EVP_CIPHER_CTX_new() else { throw CryptoError(.openSSL, "EVP_CIPHER_CTX_new") }
        self.key = key
        self.context = context
    }

    deinit {
        EVP_CIPHER_CTX_free(context)
    }

    /// Ciphertext followed by the 16-byte tag.
    public func seal(nonce: [UInt8], _ plaintext: [UInt8]) throws -> [UInt8] {
        try start(nonce: nonce, sealing: true)
        var out = [UInt8](repeating: 0, count: plaintext.count + Self.tagSize)
        try out.withUnsafeMutableBufferPointer { out in
            var written: Int32 = 0
            if !plaintext.isEmpty {
                guard EVP_EncryptUpdate(context, out.baseAddress, &written, plaintext, Int32(plaintext.count)) == 1
                else { throw CryptoError(.openSSL, "EVP_EncryptUpdate") }
            }
            var final: Int32 = 0
            guard EVP_EncryptFinal_ex(context, out.baseAddress! + Int(written), &final) == 1,
                EVP_CIPHER_CTX_ctrl(
                    context, EVP_CTRL_AEAD_GET_TAG, Int32(Self.tagSize), out.baseAddress! + plaintext.count) == 1
            else { throw CryptoError(.openSSL, "EVP_EncryptFinal_ex") }
        }
        return out
    }

    /// The plaintext of `sealed` (ciphertext + tag); throws `.authenticationFailed` if the tag does not verify.
    public func open(nonce: [UInt8], _ sealed: [UInt8]) throws -> [UInt8] {
        guard sealed.count >= Self.tagSize else { throw CryptoError(.authenticationFailed, "shorter than a tag") }
        try start(nonce: nonce, sealing: false)
        let length = sealed.count - Self.tagSize
        var tag = Array(sealed[length...])
        var out = [UInt8](repeating: 0, count: length)
        try out.withUnsafeMutableBufferPointer { out in
            guard EVP_CIPHER_CTX_ctrl(context, EVP_CTRL_AEAD_SET_TAG, Int32(Self.tagSize), &tag) == 1 else {
                throw CryptoError(.openSSL, "EVP_CTRL_AEAD_SET_TAG")
            }
            var written: Int32 = 0
            var scratch: UInt8 = 0
            if length > 0 {
                guard EVP_DecryptUpdate(context, out.baseAddress, &written, sealed, Int32(length)) == 1 else {
                    throw CryptoError(.authenticationFailed)
                }
            }
            var final: Int32 = 0
            let status = withUnsafeMutablePointer(to: &scratch) { scratch in
                EVP_DecryptFinal_ex(context, length > 0 ? out.baseAddress! + Int(written) : scratch, &final)
            }
            guard status == 1 else { throw CryptoError(.authenticationFailed) }
        }
        return out
    }

    private func start(nonce: [UInt8], sealing: Bool) throws {
        guard nonce.count == Self.nonceSize else { throw CryptoError(.badKeyLength, "XChaCha20 nonce is 24 bytes") }
        let subkey = HChaCha20.subkey(key: key, nonce: nonce[0..<16])
        let innerNonce: [UInt8] = [0, 0, 0, 0] + nonce[16..<24]
        guard EVP_CipherInit_ex(context, EVP_chacha20_poly1305(), nil, subkey, innerNonce, sealing ? 1 : 0) == 1
        else { throw CryptoError(.openSSL, "EVP_CipherInit_ex(chacha20-poly1305)") }
    }
}
