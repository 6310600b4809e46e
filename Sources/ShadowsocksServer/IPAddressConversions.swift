import IPAddresses
import NIOCore
import Redir
import ShadowsocksProtocol

extension SocketAddress {
    init(_ address: IPAddress, port: Int) {
        switch address.family {
        case .ipv4: self.init(ipv4: address.bytes, port: port)
        case .ipv6: self.init(ipv6: address.bytes, port: port)
        }
    }

    /// The IP of an AF_INET/AF_INET6 address, IPv4-mapped IPv6 folded to IPv4; nil for a Unix socket.
    var ipAddress: IPAddress? {
        guard let bytes = normalizedIPBytes else { return nil }
        return IPAddress(family: bytes.count == 4 ? .ipv4 : .ipv6, bytes: bytes)
    }
}

extension SocksAddress {
    /// The IP of an address-typed target; nil for a domain name.
    var ipAddress: IPAddress? {
        switch self {
        case .ipv4(let b, _): IPAddress(family: .ipv4, bytes: [b.0, b.1, b.2, b.3])
        case .ipv6(let bytes, _): IPAddress(family: .ipv6, bytes: bytes)
        case .domain: nil
        }
    }
}

extension IPAddress {
    /// IPv4-mapped IPv6 (::ffff:a.b.c.d) as the IPv4 address it names; any other address unchanged.
    var unmappedIPv4: IPAddress {
        guard family == .ipv6, value >> 32 == 0xFFFF else { return self }
        return IPAddress(family: .ipv4, value: value & 0xFFFF_FFFF)
    }
}
