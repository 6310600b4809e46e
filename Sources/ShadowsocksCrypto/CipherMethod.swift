/// The Shadowsocks cipher catalogue: method names as users write them, and the sizes each one implies.
/// Sizes are from SIP004 (AEAD): salt length equals key length, nonce 12 bytes, tag 16 bytes.
public enum CipherMethod: String, CaseIterable, Sendable, Hashable {
    case aes128GCM = "aes-128-gcm"
    case aes192GCM = "aes-192-gcm"
    case aes256GCM = "aes-256-gcm"
    case chacha20IETFPoly1305 = "chacha20-ietf-poly1305"

    /// ss-libev's default since 3.x.
    public static let `default`: CipherMethod = .chacha20IETFPoly1305

    public var name: String { rawValue }

    public var keySize: Int {
        switch self {
        case .aes128GCM: 16
        case .aes192GCM: 24
        case .aes256GCM: 32
        case .chacha20IETFPoly1305: 32
        }
    }

    public var saltSize: Int { keySize }
    public var nonceSize: Int { 12 }
    public var tagSize: Int { 16 }

    /// Looks a method up by the name a user wrote (case-insensitive, as ss-libev).
    public init?(name: String) {
        self.init(rawValue: name.lowercased())
    }

    /// For error messages: "aes-128-gcm, aes-192-gcm, ...".
    public static var supportedNames: String { allCases.map(\.rawValue).joined(separator: ", ") }
}
