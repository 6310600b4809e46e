import Testing

@testable import ShadowsocksCrypto

/// Random inputs through our ciphers and through other implementations: the `openssl enc` command (EVP with
/// the IV we build by hand here) and libsodium, which ss-libev itself uses for chacha20 and chacha20-ietf.
@Suite struct StreamCipherCrossCheckTests {
    static func random(_ count: Int) -> [UInt8] {
        var generator = SystemRandomNumberGenerator()
        return (0..<count).map { _ in UInt8.random(in: 0...255, using: &generator) }
    }

    /// `openssl enc` name and the IV it takes for our wire IV.
    static func openSSLCommand(
        _ method: CipherMethod, key: [UInt8], iv: [UInt8]
    ) -> (name: String, key: [UInt8], iv: [UInt8]?) {
        switch method {
        case .chacha20IETF: ("chacha20", key, [0, 0, 0, 0] + iv)
        case .chacha20: ("chacha20", key, [UInt8](repeating: 0, count: 8) + iv)
        case .rc4MD5: ("rc4", KeyDerivation.md5(key + iv), nil)
        default: (method.name, key, iv)
        }
    }

    @Test(
        .enabled(if: ExternalTool.hasOpenSSLCLI, "needs the openssl command"), arguments: CipherMethod.streamCases)
    func matchesOpenSSLEnc(method: CipherMethod) throws {
        for length in [1, 15, 16, 17, 1000, 70_001] {
            let key = Self.random(method.keySize), iv = Self.random(method.ivSize), message = Self.random(length)
            let command = Self.openSSLCommand(method, key: key, iv: iv)
            var arguments = ["openssl", "enc", "-\(command.name)", "-nosalt", "-K", ExternalTool.hexString(command.key)]
            if let evpIV = command.iv { arguments += ["-iv", ExternalTool.hexString(evpIV)] }
            if method == .rc4MD5 { arguments += ["-provider", "legacy", "-provider", "default"] }
            let expected = try #require(ExternalTool.run(arguments, input: message), "\(arguments)")
            let ours = try StreamCipher(method: method, key: key, iv: iv, encrypting: true).update(message)
            #expect(ours == expected, "\(method.name), \(length) bytes")
            #expect(try StreamCipher(method: method, key: key, iv: iv, encrypting: false).update(ours) == message)
        }
    }

    /// libsodium's crypto_stream_chacha20_xor_ic / crypto_stream_chacha20_ietf_xor_ic on zeros: the keystream.
    static func libsodiumKeystream(
        ietf: Bool, key: [UInt8], nonce: [UInt8], firstBlock: UInt64, count: Int
    ) -> [UInt8]? {
        let function = ietf ? "crypto_stream_chacha20_ietf_xor_ic" : "crypto_stream_chacha20_xor_ic"
        let counterType = ietf ? "c_uint32" : "c_uint64"
        let script = """
            import ctypes, sys
            s = ctypes.CDLL('libsodium.so.23'); s.sodium_init()
            key, nonce = bytes.fromhex(sys.argv[1]), bytes.fromhex(sys.argv[2])
            ic, n = int(sys.argv[3]), int(sys.argv[4])
            out = ctypes.create_string_buffer(n)
            s.\(function)(out, bytes(n), ctypes.c_ulonglong(n), nonce, ctypes.\(counterType)(ic), key)
            sys.stdout.buffer.write(out.raw)
            """
        return ExternalTool.run([
            "python3", "-c", script, ExternalTool.hexString(key), ExternalTool.hexString(nonce), "\(firstBlock)",
            "\(count)",
        ])
    }

    @Test(.enabled(if: ExternalTool.hasLibsodium, "needs python3 and libsodium23"))
    func chacha20MatchesLibsodiumIncludingTheCounterCarry() throws {
        for firstBlock: UInt64 in [0, 1, 0xFFFF_FFFE, 0xFFFF_FFFF, 0x1_FFFF_FFFF] {
            let key = Self.random(32), nonce = Self.random(8)
            let expected = try #require(
                Self.libsodiumKeystream(ietf: false, key: key, nonce: nonce, firstBlock: firstBlock, count: 64 * 5 + 7))
            let cipher = try StreamCipher(
                method: .chacha20, key: key, iv: nonce, encrypting: true, firstBlock: firstBlock)
            // Odd piece sizes: the carry may fall inside OpenSSL's partial-block path or its bulk path.
            var ours: [UInt8] = []
            for piece in [1, 63, 70, 130, 63] {
                ours += try cipher.update([UInt8](repeating: 0, count: piece))
            }
            #expect(ours == expected, "first block \(firstBlock)")
        }
    }

    @Test(.enabled(if: ExternalTool.hasLibsodium, "needs python3 and libsodium23"))
    func chacha20IETFMatchesLibsodium() throws {
        for firstBlock: UInt64 in [0, 5] {
            let key = Self.random(32), nonce = Self.random(12)
            let expected = try #require(
                Self.libsodiumKeystream(ietf: true, key: key, nonce: nonce, firstBlock: firstBlock, count: 1000))
            let cipher = try StreamCipher(
                method: .chacha20IETF, key: key, iv: nonce, encrypting: true, firstBlock: firstBlock)
            #expect(try cipher.update([UInt8](repeating: 0, count: 1000)) == expected)
        }
    }

    /// `openssl enc -P -md md5 -nosalt` prints EVP_BytesToKey's key and IV: the IV is the bytes that follow the key.
    @Test(
        .enabled(if: ExternalTool.hasOpenSSLCLI, "needs the openssl command"), arguments: ["aes-128-cfb", "aes-256-cfb"])
    func bytesToKeyMatchesOpenSSL(cipher: String) throws {
        let password = "pass word \(Int.random(in: 0..<1_000_000))"
        let output = try #require(
            ExternalTool.run(["openssl", "enc", "-\(cipher)", "-md", "md5", "-nosalt", "-P", "-k", password]))
        let lines = String(decoding: output, as: UTF8.self).split(separator: "\n")
        func field(_ name: String) -> [UInt8] {
            let line = lines.first { $0.hasPrefix(name) }.map { String($0.drop { $0 != "=" }.dropFirst()) } ?? ""
            return hex(line.trimmingCharacters(in: " ").lowercased())
        }
        let key = field("key"), iv = field("iv")
        #expect(!key.isEmpty && iv.count == 16)
        #expect(KeyDerivation.bytesToKey(password: Array(password.utf8), keyLength: key.count + 16) == key + iv)
    }
}

extension String {
    fileprivate func trimmingCharacters(in character: Character) -> String {
        String(drop { $0 == character }.reversed().drop { $0 == character }.reversed())
    }
}
