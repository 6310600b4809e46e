import Logging
import NIOConcurrencyHelpers

/// The daemon's log lines for GET /logs subscribers, and the level the daemon itself logs at (PATCH /configs
/// "log-level" changes it). Installed around the standard error handler at start-up; with no subscriber a log
/// call costs one extra lock to read the level.
package final class LogFeed: Sendable {
    package typealias Sink = @Sendable (_ level: Logger.Level, _ line: String) -> Void

    private struct State {
        var systemLevel: Logger.Level
        var subscribers: [Int: (level: Logger.Level, sink: Sink)] = [:]
        var nextID = 0
        /// The lowest level anyone wants: what Logger must let through.
        var effectiveLevel: Logger.Level
    }

    private let state: NIOLockedValueBox<State>

    package init(systemLevel: Logger.Level) {
        state = NIOLockedValueBox(State(systemLevel: systemLevel, effectiveLevel: systemLevel))
    }

    package var systemLevel: Logger.Level {
        get { state.withLockedValue { $0.systemLevel } }
        set {
            state.withLockedValue {
                $0.systemLevel = newValue
                Self.recompute(&$0)
            }
        }
    }

    var effectiveLevel: Logger.Level { state.withLockedValue { $0.effectiveLevel } }

    /// Lines at `level` or above go to `sink` (from any thread) until `unsubscribe`.
    package func subscribe(level: Logger.Level, sink: @escaping Sink) -> Int {
        state.withLockedValue {
            let id = $0.nextID
            $0.nextID += 1
            $0.subscribers[id] = (level, sink)
            Self.recompute(&$0)
            return id
        }
    }

    package func unsubscribe(_ id: Int) {
        state.withLockedValue {
            $0.subscribers[id] = nil
            Self.recompute(&$0)
        }
    }

    private static func recompute(_ state: inout State) {
        state.effectiveLevel = state.subscribers.values.map(\.level).reduce(state.systemLevel) { min($0, $1) }
    }

    func publish(level: Logger.Level, line: @autoclosure () -> String) {
        let sinks = state.withLockedValue { state in state.subscribers.values.filter { level >= $0.level }.map(\.sink) }
        guard !sinks.isEmpty else { return }
        let text = line()
        for sink in sinks { sink(level, text) }
    }

    /// The handler to bootstrap LoggingSystem with: `inner` logs at the system level, subscribers get theirs.
    package func handler(wrapping inner: any LogHandler) -> LogFeedHandler {
        LogFeedHandler(inner: inner, feed: self)
    }
}

/// `LogFeed`'s tee: the wrapped handler at the system level, the feed's subscribers at theirs.
package struct LogFeedHandler: LogHandler {
    var inner: any LogHandler
    let feed: LogFeed

    package var metadata: Logger.Metadata {
        get { inner.metadata }
        set { inner.metadata = newValue }
    }

    package subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { inner[metadataKey: key] }
        set { inner[metadataKey: key] = newValue }
    }

    package var logLevel: Logger.Level {
        get { feed.effectiveLevel }
        set { feed.systemLevel = newValue }
    }

    package func log(event: LogEvent) {
        if event.level >= feed.systemLevel { inner.log(event: event) }
        feed.publish(level: event.level, line: "\(event.message)")
    }
}
