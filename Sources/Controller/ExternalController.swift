import Config
import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOHTTP1
import NIOPosix
import NIOWebSocket

/// What every controller connection shares: the router, the secret, the UI files and the connection caps.
final class ControllerShared: Sendable {
    let router: ControllerRouter
    let auth: BearerAuth
    let staticFiles: StaticFiles?
    /// Concurrent streams (WebSocket or chunked), each costing a timer and a snapshot per interval.
    static let maximumStreams = 32
    /// Concurrent controller connections; more are closed on accept.
    static let maximumConnections = 128
    private let streams = NIOLockedValueBox(0)
    private let connections = NIOLockedValueBox(0)

    init(router: ControllerRouter, auth: BearerAuth, staticFiles: StaticFiles?) {
        self.router = router
        self.auth = auth
        self.staticFiles = staticFiles
    }

    func acquireStream() -> Bool {
        streams.withLockedValue {
            guard $0 < Self.maximumStreams else { return false }
            $0 += 1
            return true
        }
    }

    func releaseStream() {
        streams.withLockedValue { $0 -= 1 }
    }

    func acquireConnection() -> Bool {
        connections.withLockedValue {
            guard $0 < Self.maximumConnections else { return false }
            $0 += 1
            return true
        }
    }

    func releaseConnection() {
        connections.withLockedValue { $0 -= 1 }
    }
}

/// The Clash-compatible external controller (`--external-controller`): an HTTP/1.1 + WebSocket server on its
/// own event loop, so a busy or hostile dashboard client never runs on a relay loop.
package struct ExternalController: Sendable {
    /// A request (head and body) must arrive within this; an idle keep-alive connection is closed after it.
    static let requestTimeout: TimeAmount = .seconds(15)

    package let channel: Channel
    let group: MultiThreadedEventLoopGroup

    package static func start(
        settings: ExternalControllerSettings, backend: any ControllerBackend, logFeed: LogFeed?, logger: Logger
    ) async throws -> ExternalController {
        let router = ControllerRouter(backend: backend, logFeed: logFeed)
        let shared = ControllerShared(
            router: router, auth: BearerAuth(secret: settings.secret),
            staticFiles: settings.uiDirectory.map(StaticFiles.init(root:)))
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        do {
            let channel = try await ServerBootstrap(group: group)
                .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
                .serverChannelOption(.backlog, value: 64)
                .childChannelInitializer { channel in
                    guard shared.acquireConnection() else { return channel.close() }
                    channel.closeFuture.whenComplete { _ in shared.releaseConnection() }
                    return channel.eventLoop.makeCompletedFuture { try configure(channel, shared: shared) }
                }
                .bind(host: settings.endpoint.host, port: settings.endpoint.port).get()
            return ExternalController(channel: channel, group: group)
        } catch {
            try? await group.shutdownGracefully()
            throw error
        }
    }

    private static func configure(_ channel: Channel, shared: ControllerShared) throws {
        let http = NIOLoopBound(ControllerHTTPHandler(shared: shared), eventLoop: channel.eventLoop)
        let upgrader = NIOWebSocketServerUpgrader(
            maxFrameSize: 1 << 14,
            shouldUpgrade: { channel, head in
                let request = ControllerRequest(method: head.method, uri: head.uri, isWebSocket: true)
                // Refused upgrades fall through to the HTTP handler, which answers 401 or 404.
                guard shared.auth.allows(head, query: request.query, isUpgrade: true),
                    streamKind(request) != nil, shared.acquireStream()
                else {
                    return channel.eventLoop.makeSucceededFuture(nil)
                }
                return channel.eventLoop.makeSucceededFuture(HTTPHeaders())
            },
            upgradePipelineHandler: { channel, head in
                let request = ControllerRequest(method: head.method, uri: head.uri, isWebSocket: true)
                let kind = streamKind(request) ?? .traffic
                return channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(
                        ControllerWebSocketHandler(shared: shared, kind: kind))
                }
            })
        let sync = channel.pipeline.syncOperations
        try sync.addHandler(IdleStateHandler(readTimeout: requestTimeout))
        try sync.configureHTTPServerPipeline(
            withServerUpgrade: (
                upgraders: [upgrader],
                completionHandler: { context in
                    context.pipeline.syncOperations.removeHandler(http.value, promise: nil)
                }
            ),
            withErrorHandling: true)
        try sync.addHandler(http.value)
    }

    /// The stream a WebSocket request asks for, or nil when the path is not a streamed endpoint.
    static func streamKind(_ request: ControllerRequest) -> ControllerStream? {
        guard request.method == .GET, request.segments.count == 1 else { return nil }
        switch request.segments[0] {
        case "traffic": return .traffic
        case "memory": return .memory
        case "connections":
            let interval = Int(request.query["interval"] ?? "") ?? 1000
            return .connections(intervalMilliseconds: max(200, min(interval, 60_000)))
        case "logs":
            let level = request.query["level"] ?? "info"
            return ControllerRouter.logLevel(level) == nil
                ? nil : .logs(level: level, structured: request.query["format"] == "structured")
        default: return nil
        }
    }

    package var localPort: Int? { channel.localAddress?.port }

    package func stop() async {
        try? await channel.close()
        try? await group.shutdownGracefully()
    }
}
