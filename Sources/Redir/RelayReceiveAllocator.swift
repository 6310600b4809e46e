import NIOCore

/// Receive buffer sizes for relayed TCP connections. NIO keeps each channel's last receive buffer for its next
/// read, as long as the channel lives:
/// - the first size is what every idle connection holds, twice (LAN and upstream channel): 512 bytes here
///   instead of NIO's 2,048, 3 KiB less per open connection;
/// - a read that fills the buffer doubles the next one, up to 32 KiB: a connection that moved a burst keeps a
///   buffer of this size until it closes. With 64 KiB, 1,000 connections held 145 MiB after 1 MiB down each
///   (ss-libev 47); with 32 KiB, 87 MiB, at the same CPU per GiB (docs/performance.md).
enum RelayReceiveAllocator {
    static var adaptive: AdaptiveRecvByteBufferAllocator {
        AdaptiveRecvByteBufferAllocator(minimum: 64, initial: 512, maximum: 32_768)
    }
}
