import CLibCrypto

/// OpenSSL 3 moved RC4 into the "legacy" provider, which is not loaded by default. It is loaded once, on first
/// use, next to the default provider (fallbacks kept, so AES and ChaCha20 still resolve), and never unloaded.
enum LegacyProvider {
    /// An EVP_CIPHER fetched once and shared: fetched ciphers are immutable and reference-counted.
    struct FetchedCipher: @unchecked Sendable {
        let pointer: OpaquePointer
    }

    /// RC4 from the legacy provider, or nil when this OpenSSL has none (built without it, or no legacy.so).
    static let rc4: FetchedCipher? = {
        defer { ERR_clear_error() }  // a failed load leaves errors on the thread's queue; later calls must not see them
        guard OSSL_PROVIDER_try_load(nil, "legacy", 1) != nil, let cipher = EVP_CIPHER_fetch(nil, "RC4", nil) else {
            return nil
        }
        return FetchedCipher(pointer: cipher)
    }()

    static let rc4Missing = "rc4-md5 is not supported by this OpenSSL (no legacy provider)"
}

extension CipherMethod {
    /// Why this OpenSSL cannot run the method, as one line for the user; nil when it can.
    public var unavailableReason: String? {
        switch self {
        case .rc4MD5:
            LegacyProvider.rc4 == nil ? LegacyProvider.rc4Missing : nil
        case .aes128GCM, .aes192GCM, .aes256GCM, .chacha20IETFPoly1305, .aes128CFB, .aes192CFB, .aes256CFB, .aes128CTR,
            .aes192CTR, .aes256CTR, .chacha20IETF, .chacha20, .blake3AES128GCM, .blake3AES256GCM, .blake3ChaCha20Poly1305:
            nil
        }
    }
}
