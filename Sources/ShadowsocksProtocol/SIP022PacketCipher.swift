import NIOCore
import ShadowsocksCrypto

/// The two SIP022 UDP packet constructions, without the roles:
/// - AES methods (section 3.2.1): AES-ECB(PSK)(session id || packet id) || AEAD(subkey(PSK || session id),
///   nonce = separate header bytes 4..<16)(body);
/// - 2022-blake3-chacha20-poly1305 (section 4.1): 24-byte random nonce || XChaCha20-Poly1305(PSK)(session id ||
///   packet id || body).
/// With SIP023 identity keys (a multi-user client), sealed packets carry the separate header encrypted with iPSK0
/// and one identity header per iPSK after it; replies have none and are opened with the user PSK.
/// Session AEADs are cached per session id (bounded). Not thread-safe: one per relay owner.
final class SIP022PacketCipher {
    struct Opened {
        var sessionID: UInt64
        var packetID: UInt64
        var body: ByteBuffer
    }

    /// 16 bytes: session id (8) and packet id (u64be).
    static let separateHeaderSize = 16
    /// Session AEAD contexts kept per direction before the cache is emptied.
    static let cachedSessions = 256

    private enum Construction {
        case aes(headerEncrypter: AESBlockCipher, headerDecrypter: AESBlockCipher)
        case xchacha(XChaCha20Poly1305)
    }

    let key: MasterKey
    private let construction: Construction
    private let identityLayers: [(encrypter: AESBlockCipher, namedHash: [UInt8])]
    private var sealers: [UInt64: AEADCipher] = [:]
    private var openers: [UInt64: AEADCipher] = [:]

    init(key: MasterKey) throws {
        guard key.method.kind == .aead2022 else {
            throw CryptoError(.wrongKind, "\(key.method.name) is not a Shadowsocks 2022 method")
        }
        self.key = key
        switch key.method {
        case .blake3ChaCha20Poly1305:
            construction = .xchacha(try XChaCha20Poly1305(key: key.bytes))
        default:
            construction = .aes(
                headerEncrypter: try AESBlockCipher(key: key.identityKeys.first ?? key.bytes, encrypting: true),
                headerDecrypter: try AESBlockCipher(key: key.bytes, encrypting: false))
        }
        identityLayers = try key.sip023PacketIdentityLayers()
    }

    /// The bytes a received packet adds to its body.
    var overhead: Int {
        switch construction {
        case .aes: Self.separateHeaderSize + key.method.tagSize
        case .xchacha: XChaCha20Poly1305.nonceSize + Self.separateHeaderSize + XChaCha20Poly1305.tagSize
        }
    }

    /// The bytes a sealed packet adds to its body (identity headers included).
    var sealOverhead: Int { overhead + key.identityHeadersSize }

    func seal(sessionID: UInt64, packetID: UInt64, body: [UInt8], into output: inout ByteBuffer) throws {
        var header = ByteBuffer()
        header.writeInteger(sessionID)
        header.writeInteger(packetID)
        let separate = Array(header.readableBytesView)
        switch construction {
        case .aes(let encrypter, _):
            let cipher = try sessionCipher(sessionID, sealing: true)
            output.writeBytes(try encrypter.process(separate))
            for layer in identityLayers {
                // SIP023 UDP: blake3(next key)[0..16] XOR the separate header, so each packet's block differs.
                output.writeBytes(try layer.encrypter.process(zip(layer.namedHash, separate).map { $0 ^ $1 }))
            }
            output.writeBytes(try cipher.seal(body, nonce: Array(separate[4...])))
        case .xchacha(let aead):
            let nonce = try SecureRandom.bytes(XChaCha20Poly1305.nonceSize)
            output.writeBytes(nonce)
            output.writeBytes(try aead.seal(nonce: nonce, separate + body))
        }
    }

    /// Decrypts and authenticates one packet; throws `.truncated` or `.authenticationFailed`.
    func open(_ packet: ByteBuffer) throws -> Opened {
        guard packet.readableBytes >= overhead else { throw ShadowsocksProtocolError(.truncated) }
        let bytes = Array(packet.readableBytesView)
        do {
            switch construction {
            case .aes(_, let decrypter):
                let header = try decrypter.process(Array(bytes[..<16]))
                var separate = ByteBuffer(bytes: header)
                let sessionID: UInt64 = separate.readInteger()!
                let packetID: UInt64 = separate.readInteger()!
                let cipher = try sessionCipher(sessionID, sealing: false)
                let body = try cipher.open(Array(bytes[16...]), nonce: Array(header[4...]))
                return Opened(sessionID: sessionID, packetID: packetID, body: ByteBuffer(bytes: body))
            case .xchacha(let aead):
                let nonce = Array(bytes[..<XChaCha20Poly1305.nonceSize])
                var plaintext = ByteBuffer(
                    bytes: try aead.open(nonce: nonce, Array(bytes[XChaCha20Poly1305.nonceSize...])))
                let sessionID: UInt64 = plaintext.readInteger()!
                let packetID: UInt64 = plaintext.readInteger()!
                return Opened(sessionID: sessionID, packetID: packetID, body: plaintext)
            }
        } catch {
            throw ShadowsocksProtocolError(.authenticationFailed)
        }
    }

    private func sessionCipher(_ sessionID: UInt64, sealing: Bool) throws -> AEADCipher {
        if let cached = sealing ? sealers[sessionID] : openers[sessionID] { return cached }
        let cipher = try key.makeSIP022SessionCipher(sessionID: sessionID, sealing: sealing)
        if sealing {
            if sealers.count >= Self.cachedSessions { sealers.removeAll(keepingCapacity: true) }
            sealers[sessionID] = cipher
        } else {
            if openers.count >= Self.cachedSessions { openers.removeAll(keepingCapacity: true) }
            openers[sessionID] = cipher
        }
        return cipher
    }
}
