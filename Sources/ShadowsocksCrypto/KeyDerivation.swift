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
        try hkdfSHA1(key: masterKey, salt: salt, info: subkeyInfo, length: masterKey.count)
    }

    private static let subkeyInfo = Array("ss-subkey".utf8)

    /// RFC 5869: PRK = HMAC(salt, IKM); T(i) = HMAC(PRK, T(i-1) || info || i); OKM = T(1) || T(2) || ...
    public static func hkdfSHA1(key: [UInt8], salt: [UInt8], info: [UInt8], length: Int) throws -> [UInt8] {
        let hmac = try SessionKeying.current().hmac()
        return try [UInt8](unsafeUninitializedCapacity: length) { output, initialized in
            try key.withUnsafeBytes { key in
                try salt.withUnsafeBytes { salt in
                    try info.withUnsafeBytes { info in
                        try hkdfSHA1(hmac: hmac, key: key, salt: salt, info: info, into: UnsafeMutableRawBufferPointer(output))
                    }
                }
            }
            initialized = length
        }
    }

    /// HKDF-SHA1 written straight into `output` (its size is L), with PRK and T(i) on the stack: no allocation
    /// for the two subkeys of every TCP connection (UDP packets derive theirs with `SubkeyDeriver`).
    private static func hkdfSHA1(
        hmac: HMACSHA1, key: UnsafeRawBufferPointer, salt: UnsafeRawBufferPointer, info: UnsafeRawBufferPointer,
        into output: UnsafeMutableRawBufferPointer
    ) throws {
        let size = HMACSHA1.outputSize
        // RFC 5869 section 2.3: L <= 255 * HashLen.
        precondition(output.count <= 255 * size, "HKDF-SHA1 output of \(output.count) bytes")
        try withUnsafeTemporaryAllocation(byteCount: 2 * size, alignment: 8) { scratch in
            let prk = UnsafeMutableRawBufferPointer(rebasing: scratch[0..<size])
            let block = UnsafeMutableRawBufferPointer(rebasing: scratch[size...])
            try hmac.authenticate(key: salt, key, into: prk)
            var written = 0
            var previous = 0
            var counter: UInt8 = 1
            while written < output.count {
                try withUnsafeBytes(of: counter) { counter in
                    // T(i-1) is read before T(i) is written over it (the MAC's output comes last).
                    try hmac.authenticate(
                        key: UnsafeRawBufferPointer(prk), UnsafeRawBufferPointer(rebasing: block[0..<previous]), info,
                        counter, into: block)
                }
                let count = min(size, output.count - written)
                UnsafeMutableRawBufferPointer(rebasing: output[written..<written + count])
                    .copyMemory(from: UnsafeRawBufferPointer(rebasing: block[0..<count]))
                written += count
                previous = size
                counter &+= 1
            }
        }
    }

    static func hmacSHA1(key: [UInt8], message: [UInt8]) throws -> [UInt8] {
        var digest = [UInt8](repeating: 0, count: HMACSHA1.outputSize)
        let hmac = try SessionKeying.current().hmac()
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
