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
    /// The padded key (64 bytes) and the inner digest (20), allocated once.
    private let scratch = UnsafeMutableRawBufferPointer.allocate(byteCount: 64 + 20, alignment: 8)

    public init() throws {
        guard Self.sha1 != nil else {
            scratch.deallocate()
            throw CryptoError(.openSSL, "EVP_MD_fetch(SHA1)")
        }
        guard let context = EVP_MD_CTX_new() else {
            scratch.deallocate()
            throw CryptoError(.openSSL, "EVP_MD_CTX_new")
        }
        self.context = context
    }

    deinit {
        EVP_MD_CTX_free(context)
        scratch.deallocate()
    }

    /// HMAC(key, parts[0] || parts[1] || ...), written to `output` (20 bytes).
    public func authenticate(
        key: UnsafeRawBufferPointer, _ parts: [UnsafeRawBufferPointer], into output: UnsafeMutableRawBufferPointer
    ) throws {
        try authenticate(key: key, parts.count > 0 ? parts[0] : .init(start: nil, count: 0), into: output) {
            for part in parts.dropFirst() { try update(part) }
        }
    }

    /// HMAC(key, first || second || third), written to `output` (20 bytes); no allocation.
    public func authenticate(
        key: UnsafeRawBufferPointer, _ first: UnsafeRawBufferPointer,
        _ second: UnsafeRawBufferPointer = .init(start: nil, count: 0),
        _ third: UnsafeRawBufferPointer = .init(start: nil, count: 0), into output: UnsafeMutableRawBufferPointer
    ) throws {
        try authenticate(key: key, first, into: output) {
            try update(second)
            try update(third)
        }
    }

    private func authenticate(
        key: UnsafeRawBufferPointer, _ first: UnsafeRawBufferPointer, into output: UnsafeMutableRawBufferPointer,
        rest: () throws -> Void
    ) throws {
        precondition(output.count >= Self.outputSize)
        let pad = UnsafeMutableRawBufferPointer(rebasing: scratch[0..<Self.blockSize])
        let inner = UnsafeMutableRawBufferPointer(rebasing: scratch[Self.blockSize...])
        pad.initializeMemory(as: UInt8.self, repeating: 0)
        if key.count > Self.blockSize {
            // RFC 2104 section 2: a key longer than the block is hashed first.
            try start()
            try update(key)
            try finish(into: pad)
        } else if key.count > 0 {
            pad.copyMemory(from: key)
        }
        let words = pad.bindMemory(to: UInt64.self)
        defer { pad.bindMemory(to: UInt8.self) }
        for index in words.indices { words[index] ^= 0x3636_3636_3636_3636 }
        try start()
        try update(UnsafeRawBufferPointer(pad))
        try update(first)
        try rest()
        try finish(into: inner)
        for index in words.indices { words[index] ^= 0x3636_3636_3636_3636 ^ 0x5C5C_5C5C_5C5C_5C5C }
        try start()
        try update(UnsafeRawBufferPointer(pad))
        try update(UnsafeRawBufferPointer(inner))
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
