#if canImport(Glibc)
import Glibc
#endif
import CShadowsocksLinux
import NIOCore
import ShadowsocksProtocol

/// Where a REDIRECTed connection was going before netfilter rewrote it (SO_ORIGINAL_DST / IP6T_SO_ORIGINAL_DST).
enum OriginalDestination {
    struct LookupFailed: Error, CustomStringConvertible {
        let errno: Int32
        var description: String { "SO_ORIGINAL_DST failed (errno \(errno)): is the connection REDIRECTed by nftables/iptables?" }
    }

    /// Must run on the channel's event loop. The family comes from the local address NIO cached at accept, so
    /// neither a getsockname nor a failing IPv6 lookup for an IPv4 client on a `::` listener is spent on it.
    static func read(from channel: Channel) throws -> SocketAddress {
        let family: Int32
        switch channel.localAddress {
        case .v4: family = AF_INET
        case .v6(let address): family = address.isIPv4Mapped ? AF_INET : AF_INET6
        default: family = AF_UNSPEC
        }
        let result = try withSocket(of: channel) { fd -> SocketAddress in
            var storage = sockaddr_storage()
            var length = socklen_t(0)
            let status = c_ss_original_destination(fd, family, &storage, &length)
            guard status == 0 else { throw LookupFailed(errno: -status) }
            return try SocketAddress(storage)
        }
        guard let result else { throw LookupFailed(errno: 0) }
        return result
    }

    /// Lends the channel's socket to `body` (nil: the channel has none, e.g. an embedded one). What NIO's
    /// `withUnsafeTransportIfAvailable(of:)` does, without its cast to `any NIOTransportAccessibleChannelCore<Int32>`:
    /// a cast to a constrained existential, which the Swift runtime checks by demangling the constraint on every
    /// call (1.5 % of a relayed connection's CPU in a profile). The cast to the unconstrained protocol is cached by
    /// the runtime, and the transport type is then compared with `Int32`; a core that fails either would fail
    /// NIO's cast too.
    private static func withSocket<Result>(
        of channel: Channel, _ body: (NIOBSDSocket.Handle) throws -> Result
    ) throws -> Result? {
        guard let core = channel._channelCore as? any NIOTransportAccessibleChannelCore else { return nil }
        channel.eventLoop.assertInEventLoop()
        return try withSocket(of: core, body)
    }

    private static func withSocket<Core: NIOTransportAccessibleChannelCore, Result>(
        of core: Core, _ body: (NIOBSDSocket.Handle) throws -> Result
    ) throws -> Result? {
        guard Core.Transport.self == NIOBSDSocket.Handle.self else { return nil }
        return try core.withUnsafeTransport { try body(unsafeBitCast($0, to: NIOBSDSocket.Handle.self)) }
    }
}

extension SocketAddress.IPv6Address {
    /// ::ffff:a.b.c.d, an IPv4 peer of a dual-stack socket.
    var isIPv4Mapped: Bool {
        withUnsafeBytes(of: address.sin6_addr) { bytes in
            bytes[0..<10].allSatisfy { $0 == 0 } && bytes[10] == 0xFF && bytes[11] == 0xFF
        }
    }
}

extension SocketAddress {
    /// Builds a NIO address from a kernel sockaddr (v4 or v6).
    init(_ storage: sockaddr_storage) throws {
        var storage = storage
        switch Int32(storage.ss_family) {
        case AF_INET:
            self = withUnsafeBytes(of: &storage) { raw in
                SocketAddress(raw.load(as: sockaddr_in.self), host: "")
            }
        case AF_INET6:
            self = withUnsafeBytes(of: &storage) { raw in
                SocketAddress(raw.load(as: sockaddr_in6.self), host: "")
            }
        default:
            throw OriginalDestination.LookupFailed(errno: EAFNOSUPPORT)
        }
    }

    /// The address as a Shadowsocks target. IPv4-mapped IPv6 (from a dual-stack `::` listener) becomes IPv4.
    package var socksAddress: SocksAddress? {
        guard let port = self.port, port > 0, port <= 65535 else { return nil }
        switch self {
        case .v4(let address):
            let bytes = withUnsafeBytes(of: address.address.sin_addr.s_addr) { Array($0) }
            return .ipv4((bytes[0], bytes[1], bytes[2], bytes[3]), port: UInt16(port))
        case .v6(let address):
            let bytes = withUnsafeBytes(of: address.address.sin6_addr) { Array($0) }
            if bytes[0..<10].allSatisfy({ $0 == 0 }) && bytes[10] == 0xFF && bytes[11] == 0xFF {
                return .ipv4((bytes[12], bytes[13], bytes[14], bytes[15]), port: UInt16(port))
            }
            return .ipv6(bytes, port: UInt16(port))
        case .unixDomainSocket:
            return nil
        }
    }
}
