/// The Shadowsocks cipher catalogue: method names as users write them, their kind, and the sizes each implies.
/// AEAD sizes are from SIP004 (salt length equals key length, nonce 12 bytes, tag 16 bytes), the 2022 ones from
/// SIP022 section 2.1 (the same rule); stream-cipher key and IV sizes are shadowsocks-libev's (src/stream.c),
/// which shadowsocks 2.8.2 shares.
public enum CipherMethod: String, CaseIterable, Sendable, Hashable {
    case aes128GCM = "aes-128-gcm"
    case aes192GCM = "aes-192-gcm"
    case aes256GCM = "aes-256-gcm"
    case chacha20IETFPoly1305 = "chacha20-ietf-poly1305"

    // Shadowsocks 2022 (SIP022): a base64 pre-shared key, BLAKE3 subkeys, headers with timestamps.
    case blake3AES128GCM = "2022-blake3-aes-128-gcm"
    case blake3AES256GCM = "2022-blake3-aes-256-gcm"
    /// SIP022 section 4: ChaCha20-Poly1305 for TCP, XChaCha20-Poly1305 for UDP.
    case blake3ChaCha20Poly1305 = "2022-blake3-chacha20-poly1305"

    // Legacy stream ciphers: no integrity, no replay protection for clients (see docs/ciphers.md).
    case aes128CFB = "aes-128-cfb"
    case aes192CFB = "aes-192-cfb"
    case aes256CFB = "aes-256-cfb"
    case aes128CTR = "aes-128-ctr"
    case aes192CTR = "aes-192-ctr"
    case aes256CTR = "aes-256-ctr"
    /// RFC 8439 ChaCha20: 12-byte nonce, 32-bit block counter.
    case chacha20IETF = "chacha20-ietf"
    /// DJB's original ChaCha20 (libsodium crypto_stream_chacha20): 8-byte nonce, 64-bit block counter.
    case chacha20 = "chacha20"
    /// RC4 keyed with MD5(key || IV).
    case rc4MD5 = "rc4-md5"

    /// How a method frames a TCP stream and a UDP packet.
    public enum Kind: Sendable, Hashable {
        /// SIP004: salt, then sealed chunks; every byte authenticated.
        case aead
        /// SIP022: salt, header chunks with a timestamp (and the request salt in responses), then sealed chunks.
        case aead2022
        /// IV, then the keystream XORed over everything; nothing authenticated.
        case stream
    }

    /// ss-libev's default since 3.x.
    public static let `default`: CipherMethod = .chacha20IETFPoly1305

    public static let aeadCases: [CipherMethod] = allCases.filter { $0.kind == .aead }
    public static let aead2022Cases: [CipherMethod] = allCases.filter { $0.kind == .aead2022 }
    public static let streamCases: [CipherMethod] = allCases.filter { $0.kind == .stream }

    public var name: String { rawValue }

    public var kind: Kind {
        switch self {
        case .aes128GCM, .aes192GCM, .aes256GCM, .chacha20IETFPoly1305: .aead
        case .blake3AES128GCM, .blake3AES256GCM, .blake3ChaCha20Poly1305: .aead2022
        case .aes128CFB, .aes192CFB, .aes256CFB, .aes128CTR, .aes192CTR, .aes256CTR, .chacha20IETF, .chacha20, .rc4MD5:
            .stream
        }
    }

    /// Length of the master key (EVP_BytesToKey output, or the decoded `--key`; SIP022: the decoded PSK).
    public var keySize: Int {
        switch self {
        case .aes128GCM, .aes128CFB, .aes128CTR, .rc4MD5, .blake3AES128GCM: 16
        case .aes192GCM, .aes192CFB, .aes192CTR: 24
        case .aes256GCM, .aes256CFB, .aes256CTR, .chacha20IETFPoly1305, .chacha20IETF, .chacha20, .blake3AES256GCM,
            .blake3ChaCha20Poly1305:
            32
        }
    }

    /// A stream cipher's IV length as ss-libev sends it; 0 for AEAD methods (they send a salt).
    public var ivSize: Int {
        switch self {
        case .aes128GCM, .aes192GCM, .aes256GCM, .chacha20IETFPoly1305, .blake3AES128GCM, .blake3AES256GCM,
            .blake3ChaCha20Poly1305:
            0
        case .aes128CFB, .aes192CFB, .aes256CFB, .aes128CTR, .aes192CTR, .aes256CTR, .rc4MD5: 16
        case .chacha20IETF: 12
        case .chacha20: 8
        }
    }

    /// The random bytes every TCP stream (each direction) and UDP packet starts with: the AEAD salt (SIP004:
    /// as long as the key) or the stream cipher's IV. Replay filters remember these.
    public var saltSize: Int {
        switch kind {
        case .aead, .aead2022: keySize
        case .stream: ivSize
        }
    }

    /// The AEAD per-chunk nonce length (SIP004); 0 for stream ciphers.
    public var nonceSize: Int { kind == .stream ? 0 : 12 }
    /// The AEAD tag length (SIP004); 0 for stream ciphers, which authenticate nothing.
    public var tagSize: Int { kind == .stream ? 0 : 16 }

    /// Looks a method up by the name a user wrote (case-insensitive, as ss-libev).
    public init?(name: String) {
        self.init(rawValue: name.lowercased())
    }

    /// The one-line warnings for the insecure methods among `methods`, each once, in name order (logged at start).
    public static func securityWarnings(for methods: [CipherMethod]) -> [String] {
        Set(methods).sorted { $0.name < $1.name }.compactMap(\.securityWarning)
    }

    /// For error messages: "aes-128-gcm, ..., chacha20-ietf-poly1305; legacy stream ciphers (insecure): ...".
    public static var supportedNames: String {
        (aeadCases + aead2022Cases).map(\.rawValue).joined(separator: ", ") + "; legacy stream ciphers (insecure): "
            + streamCases.map(\.rawValue).joined(separator: ", ")
    }

    /// One log line for a configured stream cipher (nil for AEAD): what it lacks and what to use instead.
    public var securityWarning: String? {
        switch kind {
        case .aead, .aead2022:
            nil
        case .stream:
            "\(name) is a legacy stream cipher: no integrity and no replay protection (anyone on the path can alter "
                + "or replay traffic); use an AEAD method such as chacha20-ietf-poly1305 or aes-256-gcm"
        }
    }
}
