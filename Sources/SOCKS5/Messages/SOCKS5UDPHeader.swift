import NIOCore
import ShadowsocksProtocol

/// The header before every relayed datagram: RSV(X'0000') FRAG(1) ATYP DST.ADDR DST.PORT (RFC 1928 section 7).
/// A datagram arrives whole, so a short one is an error, not a wait for more.
public struct SOCKS5UDPHeader: Hashable, Sendable {
    /// 0 for a standalone datagram; 1 to 127 a fragment position, the high bit the end of a sequence.
    public var fragment: UInt8
    public var address: SocksAddress

    public init(fragment: UInt8 = 0, address: SocksAddress) {
        self.fragment = fragment
        self.address = address
    }
}

extension ByteBuffer {
    /// Reads the header of a whole datagram; the reader is left at the payload.
    public mutating func readSOCKS5UDPHeader() throws(SOCKS5Error) -> SOCKS5UDPHeader {
        let start = readerIndex
        guard let reserved: UInt16 = getInteger(at: start), let fragment: UInt8 = getInteger(at: start + 2) else {
            throw SOCKS5Error(.truncatedDatagram)
        }
        guard reserved == 0 else { throw SOCKS5Error(.nonZeroReserved) }
        guard let (address, length) = try getSOCKS5Address(at: start + 3) else {
            throw SOCKS5Error(.truncatedDatagram)
        }
        moveReaderIndex(forwardBy: 3 + length)
        return SOCKS5UDPHeader(fragment: fragment, address: address)
    }

    @discardableResult
    public mutating func writeSOCKS5UDPHeader(_ header: SOCKS5UDPHeader) -> Int {
        writeInteger(UInt16(0)) + writeInteger(header.fragment) + writeSocksAddress(header.address)
    }
}
