import CShadowsocksLinux
import Config
import Controller
import Logging
import NIOCore
import NIOPosix
import Netfilter
import Resolver
import ServerPool
import ShadowsocksProtocol
import ServiceLifecycle
import UnixSignals
#if canImport(Glibc)
import Glibc
#endif

/// `ss-redir`'s main service: the TCP redirect front on an event loop per core. On graceful shutdown
/// (SIGTERM/SIGINT through the ServiceGroup) it stops accepting, lets open relays finish for a short grace
/// period, closes the rest and returns.
public struct RedirService: Service {
    public let configuration: RedirConfiguration
    public let logger: Logger
    /// How long open relays may run after shutdown starts.
    public var shutdownGrace: TimeAmount = .seconds(3)
    /// Re-reads the configuration (file and flags) on SIGHUP; the new pool is applied, the rest needs a restart.
    public var reload: (@Sendable () throws -> RedirConfiguration)?
    /// With --auto-setup: the netlink socket that owns the table (the DNS bypass sets may only be changed
    /// through it).
    public var ownedTableConnection: OwnedTableConnection?
    /// Called once every front listens (a daemon's parent then exits 0).
    public var onReady: (@Sendable () -> Void)?
    /// ss-local: only the SOCKS5 front (`socksListen`) runs; no redirect or TPROXY listeners.
    public var socksOnly = false
    /// The log lines the controller's /logs streams (installed around the stderr handler by the command).
    package var logFeed: LogFeed?

    public init(configuration: RedirConfiguration, logger: Logger) {
        self.configuration = configuration
        self.logger = logger
    }

    public func run() async throws {
        // Relay buffers are freed and reallocated at line rate; at glibc's default 128 KiB trim threshold the event
        // loops' arenas give their free top back to the kernel (madvise) and fault it in again on the next read, a
        // quarter of the upload CPU (docs/performance.md). Each arena keeps up to 1 MiB instead.
        _ = c_ss_malloc_set_trim_threshold(1 << 20)
        let group = MultiThreadedEventLoopGroup(numberOfThreads: System.coreCount)
        let registry = ConnectionRegistry()
        let mark = OutboundMark.usable(configuration.outboundFwmark, logger: logger)
        let pool = ServerPool(members: configuration.members, strategy: configuration.strategy, logger: logger)
        let routes = RouteRules(configuration.routing.rules)
        let directCounters = DirectCounters()
        // One idle sweeper per event loop for every front's relays (one tick task per loop, not one per front).
        let idleSweepers = IdleSweepers()
        let resolver = makeResolver(group: group, mark: mark)
        let kernelSets = KernelBypassSets(connection: ownedTableConnection?.connection, logger: logger)
        let plugins = MemberPlugins(group: group, logger: logger)
        let addressBook = ServerAddressBook(resolver: resolver, kernelSets: kernelSets, logger: logger, plugins: plugins)
        var listeners: [Channel] = []
        var udpFront: UDPTransparentFront?
        var socksListeners: [Channel] = []
        var dnsListeners: [Channel] = []
        do {
            do {
                try await plugins.update(members: configuration.members) { await addressBook.pluginRemoteHost($0) }
            } catch {
                throw ConfigError("cannot start \(error.description)")
            }
            if configuration.relaysTCP && !socksOnly {
                var front = TCPRedirectFront(
                    configuration: configuration, group: group, registry: registry, logger: logger, mark: mark, pool: pool)
                front.routes = routes
                front.directCounters = directCounters
                front.addressBook = addressBook
                front.idleSweepers = idleSweepers
                do {
                    listeners = try await front.bind()
                } catch {
                    let addresses = configuration.listenAddresses.map { "\($0) port \(configuration.localPort)" }
                    throw ConfigError(
                        "cannot listen on \(addresses.joined(separator: ", ")): \(error); check -b/-l or stop whatever holds the port")
                }
            }
            if configuration.relaysUDP && !socksOnly {
                udpFront = try await UDPTransparentFront.start(
                    configuration: configuration, pool: pool, group: group, mark: mark, logger: logger, routes: routes,
                    addressBook: addressBook, registry: registry)
            }
            var socksFront = SOCKS5Front(
                configuration: configuration, group: group, registry: registry, logger: logger, mark: mark, pool: pool)
            socksFront.routes = routes
            socksFront.directCounters = directCounters
            socksFront.addressBook = addressBook
            socksFront.idleSweepers = idleSweepers
            socksListeners = try await socksFront.bind()
            if let endpoint = configuration.routing.dnsListen {
                let forwarder = makeDNSForwarder(
                    pool: pool, routes: routes, resolver: resolver, kernelSets: kernelSets, group: group, mark: mark,
                    plugins: plugins)
                do {
                    dnsListeners = try await DNSForwarderFront.bind(forwarder, on: endpoint, group: group, logger: logger)
                } catch {
                    throw ConfigError(
                        "cannot serve DNS on \(endpoint) (--dns-listen): \(error); pick a free port (setup's --dns-hijack sends LAN port 53 there)")
                }
            }
        } catch {
            for listener in listeners + socksListeners { try? await listener.close() }
            await udpFront?.stop()
            await plugins.stopAll()
            try? await group.shutdownGracefully()
            throw error
        }
        let prober = PoolProber(
            pool: pool, target: configuration.probeTarget,
            udpTarget: configuration.relaysUDP ? configuration.probeUDPTarget : nil,
            interval: .seconds(Int64(configuration.probeIntervalSeconds)), eventLoop: group.next(), mark: mark,
            logger: logger, addressBook: addressBook)
        prober.start()
        let rulesWatch = socksOnly ? nil : CaptureRulesWatcher.start(table: "ss_redir", on: group.next(), logger: logger)
        let startedAt = NIODeadline.now()
        let strategy = configuration.strategy.rawValue
        let control = await ControlServer.start(path: configuration.controlSocket, group: group, logger: logger) {
            let members = pool.statuses()
            return StatusReport(
                version: SSRedirVersion.current, pid: Int(getpid()),
                uptimeSeconds: Int((NIODeadline.now() - startedAt).nanoseconds / 1_000_000_000), strategy: strategy,
                tcpConnections: registry.count, udpAssociations: members.reduce(0) { $0 + $1.counters.udpAssociations },
                members: members, rules: routes.current, direct: directCounters.snapshot,
                learnedNames: routes.learnedNames.count, plugins: members.map { plugins.status(of: $0.member) }
            ).json
        }
        let servers = configuration.members.map { "\($0) \($0.key.method.name)" }.joined(separator: ", ")
        var fronts: [String] = []
        if !listeners.isEmpty {
            let addresses = listeners.compactMap { $0.localAddress?.socksAddress.map { "\($0)" } }
            fronts.append("tcp \(configuration.tcpTproxy ? "tproxy" : "redirect") on \(addresses.joined(separator: ", "))")
        }
        if let udpFront {
            let addresses = udpFront.listenAddresses.compactMap { $0.socksAddress.map { "\($0)" } }
            fronts.append("udp tproxy on \(addresses.joined(separator: ", "))")
        }
        if !socksListeners.isEmpty {
            let addresses = socksListeners.compactMap { $0.localAddress?.socksAddress.map { "\($0)" } }
            fronts.append("socks5 on \(addresses.joined(separator: ", "))")
        }
        if !dnsListeners.isEmpty, let endpoint = configuration.routing.dnsListen {
            fronts.append("dns on \(endpoint) (udp, tcp)")
        }
        onReady?()
        logger.notice(
            "listening: \(fronts.joined(separator: "; ")) (\(configuration.strategy.rawValue) over: \(servers))")
        if configuration.routing.hasRuleFiles {
            let rules = configuration.routing.rules
            logger.notice(
                "rules: \(rules.cidrCount) address and \(rules.domainCount) domain entries, default \(rules.mode)\(rules.hasDomainRules && configuration.routing.sniffWaitMilliseconds > 0 ? ", sniffing TLS/HTTP names (\(configuration.routing.sniffWaitMilliseconds) ms)" : "")")
        }

        var metricsChannel: Channel?
        if let endpoint = configuration.metrics {
            do {
                metricsChannel = try await MetricsEndpoint.start(
                    host: endpoint.host, port: endpoint.port, group: group, logger: logger
                ) {
                    MetricsEndpoint.exposition(
                        statuses: pool.statuses(), tcpConnections: registry.count,
                        uptimeSeconds: Int((NIODeadline.now() - startedAt).nanoseconds / 1_000_000_000))
                }
            } catch {
                logger.error("cannot serve metrics on \(endpoint) (--metrics): \(error); running without them")
            }
        }

        var controller: ExternalController?
        if let settings = configuration.controller {
            let backend = RedirControllerBackend(
                pool: pool, registry: registry, routes: routes, addressBook: addressBook, mark: mark,
                eventLoop: group.next())
            do {
                controller = try await ExternalController.start(
                    settings: settings, backend: backend, logFeed: logFeed, logger: logger)
                logger.notice("external controller on \(settings.endpoint)\(settings.uiDirectory != nil ? ", dashboard at /ui/" : "")")
            } catch {
                logger.error(
                    "cannot serve the external controller on \(settings.endpoint) (--external-controller): \(error); running without it")
            }
        }

        // Runs until graceful shutdown (SIGTERM/SIGINT); SIGHUP reloads the pool meanwhile.
        for await _ in await UnixSignalsSequence(trapping: .sighup).cancelOnGracefulShutdown() {
            if let fresh = reloadPool(pool, routes: routes) {
                do {
                    try await plugins.update(members: fresh) { await addressBook.pluginRemoteHost($0) }
                } catch {
                    logger.error("reload: cannot start \(error.description); that server's connections fail")
                }
            }
        }

        rulesWatch?.cancel()
        logger.notice("shutting down: no new connections, \(registry.count) open")
        for listener in listeners + socksListeners + dnsListeners { try? await listener.close() }
        await ControlServer.stop(control, path: configuration.controlSocket)
        try? await metricsChannel?.close()
        await controller?.stop()
        await udpFront?.stop()
        await registry.drain(grace: shutdownGrace)
        await plugins.stopAll()
        try? await group.shutdownGracefully()
    }

    /// One resolver for members' names and the forwarder's direct upstream; its sockets carry the relay's mark.
    private func makeResolver(group: EventLoopGroup, mark: UInt32?) -> StubResolver {
        var resolverConfiguration = StubResolver.Configuration()
        resolverConfiguration.resolvConfPath = configuration.routing.resolvConfPath
        resolverConfiguration.hostsPath = configuration.routing.hostsPath
        resolverConfiguration.socketMark = mark
        return StubResolver(configuration: resolverConfiguration, eventLoopGroup: group, logger: logger)
    }

    private func makeDNSForwarder(
        pool: ServerPool, routes: RouteRules, resolver: StubResolver, kernelSets: KernelBypassSets,
        group: EventLoopGroup, mark: UInt32?, plugins: MemberPlugins
    ) -> DNSForwarder {
        let routing = configuration.routing
        var tunnel = DNSTunnel(
            pool: pool, remote: SocksAddress(host: routing.dnsRemote.host, port: routing.dnsRemote.port), group: group,
            resolver: resolver, mark: mark, logger: logger)
        tunnel.plugins = plugins
        return DNSForwarder(
            routing: routing, routes: routes, resolver: resolver, tunnel: tunnel,
            kernelSets: kernelSets, logger: logger)
    }

    /// The new members, or nil when the reload failed.
    private func reloadPool(_ pool: ServerPool, routes: RouteRules) -> [ServerMember]? {
        guard let reload else { return nil }
        do {
            let fresh = try reload()
            pool.replace(members: fresh.members, strategy: fresh.strategy)
            routes.replace(fresh.routing.rules)
            logger.notice(
                "reloaded: \(fresh.members.count) server(s), strategy \(fresh.strategy.rawValue), \(fresh.routing.rules.cidrCount + fresh.routing.rules.domainCount) rule entries; established connections keep their route")
            return fresh.members
        } catch {
            logger.error("reload failed, keeping the running configuration: \(error)")
            return nil
        }
    }
}
