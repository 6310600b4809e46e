import Config
import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOHTTP1

/// Maps API requests to the backend and renders mihomo's JSON shapes. Unknown paths and names are 404, bodies
/// that are not the JSON asked for are 400; nothing here blocks an event loop (delay tests are awaited).
package final class ControllerRouter: Sendable {
    let backend: any ControllerBackend
    let logFeed: LogFeed?
    /// The last delay tests per proxy name, for `history` (mihomo keeps 10).
    private let histories = NIOLockedValueBox<[String: [DelaySample]]>([:])
    static let historyLength = 10
    static let defaultDelayTimeout = 5000
    static let maximumDelayTimeout = 30_000

    package init(backend: any ControllerBackend, logFeed: LogFeed?) {
        self.backend = backend
        self.logFeed = logFeed
    }

    package func respond(to request: ControllerRequest) async -> ControllerResponse {
        let path = request.segments
        switch (request.method, path.first ?? "") {
        case (.GET, "") where path.isEmpty:
            return .json(.object([("hello", .string("clash"))]))
        case (.GET, "version") where path.count == 1:
            return .json(ClashShapes.version(backend.version))
        case (_, "configs") where path.count == 1:
            return configs(request)
        case (_, "proxies"):
            return await proxies(request, path: Array(path.dropFirst()))
        case (.GET, "group") where path.count == 3 && path[2] == "delay":
            return await groupDelay(name: path[1], request: request)
        case (.GET, "group") where path.count <= 2:
            let group = backend.proxyGroup()
            if path.count == 2 {
                guard path[1] == group.name else { return .error(.notFound, "Resource not found") }
                return .json(ClashShapes.group(group, history: history(group.now)))
            }
            return .json(.object([("proxies", .array([ClashShapes.group(group, history: history(group.now))]))]))
        case (_, "connections"):
            return await connections(request, path: Array(path.dropFirst()))
        case (.GET, "traffic") where path.count == 1:
            return .stream(.traffic)
        case (.GET, "memory") where path.count == 1:
            return .stream(.memory)
        case (.GET, "logs") where path.count == 1:
            let level = request.query["level"] ?? "info"
            guard Self.logLevel(level) != nil else { return .error(.badRequest, "Body invalid") }
            return .stream(.logs(level: level, structured: request.query["format"] == "structured"))
        case (.GET, "rules") where path.count == 1:
            return .json(ClashShapes.rules(backend.rules()))
        case (.GET, "providers") where path.count == 2 && (path[1] == "proxies" || path[1] == "rules"):
            return .json(.object([("providers", .object([]))]))
        default:
            return .error(.notFound, "Resource not found")
        }
    }

    private func configs(_ request: ControllerRequest) -> ControllerResponse {
        switch request.method {
        case .GET:
            return .json(ClashShapes.configs(logLevel: Self.clashLevel(logFeed?.systemLevel ?? .notice)))
        case .PATCH:
            guard case .object(let fields) = Self.parse(request.body)?.value else {
                return .error(.badRequest, "Body invalid")
            }
            var level: Logger.Level?
            for (key, node) in fields {
                switch key {
                case "mode":
                    guard case .string(let mode) = node.value, mode.lowercased() == "rule" else {
                        return .error(.badRequest, "mode: only \"rule\" (ss-redir routes by its bypass rules)")
                    }
                case "log-level":
                    guard case .string(let name) = node.value, let parsed = Self.logLevel(name) else {
                        return .error(.badRequest, "log-level: expected debug, info, warning, error or silent")
                    }
                    level = parsed
                default:
                    // mihomo ignores keys it does not apply; so do we (ports, allow-lan, tun ...).
                    break
                }
            }
            if let level, let logFeed { logFeed.systemLevel = level }
            return .empty(.noContent)
        case .PUT:
            return .error(.badRequest, "reloading through the API is not supported: send SIGHUP (ss-redir reload)")
        default:
            return .error(.methodNotAllowed, "Method not allowed")
        }
    }

    private func proxies(_ request: ControllerRequest, path: [String]) async -> ControllerResponse {
        let group = backend.proxyGroup()
        guard let name = path.first else {
            guard request.method == .GET else { return .error(.methodNotAllowed, "Method not allowed") }
            return .json(ClashShapes.proxies(group) { self.history($0) })
        }
        let member = group.members.first { $0.name == name }
        let isGroup = name == group.name
        let known = isGroup || member != nil || name == ClashShapes.globalName || name == ClashShapes.directName
        guard known else { return .error(.notFound, "Resource not found") }
        if path.count == 2 && path[1] == "delay" && request.method == .GET {
            guard name != ClashShapes.directName && name != ClashShapes.globalName else {
                return .error(.badRequest, "Body invalid")
            }
            return await delay(of: isGroup ? group.now : name, reportAs: name, request: request)
        }
        guard path.count == 1 else { return .error(.notFound, "Resource not found") }
        switch request.method {
        case .GET:
            if isGroup { return .json(ClashShapes.group(group, history: history(group.now))) }
            if let member { return .json(ClashShapes.member(member, history: history(member.name))) }
            let all = ClashShapes.proxies(group) { self.history($0) }
            if case .object(let top) = all, case .object(let entries) = top[0].1,
                let entry = entries.first(where: { $0.0 == name })
            {
                return .json(entry.1)
            }
            return .error(.notFound, "Resource not found")
        case .PUT:
            guard isGroup else { return .error(.badRequest, "Must be a Selector") }
            guard case .object(let fields) = Self.parse(request.body)?.value,
                let node = fields.first(where: { $0.key == "name" })?.node, case .string(let target) = node.value
            else {
                return .error(.badRequest, "Body invalid")
            }
            guard backend.pin(member: target) else { return .error(.badRequest, "Selector update error: not found") }
            return .empty(.noContent)
        case .DELETE:
            guard isGroup else { return .error(.badRequest, "Must be a Selector") }
            _ = backend.pin(member: nil)
            return .empty(.noContent)
        default:
            return .error(.methodNotAllowed, "Method not allowed")
        }
    }

    /// url and timeout (milliseconds) as mihomo takes them; nil when malformed.
    private func delayParameters(_ request: ControllerRequest) -> (DelayTarget, Int)? {
        guard let url = request.query["url"], let target = DelayTarget(url: url) else { return nil }
        let timeoutText = request.query["timeout"] ?? String(Self.defaultDelayTimeout)
        guard let timeout = Int(timeoutText), timeout > 0 else { return nil }
        return (target, min(timeout, Self.maximumDelayTimeout))
    }

    private func delay(of member: String, reportAs name: String, request: ControllerRequest) async -> ControllerResponse
    {
        guard let (target, timeout) = delayParameters(request) else { return .error(.badRequest, "Body invalid") }
        switch await backend.delay(member: member, target: target, timeout: .milliseconds(Int64(timeout))) {
        case .milliseconds(let value):
            record(value, for: member)
            return .json(.object([("delay", .int(value))]))
        case .timeout:
            record(0, for: member)
            return .error(.gatewayTimeout, "Timeout")
        case .failed:
            record(0, for: member)
            return .error(.serviceUnavailable, "An error occurred in the delay test")
        case .unknownMember:
            return .error(.notFound, "Resource not found")
        }
    }

    private func groupDelay(name: String, request: ControllerRequest) async -> ControllerResponse {
        let group = backend.proxyGroup()
        guard name == group.name else { return .error(.notFound, "Resource not found") }
        guard let (target, timeout) = delayParameters(request) else { return .error(.badRequest, "Body invalid") }
        let results = await withTaskGroup(of: (String, DelayOutcome).self) { tasks in
            for member in group.members {
                tasks.addTask {
                    (
                        member.name,
                        await self.backend.delay(
                            member: member.name, target: target, timeout: .milliseconds(Int64(timeout)))
                    )
                }
            }
            var results: [String: DelayOutcome] = [:]
            for await (name, outcome) in tasks { results[name] = outcome }
            return results
        }
        var fields: [(String, JSONValue)] = []
        for member in group.members {
            guard let outcome = results[member.name] else { continue }
            if case .milliseconds(let value) = outcome {
                record(value, for: member.name)
                fields.append((member.name, .int(value)))
            } else {
                record(0, for: member.name)
            }
        }
        return .json(.object(fields))
    }

    private func connections(_ request: ControllerRequest, path: [String]) async -> ControllerResponse {
        switch (request.method, path.count) {
        case (.GET, 0):
            if request.isWebSocket {
                let interval = Int(request.query["interval"] ?? "") ?? 1000
                return .stream(.connections(intervalMilliseconds: max(200, min(interval, 60_000))))
            }
            return .json(await connectionsSnapshot())
        case (.DELETE, 0):
            backend.closeAllFlows()
            return .empty(.noContent)
        case (.DELETE, 1):
            guard backend.closeFlow(id: path[0]) else { return .error(.notFound, "Resource not found") }
            return .empty(.noContent)
        default:
            return .error(.notFound, "Resource not found")
        }
    }

    package func connectionsSnapshot() async -> JSONValue {
        let flows = await backend.flows()
        let totals = await backend.trafficTotals()
        return ClashShapes.connections(flows, totals: totals, memory: ProcessMemory.residentBytes())
    }

    func history(_ name: String) -> [DelaySample] {
        histories.withLockedValue { $0[name] ?? [] }
    }

    /// mihomo records a failed test as delay 0.
    private func record(_ milliseconds: Int, for name: String) {
        let sample = DelaySample(at: WallClock.nowNanoseconds(), milliseconds: milliseconds)
        histories.withLockedValue { histories in
            var list = histories[name] ?? []
            list.append(sample)
            if list.count > Self.historyLength { list.removeFirst(list.count - Self.historyLength) }
            histories[name] = list
        }
    }

    static func parse(_ body: [UInt8]) -> JSONNode? {
        guard let text = String(validating: body, as: UTF8.self) else { return nil }
        return try? JSONDocument.parse(text)
    }

    /// Clash level names (debug, info, warning, error, silent) to swift-log's.
    static func logLevel(_ name: String) -> Logger.Level? {
        switch name.lowercased() {
        case "debug": .debug
        case "info": .info
        case "warning", "warn": .warning
        case "error": .error
        case "silent": .critical
        default: nil
        }
    }

    static func clashLevel(_ level: Logger.Level) -> String {
        switch level {
        case .trace, .debug: "debug"
        case .info: "info"
        case .notice: "info"
        case .warning: "warning"
        case .error: "error"
        case .critical: "silent"
        }
    }
}
