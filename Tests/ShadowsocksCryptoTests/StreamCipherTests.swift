import Testing

@testable import ShadowsocksCrypto

/// A known answer for one cipher: key, wire IV, plaintext and ciphertext.
struct StreamVector: Sendable, CustomTestStringConvertible {
    let method: CipherMethod
    let source: String
    let key: String
    let iv: String
    var firstBlock: UInt64 = 0
    let plaintext: String
    let ciphertext: String
    var testDescription: String { "\(method.name) (\(source))" }
}

private let nistPlaintext =
    "6bc1bee22e409f96e93d7e117393172aae2d8a571e03ac9c9eb76fac45af8e51"
    + "30c81c46a35ce411e5fbc1191a0a52eff69f2445df4f9b17ad2b417be66c3710"
private let aes128Key = "2b7e151628aed2a6abf7158809cf4f3c"
private let aes192Key = "8e73b0f7da0e6452c810f32b809079e562f8ead2522c6b7b"
private let aes256Key = "603deb1015ca71be2b73aef0857d77811f352c073b6108d72d9810a30914dff4"
private let cfbIV = "000102030405060708090a0b0c0d0e0f"
private let ctrIV = "f0f1f2f3f4f5f6f7f8f9fafbfcfdfeff"

let streamVectors: [StreamVector] = [
    // NIST SP 800-38A, appendix F.3.13 / F.3.15 / F.3.17 (CFB128) and F.5.1 / F.5.3 / F.5.5 (CTR).
    .init(
        method: .aes128CFB, source: "SP 800-38A F.3.13", key: aes128Key, iv: cfbIV, plaintext: nistPlaintext,
        ciphertext: "3b3fd92eb72dad20333449f8e83cfb4ac8a64537a0b3a93fcde3cdad9f1ce58b"
            + "26751f67a3cbb140b1808cf187a4f4dfc04b05357c5d1c0eeac4c66f9ff7f2e6"),
    .init(
        method: .aes192CFB, source: "SP 800-38A F.3.15", key: aes192Key, iv: cfbIV, plaintext: nistPlaintext,
        ciphertext: "cdc80d6fddf18cab34c25909c99a417467ce7f7f81173621961a2b70171d3d7a"
            + "2e1e8a1dd59b88b1c8e60fed1efac4c9c05f9f9ca9834fa042ae8fba584b09ff"),
    .init(
        method: .aes256CFB, source: "SP 800-38A F.3.17", key: aes256Key, iv: cfbIV, plaintext: nistPlaintext,
        ciphertext: "dc7e84bfda79164b7ecd8486985d386039ffed143b28b1c832113c6331e5407b"
            + "df10132415e54b92a13ed0a8267ae2f975a385741ab9cef82031623d55b1e471"),
    .init(
        method: .aes128CTR, source: "SP 800-38A F.5.1", key: aes128Key, iv: ctrIV, plaintext: nistPlaintext,
        ciphertext: "874d6191b620e3261bef6864990db6ce9806f66b7970fdff8617187bb9fffdff"
            + "5ae4df3edbd5d35e5b4f09020db03eab1e031dda2fbe03d1792170a0f3009cee"),
    .init(
        method: .aes192CTR, source: "SP 800-38A F.5.3", key: aes192Key, iv: ctrIV, plaintext: nistPlaintext,
        ciphertext: "1abc932417521ca24f2b0459fe7e6e0b090339ec0aa6faefd5ccc2c6f4ce8e94"
            + "1e36b26bd1ebc670d1bd1d665620abf74f78a7f6d29809585a97daec58c6b050"),
    .init(
        method: .aes256CTR, source: "SP 800-38A F.5.5", key: aes256Key, iv: ctrIV, plaintext: nistPlaintext,
        ciphertext: "601ec313775789a5b7a7f504bbf3d228f443e3ca4d62b59aca84e990cacaf5c5"
            + "2b0930daa23de94ce87017ba2d84988ddfc9c58db67aada613c2dd08457941a6"),
    // RFC 8439 section 2.4.2 (the sunscreen text) starts at block counter 1.
    .init(
        method: .chacha20IETF, source: "RFC 8439 2.4.2", key: "000102030405060708090a0b0c0d0e0f"
            + "101112131415161718191a1b1c1d1e1f",
        iv: "000000000000004a00000000", firstBlock: 1,
        plaintext: "4c616469657320616e642047656e746c656d656e206f662074686520636c6173"
            + "73206f66202739393a204966204920636f756c64206f6666657220796f75206f"
            + "6e6c79206f6e652074697020666f7220746865206675747572652c2073756e73"
            + "637265656e20776f756c642062652069742e",
        ciphertext: "6e2e359a2568f98041ba0728dd0d6981e97e7aec1d4360c20a27afccfd9fae0b"
            + "f91b65c5524733ab8f593dabcd62b3571639d624e65152ab8f530c359f0861d8"
            + "07ca0dbf500d6a6156a38e088a22b65e52bc514d16ccf806818ce91ab7793736"
            + "5af90bbf74a35be6b40b8eedf2785e42874d"),
    // RFC 8439 appendix A.1 test vector 1 (all zero key and nonce, counter 0): on the wire's starting block.
    .init(
        method: .chacha20IETF, source: "RFC 8439 A.1 #1", key: String(repeating: "00", count: 32),
        iv: String(repeating: "00", count: 12), plaintext: String(repeating: "00", count: 64),
        ciphertext: "76b8e0ada0f13d90405d6ae55386bd28bdd219b8a08ded1aa836efcc8b770dc7"
            + "da41597c5157488d7724e03fb8d84a376a43b8f41518a11cc387b669b2ee6586"),
    // DJB ChaCha20 with its 8-byte nonce (draft-agl-tls-chacha20poly1305-04 section 7, and libsodium's
    // crypto_stream_chacha20 gives the same bytes).
    .init(
        method: .chacha20, source: "draft-agl TC3, nonce 00..01", key: String(repeating: "00", count: 32),
        iv: "0000000000000001", plaintext: String(repeating: "00", count: 64),
        ciphertext: "de9cba7bf3d69ef5e786dc63973f653a0b49e015adbff7134fcb7df137821031"
            + "e85a050278a7084527214f73efc7fa5b5277062eb7a0433e445f41e31afab757"),
    .init(
        method: .chacha20, source: "draft-agl TC4, nonce 01..00", key: String(repeating: "00", count: 32),
        iv: "0100000000000000", plaintext: String(repeating: "00", count: 64),
        ciphertext: "ef3fdfd6c61578fbf5cf35bd3dd33b8009631634d21e42ac33960bd138e50d32"
            + "111e4caf237ee53ca8ad6426194a88545ddc497a0b466e7d6bbdb0041b2f586b"),
    .init(
        method: .chacha20, source: "draft-agl TC5, 4 blocks", key: "000102030405060708090a0b0c0d0e0f"
            + "101112131415161718191a1b1c1d1e1f",
        iv: "0001020304050607", plaintext: String(repeating: "00", count: 256),
        ciphertext: "f798a189f195e66982105ffb640bb7757f579da31602fc93ec01ac56f85ac3c1"
            + "34a4547b733b46413042c9440049176905d3be59ea1c53f15916155c2be8241a"
            + "38008b9a26bc35941e2444177c8ade6689de95264986d95889fb60e84629c9bd"
            + "9a5acb1cc118be563eb9b3a4a472f82e09a7e778492b562ef7130e88dfe031c7"
            + "9db9d4f7c7a899151b9a475032b63fc385245fe054e3dd5a97a5f576fe064025"
            + "d3ce042c566ab2c507b138db853e3d6959660996546cc9c4a6eafdc777c040d7"
            + "0eaf46f76dad3979e5c5360c3317166a1c894c94a371876a94df7628fe4eaaf2"
            + "ccb27d5aaae0ad7ad0f9d4b6ad3b54098746d4524d38407a6deb3ab78fab78c9"),
    // rc4-md5: master key EVP_BytesToKey("barfoo!", 16), IV 00..0f; RC4 key MD5(key || IV). Computed with
    // Python's hashlib and a plain RC4 in Python (no OpenSSL).
    .init(
        method: .rc4MD5, source: "hashlib + Python RC4", key: "b3adc47839e047eb228870526dc8fc30",
        iv: "000102030405060708090a0b0c0d0e0f", plaintext: "68656c6c6f2c20736861646f77736f636b73",
        ciphertext: "2da943831715d7595288d5f0fad5a8ca4645"),
]

@Suite struct StreamCipherTests {
    @Test(arguments: streamVectors) func encryptsKnownAnswer(vector: StreamVector) throws {
        let cipher = try StreamCipher(
            method: vector.method, key: hex(vector.key), iv: hex(vector.iv), encrypting: true,
            firstBlock: vector.firstBlock)
        #expect(try cipher.update(hex(vector.plaintext)) == hex(vector.ciphertext))
    }

    @Test(arguments: streamVectors) func decryptsKnownAnswer(vector: StreamVector) throws {
        let cipher = try StreamCipher(
            method: vector.method, key: hex(vector.key), iv: hex(vector.iv), encrypting: false,
            firstBlock: vector.firstBlock)
        #expect(try cipher.update(hex(vector.ciphertext)) == hex(vector.plaintext))
    }

    @Test(arguments: streamVectors) func keystreamContinuesAcrossCallsOfAnySize(vector: StreamVector) throws {
        // CFB keeps its position inside a block between calls; a relay hands the cipher arbitrary pieces.
        for pieces in [[1], [3, 17], [15, 16, 1]] {
            let cipher = try StreamCipher(
                method: vector.method, key: hex(vector.key), iv: hex(vector.iv), encrypting: false,
                firstBlock: vector.firstBlock)
            let ciphertext = hex(vector.ciphertext)
            var plaintext: [UInt8] = []
            var offset = 0
            var index = 0
            while offset < ciphertext.count {
                let end = min(ciphertext.count, offset + pieces[index % pieces.count])
                plaintext += try cipher.update(Array(ciphertext[offset..<end]))
                offset = end
                index += 1
            }
            #expect(plaintext == hex(vector.plaintext), "pieces \(pieces)")
        }
    }

    @Test func inPlaceUpdateMatches() throws {
        let key = [UInt8](repeating: 5, count: 32), iv = [UInt8](repeating: 6, count: 16)
        let expected = try StreamCipher(method: .aes256CFB, key: key, iv: iv, encrypting: true).update(Array(0..<200))
        var buffer: [UInt8] = Array(0..<200)
        let cipher = try StreamCipher(method: .aes256CFB, key: key, iv: iv, encrypting: true)
        try buffer.withUnsafeMutableBytes { try cipher.update(UnsafeRawBufferPointer($0), into: $0) }
        #expect(buffer == expected)
    }

    @Test(arguments: CipherMethod.streamCases) func restartEqualsAFreshCipher(method: CipherMethod) throws {
        let key = (0..<method.keySize).map { UInt8($0) }
        let firstIV = [UInt8](repeating: 1, count: method.ivSize)
        let secondIV = [UInt8](repeating: 2, count: method.ivSize)
        let reused = try StreamCipher(method: method, key: key, iv: firstIV, encrypting: true)
        _ = try reused.update([UInt8](repeating: 9, count: 77))  // leave it mid-block
        try reused.restart(iv: secondIV)
        let fresh = try StreamCipher(method: method, key: key, iv: secondIV, encrypting: true)
        let message = [UInt8](repeating: 0x42, count: 100)
        #expect(try reused.update(message) == (try fresh.update(message)))
    }

    /// RFC 8439 section 2.3.2: the block function with key 00..1f, nonce 000000090000004a00000000, counter 1.
    @Test func chacha20IETFBlockFunctionRFC8439() throws {
        let cipher = try StreamCipher(
            method: .chacha20IETF, key: Array(0..<32), iv: hex("000000090000004a00000000"), encrypting: true,
            firstBlock: 1)
        #expect(
            try cipher.update([UInt8](repeating: 0, count: 64))
                == hex(
                    "10f1e7e4d13b5915500fdd1fa32071c4c7d1f4c733c068030422aa9ac3d46c4e"
                        + "d2826446079faa0914c2d705d98b02a2b5129cd1de164eb9cbd083e8a2503c4e"))
    }

    /// DJB ChaCha20's block counter is 64 bits (state words 12 and 13). OpenSSL counts in word 12 and carries
    /// into word 13, which our IV mapping puts next to it: blocks 2^32-1, 2^32, 2^32+1 must be libsodium's
    /// (crypto_stream_chacha20_xor_ic with ic = 0xffffffff, key 00..1f, nonce 00..07).
    @Test func chacha20CounterCarriesIntoTheHighWord() throws {
        let cipher = try StreamCipher(
            method: .chacha20, key: Array(0..<32), iv: Array(0..<8), encrypting: true, firstBlock: 0xFFFF_FFFF)
        let keystream = try cipher.update([UInt8](repeating: 0, count: 192))
        #expect(
            keystream
                == hex(
                    "a2b8d04b13877b4a7013cb9031e4b70836e9705a9691bd18f8fca48502eacdca"
                        + "e0b8faaeef6c5dfee436afd8268aa6385dabb2855761127a3946b50d649f9a4b"
                        + "2fcab2c09a960545c6f57e9269ebc22b4ed12782e66dc4cb612536f5cdbed4bc"
                        + "ba16af8a92140bf4ded4808af8eee82bd0f18fbb64f073c2a547bc2372528f36"
                        + "cbc048a2c82215c7942b999ba103f3831e882df26b12ff4897c0fa37670783be"
                        + "942f12b87c52c3fc5d03dc7a6b1860ad78024e1c7ee1b570ae413d1bb99537b8"))
        // And the naive reference agrees block by block, so the carry is not an artefact of one vector.
        for (index, block) in [UInt64(0xFFFF_FFFF), 0x1_0000_0000, 0x1_0000_0001].enumerated() {
            let expected = NaiveChaCha20.block(key: Array(0..<32), counter: block, nonce: Array(0..<8))
            #expect(Array(keystream[(64 * index)..<(64 * index + 64)]) == expected, "block \(block)")
        }
    }

    @Test func naiveChaCha20MatchesRFC8439BlockVector() {
        // Validates the reference used above: RFC 8439 2.3.2 in the DJB layout (the IETF nonce's first word,
        // 0x09000000, becomes the counter's high word).
        let block = NaiveChaCha20.block(
            key: Array(0..<32), counter: 1 | (0x0900_0000 << 32), nonce: hex("0000004a00000000"))
        #expect(
            block
                == hex(
                    "10f1e7e4d13b5915500fdd1fa32071c4c7d1f4c733c068030422aa9ac3d46c4e"
                        + "d2826446079faa0914c2d705d98b02a2b5129cd1de164eb9cbd083e8a2503c4e"))
    }

    @Test func rc4MD5MatchesNaiveRC4OverMD5() throws {
        #expect(NaiveRC4.keystream(key: hex("0102030405060708090a0b0c0d0e0f10"), count: 32)
            == hex("9ac7cc9a609d1ef7b2932899cde41b975248c4959014126a6e8a84f11d1a9e1c"))  // RFC 6229, 128-bit key
        #expect(KeyDerivation.md5(Array("abc".utf8)) == hex("900150983cd24fb0d6963f7d28e17f72"))  // RFC 1321 A.5
        var generator = SystemRandomNumberGenerator()
        for _ in 0..<20 {
            let key = (0..<16).map { _ in UInt8.random(in: 0...255, using: &generator) }
            let iv = (0..<16).map { _ in UInt8.random(in: 0...255, using: &generator) }
            let message = (0..<Int.random(in: 0...3000, using: &generator)).map { UInt8(truncatingIfNeeded: $0) }
            let keystream = NaiveRC4.keystream(key: KeyDerivation.md5(key + iv), count: message.count)
            let expected = zip(message, keystream).map { $0 ^ $1 }
            #expect(try StreamCipher(method: .rc4MD5, key: key, iv: iv, encrypting: true).update(message) == expected)
        }
    }

    @Test func rc4IsAvailableWithTheLegacyProvider() {
        // Debian's libssl3 ships ossl-modules/legacy.so; without it the method reports one clear line instead.
        #expect(CipherMethod.rc4MD5.unavailableReason == nil)
        #expect(CipherMethod.aes256CFB.unavailableReason == nil)
    }

    @Test func wrongKindAndSizesAreTypedErrors() throws {
        let aead = MasterKey(method: .aes256GCM, password: "x")
        let stream = MasterKey(method: .aes256CFB, password: "x")
        #expect(throws: CryptoError(.wrongKind, "aes-256-gcm is an AEAD method")) {
            try aead.makeStreamCipher(iv: [UInt8](repeating: 0, count: 16), encrypting: true)
        }
        #expect(throws: CryptoError(.wrongKind, "aes-256-cfb is a stream cipher")) {
            try stream.makeAEADCipher(salt: [UInt8](repeating: 0, count: 32), sealing: true)
        }
        #expect(throws: CryptoError.self) {
            try AEADCipher(method: .chacha20, subkey: [UInt8](repeating: 0, count: 32), sealing: true)
        }
        #expect(throws: CryptoError.self) { try stream.makeStreamCipher(iv: [1, 2, 3], encrypting: true) }
        #expect(throws: CryptoError.self) {
            try StreamCipher(method: .aes128CTR, key: [1], iv: [UInt8](repeating: 0, count: 16), encrypting: true)
        }
        let (iv, cipher) = try stream.makeStreamEncrypter()
        #expect(iv.count == 16 && cipher.encrypting && cipher.method == .aes256CFB)
    }

    @Test func catalogueSizesAreSSLibevs() {
        let sizes = CipherMethod.streamCases.map { "\($0.name) \($0.keySize) \($0.ivSize)" }
        #expect(
            sizes == [
                "aes-128-cfb 16 16", "aes-192-cfb 24 16", "aes-256-cfb 32 16", "aes-128-ctr 16 16",
                "aes-192-ctr 24 16", "aes-256-ctr 32 16", "chacha20-ietf 32 12", "chacha20 32 8", "rc4-md5 16 16",
            ])
        #expect(
            CipherMethod.streamCases.allSatisfy { $0.saltSize == $0.ivSize && $0.tagSize == 0 && $0.securityWarning != nil })
        #expect(
            CipherMethod.aeadCases.allSatisfy { $0.saltSize == $0.keySize && $0.tagSize == 16 && $0.securityWarning == nil })
        #expect(CipherMethod(name: "AES-256-CFB") == .aes256CFB)
        #expect(CipherMethod(name: "rc4") == nil && CipherMethod(name: "salsa20") == nil)
    }
}
