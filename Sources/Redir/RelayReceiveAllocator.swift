import NIOCore

/// Receive buffer sizes for relayed TCP connections. NIO keeps each channel's last receive buffer for its next
/// read, so the first size is what every idle connection holds, twice (LAN and upstream channel): 512 bytes
/// here instead of NIO's 2,048, 3 KiB less per open connection (docs/performance.md). A read that fills the
/// buffer doubles the next one, up to 64 KiB for bulk transfers.
enum RelayReceiveAllocator {
    static var adaptive: AdaptiveRecvByteBufferAllocator {
        AdaptiveRecvByteBufferAllocator(minimum: 64, initial: 512, maximum: 65_536)
    }
}
