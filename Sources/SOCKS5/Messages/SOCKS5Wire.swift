/// Version octets on the wire.
enum SOCKS5Wire {
    /// VER of every SOCKS5 message (RFC 1928).
    static let version: UInt8 = 0x05
    /// VER of the username/password subnegotiation (RFC 1929 section 2).
    static let usernamePasswordVersion: UInt8 = 0x01
}
