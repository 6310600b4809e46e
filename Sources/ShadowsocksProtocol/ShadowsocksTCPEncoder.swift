import NIOCore
import ShadowsocksCrypto

/// The sending half of a Shadowsocks TCP stream for any method: the relay code uses this and never cares
/// which framing (SIP004 AEAD chunks, a stream cipher's IV + keystream, or SIP022 header and chunks) the method
/// implies. `ShadowsocksTCP.makeClientCodecs`/`makeServerCodecs` build the halves of one connection together.
public struct ShadowsocksTCPEncoder {
    private enum Framing {
        case aead(AEADChunkEncoder)
        case stream(StreamCipherEncoder)
        case aead2022(SIP022StreamEncoder)
    }

    private var framing: Framing
    /// SIP004 and stream ciphers: the target address the first plaintext goes behind (a client's request).
    private var pendingTarget: SocksAddress?

    private init(framing: Framing, pendingTarget: SocksAddress? = nil) {
        self.framing = framing
        self.pendingTarget = pendingTarget
    }

    /// A new SIP004 or stream-cipher session with a fresh random salt/IV; the caller writes any target address
    /// itself. A 2022 method throws `CryptoError(.wrongKind)`: its streams need the role, so use `ShadowsocksTCP`.
    public init(key: MasterKey) throws {
        self.init(framing: try Self.legacyFraming(key))
    }

    /// A client's request stream to `target`, for any method: the address goes in front of the first plaintext
    /// (SIP004), or into the request header (SIP022).
    init(key: MasterKey, target: SocksAddress) throws {
        switch key.method.kind {
        case .aead, .stream:
            self.init(framing: try Self.legacyFraming(key), pendingTarget: target)
        case .aead2022:
            self.init(framing: .aead2022(try SIP022StreamEncoder(key: key, header: .request(target))))
        }
    }

    /// A server's response stream: SIP022 names the request salt that `link` receives from the request decoder.
    init(key: MasterKey, respondingThrough link: SIP022RequestSaltLink) throws {
        switch key.method.kind {
        case .aead, .stream: self.init(framing: try Self.legacyFraming(key))
        case .aead2022: self.init(framing: .aead2022(try SIP022StreamEncoder(key: key, header: .response(link))))
        }
    }

    private static func legacyFraming(_ key: MasterKey) throws -> Framing {
        switch key.method.kind {
        case .aead: .aead(try AEADChunkEncoder(key: key))
        case .stream: .stream(try StreamCipherEncoder(key: key))
        case .aead2022:
            throw CryptoError(
                .wrongKind, "\(key.method.name) streams carry a request or response header: use ShadowsocksTCP")
        }
    }

    /// The SIP022 request salt a response must name; nil for other methods.
    var sip022Salt: [UInt8]? {
        if case .aead2022(let encoder) = framing { return encoder.streamSalt }
        return nil
    }

    /// Upper bound of the bytes `encode` appends for `count` plaintext bytes.
    public func encodedSizeBound(_ count: Int) -> Int {
        let count = count + (pendingTarget?.encodedLength ?? 0)
        return switch framing {
        case .aead(let encoder): encoder.encodedSizeBound(count)
        case .stream(let encoder): encoder.encodedSizeBound(count)
        case .aead2022(let encoder): encoder.encodedSizeBound(count)
        }
    }

    /// Consumes every readable byte of `plaintext`, appending ciphertext (the salt/IV or header first time) to
    /// `output`.
    public mutating func encode(_ plaintext: inout ByteBuffer, into output: inout ByteBuffer) throws {
        if let target = pendingTarget {
            pendingTarget = nil
            var first = ByteBuffer()
            first.reserveCapacity(target.encodedLength + plaintext.readableBytes)
            first.writeSocksAddress(target)
            first.writeBuffer(&plaintext)
            try encode(&first, into: &output)
            return
        }
        switch framing {
        case .aead(var encoder):
            try encoder.encode(&plaintext, into: &output)
            framing = .aead(encoder)
        case .stream(var encoder):
            try encoder.encode(&plaintext, into: &output)
            framing = .stream(encoder)
        case .aead2022(var encoder):
            try encoder.encode(&plaintext, into: &output)
            framing = .aead2022(encoder)
        }
    }
}
