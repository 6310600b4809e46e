#if canImport(Glibc)
import Glibc
#endif
import CShadowsocksLinux
import NIOConcurrencyHelpers
import NIOCore

/// A datagram as the TPROXY socket received it: who sent it and where it was going.
struct ReceivedDatagram: Sendable {
    var flow: UDPFlowKey
    var source: SocketAddress
    /// The pre-TPROXY destination; nil if the kernel gave none (the datagram was not TPROXYed).
    var destination: SocketAddress?
    var payload: ByteBuffer
    var truncated: Bool
}

/// The receiving end of the UDP TPROXY front. NIO's datagram channel does not hand out IP_ORIGDSTADDR, so this
/// owns a transparent socket and reads it with recvmmsg(2) (up to 64 datagrams a call) on a thread of its own.
/// Datagrams of established flows are sealed and sent from here (`UDPUploadPath`); the rest of a batch is handed
/// to the relay's event loop. A receive timeout lets the thread notice `stop()`.
final class TransparentDatagramReceiver: Sendable {
    static let batchSize = 64
    static let bufferSize = 65_536
    /// Free bytes before each received payload (salt and target address, 32 + 19 at most) and after it (the tag,
    /// 16), so a packet is sealed where it was received.
    static let headroom = 64
    static let tailroom = 64
    private static let slotSize = headroom + bufferSize + tailroom

    let localAddress: SocketAddress
    private let fd: Int32
    private let stopped = NIOLockedValueBox(false)

    struct SocketError: Error, CustomStringConvertible {
        let address: SocketAddress
        let errno: Int32
        var description: String {
            let hint = errno == EPERM ? " (IP_TRANSPARENT needs root or CAP_NET_ADMIN)" : ""
            return "cannot open the UDP TPROXY socket on \(address): \(String(cString: strerror(errno)))\(hint)"
        }
    }

    init(address: SocketAddress) throws {
        let result = address.withSockAddr { pointer, length in
            c_ss_udp_tproxy_socket(pointer, socklen_t(length), 250)
        }
        guard result >= 0 else { throw SocketError(address: address, errno: -result) }
        self.fd = result
        self.localAddress = address
    }

    /// Blocks, sending established flows' datagrams through `upload` and delivering the others in batches, until
    /// `stop()`; then closes the socket.
    func run(upload: UDPUploadPath, deliver: (_ batch: [ReceivedDatagram]) -> Void) {
        let storage = UnsafeMutableRawPointer.allocate(
            byteCount: Self.batchSize * Self.slotSize, alignment: 16)
        defer {
            upload.close()
            storage.deallocate()
            close(fd)
        }
        var slots = [c_ss_datagram](repeating: c_ss_datagram(), count: Self.batchSize)
        let allocator = ByteBufferAllocator()
        while !stopped.withLockedValue({ $0 }) {
            for index in 0..<Self.batchSize {
                slots[index].buffer = (storage + index * Self.slotSize + Self.headroom)
                    .assumingMemoryBound(to: UInt8.self)
                slots[index].capacity = Self.bufferSize
            }
            let count = slots.withUnsafeMutableBufferPointer {
                c_ss_udp_receive_batch(fd, $0.baseAddress, UInt32(Self.batchSize))
            }
            // Also on a timeout: retired senders' descriptors are closed within one receive timeout.
            upload.takeMail()
            guard count > 0 else {
                if count < 0 && -count != EINTR && -count != EBADF {
                    // A persistent error would spin; back off a little.
                    usleep(10_000)
                }
                continue
            }
            let now = NIODeadline.now().uptimeNanoseconds
            var batch: [ReceivedDatagram] = []
            for index in 0..<Int(count) {
                let slot = slots[index]
                let flow = UDPFlowKey(slot)
                if slot.truncated == 0 && slot.destination.ss_family != 0 {
                    let outcome = upload.enqueue(
                        flow, payload: UnsafeMutableRawPointer(slot.buffer), count: slot.length, now: now)
                    guard case .forRelay = outcome else { continue }
                }
                guard let source = try? SocketAddress(slot.source) else { continue }
                var payload = allocator.buffer(capacity: slot.length)
                payload.writeBytes(UnsafeRawBufferPointer(start: slot.buffer, count: slot.length))
                batch.append(
                    ReceivedDatagram(
                        flow: flow, source: source, destination: try? SocketAddress(slot.destination),
                        payload: payload, truncated: slot.truncated != 0))
            }
            upload.sendQueued()
            if !batch.isEmpty { deliver(batch) }
        }
    }

    func stop() {
        stopped.withLockedValue { $0 = true }
    }
}
