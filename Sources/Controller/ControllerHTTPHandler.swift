import Logging
import NIOCore
import NIOHTTP1

/// One controller HTTP connection: reads a request (body capped), checks the secret, answers through the
/// router with CORS headers, or keeps the response open as a chunked stream of JSON lines.
final class ControllerHTTPHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    /// Largest request body accepted; the API's bodies are a few dozen bytes.
    static let maximumBody = 64 * 1024

    private let shared: ControllerShared
    private var head: HTTPRequestHead?
    private var body: [UInt8] = []
    private var rejected = false
    private var busy = false
    private var stream: StreamSession?
    /// A whole request (head and body) must arrive within `ExternalController.requestTimeout` of the connection
    /// or of the previous response: a client that drips bytes is closed like a silent one.
    private var requestDeadline: Scheduled<Void>?

    init(shared: ControllerShared) {
        self.shared = shared
    }

    func handlerAdded(context: ChannelHandlerContext) {
        armDeadline(context: context)
    }

    private func armDeadline(context: ChannelHandlerContext) {
        requestDeadline?.cancel()
        let channel = context.channel
        requestDeadline = context.eventLoop.assumeIsolated().scheduleTask(in: ExternalController.requestTimeout) {
            channel.close(promise: nil)
        }
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let requestHead):
            head = requestHead
            body = []
            rejected = false
            if let length = requestHead.headers.first(name: "Content-Length").flatMap(Int.init),
                length > Self.maximumBody
            {
                reject(context: context, .payloadTooLarge, "Body too large")
            }
        case .body(var chunk):
            guard !rejected else { return }
            if body.count + chunk.readableBytes > Self.maximumBody {
                reject(context: context, .payloadTooLarge, "Body too large")
                return
            }
            body += chunk.readBytes(length: chunk.readableBytes) ?? []
        case .end:
            requestDeadline?.cancel()
            requestDeadline = nil
            guard !rejected, let head else { return }
            self.head = nil
            handle(head, context: context)
        }
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        // Idle: a slow or silent client; a stream's client only reads, so it is left alone.
        if event is IdleStateHandler.IdleStateEvent {
            if stream == nil && !busy { context.close(promise: nil) }
            return
        }
        context.fireUserInboundEventTriggered(event)
    }

    func channelInactive(context: ChannelHandlerContext) {
        stopStream()
        context.fireChannelInactive()
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        requestDeadline?.cancel()
        requestDeadline = nil
        stopStream()
    }

    private func stopStream() {
        if stream != nil {
            stream?.stop()
            stream = nil
            shared.releaseStream()
        }
    }

    private func reject(context: ChannelHandlerContext, _ status: HTTPResponseStatus, _ message: String) {
        rejected = true
        write(.error(status, message), context: context, origin: head?.headers.first(name: "Origin"), keepAlive: false)
    }

    private func handle(_ head: HTTPRequestHead, context: ChannelHandlerContext) {
        let origin = head.headers.first(name: "Origin")
        if head.method == .OPTIONS {
            writePreflight(head, context: context)
            return
        }
        let request = ControllerRequest(method: head.method, uri: head.uri, body: body)
        body = []
        if request.segments.first == "ui" {
            serveUI(request, head: head, context: context)
            return
        }
        guard shared.auth.allows(head, query: request.query, isUpgrade: false) else {
            write(.error(.unauthorized, "Unauthorized"), context: context, origin: origin, keepAlive: head.isKeepAlive)
            return
        }
        busy = true
        let router = shared.router
        context.eventLoop.makeFutureWithTask { await router.respond(to: request) }.assumeIsolated().whenSuccess {
            response in
            self.busy = false
            guard context.channel.isActive else { return }
            if case .stream(let kind) = response {
                self.startStream(kind, head: head, context: context)
            } else {
                self.write(response, context: context, origin: origin, keepAlive: head.isKeepAlive)
            }
        }
    }

    private func serveUI(_ request: ControllerRequest, head: HTTPRequestHead, context: ChannelHandlerContext) {
        guard head.method == .GET || head.method == .HEAD, let files = shared.staticFiles else {
            write(.error(.notFound, "Resource not found"), context: context, origin: nil, keepAlive: head.isKeepAlive)
            return
        }
        if request.segments.count == 1 && !head.uri.hasPrefix("/ui/") {
            // /ui → /ui/ so the page's relative asset paths resolve below it.
            var headers = HTTPHeaders()
            let query = head.uri.firstIndex(of: "?").map { String(head.uri[$0...]) } ?? ""
            headers.add(name: "Location", value: "/ui/" + query)
            headers.add(name: "Content-Length", value: "0")
            context.write(
                wrapOutboundOut(
                    .head(HTTPResponseHead(version: head.version, status: .movedPermanently, headers: headers))),
                promise: nil)
            context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
            armDeadline(context: context)
            return
        }
        switch files.lookup(Array(request.segments.dropFirst())) {
        case .file(let contentType, let bytes):
            write(
                .body(status: .ok, contentType: contentType, bytes: head.method == .HEAD ? [] : bytes),
                context: context,
                origin: nil, keepAlive: head.isKeepAlive, contentLength: bytes.count)
        case .notFound:
            write(.error(.notFound, "Resource not found"), context: context, origin: nil, keepAlive: head.isKeepAlive)
        case .tooLarge:
            write(
                .error(.internalServerError, "File too large"), context: context, origin: nil,
                keepAlive: head.isKeepAlive)
        }
    }

    private func startStream(_ kind: ControllerStream, head: HTTPRequestHead, context: ChannelHandlerContext) {
        guard shared.acquireStream() else {
            write(
                .error(.serviceUnavailable, "Too many streams"), context: context,
                origin: head.headers.first(name: "Origin"), keepAlive: false)
            return
        }
        var headers = corsHeaders(origin: head.headers.first(name: "Origin"))
        headers.add(name: "Content-Type", value: "application/json")
        headers.add(name: "Transfer-Encoding", value: "chunked")
        context.writeAndFlush(
            wrapOutboundOut(.head(HTTPResponseHead(version: head.version, status: .ok, headers: headers))), promise: nil
        )
        let channel = context.channel
        let session = StreamSession(kind: kind, router: shared.router, channel: channel) { [weak self] line in
            guard let self else { return }
            var buffer = channel.allocator.buffer(capacity: line.utf8.count + 1)
            buffer.writeString(line)
            buffer.writeString("\n")
            context.writeAndFlush(self.wrapOutboundOut(.body(.byteBuffer(buffer))), promise: nil)
        }
        stream = session
        session.start()
    }

    private func corsHeaders(origin: String?) -> HTTPHeaders {
        var headers = HTTPHeaders()
        headers.add(name: "Access-Control-Allow-Origin", value: origin ?? "*")
        headers.add(name: "Vary", value: "Origin")
        return headers
    }

    private func writePreflight(_ head: HTTPRequestHead, context: ChannelHandlerContext) {
        var headers = corsHeaders(origin: head.headers.first(name: "Origin"))
        headers.add(name: "Access-Control-Allow-Methods", value: "GET, POST, PUT, PATCH, DELETE, OPTIONS")
        headers.add(
            name: "Access-Control-Allow-Headers",
            value: head.headers.first(name: "Access-Control-Request-Headers") ?? "Content-Type, Authorization")
        headers.add(name: "Access-Control-Max-Age", value: "300")
        // Chrome's Private Network Access: a dashboard on a public site asking a router's private address.
        if head.headers.first(name: "Access-Control-Request-Private-Network") == "true" {
            headers.add(name: "Access-Control-Allow-Private-Network", value: "true")
        }
        headers.add(name: "Content-Length", value: "0")
        context.write(
            wrapOutboundOut(.head(HTTPResponseHead(version: head.version, status: .noContent, headers: headers))),
            promise: nil)
        context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
        armDeadline(context: context)
    }

    private func write(
        _ response: ControllerResponse, context: ChannelHandlerContext, origin: String?, keepAlive: Bool,
        contentLength: Int? = nil
    ) {
        var headers = corsHeaders(origin: origin)
        let status: HTTPResponseStatus
        var bytes: [UInt8] = []
        switch response {
        case .body(let bodyStatus, let contentType, let body):
            status = bodyStatus
            bytes = body
            headers.add(name: "Content-Type", value: contentType)
        case .empty(let emptyStatus):
            status = emptyStatus
        case .stream:
            status = .internalServerError
        }
        if status != .noContent { headers.add(name: "Content-Length", value: String(contentLength ?? bytes.count)) }
        if !keepAlive { headers.add(name: "Connection", value: "close") }
        context.write(
            wrapOutboundOut(.head(HTTPResponseHead(version: .http1_1, status: status, headers: headers))), promise: nil)
        if !bytes.isEmpty {
            var buffer = context.channel.allocator.buffer(capacity: bytes.count)
            buffer.writeBytes(bytes)
            context.write(wrapOutboundOut(.body(.byteBuffer(buffer))), promise: nil)
        }
        let channel = context.channel
        context.writeAndFlush(wrapOutboundOut(.end(nil))).whenComplete { _ in
            if !keepAlive { channel.close(promise: nil) }
        }
        if keepAlive && !rejected { armDeadline(context: context) }
    }
}
