/// A failure inside the crypto layer. The kind is extensible without breaking callers' switches.
public struct CryptoError: Error, Hashable, Sendable, CustomStringConvertible {
    public struct Kind: Hashable, Sendable {
        let raw: String
        public static let authenticationFailed = Kind(raw: "authentication failed (wrong key or tampered data)")
        public static let openSSL = Kind(raw: "OpenSSL call failed")
        public static let badKeyLength = Kind(raw: "key has the wrong length")
        public static let randomUnavailable = Kind(raw: "no random bytes available")
    }

    public let kind: Kind
    public let detail: String

    public init(_ kind: Kind, _ detail: String = "") {
        self.kind = kind
        self.detail = detail
    }

    public var description: String { detail.isEmpty ? kind.raw : "\(kind.raw): \(detail)" }
}
