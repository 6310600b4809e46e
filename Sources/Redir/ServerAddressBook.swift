import Config
import IPAddresses
import Logging
import NIOConcurrencyHelpers
import NIOCore
import Resolver

/// Where pool members are, by name: resolved through the project's resolver (hosts, resolv.conf, answers kept
/// for their TTL), never with a blocking getaddrinfo on an event loop. A name that does not resolve yet (the
/// router booted before its WAN) only fails the connection at hand; a name whose address moves (dynamic DNS)
/// is followed by new connections once the old answer expires.
final class ServerAddressBook: Sendable {
    let resolver: StubResolver
    /// SIP003 plugins: a member with one is reached over TCP at the plugin's loopback port.
    let plugins: MemberPlugins?
    private let logger: Logger
    /// For the paths that should not wait (UDP, and TCP once a name has resolved): the last answer per host and
    /// when to ask again.
    private let known = NIOLockedValueBox<[String: Entry]>([:])
    private struct Entry {
        var address: SocketAddress?
        var refreshAfter: NIODeadline
        var refreshing: Bool
    }
    /// How long a remembered answer is used before it is asked for again, in the background (the resolver's own
    /// cache answers within the record's TTL): a moved name is followed this long after its TTL at most.
    static let refreshInterval: TimeAmount = .seconds(5)
    /// What was last put in the kernel sets per server name, and when.
    private let addedToKernel = NIOLockedValueBox<[String: (addresses: [IPAddress], at: NIODeadline)]>([:])

    private func needsKernelRefresh(_ host: String, _ addresses: [IPAddress]) -> Bool {
        let now = NIODeadline.now()
        return addedToKernel.withLockedValue { table in
            if let last = table[host], last.addresses == addresses, now - last.at < .minutes(30) { return false }
            table[host] = (addresses, now)
            return true
        }
    }

    /// Where resolved server addresses go so the gateway's rules never capture traffic to them (a server named
    /// by host name was not resolvable when setup ran, or its address moved since).
    let kernelSets: KernelBypassSets?

    init(resolver: StubResolver, kernelSets: KernelBypassSets? = nil, logger: Logger, plugins: MemberPlugins? = nil) {
        self.resolver = resolver
        self.kernelSets = kernelSets
        self.plugins = plugins
        self.logger = logger
    }

    /// The address to connect to (IPv4 first when the name has both, as the resolver orders them).
    func address(of endpoint: ServerEndpoint) async throws -> SocketAddress {
        if let literal = try? SocketAddress(ipAddress: endpoint.host, port: endpoint.port) { return literal }
        let addresses = try await resolver.addresses(for: endpoint.host)
        guard let first = addresses.first else {
            throw DNSResolutionError(name: endpoint.host, servers: [], kind: .noAddress)
        }
        if let kernelSets, needsKernelRefresh(endpoint.host, addresses) {
            // An hour, refreshed every half hour while connections keep resolving the name.
            kernelSets.add(addresses, ttlSeconds: 3600, name: "server \(endpoint.host)")
        }
        let address = try SocketAddress(ipAddress: first.description, port: endpoint.port)
        remember(address, of: endpoint)
        return address
    }

    /// SS_REMOTE_HOST for a member's plugin: the address our resolver answers (nil: not resolvable yet, the plugin
    /// gets the name). An address keeps the plugin's connections on the bypassed server addresses (MemberPlugins).
    func pluginRemoteHost(_ endpoint: ServerEndpoint) async -> String? {
        guard let address = try? await address(of: endpoint) else {
            logger.warning("server \(endpoint.host) does not resolve yet; its plugin gets the name and resolves it itself")
            return nil
        }
        return address.ipAddress
    }

    /// Where a TCP connection to the member goes: its plugin's loopback port, else the server.
    func tcpAddress(of member: ServerMember) async throws -> SocketAddress {
        try await Self.tcpAddress(of: member, plugins: plugins) { try await self.address(of: $0) }
    }

    /// The TCP address of a member when it needs no wait: its running plugin's loopback port, a server given as
    /// an IP address, or the last answer for its name (`cachedAddress`). nil for a name that never resolved (or a
    /// plugin that is not running): ask `tcpAddress(of:)`. Waiting on the resolver cost every connection to a
    /// named server a Task and two thread hops, even with the answer cached.
    func immediateTCPAddress(of member: ServerMember) -> SocketAddress? {
        if member.plugin != nil { return plugins?.localAddress(for: member) }
        return cachedAddress(of: member.endpoint)
    }

    static func tcpAddress(
        of member: ServerMember, plugins: MemberPlugins?, server: (ServerEndpoint) async throws -> SocketAddress
    ) async throws -> SocketAddress {
        guard member.plugin != nil else { return try await server(member.endpoint) }
        guard let local = plugins?.localAddress(for: member) else { throw PluginNotRunning(member: member) }
        return local
    }

    /// A lookup's answer serves the paths that do not wait too, so UDP need not drop datagrams while it asks.
    private func remember(_ address: SocketAddress, of endpoint: ServerEndpoint) {
        known.withLockedValue { table in
            let key = "\(endpoint)"
            guard table[key]?.address == nil else { return }
            table[key] = Entry(address: address, refreshAfter: .now() + Self.refreshInterval, refreshing: false)
        }
    }

    /// Without waiting: an IP literal, or the last answer for the name (refreshed in the background when due).
    /// nil while a name has never resolved: UDP drops and counts, TCP waits for the lookup, a later call finds it.
    func cachedAddress(of endpoint: ServerEndpoint) -> SocketAddress? {
        if let literal = try? SocketAddress(ipAddress: endpoint.host, port: endpoint.port) { return literal }
        let key = "\(endpoint)"
        let now = NIODeadline.now()
        let (address, refresh) = known.withLockedValue { table -> (SocketAddress?, Bool) in
            var entry = table[key] ?? Entry(address: nil, refreshAfter: now, refreshing: false)
            let due = entry.refreshAfter <= now && !entry.refreshing
            if due { entry.refreshing = true }
            table[key] = entry
            return (entry.address, due)
        }
        if refresh {
            Task { [self] in
                let fresh = try? await self.address(of: endpoint)
                known.withLockedValue { table in
                    let old = table[key]?.address
                    if let fresh, let old, fresh != old {
                        logger.notice(
                            "server \(endpoint) moved from \(old) to \(fresh): new connections and UDP associations follow it")
                    }
                    table[key] = Entry(
                        address: fresh ?? old, refreshAfter: .now() + (fresh == nil ? .seconds(2) : Self.refreshInterval),
                        refreshing: false)
                }
            }
        }
        return address
    }
}
