/// REP of a reply (RFC 1928 section 6).
public struct SOCKS5ReplyCode: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    public let rawValue: UInt8

    public init(rawValue: UInt8) { self.rawValue = rawValue }

    public static let succeeded = SOCKS5ReplyCode(rawValue: 0x00)
    public static let generalFailure = SOCKS5ReplyCode(rawValue: 0x01)
    public static let connectionNotAllowed = SOCKS5ReplyCode(rawValue: 0x02)
    public static let networkUnreachable = SOCKS5ReplyCode(rawValue: 0x03)
    public static let hostUnreachable = SOCKS5ReplyCode(rawValue: 0x04)
    public static let connectionRefused = SOCKS5ReplyCode(rawValue: 0x05)
    public static let ttlExpired = SOCKS5ReplyCode(rawValue: 0x06)
    public static let commandNotSupported = SOCKS5ReplyCode(rawValue: 0x07)
    public static let addressTypeNotSupported = SOCKS5ReplyCode(rawValue: 0x08)

    public var description: String {
        switch rawValue {
        case 0x00: "succeeded"
        case 0x01: "general SOCKS server failure"
        case 0x02: "connection not allowed by ruleset"
        case 0x03: "network unreachable"
        case 0x04: "host unreachable"
        case 0x05: "connection refused"
        case 0x06: "TTL expired"
        case 0x07: "command not supported"
        case 0x08: "address type not supported"
        default: "reply 0x" + String(rawValue, radix: 16)
        }
    }
}
