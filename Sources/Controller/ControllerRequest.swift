import NIOHTTP1

/// One API request as the router sees it: path segments percent-decoded, query parameters, the whole body.
package struct ControllerRequest: Sendable {
    package var method: HTTPMethod
    package var segments: [String]
    package var query: [String: String]
    package var body: [UInt8]
    /// A WebSocket upgrade (the router then answers with a stream).
    package var isWebSocket: Bool

    package init(method: HTTPMethod, uri: String, body: [UInt8] = [], isWebSocket: Bool = false) {
        self.method = method
        let pathPart = uri.prefix { $0 != "?" && $0 != "#" }
        self.segments = pathPart.split(separator: "/", omittingEmptySubsequences: true).map { Self.percentDecoded($0) }
        var query: [String: String] = [:]
        if let mark = uri.firstIndex(of: "?") {
            let text = uri[uri.index(after: mark)...].prefix { $0 != "#" }
            for pair in text.split(separator: "&") {
                let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
                let key = Self.percentDecoded(parts[0], plusIsSpace: true)
                query[key] = parts.count > 1 ? Self.percentDecoded(parts[1], plusIsSpace: true) : ""
            }
        }
        self.query = query
        self.body = body
        self.isWebSocket = isWebSocket
    }

    /// RFC 3986 section 2.1; a malformed escape is kept as written.
    static func percentDecoded(_ text: Substring, plusIsSpace: Bool = false) -> String {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(text.utf8.count)
        var iterator = Array(text.utf8)[...]
        while let byte = iterator.popFirst() {
            if byte == UInt8(ascii: "%"), iterator.count >= 2,
                let value = UInt8(String(decoding: iterator.prefix(2), as: UTF8.self), radix: 16)
            {
                bytes.append(value)
                iterator = iterator.dropFirst(2)
            } else if plusIsSpace && byte == UInt8(ascii: "+") {
                bytes.append(UInt8(ascii: " "))
            } else {
                bytes.append(byte)
            }
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}

/// What the router answers: a body now, or a stream of lines (chunked HTTP or WebSocket text frames).
package enum ControllerResponse: Sendable {
    case body(status: HTTPResponseStatus, contentType: String, bytes: [UInt8])
    case empty(HTTPResponseStatus)
    case stream(ControllerStream)

    package static func json(_ value: JSONValue, status: HTTPResponseStatus = .ok) -> ControllerResponse {
        .body(status: status, contentType: "application/json", bytes: Array(value.rendered.utf8))
    }

    package static func error(_ status: HTTPResponseStatus, _ message: String) -> ControllerResponse {
        json(ClashShapes.message(message), status: status)
    }
}

/// The streamed endpoints: one JSON line per sample (or per log line).
package enum ControllerStream: Sendable, Equatable {
    case traffic
    case memory
    case connections(intervalMilliseconds: Int)
    /// `structured`: mihomo's `format=structured` lines (time, level, message, fields), as metacubexd asks.
    case logs(level: String, structured: Bool)
}
