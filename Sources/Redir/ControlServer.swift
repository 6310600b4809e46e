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
        guard let fd = ControlSocketClient.connect(path) else { return false }
        close(fd)
        return true
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
