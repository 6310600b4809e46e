#if canImport(Glibc)
import Glibc
#endif
import NIOCore

/// With SO_REUSEPORT a second listener of the same user shares the port silently (the kernel splits the
/// connections between the two), so a second ss-redir started by mistake would serve half the LAN with its own
/// configuration. Before binding the per-core listeners, a plain bind (SO_REUSEADDR only, as a listener without
/// SO_REUSEPORT would) on the same address and port tells whether anybody listens there already.
enum ListenPortProbe {
    /// Throws the bind's error (EADDRINUSE when the port is taken) as NIO's bind would.
    static func check(_ address: SocketAddress) throws {
        let type = Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue)
        close(try BoundSocket.open(address, type: type, reuseAddress: true))
    }
}
