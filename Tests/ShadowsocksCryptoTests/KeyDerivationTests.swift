import Testing

@testable import ShadowsocksCrypto

@Suite struct KeyDerivationTests {
    // EVP_BytesToKey(MD5) of "barfoo!", computed independently with Python's hashlib.
    @Test func bytesToKeyMatchesReference() {
        #expect(
            KeyDerivation.bytesToKey(password: Array("barfoo!".utf8), keyLength: 32)
                == hex("b3adc47839e047eb228870526dc8fc30b347287ffca3045dcea06b3fdf090acb"))
        #expect(
            KeyDerivation.bytesToKey(password: Array("barfoo!".utf8), keyLength: 24)
                == hex("b3adc47839e047eb228870526dc8fc30b347287ffca3045d"))
        #expect(KeyDerivation.bytesToKey(password: Array("barfoo!".utf8), keyLength: 16).count == 16)
    }

    // RFC 5869 appendix A.4 (HKDF with SHA-1, test case 4).
    @Test func hkdfSHA1RFC5869Case4() throws {
        let okm = try KeyDerivation.hkdfSHA1(
            key: [UInt8](repeating: 0x0b, count: 11), salt: hex("000102030405060708090a0b0c"),
            info: hex("f0f1f2f3f4f5f6f7f8f9"), length: 42)
        #expect(okm == hex("085a01ea1b10f36933068b56efa5ad81a4f14b822f5b091568a9cdd4f155fda2c22e422478d305f3f896"))
    }

    @Test func sessionSubkeyUsesSSSubkeyInfo() throws {
        let master = KeyDerivation.bytesToKey(password: Array("barfoo!".utf8), keyLength: 16)
        let subkey = try KeyDerivation.sessionSubkey(masterKey: master, salt: Array(0..<16))
        #expect(subkey == hex("9cd21fb890a57fbe98653cbadd4d047c"))
    }

    @Test func base64KeyAcceptsStandardAndURLSafe() {
        #expect(Base64Key.decode("AAEC/w==") == [0, 1, 2, 255])
        #expect(Base64Key.decode("AAEC_w") == [0, 1, 2, 255])
        #expect(Base64Key.decode("AA$C") == nil)
    }

    @Test func masterKeyNeverPrintsItsBytes() throws {
        let key = MasterKey(method: .aes256GCM, password: "secret")
        #expect(!"\(key)".contains(String(key.bytes[0], radix: 16)) || "\(key)" == "MasterKey(aes-256-gcm, redacted)")
        #expect("\(key)" == "MasterKey(aes-256-gcm, redacted)")
    }

    @Test func rawKeyLengthChecked() {
        #expect(throws: CryptoError.self) { try MasterKey(method: .aes128GCM, rawKey: [1, 2, 3]) }
    }
}

@Suite struct SubkeyDeriverTests {
    @Test func matchesTheOneShotHKDFForEveryKeySize() throws {
        for method in CipherMethod.aeadCases {
            let master = KeyDerivation.bytesToKey(password: Array("barfoo!".utf8), keyLength: method.keySize)
            let deriver = try SubkeyDeriver(masterKey: master)
            for seed in 0..<5 {
                let salt = (0..<method.saltSize).map { UInt8(truncatingIfNeeded: $0 * 7 + seed) }
                let reused = try salt.withUnsafeBytes { try deriver.subkey(salt: $0) }
                #expect(reused == (try KeyDerivation.sessionSubkey(masterKey: master, salt: salt)))
            }
        }
    }

    @Test func knownAnswerAES128() throws {
        let master = KeyDerivation.bytesToKey(password: Array("barfoo!".utf8), keyLength: 16)
        let salt: [UInt8] = Array(0..<16)
        let subkey = try salt.withUnsafeBytes { try SubkeyDeriver(masterKey: master).subkey(salt: $0) }
        #expect(subkey == hex("9cd21fb890a57fbe98653cbadd4d047c"))
    }
}
