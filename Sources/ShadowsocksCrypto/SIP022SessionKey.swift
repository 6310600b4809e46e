/// Shadowsocks 2022 keys (SIP022 section 2): the user gives the PSK itself, base64-encoded; each stream (and
/// each UDP session) keys its AEAD with a BLAKE3 derive_key subkey of PSK || salt.
extension MasterKey {
    /// SIP022 section 2.2.
    static let sip022SubkeyContext = BLAKE3.KeyDerivationContext("shadowsocks 2022 session subkey")

    /// The PSK of a 2022 method from its base64 text (`-k`, `password`, `--key`), length checked.
    public init(method: CipherMethod, base64PSK: String) throws {
        guard method.kind == .aead2022 else {
            throw CryptoError(.wrongKind, "\(method.name) takes a password, not a base64 pre-shared key")
        }
        guard let raw = Base64Key.decode(base64PSK), !raw.isEmpty else {
            throw CryptoError(.badKeyLength, "\(method.name) needs a base64 key (openssl rand -base64 \(method.keySize))")
        }
        try self.init(method: method, rawKey: raw)
    }

    /// session_subkey := blake3::derive_key("shadowsocks 2022 session subkey", PSK || salt), key-sized.
    public func sip022Subkey(salt: [UInt8]) throws -> [UInt8] {
        try requireKind(.aead2022)
        return Self.sip022SubkeyContext.deriveKey(material: bytes + salt, outputCount: method.keySize)
    }

    /// SIP022 UDP: the AEAD of one session (AES methods), keyed with the subkey of PSK || session id.
    public func makeSIP022SessionCipher(sessionID: UInt64, sealing: Bool) throws -> AEADCipher {
        try makeSIP022Cipher(salt: withUnsafeBytes(of: sessionID.bigEndian, Array.init), sealing: sealing)
    }

    /// One direction of a SIP022 TCP stream: AEAD keyed with the salt's subkey, nonce counter at zero.
    public func makeSIP022Cipher(salt: [UInt8], sealing: Bool) throws -> AEADCipher {
        try AEADCipher(method: method, subkey: try sip022Subkey(salt: salt), sealing: sealing)
    }
}
