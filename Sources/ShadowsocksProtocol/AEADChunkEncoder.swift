import NIOCore
import ShadowsocksCrypto

/// Encrypts a plaintext stream into SIP004 AEAD chunks. The first call emits the salt first.
public struct AEADChunkEncoder {
    private let cipher: AEADCipher
    private var pendingSalt: [UInt8]?
    private let tagSize: Int

    /// A new session with a random salt.
    public init(key: MasterKey) throws {
        let (salt, cipher) = try key.makeAEADSealer()
        self.init(salt: salt, cipher: cipher)
    }

    /// A session with a chosen salt (known-answer tests).
    public init(key: MasterKey, salt: [UInt8]) throws {
        self.init(salt: salt, cipher: try key.makeAEADCipher(salt: salt, sealing: true))
    }

    private init(salt: [UInt8], cipher: AEADCipher) {
        self.pendingSalt = salt
        self.cipher = cipher
        self.tagSize = cipher.method.tagSize
    }

    /// Upper bound of the bytes `encode` appends for `count` plaintext bytes.
    public func encodedSizeBound(_ count: Int) -> Int {
        let chunks = max(1, (count + AEADFraming.maximumPayload - 1) / AEADFraming.maximumPayload)
        return (pendingSalt?.count ?? 0) + count + chunks * (AEADFraming.lengthFieldSize + 2 * tagSize)
    }

    /// Consumes every readable byte of `plaintext` and appends the salt (first time) and the chunks to `output`.
    /// An empty `plaintext` appends only a pending salt.
    public mutating func encode(_ plaintext: inout ByteBuffer, into output: inout ByteBuffer) throws {
        output.reserveCapacity(minimumWritableBytes: encodedSizeBound(plaintext.readableBytes))
        if let salt = pendingSalt {
            output.writeBytes(salt)
            pendingSalt = nil
        }
        while plaintext.readableBytes > 0 {
            let length = min(plaintext.readableBytes, AEADFraming.maximumPayload)
            try sealLength(length, into: &output)
            try plaintext.withUnsafeReadableBytes { readable in
                let chunk = UnsafeRawBufferPointer(rebasing: readable.prefix(length))
                _ = try output.writeWithUnsafeMutableBytes(minimumWritableBytes: length + tagSize) { out in
                    try cipher.seal(chunk, into: out)
                    return length + tagSize
                }
            }
            plaintext.moveReaderIndex(forwardBy: length)
        }
    }

    private func sealLength(_ length: Int, into output: inout ByteBuffer) throws {
        var field = UInt16(length).bigEndian
        try withUnsafeBytes(of: &field) { bytes in
            _ = try output.writeWithUnsafeMutableBytes(minimumWritableBytes: 2 + tagSize) { out in
                try cipher.seal(bytes, into: out)
                return 2 + tagSize
            }
        }
    }
}
