import Logging
import NIOCore

/// resolv.conf's retry policy for one query, after glibc's res_send: `attempts` rounds over the servers (starting
/// further along the list each time with `rotate`), each try bounded by `timeout`; UDP first and TCP to the same
/// server when the reply is truncated (always TCP with `use-vc`). SERVFAIL, NOTIMP and REFUSED move on to the
/// next server; the last of those is returned when no server does better.
struct NameserverExchange: Sendable {
    struct Failure: Error, Sendable {
        let kind: DNSResolutionError.Kind
    }

    var servers: [SocketAddress]
    var timeoutSeconds: Int
    var attempts: Int
    /// Index of the first server to ask (rotation).
    var firstServer: Int
    var alwaysTCP: Bool
    var socket: SocketSettings
    var group: any EventLoopGroup
    var logger: Logger

    /// The first acceptable reply; throws `Failure` when every try failed, or CancellationError.
    func run(_ query: [UInt8], matching message: DNSMessage) async throws -> NameserverReply {
        guard !servers.isEmpty else { throw Failure(kind: .unreachable("no nameserver to ask")) }
        let timeout = TimeAmount.seconds(Int64(timeoutSeconds))
        var rejected: NameserverReply? = nil
        var sawTimeout = false
        var otherFailure: TransportFailure? = nil
        for _ in 0..<attempts {
            for step in 0..<servers.count {
                let server = servers[(firstServer + step) % servers.count]
                do {
                    let eventLoop = group.next()
                    var reply =
                        alwaysTCP
                        ? try await StreamExchange.send(
                            query, matching: message, to: server, timeout: timeout, on: eventLoop, socket: socket)
                        : try await DatagramExchange.send(
                            query, matching: message, to: server, timeout: timeout, on: eventLoop, socket: socket)
                    if reply.message.header.isTruncated && !alwaysTCP {
                        logger.debug("truncated reply over UDP, retrying over TCP", metadata: metadata(message, server))
                        reply = try await StreamExchange.send(
                            query, matching: message, to: server, timeout: timeout, on: eventLoop, socket: socket)
                    }
                    switch reply.message.responseCode {
                    case .serverFailure, .notImplemented, .refused:
                        logger.debug(
                            "nameserver answered \(reply.message.responseCode), trying the next",
                            metadata: metadata(message, server))
                        rejected = reply
                    default:
                        return reply
                    }
                } catch let failure as TransportFailure {
                    logger.debug("query failed: \(failure)", metadata: metadata(message, server))
                    if failure == .timedOut { sawTimeout = true } else { otherFailure = otherFailure ?? failure }
                }
            }
        }
        if let rejected { return rejected }
        if sawTimeout || otherFailure == nil {
            throw Failure(kind: .timedOut(timeoutSeconds: timeoutSeconds, attempts: attempts))
        }
        switch otherFailure {
        case .badResponse(let reason): throw Failure(kind: .badResponse(reason))
        case .unreachable(let reason): throw Failure(kind: .unreachable(reason))
        case .timedOut, nil: throw Failure(kind: .timedOut(timeoutSeconds: timeoutSeconds, attempts: attempts))
        }
    }

    private func metadata(_ message: DNSMessage, _ server: SocketAddress) -> Logger.Metadata {
        [
            "dns.question": "\(message.questions.first.map { "\($0)" } ?? "-")",
            "dns.server": "\(DNSResolutionError.text(of: server))",
        ]
    }
}
