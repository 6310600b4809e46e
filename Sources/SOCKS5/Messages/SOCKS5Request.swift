import NIOCore
import ShadowsocksProtocol

/// VER(5) CMD(1) RSV(X'00') ATYP DST.ADDR DST.PORT (RFC 1928 section 4). For UDP ASSOCIATE the address is
/// where the client will send its datagrams from (all zeros when it does not know yet).
public struct SOCKS5Request: Hashable, Sendable {
    public var command: SOCKS5Command
    public var address: SocksAddress

    public init(command: SOCKS5Command, address: SocksAddress) {
        self.command = command
        self.address = address
    }
}

extension ByteBuffer {
    /// Nil (reader index unchanged) until the whole request is here. The longest is 4 + 1 + 255 + 2 bytes.
    public mutating func readSOCKS5Request() throws(SOCKS5Error) -> SOCKS5Request? {
        let start = readerIndex
        guard let version: UInt8 = getInteger(at: start) else { return nil }
        guard version == SOCKS5Wire.version else { throw SOCKS5Error(.unsupportedVersion(version)) }
        guard let command: UInt8 = getInteger(at: start + 1), let reserved: UInt8 = getInteger(at: start + 2) else {
            return nil
        }
        guard reserved == 0 else { throw SOCKS5Error(.nonZeroReserved) }
        guard let (address, length) = try getSOCKS5Address(at: start + 3) else { return nil }
        moveReaderIndex(forwardBy: 3 + length)
        return SOCKS5Request(command: SOCKS5Command(rawValue: command), address: address)
    }

    @discardableResult
    public mutating func writeSOCKS5Request(_ request: SOCKS5Request) -> Int {
        writeInteger(SOCKS5Wire.version) + writeInteger(request.command.rawValue) + writeInteger(UInt8(0))
            + writeSocksAddress(request.address)
    }
}
