import Config
import IPAddresses
import Logging
import NIOCore
import NIOPosix
import Resolver
import Rules
import ServerPool

/// The LAN's DNS server (`--dns-listen`, with setup's `--dns-hijack` every LAN query lands here): static answers
/// from hosts-format rule lines; names the rules bypass are asked of the local resolvers (resolv.conf, or
/// `--dns-direct`) and their addresses go into the kernel bypass sets; every other name is asked of
/// `--dns-remote` through the tunnel, so neither the ISP nor anyone on the way sees or rewrites it. Answers are
/// cached for their TTL, and every answered address remembers its name for the connection that follows.
final class DNSForwarder: Sendable {
    private let routing: RoutingConfiguration
    private let routes: RouteRules
    private let resolver: StubResolver
    private let tunnel: DNSTunnel
    private let kernelSets: KernelBypassSets?
    private let cache = DNSAnswerCache()
    private let logger: Logger
    /// A query that finds no answer in this long is answered SERVFAIL (the client retries on its own).
    static let queryTimeout: TimeAmount = .seconds(8)
    /// TTL of answers made from hosts-format rule lines.
    static let staticTTL: UInt32 = 60

    init(
        routing: RoutingConfiguration, routes: RouteRules, resolver: StubResolver, tunnel: DNSTunnel,
        kernelSets: KernelBypassSets?, logger: Logger
    ) {
        self.routing = routing
        self.routes = routes
        self.resolver = resolver
        self.tunnel = tunnel
        self.kernelSets = kernelSets
        self.logger = logger
    }

    /// The reply for one query as received; nil when the bytes do not even hold a DNS header (stay silent).
    /// `udpLimit`: the asker's UDP payload size (a larger reply is truncated so it retries over TCP).
    func answer(_ query: [UInt8], client: String, udpLimit: Bool) async -> [UInt8]? {
        let message: DNSMessage
        let question: DNSQuestion
        do {
            message = try DNSMessage(parsing: query)
            question = try message.queryQuestion()
        } catch {
            logger.debug("dns \(client): malformed query: \(error)")
            return DNSMessage.formatErrorResponse(toUnparsable: query)
        }
        let reply = await answer(message, question: question, raw: query, client: client)
        guard var bytes = reply else { return nil }
        if udpLimit {
            let limit = max(Int(message.edns?.udpPayloadSize ?? 512), DNSMessage.classicUDPSize)
            bytes = DNSWireEdits.truncate(bytes, toFit: limit)
        }
        return bytes
    }

    private func answer(_ message: DNSMessage, question: DNSQuestion, raw: [UInt8], client: String) async -> [UInt8]? {
        let name = HostsFile.normalize(question.name.description)
        let rules = routes.snapshot
        if let addresses = rules.rules.staticHosts[name] {
            logger.info("dns \(client): \(name) \(question.type): from the rule files' hosts lines")
            return try? DNSMessage.answer(to: message, addresses: addresses, ttl: Self.staticTTL).serialized()
        }
        let key = DNSAnswerCache.Key(name: name, type: question.type.rawValue, questionClass: question.questionClass.rawValue)
        if let cached = cache.lookup(key, id: message.header.id), let bytes = try? cached.serialized() {
            return bytes
        }
        let decision = rules.decide(domain: name) ?? RuleDecision(rules.mode, .defaultAction)
        let direct = decision.action == .bypass
        let reply: [UInt8]
        do {
            reply = try await withTimeout(Self.queryTimeout) { [self] in
                if direct {
                    let servers = try routing.dnsDirect.map { [try SocketAddress(ipAddress: $0.host, port: $0.port)] }
                    return try await resolver.exchange(raw, servers: servers)
                }
                var tunnelled = try await tunnel.exchange(raw)
                DNSWireEdits.setID(message.header.id, in: &tunnelled)
                return tunnelled
            }
        } catch {
            logger.warning("dns \(client): \(name) \(question.type) (\(direct ? "direct" : "through the tunnel")): \(error); answering SERVFAIL")
            return try? DNSMessage.errorResponse(to: message, code: .serverFailure).serialized()
        }
        logger.info("dns \(client): \(name) \(question.type): \(rules.describe(decision)), \(direct ? "direct" : "tunnel")")
        if let parsed = try? DNSMessage(parsing: reply), parsed.isResponse(to: message) {
            learn(from: parsed, name: name, direct: direct)
            cache.store(parsed, for: key)
        }
        return reply
    }

    private func learn(from reply: DNSMessage, name: String, direct: Bool) {
        var addresses: [IPAddress] = []
        var ttl = UInt32.max
        for record in reply.answers {
            if case .address(let address) = record.data {
                addresses.append(address)
                ttl = min(ttl, record.effectiveTTL)
            }
        }
        guard !addresses.isEmpty else { return }
        routes.learnedNames.learn(addresses, name: name, ttlSeconds: ttl)
        if direct { kernelSets?.add(addresses, ttlSeconds: ttl, name: name) }
    }

    var cacheStatistics: (hits: Int, misses: Int, entries: Int) { cache.statistics }
}

struct DNSTimeout: Error, CustomStringConvertible {
    var description: String { "no answer in time" }
}

/// Runs `body`, giving up after `timeout`.
func withTimeout<T: Sendable>(_ timeout: TimeAmount, _ body: @escaping @Sendable () async throws -> T) async throws -> T {
    try await withThrowingTaskGroup(of: T.self) { group in
        group.addTask { try await body() }
        group.addTask {
            try await Task.sleep(nanoseconds: UInt64(timeout.nanoseconds))
            throw DNSTimeout()
        }
        defer { group.cancelAll() }
        return try await group.next()!
    }
}
