import Logging
import NIOConcurrencyHelpers
import NIOCore

/// One streamed endpoint for one client: a JSON line per second for /traffic and /memory, the connection
/// table every interval for /connections, each log line for /logs. Lives on the client channel's event loop.
/// A client that does not read does not get a queue: samples are skipped while its channel is unwritable,
/// and it is closed after `stalledLimit` without progress.
final class StreamSession {
    static let stalledLimit: TimeAmount = .seconds(30)

    private let kind: ControllerStream
    private let router: ControllerRouter
    private let channel: Channel
    private let emit: (String) -> Void
    private var timer: RepeatedTask?
    private var logSubscription: Int?
    private var lastTotals: (up: UInt64, down: UInt64)?
    private var unwritableSince: NIODeadline?
    private var sampling = false
    private var stopped = false

    init(kind: ControllerStream, router: ControllerRouter, channel: Channel, emit: @escaping (String) -> Void) {
        self.kind = kind
        self.router = router
        self.channel = channel
        self.emit = emit
    }

    func start() {
        let loop = channel.eventLoop
        let bound = NIOLoopBound(self, eventLoop: loop)
        switch kind {
        case .logs(let levelName, let structured):
            let level = ControllerRouter.logLevel(levelName) ?? .info
            guard let feed = router.logFeed else { return }
            logSubscription = feed.subscribe(level: level) { level, line in
                let name = ControllerRouter.clashLevel(level)
                let text =
                    structured
                    ? ClashShapes.structuredLog(level: name, message: line, at: WallClock.nowNanoseconds()).rendered
                    : ClashShapes.log(level: name, message: line).rendered
                loop.execute { bound.value.deliver(text) }
            }
        case .traffic, .memory:
            tick()
            timer = loop.scheduleRepeatedTask(initialDelay: .seconds(1), delay: .seconds(1)) { _ in bound.value.tick() }
        case .connections(let interval):
            tick()
            timer = loop.scheduleRepeatedTask(
                initialDelay: .milliseconds(Int64(interval)), delay: .milliseconds(Int64(interval))
            ) { _ in
                bound.value.tick()
            }
        }
    }

    func stop() {
        stopped = true
        timer?.cancel()
        timer = nil
        if let logSubscription { router.logFeed?.unsubscribe(logSubscription) }
        logSubscription = nil
    }

    private func deliver(_ line: String) {
        guard !stopped, channel.isActive else { return }
        if channel.isWritable {
            unwritableSince = nil
            emit(line)
        } else if stalled() {
            channel.close(promise: nil)
        }
    }

    private func stalled() -> Bool {
        let now = NIODeadline.now()
        guard let since = unwritableSince else {
            unwritableSince = now
            return false
        }
        return now - since > Self.stalledLimit
    }

    private func tick() {
        guard !stopped, !sampling else { return }
        guard channel.isWritable else {
            if stalled() { channel.close(promise: nil) }
            return
        }
        unwritableSince = nil
        sampling = true
        let router = self.router
        let kind = self.kind
        channel.eventLoop.makeFutureWithTask { () async -> Sample in
            switch kind {
            case .traffic: return .totals(await router.backend.trafficTotals())
            case .memory: return .line(ClashShapes.memory(inuse: ProcessMemory.residentBytes()).rendered)
            case .connections: return .line(await router.connectionsSnapshot().rendered)
            case .logs: return .line("")
            }
        }.assumeIsolated().whenSuccess { sample in
            self.sampling = false
            switch sample {
            case .line(let line):
                self.deliver(line)
            case .totals(let totals):
                // Bytes per second: the difference to the previous sample (0 for the first).
                let previous = self.lastTotals ?? totals
                self.lastTotals = totals
                let up = totals.up >= previous.up ? totals.up - previous.up : 0
                let down = totals.down >= previous.down ? totals.down - previous.down : 0
                self.deliver(ClashShapes.traffic(up: up, down: down).rendered)
            }
        }
    }

    private enum Sample: Sendable {
        case line(String)
        case totals((up: UInt64, down: UInt64))
    }
}
