#if canImport(Glibc)
import Glibc
#endif

/// The addresses a server name stands for, so they can go into the bypass sets.
public enum HostAddresses {
    /// An IP literal as is; a name through getaddrinfo (IPv4 and IPv6, /etc/hosts and DNS as configured).
    public static func lookup(_ host: String) throws(NetfilterError) -> [IPAddress] {
        let literal = host.hasPrefix("[") && host.hasSuffix("]") ? String(host.dropFirst().dropLast()) : host
        if let address = IPAddress(literal) { return [address] }
        var hints = addrinfo()
        hints.ai_family = AF_UNSPEC
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        var list: UnsafeMutablePointer<addrinfo>?
        let status = getaddrinfo(host, nil, &hints, &list)
        guard status == 0 else {
            throw NetfilterError(
                .invalidInput,
                "cannot resolve server \"\(host)\" to put it in the bypass sets: \(String(cString: gai_strerror(status)))"
            )
        }
        defer { freeaddrinfo(list) }
        var addresses: [IPAddress] = []
        var cursor = list
        while let entry = cursor {
            if let raw = entry.pointee.ai_addr {
                switch Int32(raw.pointee.sa_family) {
                case AF_INET:
                    let address = raw.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { $0.pointee.sin_addr }
                    addresses.append(IPAddress(family: .ipv4, bytes: withUnsafeBytes(of: address) { Array($0) }))
                case AF_INET6:
                    let address = raw.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) { $0.pointee.sin6_addr }
                    addresses.append(IPAddress(family: .ipv6, bytes: withUnsafeBytes(of: address) { Array($0) }))
                default:
                    break
                }
            }
            cursor = entry.pointee.ai_next
        }
        var unique: [IPAddress] = []
        for address in addresses where !unique.contains(address) { unique.append(address) }
        return unique
    }
}
