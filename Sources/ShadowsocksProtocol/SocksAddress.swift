import NIOCore

/// A target address in the SOCKS5 format that Shadowsocks puts at the start of every stream
/// (RFC 1928 section 5): ATYP(1) then 4-byte IPv4, 1-byte length + domain, or 16-byte IPv6; then port(2, BE).
public enum SocksAddress: Hashable, Sendable, CustomStringConvertible {
    case ipv4(IPv4Bytes, port: UInt16)
    case ipv6(IPv6Bytes, port: UInt16)
    case domain(String, port: UInt16)

    public typealias IPv4Bytes = (UInt8, UInt8, UInt8, UInt8)
    public typealias IPv6Bytes = [UInt8]  // exactly 16

    enum AddressType: UInt8 {
        case ipv4 = 0x01
        case domain = 0x03
        case ipv6 = 0x04
    }

    public var port: UInt16 {
        switch self {
        case .ipv4(_, let port), .ipv6(_, let port), .domain(_, let port): port
        }
    }

    /// Bytes `write(to:)` produces.
    public var encodedLength: Int {
        switch self {
        case .ipv4: 1 + 4 + 2
        case .ipv6: 1 + 16 + 2
        case .domain(let name, _): 1 + 1 + name.utf8.count + 2
        }
    }

    public var description: String {
        switch self {
        case .ipv4(let b, let port): "\(b.0).\(b.1).\(b.2).\(b.3):\(port)"
        case .ipv6(let bytes, let port): "[\(Self.formatIPv6(bytes))]:\(port)"
        case .domain(let name, let port): "\(name):\(port)"
        }
    }

    public static func == (lhs: SocksAddress, rhs: SocksAddress) -> Bool {
        switch (lhs, rhs) {
        case (.ipv4(let a, let p), .ipv4(let b, let q)): a == b && p == q
        case (.ipv6(let a, let p), .ipv6(let b, let q)): a == b && p == q
        case (.domain(let a, let p), .domain(let b, let q)): a == b && p == q
        default: false
        }
    }

    public func hash(into hasher: inout Hasher) {
        switch self {
        case .ipv4(let b, let port):
            hasher.combine(UInt32(b.0) << 24 | UInt32(b.1) << 16 | UInt32(b.2) << 8 | UInt32(b.3))
            hasher.combine(port)
        case .ipv6(let bytes, let port):
            hasher.combine(bytes)
            hasher.combine(port)
        case .domain(let name, let port):
            hasher.combine(name)
            hasher.combine(port)
        }
    }

    static func formatIPv6(_ bytes: [UInt8]) -> String {
        var groups: [UInt16] = []
        for index in stride(from: 0, to: 16, by: 2) {
            groups.append(UInt16(bytes[index]) << 8 | UInt16(bytes[index + 1]))
        }
        // RFC 5952: compress the longest run (length >= 2) of zero groups.
        var bestStart = -1, bestLength = 0, runStart = -1
        for index in 0...8 {
            if index < 8 && groups[index] == 0 {
                if runStart < 0 { runStart = index }
            } else if runStart >= 0 {
                if index - runStart > bestLength { (bestStart, bestLength) = (runStart, index - runStart) }
                runStart = -1
            }
        }
        let hexGroups = groups.map { String($0, radix: 16) }
        guard bestLength >= 2 else { return hexGroups.joined(separator: ":") }
        let head = hexGroups[..<bestStart].joined(separator: ":")
        let tail = hexGroups[(bestStart + bestLength)...].joined(separator: ":")
        return head + "::" + tail
    }
}

extension SocksAddress {
    /// The address in SOCKS5 form, as `writeSocksAddress` writes it.
    public var encoded: [UInt8] {
        var buffer = ByteBuffer()
        buffer.writeSocksAddress(self)
        return Array(buffer.readableBytesView)
    }
}

extension ByteBuffer {
    /// Writes `address` in SOCKS5 format; returns the number of bytes written.
    @discardableResult
    public mutating func writeSocksAddress(_ address: SocksAddress) -> Int {
        switch address {
        case .ipv4(let b, let port):
            return writeInteger(SocksAddress.AddressType.ipv4.rawValue) + writeBytes([b.0, b.1, b.2, b.3])
                + writeInteger(port)
        case .ipv6(let bytes, let port):
            precondition(bytes.count == 16)
            return writeInteger(SocksAddress.AddressType.ipv6.rawValue) + writeBytes(bytes) + writeInteger(port)
        case .domain(let name, let port):
            let utf8 = Array(name.utf8)
            precondition(!utf8.isEmpty && utf8.count <= 255, "domain length is one byte on the wire")
            return writeInteger(SocksAddress.AddressType.domain.rawValue) + writeInteger(UInt8(utf8.count))
                + writeBytes(utf8) + writeInteger(port)
        }
    }

    /// Reads a SOCKS5 address. Returns nil (reader index unchanged) when more bytes are needed;
    /// throws on an address that can never become valid.
    public mutating func readSocksAddress() throws -> SocksAddress? {
        let start = readerIndex
        guard let rawType: UInt8 = getInteger(at: start) else { return nil }
        guard let type = SocksAddress.AddressType(rawValue: rawType) else {
            throw ShadowsocksProtocolError(.unknownAddressType(rawType))
        }
        let address: SocksAddress
        switch type {
        case .ipv4:
            guard let bytes = getBytes(at: start + 1, length: 4), let port: UInt16 = getInteger(at: start + 5)
            else { return nil }
            address = .ipv4((bytes[0], bytes[1], bytes[2], bytes[3]), port: port)
            moveReaderIndex(forwardBy: 7)
        case .ipv6:
            guard let bytes = getBytes(at: start + 1, length: 16), let port: UInt16 = getInteger(at: start + 17)
            else { return nil }
            address = .ipv6(bytes, port: port)
            moveReaderIndex(forwardBy: 19)
        case .domain:
            guard let length: UInt8 = getInteger(at: start + 1) else { return nil }
            guard length > 0 else { throw ShadowsocksProtocolError(.emptyDomain) }
            guard let bytes = getBytes(at: start + 2, length: Int(length)),
                let port: UInt16 = getInteger(at: start + 2 + Int(length))
            else { return nil }
            // Invalid UTF-8 decodes with U+FFFD (3 bytes each): the name would no longer fit its length byte and
            // writing it back (SIP022 headers, UDP replies) would trap. Found by Tests/FuzzTests.
            let name = String(decoding: bytes, as: UTF8.self)
            guard name.utf8.elementsEqual(bytes) else { throw ShadowsocksProtocolError(.invalidDomain) }
            address = .domain(name, port: port)
            moveReaderIndex(forwardBy: 2 + Int(length) + 2)
        }
        return address
    }
}
