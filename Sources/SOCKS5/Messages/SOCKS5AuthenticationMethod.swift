/// METHOD values of the greeting and the server's choice (RFC 1928 section 3; IANA "SOCKS Methods").
public struct SOCKS5AuthenticationMethod: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    public let rawValue: UInt8

    public init(rawValue: UInt8) { self.rawValue = rawValue }

    public static let noAuthentication = SOCKS5AuthenticationMethod(rawValue: 0x00)
    public static let gssapi = SOCKS5AuthenticationMethod(rawValue: 0x01)
    /// RFC 1929.
    public static let usernamePassword = SOCKS5AuthenticationMethod(rawValue: 0x02)
    /// The server's answer when it accepts none of the offered methods; the client must then close.
    public static let noAcceptableMethods = SOCKS5AuthenticationMethod(rawValue: 0xFF)

    public var description: String { "0x" + String(rawValue, radix: 16) }
}
