import CMnl

#if canImport(Glibc)
import Glibc
#endif

/// A bound libmnl socket with extended acks on: an error names the kernel's reason and the offending attribute,
/// and (NETLINK_CAP_ACK) does not echo our whole request back.
final class NetlinkSocket {
    private let handle: OpaquePointer
    let portID: UInt32
    private var receiveBuffer = [UInt8](repeating: 0, count: 1 << 16)

    /// `bus`: NETLINK_NETFILTER or NETLINK_ROUTE.
    init(bus: Int32) throws(NetfilterError) {
        guard let handle = mnl_socket_open(bus) else {
            let code = errno
            throw NetfilterError(.socket, "cannot open a netlink socket: \(NetfilterError.explain(code))", errno: code)
        }
        guard mnl_socket_bind(handle, 0, pid_t(MNL_SOCKET_AUTOPID)) == 0 else {
            let code = errno
            mnl_socket_close(handle)
            throw NetfilterError(.socket, "cannot bind a netlink socket: \(NetfilterError.explain(code))", errno: code)
        }
        self.handle = handle
        portID = mnl_socket_get_portid(handle)
        var on: Int32 = 1
        // Best effort: kernels before 4.12 (EXT_ACK) or 4.2 (CAP_ACK) still answer, with less detail.
        _ = mnl_socket_setsockopt(handle, NETLINK_EXT_ACK, &on, socklen_t(MemoryLayout<Int32>.size))
        _ = mnl_socket_setsockopt(handle, NETLINK_CAP_ACK, &on, socklen_t(MemoryLayout<Int32>.size))
    }

    deinit { mnl_socket_close(handle) }

    private var descriptor: Int32 { mnl_socket_get_fd(handle) }

    /// One datagram: a batch must reach the kernel in a single sendmsg, so the send buffer is raised to fit it
    /// (SO_SNDBUFFORCE as root, like nft; netlink refuses a message larger than the buffer).
    func send(_ bytes: [UInt8]) throws(NetfilterError) {
        if bytes.count > 128 << 10 {
            raiseBuffer(SO_SNDBUFFORCE, fallback: SO_SNDBUF, to: bytes.count + 4096)
        }
        let sent = bytes.withUnsafeBytes { mnl_socket_sendto(handle, $0.baseAddress, $0.count) }
        guard sent == bytes.count else {
            let code = errno
            throw NetfilterError(
                .socket, "cannot send \(bytes.count) bytes to the kernel: \(NetfilterError.explain(code))", errno: code)
        }
    }

    /// Room for the acks of a large batch (one per message).
    func reserveReceiveBuffer(bytes: Int) {
        raiseBuffer(SO_RCVBUFFORCE, fallback: SO_RCVBUF, to: bytes)
    }

    /// The next datagram, or nil when nothing arrives within `timeoutMilliseconds`.
    func receive(timeoutMilliseconds: Int32) throws(NetfilterError) -> [UInt8]? {
        var poller = pollfd(fd: descriptor, events: Int16(POLLIN), revents: 0)
        var ready: Int32
        repeat {
            ready = poll(&poller, 1, timeoutMilliseconds)
        } while ready < 0 && errno == EINTR
        if ready == 0 { return nil }
        if ready < 0 {
            let code = errno
            throw NetfilterError(
                .socket, "poll on the netlink socket failed: \(NetfilterError.explain(code))", errno: code)
        }
        var count: Int
        repeat {
            count = receiveBuffer.withUnsafeMutableBytes { mnl_socket_recvfrom(handle, $0.baseAddress, $0.count) }
        } while count < 0 && errno == EINTR
        guard count >= 0 else {
            let code = errno
            let hint = code == ENOBUFS ? "; replies were lost, so the outcome is unknown: run the command again" : ""
            throw NetfilterError(
                .socket, "cannot read the kernel's reply: \(NetfilterError.explain(code))\(hint)", errno: code)
        }
        return Array(receiveBuffer[0..<count])
    }

    private func raiseBuffer(_ option: Int32, fallback: Int32, to size: Int) {
        var value = Int32(clamping: size)
        let length = socklen_t(MemoryLayout<Int32>.size)
        if setsockopt(descriptor, SOL_SOCKET, option, &value, length) != 0 {
            _ = setsockopt(descriptor, SOL_SOCKET, fallback, &value, length)
        }
    }
}
