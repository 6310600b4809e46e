import Testing

@testable import ShadowsocksCrypto

/// SIP023 identity headers against values computed independently (Python's `blake3` and `cryptography` packages:
/// derive_key / hash, then AES-128-ECB) for iPSK = 00..0f, uPSK = 64..73, salt = c8..d7.
@Suite struct SIP023IdentityHeaderTests {
    static let identity: [UInt8] = Array(0..<16)
    static let user: [UInt8] = Array(100..<116)
    static let salt: [UInt8] = Array(200..<216)

    static func key() throws -> MasterKey {
        try MasterKey(method: .blake3AES128GCM, rawKey: user, identityKeys: [identity])
    }

    @Test func streamIdentityHeaderKnownAnswer() throws {
        let headers = try Self.key().sip023StreamIdentityHeaders(salt: Self.salt)
        #expect(headers == hex("376e237baecf4118fed5e8af9f1a5c1d"))
        #expect(try Self.key().identityHeadersSize == 16)
    }

    @Test func packetIdentityLayerKnownAnswer() throws {
        let layers = try Self.key().sip023PacketIdentityLayers()
        #expect(layers.count == 1)
        let separate = hex("01020304050607080000000000000005")
        let block = zip(layers[0].namedHash, separate).map { $0 ^ $1 }
        #expect(try layers[0].encrypter.process(block) == hex("e2f098f60be2aa88d6216c2b2fc4f5af"))
    }

    @Test func twoLayersNameTheNextKeyEach() throws {
        let second: [UInt8] = Array(50..<66)
        let key = try MasterKey(method: .blake3AES128GCM, rawKey: Self.user, identityKeys: [Self.identity, second])
        let headers = try key.sip023StreamIdentityHeaders(salt: Self.salt)
        #expect(headers.count == 32)
        // Each layer opens with its own identity subkey and finds the hash of the key after it.
        for (index, (identity, named)) in zip([Self.identity, second], [second, Self.user]).enumerated() {
            let subkey = BLAKE3.deriveKey(
                context: "shadowsocks 2022 identity subkey", material: identity + Self.salt, outputCount: 16)
            let opened = try AESBlockCipher(key: subkey, encrypting: false)
                .process(Array(headers[index * 16..<index * 16 + 16]))
            #expect(opened == Array(BLAKE3.hash(named).prefix(16)))
        }
    }

    @Test func identityKeysAreCheckedAndNeverShown() throws {
        #expect(throws: CryptoError.self) {
            try MasterKey(method: .blake3ChaCha20Poly1305, rawKey: Array(0..<32), identityKeys: [Array(0..<32)])
        }
        #expect(throws: CryptoError.self) {
            try MasterKey(method: .blake3AES256GCM, rawKey: Array(0..<32), identityKeys: [Array(0..<16)])
        }
        #expect(throws: CryptoError.self) {
            try MasterKey(method: .aes256GCM, rawKey: Array(0..<32), identityKeys: [Array(0..<32)])
        }
        #expect(try Self.key().description == "MasterKey(2022-blake3-aes-128-gcm, redacted)")
        #expect(try MasterKey(method: .blake3AES128GCM, rawKey: Self.user).identityHeadersSize == 0)
    }
}
