import CLibCrypto

/// HMAC-SHA1 (RFC 2104) on one reusable digest context and SHA-1 fetched once per process: 450 ns a MAC, where
/// a reused EVP_MAC context took 720 ns and the one-shot HMAC() 2,060 ns (it fetches HMAC and SHA-1 per call).
/// HKDF-SHA1 for a subkey needs three of these: per UDP packet, two sessions per TCP connection. Not thread-safe.
public final class HMACSHA1 {
    public static let outputSize = 20
    /// SHA-1's block size: the key is padded (or first hashed) to this many bytes.
    private static let blockSize = 64
    /// Fetched once; a fetched algorithm is immutable and may be shared by threads (OpenSSL 3 crypto(7)).
    private nonisolated(unsafe) static let sha1: OpaquePointer? = EVP_MD_fetch(nil, "SHA1", nil)
    private let context: OpaquePointer
    private var pad = [UInt8](repeating: 0, count: 64)
    private var inner = [UInt8](repeating: 0, count: 20)

    public init() throws {
        guard Self.sha1 != nil else { throw CryptoError(.openSSL, "EVP_MD_fetch(SHA1)") }
        guard let context = EVP_MD_CTX_new() else { throw CryptoError(.openSSL, "EVP_MD_CTX_new") }
        self.context = context
    }

    deinit {
        EVP_MD_CTX_free(context)
    }

    /// HMAC(key, parts[0] || parts[1] || ...), written to `output` (20 bytes).
    public func authenticate(
        key: UnsafeRawBufferPointer, _ parts: [UnsafeRawBufferPointer], into output: UnsafeMutableRawBufferPointer
    ) throws {
        precondition(output.count >= Self.outputSize)
        for index in pad.indices { pad[index] = 0 }
        if key.count > Self.blockSize {
            // RFC 2104 section 2: a key longer than the block is hashed first.
            try start()
            try update(key)
            try pad.withUnsafeMutableBytes { try finish(into: $0) }
        } else if key.count > 0 {
            pad.withUnsafeMutableBytes { $0.copyMemory(from: key) }
        }
        for index in pad.indices { pad[index] ^= 0x36 }
        try start()
        try pad.withUnsafeBytes { try update($0) }
        for part in parts { try update(part) }
        try inner.withUnsafeMutableBytes { try finish(into: $0) }
        for index in pad.indices { pad[index] ^= 0x36 ^ 0x5C }
        try start()
        try pad.withUnsafeBytes { try update($0) }
        try inner.withUnsafeBytes { try update($0) }
        try finish(into: output)
    }

    private func start() throws {
        guard EVP_DigestInit_ex2(context, Self.sha1, nil) == 1 else { throw CryptoError(.openSSL, "EVP_DigestInit_ex2") }
    }

    private func update(_ bytes: UnsafeRawBufferPointer) throws {
        guard bytes.count > 0 else { return }
        guard EVP_DigestUpdate(context, bytes.baseAddress, bytes.count) == 1 else {
            throw CryptoError(.openSSL, "EVP_DigestUpdate")
        }
    }

    private func finish(into output: UnsafeMutableRawBufferPointer) throws {
        var size: UInt32 = 0
        guard EVP_DigestFinal_ex(context, output.baseAddress!.assumingMemoryBound(to: UInt8.self), &size) == 1,
            size == Self.outputSize
        else { throw CryptoError(.openSSL, "EVP_DigestFinal_ex") }
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
