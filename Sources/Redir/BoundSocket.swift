#if canImport(Glibc)
import Glibc
#endif
import NIOCore

/// A socket of our own bound to an address, for what NIO's bootstraps cannot do: probe a port
/// (`ListenPortProbe`) or hand a descriptor to another thread as well (the UDP upstream sockets).
enum BoundSocket {
    /// socket(2) of `address`'s family and `type` (SOCK_* with flags), SO_REUSEADDR if asked, bind(2). Throws the
    /// failing call's errno as NIO's IOError; nothing stays open then.
    static func open(_ address: SocketAddress, type: Int32, reuseAddress: Bool = false) throws -> Int32 {
        let descriptor = socket(Int32(address.protocol.rawValue), type, 0)
        guard descriptor >= 0 else { throw IOError(errnoCode: errno, reason: "socket") }
        if reuseAddress {
            var one: Int32 = 1
            _ = setsockopt(descriptor, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
        }
        let status = address.withSockAddr { pointer, length in bind(descriptor, pointer, socklen_t(length)) }
        guard status == 0 else {
            let code = errno
            close(descriptor)
            throw IOError(errnoCode: code, reason: "bind")
        }
        return descriptor
    }
}
