/// BLAKE3 (https://github.com/BLAKE3-team/BLAKE3-specs): the plain hash and the derive_key mode, which SIP022
/// uses for session subkeys. Neither OpenSSL 3 nor a Debian -dev package provides it.
public enum BLAKE3 {
    /// The default hash of `input`, `outputCount` bytes of extendable output.
    public static func hash(_ input: [UInt8], outputCount: Int = 32) -> [UInt8] {
        var hasher = BLAKE3Hasher(key: BLAKE3Compression.iv, flags: [])
        hasher.update(input[...])
        return hasher.finalize(count: outputCount)
    }

    /// derive_key(context, material): the context string hashed into a key, which then keys the material.
    public static func deriveKey(context: String, material: [UInt8], outputCount: Int = 32) -> [UInt8] {
        KeyDerivationContext(context).deriveKey(material: material, outputCount: outputCount)
    }

    /// A derive_key context whose context key is computed once (it is a constant per application).
    public struct KeyDerivationContext: Sendable {
        private let contextKey: [UInt32]

        public init(_ context: String) {
            var hasher = BLAKE3Hasher(key: BLAKE3Compression.iv, flags: .deriveKeyContext)
            hasher.update(Array(context.utf8)[...])
            let bytes = hasher.finalize(count: 32)
            contextKey = Array(BLAKE3Compression.words(bytes[...]).prefix(8))
        }

        public func deriveKey(material: [UInt8], outputCount: Int = 32) -> [UInt8] {
            var hasher = BLAKE3Hasher(key: contextKey, flags: .deriveKeyMaterial)
            hasher.update(material[...])
            return hasher.finalize(count: outputCount)
        }
    }
}
