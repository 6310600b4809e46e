import CShadowsocksLinux
import Glibc
import Testing

/// `c_ss_udp_send_batch` over loopback: runs of equal-sized datagrams leave as UDP GSO sends, the rest with
/// sendmmsg; either way the receiver must see every datagram whole, separate and in order.
@Suite struct UDPSendBatchTests {
    private func socketPair() throws -> (sender: Int32, receiver: Int32, address: sockaddr_in) {
        let receiver = socket(AF_INET, Int32(SOCK_DGRAM.rawValue), 0)
        let sender = socket(AF_INET, Int32(SOCK_DGRAM.rawValue), 0)
        try #require(receiver >= 0 && sender >= 0)
        var size: Int32 = 4 << 20
        setsockopt(receiver, SOL_SOCKET, SO_RCVBUF, &size, socklen_t(MemoryLayout<Int32>.size))
        var timeout = timeval(tv_sec: 2, tv_usec: 0)
        setsockopt(receiver, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(receiver, $0, length) }
        }
        try #require(bound == 0)
        _ = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(receiver, $0, &length) }
        }
        return (sender, receiver, address)
    }

    @Test func everyDatagramArrivesWholeSeparateAndInOrder() throws {
        let (sender, receiver, address) = try socketPair()
        defer {
            close(sender)
            close(receiver)
        }
        // Equal runs with a shorter last one, a lone larger one, small ones, and a run longer than one GSO send.
        let sizes = [Int](repeating: 1255, count: 10) + [700, 2000, 100, 100, 100, 37]
            + [Int](repeating: 1255, count: 50) + [1]
        let datagrams = sizes.enumerated().map { index, size in
            (0..<size).map { UInt8(truncatingIfNeeded: $0 &+ index &* 7) }
        }
        var error: Int32 = 0
        let sent = withUnsafePointer(to: address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { name in
                var buffers = datagrams.map { bytes -> UnsafeMutableBufferPointer<UInt8> in
                    let buffer = UnsafeMutableBufferPointer<UInt8>.allocate(capacity: bytes.count)
                    _ = buffer.initialize(from: bytes)
                    return buffer
                }
                defer { for buffer in buffers { buffer.deallocate() } }
                let outgoing = buffers.indices.map { index in
                    c_ss_outgoing(
                        data: UnsafePointer(buffers[index].baseAddress), length: buffers[index].count, address: name,
                        address_length: socklen_t(MemoryLayout<sockaddr_in>.size))
                }
                buffers = buffers.map { $0 }
                return outgoing.withUnsafeBufferPointer {
                    c_ss_udp_send_batch(sender, $0.baseAddress, UInt32($0.count), &error)
                }
            }
        }
        #expect(error == 0)
        #expect(Int(sent) == datagrams.count)
        var buffer = [UInt8](repeating: 0, count: 65_536)
        for (index, expected) in datagrams.enumerated() {
            let count = buffer.withUnsafeMutableBytes { recv(receiver, $0.baseAddress, $0.count, 0) }
            try #require(count >= 0, "datagram \(index) of \(datagrams.count) did not arrive")
            #expect(Array(buffer[0..<count]) == expected, "datagram \(index)")
        }
        var pending: Int32 = 0
        _ = ioctl(receiver, UInt(FIONREAD), &pending)
        #expect(pending == 0)
    }
}
