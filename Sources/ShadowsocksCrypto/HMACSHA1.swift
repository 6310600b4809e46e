import CLibCrypto

/// HMAC-SHA1 over one reusable OpenSSL EVP_MAC context: re-keyed per call, no fetch or allocation per MAC.
/// HKDF-SHA1 for a UDP packet's subkey needs three of these, per packet. Not thread-safe.
public final class HMACSHA1 {
    public static let outputSize = 20
    private let mac: OpaquePointer
    private let context: OpaquePointer
    private var digestSet = false

    public init() throws {
        guard let mac = EVP_MAC_fetch(nil, "HMAC", nil) else { throw CryptoError(.openSSL, "EVP_MAC_fetch(HMAC)") }
        guard let context = EVP_MAC_CTX_new(mac) else {
            EVP_MAC_free(mac)
            throw CryptoError(.openSSL, "EVP_MAC_CTX_new")
        }
        self.mac = mac
        self.context = context
    }

    deinit {
        EVP_MAC_CTX_free(context)
        EVP_MAC_free(mac)
    }

    /// HMAC(key, parts[0] || parts[1] || ...), written to `output` (20 bytes).
    public func authenticate(
        key: UnsafeRawBufferPointer, _ parts: [UnsafeRawBufferPointer], into output: UnsafeMutableRawBufferPointer
    ) throws {
        precondition(output.count >= Self.outputSize)
        let keyPointer = key.baseAddress?.assumingMemoryBound(to: UInt8.self)
        let status: Int32
        if digestSet {
            status = EVP_MAC_init(context, keyPointer, key.count, nil)
        } else {
            // The parameter strings must outlive the call that reads them, so init happens inside their scope.
            status = "digest".withCString { name in
                "SHA1".withCString { value in
                    var params = [
                        OSSL_PARAM_construct_utf8_string(name, UnsafeMutablePointer(mutating: value), 0),
                        OSSL_PARAM_construct_end(),
                    ]
                    return EVP_MAC_init(context, keyPointer, key.count, &params)
                }
            }
            digestSet = status == 1
        }
        guard status == 1 else { throw CryptoError(.openSSL, "EVP_MAC_init") }
        for part in parts where part.count > 0 {
            guard EVP_MAC_update(context, part.baseAddress!.assumingMemoryBound(to: UInt8.self), part.count) == 1 else {
                throw CryptoError(.openSSL, "EVP_MAC_update")
            }
        }
        var written = 0
        guard EVP_MAC_final(context, output.baseAddress!.assumingMemoryBound(to: UInt8.self), &written, output.count) == 1,
            written == Self.outputSize
        else { throw CryptoError(.openSSL, "EVP_MAC_final") }
    }
}

/// RFC 5869 HKDF-SHA1 with info "ss-subkey", the Shadowsocks session subkey, on a reused HMAC context.
public final class SubkeyDeriver {
    private let hmac: HMACSHA1
    private let masterKey: [UInt8]
    private static let info = Array("ss-subkey".utf8)

    public init(masterKey: [UInt8]) throws {
        self.hmac = try HMACSHA1()
        self.masterKey = masterKey
    }

    public func subkey(salt: UnsafeRawBufferPointer) throws -> [UInt8] {
        var prk = [UInt8](repeating: 0, count: HMACSHA1.outputSize)
        try masterKey.withUnsafeBytes { ikm in
            try prk.withUnsafeMutableBytes { try hmac.authenticate(key: salt, [ikm], into: $0) }
        }
        var output: [UInt8] = []
        output.reserveCapacity(masterKey.count + HMACSHA1.outputSize)
        var block = [UInt8](repeating: 0, count: HMACSHA1.outputSize)
        var counter: UInt8 = 1
        while output.count < masterKey.count {
            let previous = counter == 1 ? [] : block
            try prk.withUnsafeBytes { prkBytes in
                try previous.withUnsafeBytes { p in
                    try Self.info.withUnsafeBytes { i in
                        try withUnsafeBytes(of: counter) { c in
                            try block.withUnsafeMutableBytes { try hmac.authenticate(key: prkBytes, [p, i, c], into: $0) }
                        }
                    }
                }
            }
            output += block
            counter += 1
        }
        output.removeLast(output.count - masterKey.count)
        return output
    }
}
