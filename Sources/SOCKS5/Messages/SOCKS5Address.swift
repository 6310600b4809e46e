import NIOCore
import ShadowsocksProtocol

/// ATYP values (RFC 1928 section 5).
enum SOCKS5AddressType {
    static let ipv4: UInt8 = 0x01
    static let domain: UInt8 = 0x03
    static let ipv6: UInt8 = 0x04
}

extension ByteBuffer {
    /// ATYP DST.ADDR DST.PORT at `index` (RFC 1928 section 5), without moving the reader: the address and the
    /// bytes it took, or nil until all of it is here. A domain is checked to be UTF-8 so that it goes on to
    /// the Shadowsocks server as exactly the bytes the client sent.
    func getSOCKS5Address(at index: Int) throws(SOCKS5Error) -> (address: SocksAddress, length: Int)? {
        guard let type: UInt8 = getInteger(at: index) else { return nil }
        switch type {
        case SOCKS5AddressType.ipv4:
            guard let bytes = getBytes(at: index + 1, length: 4), let port: UInt16 = getInteger(at: index + 5) else {
                return nil
            }
            return (.ipv4((bytes[0], bytes[1], bytes[2], bytes[3]), port: port), 7)
        case SOCKS5AddressType.ipv6:
            guard let bytes = getBytes(at: index + 1, length: 16), let port: UInt16 = getInteger(at: index + 17)
            else { return nil }
            return (.ipv6(bytes, port: port), 19)
        case SOCKS5AddressType.domain:
            guard let length: UInt8 = getInteger(at: index + 1) else { return nil }
            guard length > 0 else { throw SOCKS5Error(.emptyDomain) }
            guard let bytes = getBytes(at: index + 2, length: Int(length)),
                let port: UInt16 = getInteger(at: index + 2 + Int(length))
            else { return nil }
            let name = String(decoding: bytes, as: UTF8.self)
            // Invalid UTF-8 decodes with U+FFFD replacements, so the round trip differs.
            guard name.utf8.elementsEqual(bytes) else { throw SOCKS5Error(.invalidDomain) }
            return (.domain(name, port: port), 2 + Int(length) + 2)
        default:
            throw SOCKS5Error(.unknownAddressType(type))
        }
    }
}
