import NIOCore
import ShadowsocksCrypto

/// SIP004 UDP packets: [salt][sealed(target address + payload) + tag], a fresh salt per packet and the nonce
/// at zero. One codec per direction owns a reused EVP context that is re-keyed for every packet.
public final class AEADPacketCodec: ShadowsocksUDPCodec {
    /// The largest datagram IPv4 can carry (65535 - 20 IP - 8 UDP).
    public static let maximumDatagram = ShadowsocksUDP.maximumDatagram

    private let key: MasterKey
    private let subkeys: SubkeyDeriver
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

    /// Appends one encrypted packet carrying `payload` for `target` to `output`.
    public func seal(target: SocksAddress, payload: ByteBuffer, into output: inout ByteBuffer) throws {
        let salt = try SecureRandom.bytes(key.method.saltSize)
        let cipher = try cipher(\.sealer, salt: salt, sealing: true)
        var plaintext = ByteBuffer()
        plaintext.reserveCapacity(target.encodedLength + payload.readableBytes)
        plaintext.writeSocksAddress(target)
        plaintext.writeImmutableBuffer(payload)
        output.writeBytes(salt)
        let sealedCount = plaintext.readableBytes + key.method.tagSize
        try plaintext.withUnsafeReadableBytes { readable in
            _ = try output.writeWithUnsafeMutableBytes(minimumWritableBytes: sealedCount) { out in
                try cipher.seal(readable, into: out)
                return sealedCount
            }
        }
    }

    /// Decrypts and checks one packet; returns the address it carries and the payload. Nothing is returned
    /// unless the tag verified.
    public func open(_ packet: ByteBuffer) throws -> (address: SocksAddress, payload: ByteBuffer) {
        let saltSize = key.method.saltSize
        let tagSize = key.method.tagSize
        guard packet.readableBytes >= saltSize + tagSize + 1 else {
            throw ShadowsocksProtocolError(.truncated)
        }
        let salt = packet.getBytes(at: packet.readerIndex, length: saltSize)!
        let cipher = try cipher(\.opener, salt: salt, sealing: false)
        let sealedCount = packet.readableBytes - saltSize
        var plaintext = ByteBuffer()
        do {
            try packet.withUnsafeReadableBytes { readable in
                let sealed = UnsafeRawBufferPointer(rebasing: readable[saltSize...])
                _ = try plaintext.writeWithUnsafeMutableBytes(minimumWritableBytes: sealedCount - tagSize) { out in
                    try cipher.open(sealed, into: out)
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
        _ slot: ReferenceWritableKeyPath<AEADPacketCodec, AEADCipher?>, salt: [UInt8], sealing: Bool
    ) throws -> AEADCipher {
        let subkey = try salt.withUnsafeBytes { try subkeys.subkey(salt: $0) }
        if let cipher = self[keyPath: slot] {
            try cipher.rekey(subkey: subkey)
            return cipher
        }
        let cipher = try AEADCipher(method: key.method, subkey: subkey, sealing: sealing)
        self[keyPath: slot] = cipher
        return cipher
    }
}
