#if canImport(Glibc)
import Glibc
#endif
import Logging
import NIOCore
import NIOPosix

/// The daemon's local control socket: a client that connects gets the status report as one JSON document.
/// The socket is created 0600 (root only, or the daemon's user).
enum ControlServer {
    /// Binds `path`; returns nil (with a log line) when another live daemon already answers there.
    static func start(
        path: String, group: EventLoopGroup, logger: Logger, report: @escaping @Sendable () -> String
    ) async -> Channel? {
        if isAnswering(path) {
            logger.warning("control socket \(path) belongs to another running ss-redir; status for this one is off (use --control PATH)")
            return nil
        }
        unlink(path)  // a stale socket from a daemon that died
        let oldMask = umask(0o177)
        defer { umask(oldMask) }
        do {
            return try await ServerBootstrap(group: group)
                .childChannelInitializer { channel in
                    channel.eventLoop.makeCompletedFuture {
                        try channel.pipeline.syncOperations.addHandler(ReportWriter(report: report))
                    }
                }
                .bind(unixDomainSocketPath: path).get()
        } catch {
            logger.warning("cannot create control socket \(path): \(error); `ss-redir status` will not reach this daemon")
            return nil
        }
    }

    static func stop(_ channel: Channel?, path: String) async {
        guard let channel else { return }
        try? await channel.close()
        unlink(path)
    }

    private static func isAnswering(_ path: String) -> Bool {
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let bytes = Array(path.utf8)
        guard bytes.count < MemoryLayout.size(ofValue: address.sun_path) else { return false }
        withUnsafeMutableBytes(of: &address.sun_path) { $0.copyBytes(from: bytes) }
        return withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) == 0
            }
        }
    }
}

/// Writes the report once the accepted connection is active, then closes it.
private final class ReportWriter: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    private let report: @Sendable () -> String

    init(report: @escaping @Sendable () -> String) {
        self.report = report
    }

    func channelActive(context: ChannelHandlerContext) {
        let text = report()
        var buffer = context.channel.allocator.buffer(capacity: text.utf8.count)
        buffer.writeString(text)
        let channel = context.channel
        context.writeAndFlush(NIOAny(buffer)).whenComplete { _ in channel.close(promise: nil) }
        context.fireChannelActive()
    }
}
