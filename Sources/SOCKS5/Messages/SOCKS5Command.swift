/// CMD of a request (RFC 1928 section 4). A struct, not an enum: an unknown CMD still parses, so the server
/// can answer it with X'07' instead of dropping the connection.
public struct SOCKS5Command: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    public let rawValue: UInt8

    public init(rawValue: UInt8) { self.rawValue = rawValue }

    public static let connect = SOCKS5Command(rawValue: 0x01)
    public static let bind = SOCKS5Command(rawValue: 0x02)
    public static let udpAssociate = SOCKS5Command(rawValue: 0x03)

    public var description: String {
        switch rawValue {
        case 0x01: "CONNECT"
        case 0x02: "BIND"
        case 0x03: "UDP ASSOCIATE"
        default: "command 0x" + String(rawValue, radix: 16)
        }
    }
}
