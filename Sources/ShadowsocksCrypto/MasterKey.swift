/// The pre-shared master key of a server: from a password (EVP_BytesToKey) or a base64 `--key`.
/// `description` never shows the bytes, so it is safe in logs.
public struct MasterKey: Sendable, Hashable, CustomStringConvertible {
    public let method: CipherMethod
    public let bytes: [UInt8]

    public init(method: CipherMethod, password: String) {
        self.method = method
        self.bytes = KeyDerivation.bytesToKey(password: Array(password.utf8), keyLength: method.keySize)
    }

    public init(method: CipherMethod, rawKey: [UInt8]) throws {
        guard rawKey.count == method.keySize else {
            throw CryptoError(.badKeyLength, "\(method.name) needs a \(method.keySize)-byte key, got \(rawKey.count)")
        }
        self.method = method
        self.bytes = rawKey
    }

    public var description: String { "MasterKey(\(method.name), redacted)" }

    /// A fresh sealing direction: a random salt and the cipher keyed with its subkey.
    public func makeSealer() throws -> (salt: [UInt8], cipher: AEADCipher) {
        let salt = try SecureRandom.bytes(method.saltSize)
        return (salt, try makeCipher(salt: salt, sealing: true))
    }

    public func makeCipher(salt: [UInt8], sealing: Bool) throws -> AEADCipher {
        let subkey = try KeyDerivation.sessionSubkey(masterKey: bytes, salt: salt)
        return try AEADCipher(method: method, subkey: subkey, sealing: sealing)
    }
}
