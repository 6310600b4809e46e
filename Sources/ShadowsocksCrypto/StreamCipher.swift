import CLibCrypto

/// One direction of a legacy stream-cipher session, as shadowsocks 2.8.2 and ss-libev (src/stream.c) run it:
/// the master key (EVP_BytesToKey, no HKDF) and the IV sent in front of the data key one OpenSSL EVP context,
/// and every byte after the IV goes through one continuous keystream (AES-CFB128 feeds back ciphertext).
/// Nothing is authenticated. Not thread-safe: each relay direction owns one; UDP restarts it per packet.
public final class StreamCipher {
    public let method: CipherMethod
    public let encrypting: Bool
    private let key: [UInt8]
    private let context: OpaquePointer

    /// - Parameters:
    ///   - key: the master key (`method.keySize` bytes).
    ///   - iv: the IV that starts the stream (`method.ivSize` bytes).
    ///   - encrypting: true to encrypt, false to decrypt (only CFB tells them apart).
    public convenience init(method: CipherMethod, key: [UInt8], iv: [UInt8], encrypting: Bool) throws {
        try self.init(method: method, key: key, iv: iv, encrypting: encrypting, firstBlock: 0)
    }

    /// `firstBlock`: the ChaCha20 block counter to start from (tests reach the 32-bit carry with it); 0 on the wire.
    init(method: CipherMethod, key: [UInt8], iv: [UInt8], encrypting: Bool, firstBlock: UInt64) throws {
        guard method.kind == .stream else {
            throw CryptoError(.wrongKind, "\(method.name) is an AEAD method, not a stream cipher")
        }
        guard key.count == method.keySize else {
            throw CryptoError(.badKeyLength, "\(method.name) needs \(method.keySize) bytes, got \(key.count)")
        }
        let cipher = try Self.evpCipher(method)
        guard let context = EVP_CIPHER_CTX_new() else { throw CryptoError(.openSSL, "EVP_CIPHER_CTX_new") }
        self.context = context
        self.method = method
        self.encrypting = encrypting
        self.key = key
        guard EVP_CipherInit_ex(context, cipher, nil, nil, nil, encrypting ? 1 : 0) == 1 else {
            throw CryptoError(.openSSL, "EVP_CipherInit_ex(\(method.name))")
        }
        try start(iv: iv, firstBlock: firstBlock)
    }

    deinit {
        EVP_CIPHER_CTX_free(context)
    }

    /// Starts a new keystream for `iv` on the same context and key (UDP: one IV per packet).
    public func restart(iv: [UInt8]) throws {
        try start(iv: iv, firstBlock: 0)
    }

    /// Encrypts or decrypts `input` into `output` (at least as long; the same memory is allowed), continuing the
    /// keystream where the previous call left it.
    public func update(_ input: UnsafeRawBufferPointer, into output: UnsafeMutableRawBufferPointer) throws {
        precondition(output.count >= input.count)
        guard let source = input.baseAddress?.assumingMemoryBound(to: UInt8.self) else { return }
        let destination = output.baseAddress!.assumingMemoryBound(to: UInt8.self)
        var offset = 0
        while offset < input.count {
            // EVP takes an int length; a multiple of 64 keeps every cipher's block position unchanged across calls.
            let count = min(input.count - offset, 1 << 30)
            var written: Int32 = 0
            guard EVP_CipherUpdate(context, destination + offset, &written, source + offset, Int32(count)) == 1,
                written == Int32(count)
            else { throw CryptoError(.openSSL, "EVP_CipherUpdate(\(method.name))") }
            offset += count
        }
    }

    /// Convenience for tests and small messages.
    public func update(_ input: [UInt8]) throws -> [UInt8] {
        var output = [UInt8](repeating: 0, count: input.count)
        try input.withUnsafeBytes { i in try output.withUnsafeMutableBytes { try update(i, into: $0) } }
        return output
    }

    private func start(iv: [UInt8], firstBlock: UInt64) throws {
        guard iv.count == method.ivSize else {
            throw CryptoError(.badKeyLength, "\(method.name) needs a \(method.ivSize)-byte IV, got \(iv.count)")
        }
        // rc4-md5 (shadowsocks 2.8.2, ss-libev): the RC4 key is MD5(key || IV) and RC4 itself takes no IV.
        let dataKey = method == .rc4MD5 ? KeyDerivation.md5(key + iv) : key
        let evpIV = Self.evpIV(method: method, iv: iv, firstBlock: firstBlock)
        let status = dataKey.withUnsafeBufferPointer { k in
            evpIV.withUnsafeBufferPointer { v in
                EVP_CipherInit_ex(context, nil, nil, k.baseAddress, v.isEmpty ? nil : v.baseAddress, -1)
            }
        }
        guard status == 1 else { throw CryptoError(.openSSL, "EVP_CipherInit_ex(\(method.name) key and IV)") }
    }

    /// The IV OpenSSL's cipher takes for the wire IV. OpenSSL's ChaCha20 IV is 16 bytes, four little-endian
    /// 32-bit state words 12-15: word 12 is the block counter and a wrap of word 12 carries into word 13
    /// (providers/implementations/ciphers/cipher_chacha20_hw.c). So:
    /// - chacha20-ietf (RFC 8439 section 2.3: counter word 12, nonce words 13-15): LE32(counter) || nonce(12);
    /// - chacha20 (DJB, libsodium crypto_stream_chacha20: 64-bit counter words 12-13, nonce words 14-15):
    ///   LE64(counter) || nonce(8), and the carry from word 12 into 13 is exactly the 64-bit counter's.
    static func evpIV(method: CipherMethod, iv: [UInt8], firstBlock: UInt64) -> [UInt8] {
        switch method {
        case .chacha20IETF:
            precondition(firstBlock <= UInt64(UInt32.max), "chacha20-ietf has a 32-bit block counter")
            return littleEndianBytes(firstBlock, count: 4) + iv
        case .chacha20:
            return littleEndianBytes(firstBlock, count: 8) + iv
        case .rc4MD5:
            return []
        case .aes128CFB, .aes192CFB, .aes256CFB, .aes128CTR, .aes192CTR, .aes256CTR:
            return iv
        case .aes128GCM, .aes192GCM, .aes256GCM, .chacha20IETFPoly1305, .blake3AES128GCM, .blake3AES256GCM,
            .blake3ChaCha20Poly1305:
            preconditionFailure("\(method.name) is not a stream cipher")
        }
    }

    private static func littleEndianBytes(_ value: UInt64, count: Int) -> [UInt8] {
        (0..<count).map { UInt8(truncatingIfNeeded: value >> (8 * UInt64($0))) }
    }

    private static func evpCipher(_ method: CipherMethod) throws -> OpaquePointer? {
        switch method {
        case .aes128CFB: return EVP_aes_128_cfb128()
        case .aes192CFB: return EVP_aes_192_cfb128()
        case .aes256CFB: return EVP_aes_256_cfb128()
        case .aes128CTR: return EVP_aes_128_ctr()
        case .aes192CTR: return EVP_aes_192_ctr()
        case .aes256CTR: return EVP_aes_256_ctr()
        case .chacha20IETF, .chacha20: return EVP_chacha20()
        case .rc4MD5:
            guard let rc4 = LegacyProvider.rc4 else { throw CryptoError(.unsupportedMethod, LegacyProvider.rc4Missing) }
            return rc4.pointer
        case .aes128GCM, .aes192GCM, .aes256GCM, .chacha20IETFPoly1305, .blake3AES128GCM, .blake3AES256GCM,
            .blake3ChaCha20Poly1305:
            throw CryptoError(.wrongKind, "\(method.name) is an AEAD method, not a stream cipher")
        }
    }
}
