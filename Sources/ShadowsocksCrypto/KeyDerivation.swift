import CLibCrypto

/// Key material derivation used by Shadowsocks (SIP004).
public enum KeyDerivation {
    /// OpenSSL's EVP_BytesToKey with MD5, one iteration, no salt: how ss-libev and shadowsocks 2.8.2
    /// turn a password into the master key. D_i = MD5(D_{i-1} || password), key = D_1 || D_2 || ...
    public static func bytesToKey(password: [UInt8], keyLength: Int) -> [UInt8] {
        var key: [UInt8] = []
        key.reserveCapacity(keyLength + 16)
        var previous: [UInt8] = []
        while key.count < keyLength {
            let input = previous + password
            previous = md5(input)
            key += previous
        }
        return Array(key.prefix(keyLength))
    }

    /// HKDF-SHA1 (RFC 5869) with info "ss-subkey": the per-session subkey from master key and salt.
    public static func sessionSubkey(masterKey: [UInt8], salt: [UInt8]) throws -> [UInt8] {
        try hkdfSHA1(key: masterKey, salt: salt, info: Array("ss-subkey".utf8), length: masterKey.count)
    }

    /// RFC 5869: PRK = HMAC(salt, IKM); T(i) = HMAC(PRK, T(i-1) || info || i); OKM = T(1) || T(2) || ...
    public static func hkdfSHA1(key: [UInt8], salt: [UInt8], info: [UInt8], length: Int) throws -> [UInt8] {
        let pseudoRandomKey = try hmacSHA1(key: salt, message: key)
        var output: [UInt8] = []
        var block: [UInt8] = []
        var counter: UInt8 = 1
        while output.count < length {
            block = try hmacSHA1(key: pseudoRandomKey, message: block + info + [counter])
            output += block
            counter += 1
        }
        return Array(output.prefix(length))
    }

    static func hmacSHA1(key: [UInt8], message: [UInt8]) throws -> [UInt8] {
        var digest = [UInt8](repeating: 0, count: HMACSHA1.outputSize)
        let hmac = try ThreadLocalHMAC.current()
        try key.withUnsafeBytes { k in
            try message.withUnsafeBytes { m in
                try digest.withUnsafeMutableBytes { try hmac.authenticate(key: k, [m], into: $0) }
            }
        }
        return digest
    }

    static func md5(_ input: [UInt8]) -> [UInt8] {
        var digest = [UInt8](repeating: 0, count: 16)
        var size: UInt32 = 0
        _ = input.withUnsafeBytes { i in
            digest.withUnsafeMutableBytes { d in
                EVP_Digest(i.baseAddress, i.count, d.baseAddress, &size, EVP_md5(), nil)
            }
        }
        return digest
    }
}
