import IPAddresses
import Logging
import NIOConcurrencyHelpers
import NIOCore

/// A caching DNS stub resolver that reads /etc/hosts and resolv.conf like glibc (see docs/dns.md) and never
/// blocks: queries go out through NIO sockets on `eventLoopGroup`, callers just await.
public final class StubResolver: Sendable {
    public struct Configuration: Sendable {
        public var resolvConfPath = "/etc/resolv.conf"
        public var hostsPath = "/etc/hosts"
        /// `LOCALDOMAIN` and `RES_OPTIONS`; nil reads them from the process environment.
        public var environment: [String: String]? = nil
        /// For the default search domain when resolv.conf has none; nil asks gethostname(2).
        public var hostname: String? = nil
        /// The port of the resolv.conf nameservers (resolv.conf cannot say; 53 outside tests).
        public var nameserverPort = 53
        /// Cached (name, type) answers, least recently used pushed out first.
        public var cacheCapacity = 1024
        /// Caps on how long answers are kept, whatever their TTL says.
        public var maximumTTL: UInt32 = 86_400
        public var maximumNegativeTTL: UInt32 = 900
        /// SO_MARK for every query socket, so the gateway's rules let our own queries out untouched. Needs
        /// CAP_NET_ADMIN: without it every query fails, so pass only a mark known to be settable.
        public var socketMark: UInt32? = nil
        /// How often the files are stat(2)-checked for changes at most.
        public var reloadCheckInterval: TimeAmount = .seconds(1)

        public init() {}
    }

    let configuration: Configuration
    let group: any EventLoopGroup
    let logger: Logger
    let files: NIOLockedValueBox<ResolverFiles>
    let cache: NIOLockedValueBox<DNSCache>
    let inFlight = InFlightLookups()
    /// `options rotate`: where the next query starts in the server list.
    let rotation = NIOLockedValueBox<Int>(0)

    public init(
        configuration: Configuration = Configuration(), eventLoopGroup: any EventLoopGroup,
        logger: Logger = Logger(label: "ss-redir.resolver")
    ) {
        self.configuration = configuration
        self.group = eventLoopGroup
        self.logger = logger
        self.files = NIOLockedValueBox(
            ResolverFiles(
                resolvConfPath: configuration.resolvConfPath, hostsPath: configuration.hostsPath,
                environment: configuration.environment ?? ResolverFiles.processEnvironment(),
                hostname: configuration.hostname ?? ResolverFiles.systemHostname(),
                checkInterval: configuration.reloadCheckInterval))
        self.cache = NIOLockedValueBox(DNSCache(capacity: configuration.cacheCapacity))
    }

    /// resolv.conf as currently in effect (re-read first if it changed).
    public var resolvConf: ResolvConf { snapshot().resolvConf }

    /// hosts lines that were skipped at the last (re)load, for `check`-style reports.
    public var hostsProblems: [HostsFile.Problem] { snapshot().hostsProblems }

    public var cacheStatistics: DNSCacheStatistics { cache.withLockedValue { $0.statistics } }

    /// Forgets every cached answer (for a reload); the counters keep running.
    public func removeAllCachedAnswers() { cache.withLockedValue { $0.removeAll() } }

    /// The addresses of `name`: an IP literal is itself; then /etc/hosts; then DNS, A and AAAA (AAAA skipped with
    /// `no-aaaa`) through the search list. IPv4 addresses come first, then IPv6, each in the server's order.
    /// Throws `DNSResolutionError` (or CancellationError).
    public func addresses(for name: String) async throws -> [IPAddress] {
        let text = name.trimmingBlanks()
        if let literal = IPAddress(text) { return [literal] }
        if text.hasPrefix("["), text.hasSuffix("]"), let literal = IPAddress(String(text.dropFirst().dropLast())) {
            return [literal]
        }
        let files = snapshot()
        if let listed = files.hosts[HostsFile.normalize(text)], !listed.isEmpty { return listed }
        let servers = nameserverAddresses(files.resolvConf)
        guard !text.contains(":") else {
            throw DNSResolutionError(
                name: name, servers: [], kind: .invalidName("not an IP address and not a host name"))
        }
        let options = files.resolvConf.options
        let searchDomains = files.resolvConf.searchDomains
        let result = try await NameSearch.run(text, searchDomains: searchDomains, options: options) { candidate in
            try await self.addresses(of: candidate, servers: servers, options: options)
        }
        switch result.outcome {
        case .found(let addresses):
            return addresses
        case .failed(let kind):
            throw DNSResolutionError(
                name: name, queriedNames: result.queried.map(\.description), servers: servers, kind: kind)
        }
    }

    /// Sends a raw query (as a forwarder received it) to `servers`, or to the resolv.conf nameservers, with the
    /// resolv.conf timeout, attempts, rotation and TCP fallback, and returns the raw reply with the query's id.
    /// The query goes out under a fresh random id; only a reply matching it is accepted. A reply after TCP
    /// fallback may be larger than the client's UDP limit: see `DNSWireEdits.truncate(_:toFit:)`. When every
    /// server answered SERVFAIL/REFUSED/NOTIMP the last such reply is returned. Not cached.
    /// Throws `DNSMessageError` for a query that does not parse or is not a query, `DNSResolutionError` when no
    /// server gave a reply.
    public func exchange(_ query: [UInt8], servers: [SocketAddress]? = nil) async throws -> [UInt8] {
        var outbound = try DNSMessage(parsing: query)
        let question = try outbound.queryQuestion()
        let files = snapshot()
        let targets = servers ?? nameserverAddresses(files.resolvConf)
        outbound.header.id = UInt16.random(in: 0...UInt16.max)
        var bytes = query
        DNSWireEdits.setID(outbound.header.id, in: &bytes)
        do {
            var reply = try await exchanger(servers: targets, options: files.resolvConf.options)
                .run(bytes, matching: outbound).bytes
            DNSWireEdits.setID(DNSWireEdits.id(of: query) ?? 0, in: &reply)
            return reply
        } catch let failure as NameserverExchange.Failure {
            throw DNSResolutionError(name: question.name.description, servers: targets, kind: failure.kind)
        }
    }

    public func exchange(_ query: ByteBuffer, servers: [SocketAddress]? = nil) async throws -> ByteBuffer {
        ByteBuffer(bytes: try await exchange(Array(query.readableBytesView), servers: servers))
    }

    func snapshot() -> ResolverFiles.Snapshot {
        let now = NIODeadline.now()
        return files.withLockedValue { $0.current(now: now) }
    }

    func nameserverAddresses(_ resolvConf: ResolvConf) -> [SocketAddress] {
        resolvConf.nameservers.compactMap {
            try? SocketAddress(ipAddress: $0.description, port: configuration.nameserverPort)
        }
    }

    func exchanger(servers: [SocketAddress], options: ResolvConf.Options) -> NameserverExchange {
        var first = 0
        if options.rotate {
            first = rotation.withLockedValue { next in
                defer { next &+= 1 }
                return next
            }
        }
        return NameserverExchange(
            servers: servers, timeoutSeconds: max(1, options.timeout), attempts: max(1, options.attempts),
            firstServer: servers.isEmpty ? 0 : first % servers.count, alwaysTCP: options.useVC,
            socket: SocketSettings(mark: configuration.socketMark), group: group, logger: logger)
    }
}

extension String {
    fileprivate func trimmingBlanks() -> String {
        let blank: (Character) -> Bool = { $0 == " " || $0 == "\t" || $0 == "\n" || $0 == "\r" }
        return String(self.drop(while: blank).reversed().drop(while: blank).reversed())
    }
}
