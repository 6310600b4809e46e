#if canImport(Glibc)
import Glibc
#endif
import NIOConcurrencyHelpers
import NIOCore

/// The gateway's own interface addresses (getifaddrs), cached for a few seconds: a transparent front must not
/// relay traffic whose destination is the gateway itself on the proxy's own port (a loop).
final class LocalAddresses: Sendable {
    private struct Cache {
        var addresses: Set<[UInt8]> = []
        var fetchedAt: NIODeadline = .distantPast
    }
    private let cache = NIOLockedValueBox(Cache())
    private let refresh: TimeAmount

    init(refresh: TimeAmount = .seconds(5)) {
        self.refresh = refresh
    }

    /// True when `address` (v4, v6 or v4-mapped) is one of this host's addresses, or unspecified/loopback.
    func contains(_ address: SocketAddress) -> Bool {
        guard let bytes = address.normalizedIPBytes else { return false }
        if bytes.count == 4 && (bytes[0] == 127 || bytes == [0, 0, 0, 0]) { return true }
        return cache.withLockedValue { cache in
            let now = NIODeadline.now()
            if now - cache.fetchedAt > refresh {
                cache.addresses = Self.fetch()
                cache.fetchedAt = now
            }
            return cache.addresses.contains(bytes)
        }
    }

    private static func fetch() -> Set<[UInt8]> {
        var list: UnsafeMutablePointer<ifaddrs>?
        guard getifaddrs(&list) == 0, let first = list else { return [] }
        defer { freeifaddrs(list) }
        var result: Set<[UInt8]> = []
        var cursor: UnsafeMutablePointer<ifaddrs>? = first
        while let entry = cursor {
            if let raw = entry.pointee.ifa_addr {
                switch Int32(raw.pointee.sa_family) {
                case AF_INET:
                    _ = raw.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { v4 in
                        result.insert(withUnsafeBytes(of: v4.pointee.sin_addr) { Array($0) })
                    }
                case AF_INET6:
                    _ = raw.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) { v6 in
                        result.insert(withUnsafeBytes(of: v6.pointee.sin6_addr) { Array($0) })
                    }
                default:
                    break
                }
            }
            cursor = entry.pointee.ifa_next
        }
        return result
    }
}
