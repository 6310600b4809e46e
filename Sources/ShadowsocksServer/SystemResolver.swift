#if canImport(Glibc)
import Glibc
#endif
import IPAddresses
import NIOPosix

/// `TargetResolving` through the C library's getaddrinfo (so /etc/hosts, nsswitch and resolv.conf apply), run on
/// a thread pool because it blocks.
public struct SystemResolver: TargetResolving {
    private let threadPool: NIOThreadPool

    public init(threadPool: NIOThreadPool = .singleton) {
        self.threadPool = threadPool
    }

    public func addresses(of host: String) async throws -> [IPAddress] {
        try await threadPool.runIfActive { try Self.getaddrinfo(host) }
    }

    static func getaddrinfo(_ host: String) throws -> [IPAddress] {
        var hints = addrinfo()
        hints.ai_family = AF_UNSPEC
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)  // one entry per address, not one per socket type
        var list: UnsafeMutablePointer<addrinfo>?
        let status = Glibc.getaddrinfo(host, nil, &hints, &list)
        guard status == 0, let list else {
            throw TargetResolutionError(host: host, reason: String(cString: gai_strerror(status)))
        }
        defer { freeaddrinfo(list) }
        var addresses: [IPAddress] = []
        var entry: UnsafeMutablePointer<addrinfo>? = list
        while let current = entry {
            if let sockaddr = current.pointee.ai_addr {
                switch current.pointee.ai_family {
                case AF_INET:
                    let raw = sockaddr.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { $0.pointee.sin_addr }
                    let bytes = withUnsafeBytes(of: raw) { Array($0) }
                    addresses.append(IPAddress(family: .ipv4, bytes: bytes))
                case AF_INET6:
                    let raw = sockaddr.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) { $0.pointee.sin6_addr }
                    let bytes = withUnsafeBytes(of: raw) { Array($0) }
                    addresses.append(IPAddress(family: .ipv6, bytes: bytes))
                default:
                    break
                }
            }
            entry = current.pointee.ai_next
        }
        var unique: [IPAddress] = []
        for address in addresses where !unique.contains(address) { unique.append(address) }
        guard !unique.isEmpty else { throw TargetResolutionError(host: host, reason: "no IPv4 or IPv6 address") }
        return unique
    }
}
