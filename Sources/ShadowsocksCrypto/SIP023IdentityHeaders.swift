/// Shadowsocks 2022 extensible identity headers (SIP023), client side: one 16-byte AES block per identity PSK,
/// each naming the next layer's key by the first 16 bytes of its BLAKE3 hash, so a relay or a multi-user
/// server can find the user's key before it opens the request.
extension MasterKey {
    static let sip023IdentityContext = BLAKE3.KeyDerivationContext("shadowsocks 2022 identity subkey")
    /// SIP023: a PSK hash in an identity header is blake3::hash(PSK)[0..16].
    static let identityHashSize = AESBlockCipher.blockSize

    /// The key each identity header names: iPSK1 … iPSKn, then the user PSK.
    private var namedKeys: ArraySlice<[UInt8]> { (identityKeys + [bytes]).dropFirst() }

    /// Bytes a request gains from its identity headers.
    public var identityHeadersSize: Int { identityKeys.count * Self.identityHashSize }

    /// TCP (SIP023): after the salt, AES(derive_key("shadowsocks 2022 identity subkey", iPSKn || salt))
    /// (blake3(next key)[0..16]) for each identity key, in order.
    public func sip023StreamIdentityHeaders(salt: [UInt8]) throws -> [UInt8] {
        var headers: [UInt8] = []
        headers.reserveCapacity(identityHeadersSize)
        for (identity, named) in zip(identityKeys, namedKeys) {
            let subkey = Self.sip023IdentityContext.deriveKey(material: identity + salt, outputCount: method.keySize)
            let block = Array(BLAKE3.hash(named).prefix(Self.identityHashSize))
            headers += try AESBlockCipher(key: subkey, encrypting: true).process(block)
        }
        return headers
    }

    /// The per-key parts of UDP identity headers: an encrypter keyed with iPSKn and blake3(next key)[0..16],
    /// made once per session (SIP023 UDP keys the block cipher with the identity PSK itself).
    public func sip023PacketIdentityLayers() throws -> [(encrypter: AESBlockCipher, namedHash: [UInt8])] {
        try zip(identityKeys, namedKeys).map { identity, named in
            (try AESBlockCipher(key: identity, encrypting: true), Array(BLAKE3.hash(named).prefix(Self.identityHashSize)))
        }
    }
}
