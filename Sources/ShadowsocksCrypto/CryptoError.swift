/// A failure inside the crypto layer. The kind is extensible without breaking callers' switches.
public struct CryptoError: Error, Hashable, Sendable, CustomStringConvertible {
    public struct Kind: Hashable, Sendable {
        let raw: String
        public static let authenticationFailed = Kind(raw: "authentication failed (wrong key or tampered data)")
        public static let openSSL = Kind(raw: "OpenSSL call failed")
        public static let badKeyLength = Kind(raw: "key has the wrong length")
        public static let randomUnavailable = Kind(raw: "no random bytes available")
        /// An AEAD operation asked of a stream method, or the other way round.
        public static let wrongKind = Kind(raw: "method is of the other kind (AEAD vs stream cipher)")
        /// The method needs something this OpenSSL lacks (rc4-md5 without the legacy provider).
        public static let unsupportedMethod = Kind(raw: "unsupported method")
    }

    public let kind: Kind
    public let detail: String

    public init(_ kind: Kind, _ detail: String = "") {
        self.kind = kind
        self.detail = detail
    }

    public var description: String { detail.isEmpty ? kind.raw : "\(kind.raw): \(detail)" }
}
