#if canImport(Glibc)
import Glibc
#endif
import NIOCore
import ShadowsocksProtocol

extension SocketAddress {
    /// Address bytes with IPv4-mapped IPv6 (from a dual-stack socket) folded to 4 bytes.
    package var normalizedIPBytes: [UInt8]? {
        switch self {
        case .v4(let address):
            return withUnsafeBytes(of: address.address.sin_addr) { Array($0) }
        case .v6(let address):
            let bytes = withUnsafeBytes(of: address.address.sin6_addr) { Array($0) }
            if bytes[0..<10].allSatisfy({ $0 == 0 }) && bytes[10] == 0xFF && bytes[11] == 0xFF {
                return Array(bytes[12...])
            }
            return bytes
        case .unixDomainSocket:
            return nil
        }
    }

    /// The same endpoint with IPv4-mapped IPv6 turned into plain IPv4 (so it can be used on an AF_INET socket).
    package var normalized: SocketAddress {
        guard case .v6 = self, let bytes = normalizedIPBytes, bytes.count == 4, let port else { return self }
        return SocketAddress(ipv4: bytes, port: port)
    }

    package init(ipv4 bytes: [UInt8], port: Int) {
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        withUnsafeMutableBytes(of: &address.sin_addr) { $0.copyBytes(from: bytes) }
        self = SocketAddress(address, host: "")
    }

    package init(ipv6 bytes: [UInt8], port: Int) {
        var address = sockaddr_in6()
        address.sin6_family = sa_family_t(AF_INET6)
        address.sin6_port = in_port_t(UInt16(port).bigEndian)
        withUnsafeMutableBytes(of: &address.sin6_addr) { $0.copyBytes(from: bytes) }
        self = SocketAddress(address, host: "")
    }

    /// An IP target as a socket address; nil for a domain name.
    package init?(_ address: SocksAddress) {
        switch address {
        case .ipv4(let b, let port): self.init(ipv4: [b.0, b.1, b.2, b.3], port: Int(port))
        case .ipv6(let bytes, let port): self.init(ipv6: bytes, port: Int(port))
        case .domain: return nil
        }
    }
}
