#if canImport(Glibc)
import Glibc
#endif
import Logging
import NIOCore

/// Out of descriptors (EMFILE/ENFILE, also ENOBUFS/ENOMEM), accept(2) fails at once while the connection waits in
/// the backlog. NIO keeps such a listener registered for reads (its read stays pending after a failed accept), so
/// epoll reports it readable again at once: a busy loop, and NIO's `AcceptBackoffHandler` never gets a read to
/// delay. This handler turns the listener's autoRead off for `retryInterval` after such an error (which
/// unregisters it), then on again; one log line when the pause starts, one when a connection is accepted again.
public final class AcceptPauseHandler: ChannelInboundHandler, RemovableChannelHandler {
    public typealias InboundIn = any Channel

    /// Short enough that a freed descriptor is used within a blink; long enough that a full table costs nothing.
    public static let retryInterval: TimeAmount = .milliseconds(250)

    private let listener: String
    private let logger: Logger
    private var paused = false
    private var failedAccepts = 0
    private var resume: Scheduled<Void>?

    public init(listener: String, logger: Logger) {
        self.listener = listener
        self.logger = logger
    }

    /// A `serverChannelInitializer` body adding the handler to a listener.
    public static func install(on channel: any Channel, listener: String, logger: Logger) -> EventLoopFuture<Void> {
        channel.eventLoop.makeCompletedFuture {
            try channel.pipeline.syncOperations.addHandler(AcceptPauseHandler(listener: listener, logger: logger))
        }
    }

    static func isResourceShortage(_ error: IOError) -> Bool {
        switch error.errnoCode {
        case EMFILE, ENFILE, ENOBUFS, ENOMEM: true
        default: false
        }
    }

    public func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        if paused {
            paused = false
            logger.notice("tcp \(listener): accepting connections again (\(failedAccepts) accept attempts failed)")
            failedAccepts = 0
        }
        context.fireChannelRead(data)
    }

    public func errorCaught(context: ChannelHandlerContext, error: any Error) {
        guard let ioError = error as? IOError, Self.isResourceShortage(ioError) else {
            context.fireErrorCaught(error)
            return
        }
        failedAccepts += 1
        if !paused {
            paused = true
            var limit = rlimit()
            let limitText = getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0 ? " (limit \(limit.rlim_cur))" : ""
            logger.warning(
                "tcp \(listener): cannot accept: \(String(cString: strerror(ioError.errnoCode)))\(limitText); new connections wait in the backlog, retrying every \(Self.retryInterval.nanoseconds / 1_000_000) ms; raise the open-file limit (-n/nofile) if this repeats"
            )
        }
        guard resume == nil, let options = context.channel.syncOptions else { return }
        try? options.setOption(.autoRead, value: false)
        let loop = context.eventLoop.assumeIsolated()
        resume = loop.scheduleTask(in: Self.retryInterval) { [self] in
            resume = nil
            try? context.channel.syncOptions?.setOption(.autoRead, value: true)
        }
    }

    public func channelInactive(context: ChannelHandlerContext) {
        resume?.cancel()
        resume = nil
        context.fireChannelInactive()
    }
}
