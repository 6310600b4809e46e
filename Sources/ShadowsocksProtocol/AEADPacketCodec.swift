import NIOCore
import ShadowsocksCrypto

/// SIP004 UDP packets: [salt][sealed(target address + payload) + tag], a fresh salt per packet and the nonce
/// at zero. One codec per direction owns a reused EVP context that is re-keyed for every packet.
public final class AEADPacketCodec: ShadowsocksUDPCodec {
    /// The largest datagram IPv4 can carry (65535 - 20 IP - 8 UDP).
    public static let maximumDatagram = ShadowsocksUDP.maximumDatagram

    private let key: MasterKey
    private let subkeys: SubkeyDeriver
    private let salts = SaltPool()
    private var sealer: AEADCipher?
    private var opener: AEADCipher?

    public init(key: MasterKey) throws {
        guard key.method.kind == .aead else {
            throw CryptoError(.wrongKind, "\(key.method.name) is a stream cipher, not an AEAD method")
        }
        self.key = key
        self.subkeys = try SubkeyDeriver(masterKey: key.bytes)
    }

    /// Bytes `seal` writes for a payload of `count` bytes to `target`.
    public func sealedSize(target: SocksAddress, payloadCount: Int) -> Int {
        key.method.saltSize + target.encodedLength + payloadCount + key.method.tagSize
    }

    /// Appends one encrypted packet carrying `payload` for `target` to `output`: address and payload are written
    /// once into `output`, between room for the salt and the tag, and sealed there in place (no plaintext copy).
    public func seal(target: SocksAddress, payload: ByteBuffer, into output: inout ByteBuffer) throws {
        let saltSize = key.method.saltSize
        output.reserveCapacity(minimumWritableBytes: sealedSize(target: target, payloadCount: payload.readableBytes))
        let start = output.writerIndex - output.readerIndex
        output.writeRepeatingByte(0, count: saltSize)
        output.writeSocksAddress(target)
        output.writeImmutableBuffer(payload)
        let plaintextCount = output.writerIndex - output.readerIndex - start - saltSize
        output.writeRepeatingByte(0, count: key.method.tagSize)
        try output.withUnsafeMutableReadableBytes { readable in
            try sealPrepared(UnsafeMutableRawBufferPointer(rebasing: readable[start...]), plaintextCount: plaintextCount)
        }
    }

    /// Seals one packet where its payload already lies, for a relay that received into `packet` at
    /// `payloadOffset`: the salt and `address` (a target in SOCKS5 form, `SocksAddress.encoded`) are written just
    /// before the payload, address and payload sealed in place and the tag written after. Needs
    /// `saltSize + address.count` bytes of room before the payload and `tagSize` after. Returns the packet's range.
    public func sealInPlace(
        address: UnsafeRawBufferPointer, packet: UnsafeMutableRawBufferPointer, payloadOffset: Int, payloadCount: Int
    ) throws -> Range<Int> {
        let plaintextStart = payloadOffset - address.count
        let start = plaintextStart - key.method.saltSize
        let end = payloadOffset + payloadCount + key.method.tagSize
        precondition(start >= 0 && payloadCount >= 0 && end <= packet.count, "no room around the payload")
        UnsafeMutableRawBufferPointer(rebasing: packet[plaintextStart..<payloadOffset]).copyMemory(from: address)
        try sealPrepared(
            UnsafeMutableRawBufferPointer(rebasing: packet[start..<end]), plaintextCount: address.count + payloadCount)
        return start..<end
    }

    /// `packet` is [salt room][plaintext][tag room]: fills the salt, keys the sealer from it and seals the
    /// plaintext in place, the tag behind it. AES-GCM and ChaCha20-Poly1305 allow the output to be the input
    /// (EVP_EncryptUpdate(3)).
    private func sealPrepared(_ packet: UnsafeMutableRawBufferPointer, plaintextCount: Int) throws {
        let saltSize = key.method.saltSize
        let salt = UnsafeMutableRawBufferPointer(rebasing: packet[0..<saltSize])
        try salts.fill(salt)
        let sealer = try cipher(\.sealer, salt: UnsafeRawBufferPointer(salt), sealing: true)
        let sealed = UnsafeMutableRawBufferPointer(
            rebasing: packet[saltSize..<saltSize + plaintextCount + key.method.tagSize])
        try sealer.seal(UnsafeRawBufferPointer(rebasing: sealed.prefix(plaintextCount)), into: sealed)
    }

    /// Bytes `sealInPlace` needs before the payload for a target of `addressCount` encoded bytes.
    public func headroom(addressCount: Int) -> Int { key.method.saltSize + addressCount }

    /// Bytes `sealInPlace` needs after the payload.
    public var tailroom: Int { key.method.tagSize }

    /// Decrypts and checks one packet; returns the address it carries and the payload. Nothing is returned
    /// unless the tag verified.
    public func open(_ packet: ByteBuffer) throws -> (address: SocksAddress, payload: ByteBuffer) {
        let saltSize = key.method.saltSize
        let tagSize = key.method.tagSize
        guard packet.readableBytes >= saltSize + tagSize + 1 else {
            throw ShadowsocksProtocolError(.truncated)
        }
        let opener = try packet.withUnsafeReadableBytes { readable in
            try cipher(\.opener, salt: UnsafeRawBufferPointer(rebasing: readable.prefix(saltSize)), sealing: false)
        }
        let sealedCount = packet.readableBytes - saltSize
        var plaintext = ByteBuffer()
        do {
            try packet.withUnsafeReadableBytes { readable in
                let sealed = UnsafeRawBufferPointer(rebasing: readable[saltSize...])
                _ = try plaintext.writeWithUnsafeMutableBytes(minimumWritableBytes: sealedCount - tagSize) { out in
                    try opener.open(sealed, into: out)
                    return sealedCount - tagSize
                }
            }
        } catch {
            throw ShadowsocksProtocolError(.authenticationFailed)
        }
        guard let address = try plaintext.readSocksAddress() else { throw ShadowsocksProtocolError(.truncated) }
        return (address, plaintext)
    }

    private func cipher(
        _ slot: ReferenceWritableKeyPath<AEADPacketCodec, AEADCipher?>, salt: UnsafeRawBufferPointer, sealing: Bool
    ) throws -> AEADCipher {
        if let cipher = self[keyPath: slot] {
            try subkeys.withSubkey(salt: salt) { try cipher.rekey(subkey: $0) }
            return cipher
        }
        let cipher = try AEADCipher(method: key.method, subkey: subkeys.subkey(salt: salt), sealing: sealing)
        self[keyPath: slot] = cipher
        return cipher
    }
}
