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

    // RFC 5869 appendix A.5 (SHA-1, longer inputs and outputs): five blocks, salt and IKM longer than a block.
    @Test func hkdfSHA1RFC5869Case5() throws {
        let okm = try KeyDerivation.hkdfSHA1(
            key: Array(0x00..<0x50), salt: Array(0x60..<0xb0), info: Array(0xb0...0xff), length: 82)
        #expect(
            okm == hex(
                "0bd770a74d1160f7c9f12cd5912a06ebff6adcae899d92191fe4305673ba2ffe8fa3f1a4e5ad79f3f334b3b202b2173c486ea37ce3d397ed034c7f9dfeb15c5e927336d0441f4c4300e2cff0d0900b52d3b4"
            ))
        // RFC 5869 A.7: no salt (a HashLen string of zeros), no info.
        let noSalt = try KeyDerivation.hkdfSHA1(
            key: [UInt8](repeating: 0x0c, count: 22), salt: [], info: [], length: 42)
        #expect(noSalt == hex("2c91117204d745f3500d636a62f64f0ab3bae548aa53d423b0d1f27ebba6f5e5673a081d70cce7acfc48"))
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

@Suite struct HMACSHA1Tests {
    // RFC 2202 section 3, test cases 1, 2 and 6 (a key longer than SHA-1's 64-byte block is hashed first), and
    // the empty key and message (Python's hmac module).
    @Test func rfc2202Vectors() throws {
        let cases: [(key: [UInt8], message: String, mac: String)] = [
            ([UInt8](repeating: 0x0b, count: 20), "Hi There", "b617318655057264e28bc0b6fb378c8ef146be00"),
            (Array("Jefe".utf8), "what do ya want for nothing?", "effcdf6ae5eb2fa2d27416d5f184df9c259a7c79"),
            ([UInt8](repeating: 0xaa, count: 80), "Test Using Larger Than Block-Size Key - Hash Key First",
                "aa4ae5e15272d00e95705637ce8a3b55ed402112"),
            ([], "", "fbdb1d1b18aa6c08324b7d64b71fb76370690e1d"),
        ]
        let hmac = try HMACSHA1()
        for _ in 0..<2 {  // the context is reused: a second round must give the same answers
            for (key, message, mac) in cases {
                var output = [UInt8](repeating: 0, count: HMACSHA1.outputSize)
                try key.withUnsafeBytes { k in
                    try Array(message.utf8).withUnsafeBytes { m in
                        try output.withUnsafeMutableBytes { try hmac.authenticate(key: k, [m], into: $0) }
                    }
                }
                #expect(output == hex(mac))
                #expect(try KeyDerivation.hmacSHA1(key: key, message: Array(message.utf8)) == hex(mac))
            }
        }
    }
}

@Suite struct SubkeyDeriverEdgeTests {
    // A salt longer than SHA-1's block is hashed first as an HMAC key (RFC 2104 section 2); reuse must not leak
    // state between derivations of different salt sizes.
    @Test func longAndEmptySaltsMatchTheOneShotHKDF() throws {
        let master = KeyDerivation.bytesToKey(password: Array("barfoo!".utf8), keyLength: 32)
        let deriver = try SubkeyDeriver(masterKey: master)
        for salt in [[UInt8](repeating: 0xA5, count: 100), [], Array(0..<64), Array(0..<65), Array(0..<32)] {
            let reused = try salt.withUnsafeBytes { try deriver.subkey(salt: $0) }
            #expect(reused == (try KeyDerivation.sessionSubkey(masterKey: master, salt: salt)))
        }
    }
}

@Suite struct SessionKeyingTests {
    /// The ciphers `MasterKey` makes through this thread's cached derivers seal exactly as ciphers keyed with the
    /// one-shot HKDF do, for every AEAD method and for more keys than the cache holds (the oldest is dropped and
    /// made again when it comes back).
    @Test func ciphersMatchTheOneShotHKDFAcrossMoreKeysThanCached() throws {
        let plaintext = Array("GET / HTTP/1.1\r\n\r\n".utf8)
        for round in 0..<2 {
            for method in CipherMethod.aeadCases {
                for index in 0..<(SessionKeying.derivers + 3) {
                    let key = MasterKey(method: method, password: "password \(index)")
                    let salt = (0..<method.saltSize).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ index &+ round) }
                    let cached = try key.makeAEADCipher(salt: salt, sealing: true)
                    let reference = try AEADCipher(
                        method: method, subkey: try KeyDerivation.sessionSubkey(masterKey: key.bytes, salt: salt),
                        sealing: true)
                    #expect(try cached.seal(plaintext) == (try reference.seal(plaintext)))
                }
            }
        }
    }

    /// A sealer's salt comes from the thread's block of random bytes: consecutive salts differ, and the cipher is
    /// keyed with the salt it returns.
    @Test func sealersGetFreshSaltsAndMatchingKeys() throws {
        let key = MasterKey(method: .chacha20IETFPoly1305, password: "barfoo!")
        var salts = Set<[UInt8]>()
        for _ in 0..<300 {  // more than one 4 KiB block of 32-byte salts
            let (salt, sealer) = try key.makeAEADSealer()
            #expect(salt.count == 32)
            salts.insert(salt)
            let opener = try key.makeAEADCipher(salt: salt, sealing: false)
            #expect(try opener.open(try sealer.seal([1, 2, 3])) == [1, 2, 3])
        }
        #expect(salts.count == 300)
    }
}
