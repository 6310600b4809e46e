import CLibCrypto

/// RFC 5869 HKDF-SHA1 with info "ss-subkey", the Shadowsocks session subkey (SIP004), for one UDP packet at a
/// time: on SHA-1's block functions, with each HMAC key's inner and outer pad hashed once and the states copied,
/// so a 32-byte subkey is the ten SHA-1 compressions HKDF needs (it was twelve, behind EVP's dispatch: 3.3 times
/// the time). Preallocated scratch: no allocation per derivation. Not thread-safe.
public final class SubkeyDeriver {
    private static let info = Array("ss-subkey".utf8)
    /// SHA-1's block size: an HMAC key is padded (or first hashed) to this many bytes (RFC 2104 section 2).
    private static let blockSize = 64
    private static let digestSize = HMACSHA1.outputSize
    private let masterKey: [UInt8]
    private let blocks: Int
    /// The pads' states after their block (inner, outer) and a working state.
    private let states: UnsafeMutablePointer<SHA_CTX>
    /// The padded key (64 bytes), an inner digest (20), PRK (20), then T(1) T(2) ... (enough for the key).
    private let scratch: UnsafeMutableRawBufferPointer

    public init(masterKey: [UInt8]) throws {
        self.masterKey = masterKey
        self.blocks = (masterKey.count + Self.digestSize - 1) / Self.digestSize
        self.states = .allocate(capacity: 3)
        self.states.initialize(repeating: SHA_CTX(), count: 3)
        self.scratch = .allocate(byteCount: Self.blockSize + Self.digestSize * (2 + blocks), alignment: 8)
    }

    deinit {
        states.deallocate()
        scratch.deallocate()
    }

    public func subkey(salt: UnsafeRawBufferPointer) throws -> [UInt8] {
        try withSubkey(salt: salt) { Array($0) }
    }

    /// Derives the subkey for `salt` and lends it to `body` (the bytes are overwritten by the next derivation).
    public func withSubkey<Result>(
        salt: UnsafeRawBufferPointer, _ body: (UnsafeRawBufferPointer) throws -> Result
    ) throws -> Result {
        let size = Self.digestSize
        let inner = UnsafeMutableRawBufferPointer(rebasing: scratch[Self.blockSize..<Self.blockSize + size])
        let prkStart = Self.blockSize + size
        let prk = UnsafeMutableRawBufferPointer(rebasing: scratch[prkStart..<prkStart + size])
        // Extract: PRK = HMAC(salt, master key).
        try setKey(salt)
        try masterKey.withUnsafeBytes { ikm in
            try mac(ikm, .init(start: nil, count: 0), .init(start: nil, count: 0), inner: inner, into: prk)
        }
        // Expand: T(i) = HMAC(PRK, T(i-1) || info || i).
        try setKey(UnsafeRawBufferPointer(prk))
        try Self.info.withUnsafeBytes { info in
            for index in 0..<blocks {
                var counter = UInt8(index + 1)
                let start = prkStart + size * (index + 1)
                let block = UnsafeMutableRawBufferPointer(rebasing: scratch[start..<start + size])
                let previous = UnsafeRawBufferPointer(
                    rebasing: scratch[start - size..<start].prefix(index == 0 ? 0 : size))
                try withUnsafeBytes(of: &counter) { c in
                    try mac(previous, info, c, inner: inner, into: block)
                }
            }
        }
        let okmStart = prkStart + size
        return try body(UnsafeRawBufferPointer(rebasing: scratch[okmStart..<okmStart + masterKey.count]))
    }

    /// Hashes `key`'s inner and outer pad blocks into states 0 and 1 (RFC 2104: K XOR ipad, K XOR opad).
    private func setKey(_ key: UnsafeRawBufferPointer) throws {
        let pad = UnsafeMutableRawBufferPointer(rebasing: scratch[0..<Self.blockSize])
        pad.initializeMemory(as: UInt8.self, repeating: 0)
        if key.count > Self.blockSize {
            // RFC 2104 section 2: a key longer than the block is hashed first.
            try check(c_ss_sha1_init(states + 2))
            try check(c_ss_sha1_update(states + 2, key.baseAddress, key.count))
            try check(c_ss_sha1_final(pad.baseAddress!.assumingMemoryBound(to: UInt8.self), states + 2))
        } else if key.count > 0 {
            pad.copyMemory(from: key)
        }
        let words = pad.bindMemory(to: UInt64.self)
        defer { pad.bindMemory(to: UInt8.self) }
        for index in words.indices { words[index] ^= 0x3636_3636_3636_3636 }
        try check(c_ss_sha1_init(states))
        try check(c_ss_sha1_update(states, pad.baseAddress, Self.blockSize))
        for index in words.indices { words[index] ^= 0x3636_3636_3636_3636 ^ 0x5C5C_5C5C_5C5C_5C5C }
        try check(c_ss_sha1_init(states + 1))
        try check(c_ss_sha1_update(states + 1, pad.baseAddress, Self.blockSize))
    }

    /// HMAC(the key last set, first || second || third) into `output`, through `inner` (20 bytes of scratch).
    private func mac(
        _ first: UnsafeRawBufferPointer, _ second: UnsafeRawBufferPointer, _ third: UnsafeRawBufferPointer,
        inner: UnsafeMutableRawBufferPointer, into output: UnsafeMutableRawBufferPointer
    ) throws {
        let work = states + 2
        work.update(from: states, count: 1)
        if first.count > 0 { try check(c_ss_sha1_update(work, first.baseAddress, first.count)) }
        if second.count > 0 { try check(c_ss_sha1_update(work, second.baseAddress, second.count)) }
        if third.count > 0 { try check(c_ss_sha1_update(work, third.baseAddress, third.count)) }
        try check(c_ss_sha1_final(inner.baseAddress!.assumingMemoryBound(to: UInt8.self), work))
        work.update(from: states + 1, count: 1)
        try check(c_ss_sha1_update(work, inner.baseAddress, Self.digestSize))
        try check(c_ss_sha1_final(output.baseAddress!.assumingMemoryBound(to: UInt8.self), work))
    }

    private func check(_ status: Int32) throws {
        guard status == 1 else { throw CryptoError(.openSSL, "SHA1") }
    }
}
