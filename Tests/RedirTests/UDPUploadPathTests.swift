import CShadowsocksLinux
import Glibc
import NIOCore
import ShadowsocksCrypto
import ShadowsocksProtocol
import Testing

@testable import Redir

/// The receiver thread's upload path, driven by hand: what it seals and sends, what it leaves to the relay, and
/// that every sender's descriptor is closed exactly once (by the thread, or by the relay once the thread is gone).
@Suite struct UDPUploadPathTests {
    private let key = MasterKey(method: .aes256GCM, password: "upload path")
    private let target = SocksAddress.ipv4((10, 1, 2, 3), port: 53)

    private func flow(_ seed: UInt64) -> UDPFlowKey {
        var datagram = c_ss_datagram()
        datagram.flow = (seed, 2, 3, 4, 5)
        return UDPFlowKey(datagram)
    }

    /// A bound receiving socket on loopback, with a receive timeout, and its address.
    private func receiver() throws -> (Int32, SocketAddress) {
        let fd = socket(AF_INET, Int32(SOCK_DGRAM.rawValue), 0)
        try #require(fd >= 0)
        var timeout = timeval(tv_sec: 2, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        let any = try SocketAddress(ipAddress: "127.0.0.1", port: 0)
        try #require(any.withSockAddr { bind(fd, $0, socklen_t($1)) } == 0)
        var storage = sockaddr_storage()
        var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
        _ = withUnsafeMutablePointer(to: &storage) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        return (fd, try SocketAddress(storage))
    }

    private func isOpen(_ fd: Int32) -> Bool { fcntl(fd, F_GETFD) != -1 }

    private func sender(_ flow: UDPFlowKey, to destination: SocketAddress, maximumPacket: Int = 65_507)
        -> UDPUpstreamSender
    {
        UDPUpstreamSender(
            flow: flow, descriptor: socket(AF_INET, Int32(SOCK_DGRAM.rawValue), 0), key: key,
            address: target.encoded, maximumPacket: maximumPacket, destination: destination, now: .now())
    }

    /// Runs `enqueue` on a payload laid out as the receiver lays it out (free room before and after).
    private func enqueue(_ path: UDPUploadPath, _ flow: UDPFlowKey, _ payload: [UInt8]) -> UDPUploadPath.Outcome {
        let headroom = TransparentDatagramReceiver.headroom
        let region = UnsafeMutableRawBufferPointer.allocate(
            byteCount: headroom + payload.count + TransparentDatagramReceiver.tailroom, alignment: 16)
        defer { region.deallocate() }
        UnsafeMutableRawBufferPointer(rebasing: region[headroom..<headroom + payload.count]).copyBytes(from: payload)
        let outcome = path.enqueue(flow, payload: region.baseAddress! + headroom, count: payload.count, now: 1)
        path.sendQueued()  // before the region goes away: the queue points into it
        return outcome
    }

    @Test func anEstablishedFlowIsSealedAndSentOthersGoToTheRelay() throws {
        let (listener, address) = try receiver()
        defer { close(listener) }
        let path = UDPUploadPath()
        let known = sender(flow(1), to: address)
        path.add(known)
        #expect(enqueue(path, flow(1), [1, 2, 3]) == .forRelay, "not added until the thread takes its mail")
        path.takeMail()
        let payload = (0..<1200).map { UInt8(truncatingIfNeeded: $0) }
        #expect(enqueue(path, flow(1), payload) == .queued)
        #expect(enqueue(path, flow(2), payload) == .forRelay)
        var packet = [UInt8](repeating: 0, count: 65_536)
        let count = packet.withUnsafeMutableBytes { recv(listener, $0.baseAddress, $0.count, 0) }
        try #require(count > 0)
        let (sealedFor, opened) = try AEADPacketCodec(key: key).open(ByteBuffer(bytes: packet[0..<count]))
        #expect(sealedFor == target && Array(opened.readableBytesView) == payload)
        #expect(known.unreportedBytes.load(ordering: .relaxed) == 1200)
        #expect(known.lastActive.load(ordering: .relaxed) == 1)

        // Too large for the sender's limit once sealed: the relay drops and counts it.
        let small = sender(flow(3), to: address, maximumPacket: 100)
        path.add(small)
        path.takeMail()
        #expect(enqueue(path, flow(3), payload) == .forRelay)

        for retired in [known, small] {
            path.retire(retired)
            #expect(isOpen(retired.descriptor))
        }
        path.takeMail()
        #expect(!isOpen(known.descriptor) && !isOpen(small.descriptor))
        #expect(enqueue(path, flow(1), payload) == .forRelay)
        path.close()
    }

    @Test func afterTheThreadExitsTheRelayClosesWhatItRetires() throws {
        let (listener, address) = try receiver()
        defer { close(listener) }
        let path = UDPUploadPath()
        let early = sender(flow(1), to: address)
        path.add(early)
        path.retire(early)
        let late = sender(flow(2), to: address)
        path.add(late)
        path.close()  // takes the mail posted before it: `early` closed by the thread, `late` left to the relay
        #expect(!isOpen(early.descriptor))
        #expect(isOpen(late.descriptor))
        path.retire(late)
        #expect(!isOpen(late.descriptor))
    }
}
