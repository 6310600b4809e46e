#if canImport(Glibc)
import Glibc
#endif
import NIOCore
import ShadowsocksCrypto
import Synchronization

/// An established association's upload half, handed to the TPROXY receiver thread: datagrams of a known flow are
/// sealed where they were received and sent with sendmmsg(2) on that thread, instead of each batch crossing to the
/// relay's event loop (a wake-up of both threads) and NIO's write path. The relay keeps the association, its
/// replies and its lifetime; it retires the sender when it closes the association.
final class UDPUpstreamSender: @unchecked Sendable {
    let flow: UDPFlowKey
    /// A duplicate of the association's upstream socket: NIO closes its own when the association closes; this one
    /// is closed by the receiver thread once it has let go of the sender, so it never sends on a reused number.
    let descriptor: Int32
    /// The member's key; nil for a direct (bypassed) flow, whose datagrams go out as they came.
    let key: MasterKey?
    /// The target in SOCKS5 form, sealed in front of every payload.
    let address: [UInt8]
    /// The largest packet to send (the relay's MTU limit); a larger one takes the relay's path and is dropped there.
    let maximumPacket: Int
    /// Where the packets go (immutable after init, read by the receiver thread).
    let destination: UnsafeMutableRawPointer
    let destinationLength: socklen_t
    /// NIODeadline uptime nanoseconds of the last datagram sent here; the relay's sweep reads it.
    let lastActive: Atomic<UInt64>
    /// Payload bytes sent here and not yet added to the flow's counter by the relay.
    let unreportedBytes = Atomic<UInt64>(0)

    init(
        flow: UDPFlowKey, descriptor: Int32, key: MasterKey?, address: [UInt8], maximumPacket: Int,
        destination: SocketAddress, now: NIODeadline
    ) {
        self.flow = flow
        self.descriptor = descriptor
        self.key = key
        self.address = address
        self.maximumPacket = maximumPacket
        self.lastActive = Atomic(now.uptimeNanoseconds)
        let storage = UnsafeMutableRawPointer.allocate(byteCount: MemoryLayout<sockaddr_storage>.size, alignment: 8)
        self.destinationLength = destination.withSockAddr { pointer, length in
            storage.copyMemory(from: pointer, byteCount: length)
            return socklen_t(length)
        }
        self.destination = storage
    }

    deinit {
        destination.deallocate()
    }
}
