import NIOCore
import ShadowsocksProtocol

/// VER(5) REP(1) RSV(X'00') ATYP BND.ADDR BND.PORT (RFC 1928 section 6). For UDP ASSOCIATE the bound address
/// is where the client sends its datagrams.
public struct SOCKS5Reply: Hashable, Sendable {
    public var code: SOCKS5ReplyCode
    public var boundAddress: SocksAddress

    /// The address failure replies and CONNECT replies carry: the relay has no meaningful BND.ADDR (the
    /// Shadowsocks server, not us, connects to the target).
    public static let unspecifiedAddress = SocksAddress.ipv4((0, 0, 0, 0), port: 0)

    public init(code: SOCKS5ReplyCode, boundAddress: SocksAddress = SOCKS5Reply.unspecifiedAddress) {
        self.code = code
        self.boundAddress = boundAddress
    }
}

extension ByteBuffer {
    /// Nil (reader index unchanged) until the whole reply is here.
    public mutating func readSOCKS5Reply() throws(SOCKS5Error) -> SOCKS5Reply? {
        let start = readerIndex
        guard let version: UInt8 = getInteger(at: start) else { return nil }
        guard version == SOCKS5Wire.version else { throw SOCKS5Error(.unsupportedVersion(version)) }
        guard let code: UInt8 = getInteger(at: start + 1), let reserved: UInt8 = getInteger(at: start + 2) else {
            return nil
        }
        guard reserved == 0 else { throw SOCKS5Error(.nonZeroReserved) }
        guard let (address, length) = try getSOCKS5Address(at: start + 3) else { return nil }
        moveReaderIndex(forwardBy: 3 + length)
        return SOCKS5Reply(code: SOCKS5ReplyCode(rawValue: code), boundAddress: address)
    }

    @discardableResult
    public mutating func writeSOCKS5Reply(_ reply: SOCKS5Reply) -> Int {
        writeInteger(SOCKS5Wire.version) + writeInteger(reply.code.rawValue) + writeInteger(UInt8(0))
            + writeSocksAddress(reply.boundAddress)
    }
}
