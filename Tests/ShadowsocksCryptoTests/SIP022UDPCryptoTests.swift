import Testing

@testable import ShadowsocksCrypto

@Suite struct SIP022UDPCryptoTests {
    // draft-irtf-cfrg-xchacha-03 section 2.2.1.
    @Test func hChaCha20DraftVector() {
        let subkey = HChaCha20.subkey(
            key: Array(0..<32), nonce: hex("000000090000004a0000000031415927")[...])
        #expect(subkey == hex("82413b4227b27bfed30e42508a877d73a0f9e4d58a74a853c12ec41326d3ecdc"))
    }

    // FIPS-197 appendix C.1 and C.3.
    @Test func aesBlockFIPS197() throws {
        let plaintext = hex("00112233445566778899aabbccddeeff")
        let aes128 = try AESBlockCipher(key: Array(0..<16), encrypting: true)
        #expect(try aes128.process(plaintext) == hex("69c4e0d86a7b0430d8cdb78070b4c55a"))
        let aes256 = try AESBlockCipher(key: Array(0..<32), encrypting: true)
        let sealed = try aes256.process(plaintext)
        #expect(sealed == hex("8ea2b7ca516745bfeafc49904b496089"))
        #expect(try AESBlockCipher(key: Array(0..<32), encrypting: false).process(sealed) == plaintext)
        #expect(throws: CryptoError.self) { try AESBlockCipher(key: Array(0..<24), encrypting: true) }
    }

    @Test func xChaCha20Poly1305RoundTripAndTamper() throws {
        let aead = try XChaCha20Poly1305(key: Array(100..<132))
        let nonce = Array(0..<24).map { UInt8($0) }
        for length in [0, 1, 64, 1500] {
            let plaintext = (0..<length).map { UInt8(truncatingIfNeeded: $0 * 7) }
            let sealed = try aead.seal(nonce: nonce, plaintext)
            #expect(sealed.count == length + 16)
            #expect(try aead.open(nonce: nonce, sealed) == plaintext)
            for index in [0, sealed.count - 1] {
                var tampered = sealed
                tampered[index] ^= 1
                #expect(throws: CryptoError(.authenticationFailed)) { try aead.open(nonce: nonce, tampered) }
            }
        }
    }

    /// libsodium's crypto_aead_xchacha20poly1305_ietf_encrypt through Python ctypes: an independent implementation.
    @Test(.enabled(if: ExternalTool.hasLibsodium, "needs python3 and libsodium.so.23"))
    func xChaCha20Poly1305MatchesLibsodium() throws {
        let script = """
            import ctypes, sys
            s = ctypes.CDLL('libsodium.so.23')
            key, nonce, m = bytes.fromhex(sys.argv[1]), bytes.fromhex(sys.argv[2]), sys.stdin.buffer.read()
            c = ctypes.create_string_buffer(len(m) + 16)
            clen = ctypes.c_ulonglong(0)
            s.crypto_aead_xchacha20poly1305_ietf_encrypt(c, ctypes.byref(clen), m, ctypes.c_ulonglong(len(m)),
                None, ctypes.c_ulonglong(0), None, nonce, key)
            sys.stdout.buffer.write(c.raw[:clen.value])
            """
        var generator = SystemRandomNumberGenerator()
        for length in [0, 15, 16, 300, 4096] {
            let key = (0..<32).map { _ in UInt8.random(in: 0...255, using: &generator) }
            let nonce = (0..<24).map { _ in UInt8.random(in: 0...255, using: &generator) }
            let plaintext = (0..<length).map { _ in UInt8.random(in: 0...255, using: &generator) }
            let reference = try #require(
                ExternalTool.run(
                    ["python3", "-c", script, ExternalTool.hexString(key), ExternalTool.hexString(nonce)],
                    input: plaintext))
            #expect(try XChaCha20Poly1305(key: key).seal(nonce: nonce, plaintext) == reference)
        }
    }

    @Test func explicitNonceLeavesTheCounterAlone() throws {
        let key = [UInt8](repeating: 1, count: 16)
        let sealer = try AEADCipher(method: .blake3AES128GCM, subkey: key, sealing: true)
        let fresh = try AEADCipher(method: .blake3AES128GCM, subkey: key, sealing: true)
        let nonce = [UInt8](repeating: 9, count: 12)
        let explicit = try sealer.seal([1, 2, 3], nonce: nonce)
        #expect(try sealer.seal([4]) == fresh.seal([4]), "counter still at zero")
        let opener = try AEADCipher(method: .blake3AES128GCM, subkey: key, sealing: false)
        #expect(try opener.open(explicit, nonce: nonce) == [1, 2, 3])
    }
}
