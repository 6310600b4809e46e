#if canImport(Glibc)
import Glibc
#endif
import Logging
import NIOCore

/// SO_MARK on the relay's own sockets, so firewall rules can tell them apart (and never recapture them).
enum OutboundMark {
    /// The mark to use, or nil when it is 0 or the process may not set marks (no CAP_NET_ADMIN): tried once on a
    /// throwaway socket so connections never fail over it.
    static func usable(_ mark: UInt32, logger: Logger) -> UInt32? {
        guard mark != 0 else { return nil }
        let fd = socket(AF_INET, Int32(SOCK_DGRAM.rawValue), 0)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var value = Int32(bitPattern: mark)
        if setsockopt(fd, SOL_SOCKET, SO_MARK, &value, socklen_t(MemoryLayout<Int32>.size)) != 0 {
            logger.notice(
                "not marking relay sockets with SO_MARK 0x\(String(mark, radix: 16)): \(String(cString: strerror(errno))) (needs CAP_NET_ADMIN)"
            )
            return nil
        }
        return mark
    }

    static func option() -> ChannelOptions.Types.SocketOption {
        .socketOption(NIOBSDSocket.Option(rawValue: SO_MARK))
    }
}

/// IP_TRANSPARENT / IPV6_TRANSPARENT as NIO channel options: bind to (and accept for) non-local addresses.
enum TransparentOption {
    static func forAddress(_ address: SocketAddress) -> ChannelOptions.Types.SocketOption {
        switch address.protocol {
        case .inet6:
            ChannelOptions.Types.SocketOption(
                level: NIOBSDSocket.OptionLevel(rawValue: Int32(SOL_IPV6)), name: NIOBSDSocket.Option(rawValue: 75))
        default:
            ChannelOptions.Types.SocketOption(
                level: NIOBSDSocket.OptionLevel(rawValue: Int32(SOL_IP)), name: NIOBSDSocket.Option(rawValue: 19))
        }
    }
}
