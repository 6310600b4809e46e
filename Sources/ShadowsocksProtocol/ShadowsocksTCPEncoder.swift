import NIOCore
import ShadowsocksCrypto

/// The sending half of a Shadowsocks TCP stream for any method: the relay code uses this and never cares
/// which framing (SIP004 AEAD chunks, or a stream cipher's IV + keystream) the method implies.
public struct ShadowsocksTCPEncoder {
    private enum Framing {
        case aead(AEADChunkEncoder)
        case stream(StreamCipherEncoder)
    }

    private var framing: Framing

    /// A new session with a fresh random salt/IV.
    public init(key: MasterKey) throws {
        switch key.method.kind {
        case .aead: framing = .aead(try AEADChunkEncoder(key: key))
        case .stream: framing = .stream(try StreamCipherEncoder(key: key))
        }
    }

    /// Upper bound of the bytes `encode` appends for `count` plaintext bytes.
    public func encodedSizeBound(_ count: Int) -> Int {
        switch framing {
        case .aead(let encoder): encoder.encodedSizeBound(count)
        case .stream(let encoder): encoder.encodedSizeBound(count)
        }
    }

    /// Consumes every readable byte of `plaintext`, appending ciphertext (the salt/IV first time) to `output`.
    public mutating func encode(_ plaintext: inout ByteBuffer, into output: inout ByteBuffer) throws {
        switch framing {
        case .aead(var encoder):
            try encoder.encode(&plaintext, into: &output)
            framing = .aead(encoder)
        case .stream(var encoder):
            try encoder.encode(&plaintext, into: &output)
            framing = .stream(encoder)
        }
    }
}
