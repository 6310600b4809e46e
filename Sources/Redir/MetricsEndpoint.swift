import Logging
import NIOCore
import NIOHTTP1
import NIOPosix
import ServerPool

/// `--metrics ADDR:PORT`: the Prometheus text format (version 0.0.4) at GET /metrics, rendered from the pool's
/// live counters on each scrape. A plain NIOHTTP1 server: nothing to register, nothing kept between scrapes.
enum MetricsEndpoint {
    static func start(
        host: String, port: Int, group: EventLoopGroup, logger: Logger, render: @escaping @Sendable () -> String
    ) async throws -> Channel {
        try await ServerBootstrap(group: group)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.configureHTTPServerPipeline()
                    try channel.pipeline.syncOperations.addHandler(MetricsHTTPHandler(render: render))
                }
            }
            .bind(host: host, port: port).get()
    }

    /// Prometheus exposition of the pool.
    static func exposition(statuses: [ServerPool.MemberStatus], tcpConnections: Int, uptimeSeconds: Int) -> String {
        var lines: [String] = []
        func family(_ name: String, _ type: String, _ help: String, _ samples: [(labels: String, value: String)]) {
            lines.append("# HELP \(name) \(help)")
            lines.append("# TYPE \(name) \(type)")
            for sample in samples { lines.append("\(name)\(sample.labels) \(sample.value)") }
        }
        func perMember(_ value: (ServerPool.MemberStatus) -> String) -> [(labels: String, value: String)] {
            statuses.map { status in
                let name = String(status.member.name.map { $0 == "\"" || $0 == "\\" || $0 == "\n" ? "_" : $0 })
                return ("{server=\"\(status.member.endpoint)\",name=\"\(name)\"}", value(status))
            }
        }
        family("ss_redir_uptime_seconds", "gauge", "Seconds since the daemon started.", [("", "\(uptimeSeconds)")])
        family("ss_redir_tcp_connections", "gauge", "Relayed TCP connections open now.", [("", "\(tcpConnections)")])
        family("ss_redir_server_up", "gauge", "1 when the pool considers the server healthy.",
            perMember { $0.health.up ? "1" : "0" })
        family("ss_redir_server_udp_up", "gauge", "1 when UDP probes (if configured) get answers through the server.",
            perMember { $0.health.udpUp && $0.member.udp ? "1" : "0" })
        family("ss_redir_server_latency_seconds", "gauge", "Smoothed probe latency through the server.",
            perMember { $0.health.latencyMilliseconds.map { String($0 / 1000) } ?? "NaN" })
        family("ss_redir_server_active_connections", "gauge", "TCP connections open through the server.",
            perMember { "\($0.counters.activeConnections)" })
        family("ss_redir_server_connections_total", "counter", "TCP connections made through the server.",
            perMember { "\($0.counters.totalConnections)" })
        family("ss_redir_server_connect_failures_total", "counter", "Failed connection attempts to the server.",
            perMember { "\($0.counters.connectFailures)" })
        family("ss_redir_server_sent_bytes_total", "counter", "Plaintext bytes sent up through the server.",
            perMember { "\($0.counters.bytesUp)" })
        family("ss_redir_server_received_bytes_total", "counter", "Plaintext bytes received through the server.",
            perMember { "\($0.counters.bytesDown)" })
        family("ss_redir_server_udp_associations", "gauge", "UDP associations using the server now.",
            perMember { "\($0.counters.udpAssociations)" })
        return lines.joined(separator: "\n") + "\n"
    }
}

private final class MetricsHTTPHandler: ChannelInboundHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    private let render: @Sendable () -> String
    private var path = ""

    init(render: @escaping @Sendable () -> String) {
        self.render = render
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head):
            path = head.method == .GET ? String(head.uri.split(separator: "?").first ?? "") : ""
        case .body:
            break
        case .end:
            let found = path == "/metrics"
            let text = found ? render() : "not found: try /metrics\n"
            var headers = HTTPHeaders()
            headers.add(name: "Content-Type", value: found ? "text/plain; version=0.0.4" : "text/plain")
            headers.add(name: "Content-Length", value: "\(text.utf8.count)")
            headers.add(name: "Connection", value: "close")
            let head = HTTPResponseHead(version: .http1_1, status: found ? .ok : .notFound, headers: headers)
            context.write(wrapOutboundOut(.head(head)), promise: nil)
            context.write(wrapOutboundOut(.body(.byteBuffer(ByteBuffer(string: text)))), promise: nil)
            let channel = context.channel
            context.writeAndFlush(wrapOutboundOut(.end(nil))).whenComplete { _ in channel.close(promise: nil) }
        }
    }
}
