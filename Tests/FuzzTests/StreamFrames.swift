import NIOCore
import ShadowsocksCrypto
import ShadowsocksProtocol

/// Builds hostile Shadowsocks TCP streams that still authenticate: the plaintext fields (lengths, header types,
/// timestamps, addresses, padding) are chosen by the fuzzer and then sealed with the right key, so the decoders'
/// post-decryption parsing sees the malformed values, not just a failed tag.
struct StreamFrames {
    let key: MasterKey
    var random: FuzzRandom

    /// A target address as it appears on the wire: mostly valid, often subtly not (unknown type, empty or
    /// non-UTF-8 domain, truncated).
    mutating func addressBytes() -> [UInt8] {
        switch random.below(8) {
        case 0: return [1] + random.bytes(6)
        case 1: return [4] + random.bytes(18)
        case 2:
            let name = (0..<(1 + random.below(40))).map { _ in UInt8(0x61 + random.below(26)) }
            return [3, UInt8(name.count)] + name + random.bytes(2)
        case 3:
            // A domain of arbitrary bytes, often invalid UTF-8 (each invalid byte would decode to 3 UTF-8 bytes).
            let length = 1 + random.below(255)
            return [3, UInt8(length)] + (0..<length).map { _ in 0x80 | random.byte() } + random.bytes(2)
        case 4: return [3, 0] + random.bytes(2)
        case 5: return [random.byte()] + random.bytes(random.below(20))
        case 6: return Array([1] + random.bytes(6)).prefix(random.below(7)).map { $0 }
        default: return [3, UInt8(random.below(256))] + random.bytes(random.below(300))
        }
    }

    mutating func lengthField(actual: Int) -> UInt16 {
        switch random.below(6) {
        case 0: return UInt16(truncatingIfNeeded: random.next())
        case 1: return [0, 0x3FFF, 0x4000, 0xFFFF][random.below(4)]
        case 2: return UInt16(truncatingIfNeeded: actual + random.below(3) - 1)
        default: return UInt16(truncatingIfNeeded: actual)
        }
    }

    /// SIP004: salt, then [sealed length][sealed payload] chunks whose length fields the fuzzer picks.
    mutating func sip004Stream() throws -> [UInt8] {
        let salt = random.bytes(key.method.saltSize)
        let cipher = try key.makeAEADCipher(salt: salt, sealing: true)
        var out = salt
        var first = addressBytes()
        first += random.bytes(random.below(64))
        for index in 0..<(1 + random.below(4)) {
            let payload = index == 0 ? first : random.bytes(random.below(200))
            let length = lengthField(actual: payload.count)
            out += try cipher.seal([UInt8(length >> 8), UInt8(length & 0xFF)])
            // A chunk that claims more than it carries is sealed as claimed when small enough, so the decoder sees
            // an authentic over-long payload; otherwise the real payload is sealed (its tag will then fail).
            if Int(length) != payload.count && Int(length) <= 0x3FFF && random.chance(1, in: 2) {
                out += try cipher.seal(Array((payload + random.bytes(Int(length))).prefix(Int(length))))
            } else {
                out += try cipher.seal(payload)
            }
        }
        return out
    }

    /// Legacy stream cipher: IV then the encrypted plaintext (address + payload); nothing authenticates it.
    mutating func streamCipherStream() throws -> [UInt8] {
        var encoder = try StreamCipherEncoder(key: key)
        var plaintext = ByteBuffer(bytes: addressBytes() + random.bytes(random.below(100)))
        var output = ByteBuffer()
        try encoder.encode(&plaintext, into: &output)
        return Array(output.readableBytesView)
    }

    /// SIP022 request: salt, sealed fixed header (type, timestamp, length), sealed variable header (address,
    /// padding length, padding, payload), then chunks — every field the fuzzer's choice.
    mutating func sip022Request(now: UInt64) throws -> [UInt8] {
        let salt = random.bytes(key.method.saltSize)
        let cipher = try key.makeSIP022Cipher(salt: salt, sealing: true)
        var variable = addressBytes()
        let paddingLength = random.chance(3, in: 4) ? random.below(40) : random.below(1200)
        let paddingField = random.chance(4, in: 5) ? UInt16(paddingLength) : UInt16(truncatingIfNeeded: random.next())
        variable += [UInt8(paddingField >> 8), UInt8(paddingField & 0xFF)] + [UInt8](repeating: 0, count: paddingLength)
        variable += random.bytes(random.below(3) == 0 ? 0 : random.below(100))
        var fixed: [UInt8] = [random.chance(9, in: 10) ? 0 : random.byte()]
        fixed += bigEndian(timestamp(now: now))
        let length = lengthField(actual: variable.count)
        fixed += [UInt8(length >> 8), UInt8(length & 0xFF)]
        var out = salt + (try cipher.seal(fixed))
        out += try cipher.seal(Int(length) < variable.count ? Array(variable.prefix(Int(length))) : variable)
        try appendChunks(cipher, into: &out)
        return out
    }

    /// SIP022 response to a request that used `requestSalt`: salt, sealed fixed header (type, timestamp, request
    /// salt, first length), sealed first payload, then chunks.
    mutating func sip022Response(requestSalt: [UInt8], now: UInt64) throws -> [UInt8] {
        let salt = random.bytes(key.method.saltSize)
        let cipher = try key.makeSIP022Cipher(salt: salt, sealing: true)
        let payload = random.bytes(random.below(120))
        var fixed: [UInt8] = [random.chance(9, in: 10) ? 1 : random.byte()]
        fixed += bigEndian(timestamp(now: now))
        fixed += random.chance(9, in: 10) ? requestSalt : random.bytes(requestSalt.count)
        let length = lengthField(actual: payload.count)
        fixed += [UInt8(length >> 8), UInt8(length & 0xFF)]
        var out = salt + (try cipher.seal(fixed))
        out += try cipher.seal(payload)
        try appendChunks(cipher, into: &out)
        return out
    }

    private mutating func appendChunks(_ cipher: AEADCipher, into out: inout [UInt8]) throws {
        for _ in 0..<random.below(3) {
            let payload = random.bytes(random.below(150))
            let length = lengthField(actual: payload.count)
            out += try cipher.seal([UInt8(length >> 8), UInt8(length & 0xFF)])
            out += try cipher.seal(payload)
        }
    }

    private mutating func timestamp(now: UInt64) -> UInt64 {
        switch random.below(8) {
        case 0: return now &+ 31 + UInt64(random.below(1000))
        case 1: return now &- 31 &- UInt64(random.below(1000))
        case 2: return random.next()
        default: return now &+ UInt64(random.below(61)) &- 30
        }
    }

    private func bigEndian(_ value: UInt64) -> [UInt8] { withUnsafeBytes(of: value.bigEndian, Array.init) }
}
