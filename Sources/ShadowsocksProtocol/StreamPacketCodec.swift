import NIOCore
import ShadowsocksCrypto

/// Legacy stream-cipher UDP packets (shadowsocks 2.8.2 / ss-libev): [IV][encrypt(target address + payload)],
/// a fresh IV per packet and the keystream restarted on it. Nothing authenticates a packet: a wrong key shows
/// only as an address that does not parse (a typed error), or by chance as a wrong address and payload.
/// One codec owns a reused EVP context per direction.
public final class StreamPacketCodec: ShadowsocksUDPCodec {
    private let key: MasterKey
    private var encrypter: StreamCipher?
    private var decrypter: StreamCipher?

    public init(key: MasterKey) throws {
        guard key.method.kind == .stream else {
            throw CryptoError(.wrongKind, "\(key.method.name) is an AEAD method, not a stream cipher")
        }
        self.key = key
    }

    public func sealedSize(target: SocksAddress, payloadCount: Int) -> Int {
        key.method.ivSize + target.encodedLength + payloadCount
    }

    public func seal(target: SocksAddress, payload: ByteBuffer, into output: inout ByteBuffer) throws {
        let iv = try SecureRandom.bytes(key.method.ivSize)
        let cipher = try cipher(\.encrypter, iv: iv, encrypting: true)
        var address = ByteBuffer()
        address.reserveCapacity(target.encodedLength)
        address.writeSocksAddress(target)
        output.reserveCapacity(minimumWritableBytes: sealedSize(target: target, payloadCount: payload.readableBytes))
        output.writeBytes(iv)
        for part in [address, payload] where part.readableBytes > 0 {
            try part.withUnsafeReadableBytes { readable in
                _ = try output.writeWithUnsafeMutableBytes(minimumWritableBytes: readable.count) { out in
                    try cipher.update(readable, into: out)
                    return readable.count
                }
            }
        }
    }

    /// Decrypts one packet; throws `.truncated` for a packet too short for the IV and an address, and the
    /// address codec's errors (`.unknownAddressType`, `.emptyDomain`) for one that does not decrypt to an address.
    public func open(_ packet: ByteBuffer) throws -> (address: SocksAddress, payload: ByteBuffer) {
        let ivSize = key.method.ivSize
        guard packet.readableBytes > ivSize else { throw ShadowsocksProtocolError(.truncated) }
        let iv = packet.getBytes(at: packet.readerIndex, length: ivSize)!
        let cipher = try cipher(\.decrypter, iv: iv, encrypting: false)
        let count = packet.readableBytes - ivSize
        var plaintext = ByteBuffer()
        try packet.withUnsafeReadableBytes { readable in
            _ = try plaintext.writeWithUnsafeMutableBytes(minimumWritableBytes: count) { out in
                try cipher.update(UnsafeRawBufferPointer(rebasing: readable[ivSize...]), into: out)
                return count
            }
        }
        guard let address = try plaintext.readSocksAddress() else { throw ShadowsocksProtocolError(.truncated) }
        return (address, plaintext)
    }

    private func cipher(
        _ slot: ReferenceWritableKeyPath<StreamPacketCodec, StreamCipher?>, iv: [UInt8], encrypting: Bool
    ) throws -> StreamCipher {
        if let cipher = self[keyPath: slot] {
            try cipher.restart(iv: iv)
            return cipher
        }
        let cipher = try key.makeStreamCipher(iv: iv, encrypting: encrypting)
        self[keyPath: slot] = cipher
        return cipher
    }
}
