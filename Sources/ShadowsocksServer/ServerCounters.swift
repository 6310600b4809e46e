import Logging
import NIOConcurrencyHelpers

/// What the server turned away, counted over all connections and ports (thread-safe). The first of each kind is
/// logged at notice; after that only with -v, so a scanner cannot flood the log.
public final class ServerCounters: Sendable {
    public enum Event: String, CaseIterable, Sendable {
        case authenticationFailed = "failed authentication (wrong password/method, or not Shadowsocks)"
        case replayedSalt = "replayed salt (a captured stream sent again)"
        case malformedTarget = "malformed target address"
        case noTargetInTime = "no target address before the deadline"
        case forbiddenTarget = "target in forbidden_ip"
        case connectionLimit = "over --max-connections"
        case udpUnauthentic = "udp: packet failed authentication"
        case udpForbidden = "udp: target in forbidden_ip"
        case udpUnresolvable = "udp: target name not resolved"
        case udpOversized = "udp: reply too large for a datagram once encrypted"
        case udpBacklog = "udp: outbound socket not bound yet and its queue is full"
        case udpEvicted = "udp: association table full, least recently used evicted"
    }

    /// A refused TCP target is rare and worth a line each (UDP refusals come per datagram: counted).
    private static let loggedEachTime: Set<Event> = [.forbiddenTarget]

    private let counts = NIOLockedValueBox<[Event: Int]>([:])

    public init() {}

    /// Counts `event`; logs `detail` at notice the first time (every time for forbidden targets), else at info.
    public func count(_ event: Event, logger: Logger, detail: @autoclosure () -> String) {
        let previous = counts.withLockedValue { counts in
            defer { counts[event, default: 0] += 1 }
            return counts[event, default: 0]
        }
        if Self.loggedEachTime.contains(event) {
            logger.notice("\(detail())")
        } else if previous == 0 {
            logger.notice("\(detail()) (first \(event.rawValue); further ones are counted, -v logs each)")
        } else {
            logger.info("\(detail())")
        }
    }

    public subscript(_ event: Event) -> Int { counts.withLockedValue { $0[event, default: 0] } }

    /// "failed authentication (...): 3, ..." for the shutdown line; empty when nothing was turned away.
    public var summary: String {
        let snapshot = counts.withLockedValue { $0 }
        return Event.allCases.compactMap { event in snapshot[event].map { "\(event.rawValue): \($0)" } }
            .joined(separator: ", ")
    }
}
