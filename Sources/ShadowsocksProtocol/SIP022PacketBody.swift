import NIOCore

/// The main header at the start of a SIP022 UDP body (section 3.2.3): type, timestamp, (server packets) the
/// client session id, padding length and padding, then the SOCKS address and the payload. We send no padding.
enum SIP022PacketBody {
    /// SIP022 3.2.3: HeaderTypeClientPacket, HeaderTypeServerPacket.
    static let clientType: UInt8 = 0
    static let serverType: UInt8 = 1

    static func headerSize(server: Bool) -> Int { 1 + 8 + (server ? 8 : 0) + 2 }

    static func write(
        clientSessionID: UInt64?, timestamp: UInt64, address: SocksAddress, payload: ByteBuffer
    ) -> [UInt8] {
        var body = ByteBuffer()
        body.reserveCapacity(headerSize(server: true) + address.encodedLength + payload.readableBytes)
        body.writeInteger(clientSessionID == nil ? clientType : serverType)
        body.writeInteger(timestamp)
        if let clientSessionID { body.writeInteger(clientSessionID) }
        body.writeInteger(UInt16(0))
        body.writeSocksAddress(address)
        body.writeImmutableBuffer(payload)
        return Array(body.readableBytesView)
    }

    struct Parsed {
        var clientSessionID: UInt64?
        var address: SocksAddress
        var payload: ByteBuffer
    }

    /// Checks type and timestamp and parses the rest; `server`: this is a server-to-client packet.
    static func parse(_ body: ByteBuffer, server: Bool, now: UInt64) throws -> Parsed {
        var body = body
        guard let type: UInt8 = body.readInteger(), let timestamp: UInt64 = body.readInteger() else {
            throw ShadowsocksProtocolError(.truncated)
        }
        let expected = server ? serverType : clientType
        guard type == expected else { throw ShadowsocksProtocolError(.wrongHeaderType(type)) }
        guard SIP022Framing.isFresh(timestamp, now: now) else { throw ShadowsocksProtocolError(.staleTimestamp) }
        var clientSessionID: UInt64?
        if server {
            guard let id: UInt64 = body.readInteger() else { throw ShadowsocksProtocolError(.truncated) }
            clientSessionID = id
        }
        guard let padding: UInt16 = body.readInteger(), body.readableBytes >= Int(padding) else {
            throw ShadowsocksProtocolError(.truncated)
        }
        body.moveReaderIndex(forwardBy: Int(padding))
        guard let address = try body.readSocksAddress() else { throw ShadowsocksProtocolError(.truncated) }
        return Parsed(clientSessionID: clientSessionID, address: address, payload: body)
    }
}
