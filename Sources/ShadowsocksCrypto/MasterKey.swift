/// The pre-shared master key of a server: from a password (EVP_BytesToKey) or a base64 `--key`.
/// `description` never shows the bytes, so it is safe in logs.
public struct MasterKey: Sendable, Hashable, CustomStringConvertible {
    public let method: CipherMethod
    public let bytes: [UInt8]
    /// SIP023 identity PSKs (iPSK0, iPSK1, …) written before the user PSK as `iPSK0:iPSK1:uPSK`; `bytes` is then
    /// the user PSK. Empty for every key but a multi-user Shadowsocks 2022 one.
    public let identityKeys: [[UInt8]]

    /// Not for 2022 methods: SIP022 section 2.1 forbids deriving their key from a password (see `init(method:psk:)`).
    public init(method: CipherMethod, password: String) {
        assert(method.kind != .aead2022, "SIP022 keys are base64 PSKs, never EVP_BytesToKey")
        self.method = method
        self.bytes = KeyDerivation.bytesToKey(password: Array(password.utf8), keyLength: method.keySize)
        self.identityKeys = []
    }

    public init(method: CipherMethod, rawKey: [UInt8]) throws {
        guard rawKey.count == method.keySize else {
            throw CryptoError(.badKeyLength, "\(method.name) needs a \(method.keySize)-byte key, got \(rawKey.count)")
        }
        self.method = method
        self.bytes = rawKey
        self.identityKeys = []
    }

    /// A multi-user Shadowsocks 2022 key (SIP023): the identity PSKs of the relays/server in front of the user
    /// PSK `rawKey`. Only the AES methods have identity headers (they are AES blocks).
    public init(method: CipherMethod, rawKey: [UInt8], identityKeys: [[UInt8]]) throws {
        try self.init(method: method, rawKey: rawKey)
        guard !identityKeys.isEmpty else { return }
        guard method.kind == .aead2022, method != .blake3ChaCha20Poly1305 else {
            throw CryptoError(.wrongKind, "\(method.name) has no identity headers (SIP023: 2022 AES methods only)")
        }
        for key in identityKeys where key.count != method.keySize {
            throw CryptoError(.badKeyLength, "\(method.name) needs \(method.keySize)-byte identity keys, got \(key.count)")
        }
        self = MasterKey(checked: method, bytes: rawKey, identityKeys: identityKeys)
    }

    private init(checked method: CipherMethod, bytes: [UInt8], identityKeys: [[UInt8]]) {
        self.method = method
        self.bytes = bytes
        self.identityKeys = identityKeys
    }

    public var description: String { "MasterKey(\(method.name), redacted)" }

    // AEAD methods (SIP004): a salt per direction, the cipher keyed with HKDF-SHA1(master key, salt).
    // These throw CryptoError(.wrongKind) for a stream method.

    /// A fresh sealing direction: a random salt and the cipher keyed with its subkey.
    public func makeAEADSealer() throws -> (salt: [UInt8], cipher: AEADCipher) {
        try requireKind(.aead)
        let keying = try SessionKeying.current()
        var salt = [UInt8](repeating: 0, count: method.saltSize)
        try salt.withUnsafeMutableBytes { try keying.salts.fill($0) }
        return (salt, try makeAEADCipher(salt: salt, sealing: true, keying: keying))
    }

    public func makeAEADCipher(salt: [UInt8], sealing: Bool) throws -> AEADCipher {
        try requireKind(.aead)
        return try makeAEADCipher(salt: salt, sealing: sealing, keying: SessionKeying.current())
    }

    /// HKDF-SHA1(master key, salt, "ss-subkey") through this thread's deriver for the key (`SessionKeying`).
    private func makeAEADCipher(salt: [UInt8], sealing: Bool, keying: SessionKeying) throws -> AEADCipher {
        let subkey = try salt.withUnsafeBytes { salt in
            try keying.deriver(for: bytes).withSubkey(salt: salt) { Array($0) }
        }
        return try AEADCipher(method: method, subkey: subkey, sealing: sealing)
    }

    // Stream methods (shadowsocks 2.8.2 / ss-libev): an IV per direction, the cipher keyed with the master key
    // itself (no HKDF). These throw CryptoError(.wrongKind) for an AEAD method.

    /// A fresh encrypting direction: a random IV and the cipher started on it.
    public func makeStreamEncrypter() throws -> (iv: [UInt8], cipher: StreamCipher) {
        try requireKind(.stream)
        let iv = try SecureRandom.bytes(method.ivSize)
        return (iv, try makeStreamCipher(iv: iv, encrypting: true))
    }

    public func makeStreamCipher(iv: [UInt8], encrypting: Bool) throws -> StreamCipher {
        try requireKind(.stream)
        return try StreamCipher(method: method, key: bytes, iv: iv, encrypting: encrypting)
    }

    func requireKind(_ kind: CipherMethod.Kind) throws {
        guard method.kind == kind else {
            let actual =
                switch method.kind {
                case .aead: "an AEAD method"
                case .aead2022: "a Shadowsocks 2022 method"
                case .stream: "a stream cipher"
                }
            throw CryptoError(.wrongKind, "\(method.name) is \(actual)")
        }
    }
}
