import Config
import Logging
import NIOCore
import NIOPosix
import ShadowsocksProtocol

/// `ss-redir check`'s look at each pool member, done from the command itself (not asked of the daemon): a real
/// Shadowsocks TCP request, and a DNS query over Shadowsocks UDP when the member relays UDP.
public enum MemberCheck {
    public struct Outcome: Sendable {
        public let member: ServerMember
        /// Time to the first authentic answer byte, or why there was none.
        public internal(set) var tcp: Result<Duration, CheckFailure>
        /// nil when UDP was not checked.
        public let udp: Result<Duration, CheckFailure>?
    }

    public struct CheckFailure: Error, Sendable, CustomStringConvertible {
        public let description: String
    }

    /// Blocks until every member answered or timed out (5 s each, all in parallel). Not for an event loop.
    public static func run(
        members: [ServerMember], tcpTarget: ServerEndpoint, udpTarget: ServerEndpoint?, mark: UInt32?
    ) -> [Outcome] {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        defer { try? group.syncShutdownGracefully() }
        let loop = group.next()
        // Members behind a SIP003 plugin are checked through a plugin check starts itself, as the daemon does.
        let plugins = MemberPlugins(group: group, logger: Logger(label: "ss-redir check"))
        var pluginFailure: String?
        if members.contains(where: { $0.plugin != nil }) {
            do {
                try loop.makeFutureWithTask {
                    try await plugins.update(members: members) { endpoint in
                        (try? SocketAddress.makeAddressResolvingHost(endpoint.host, port: endpoint.port))?.ipAddress
                    }
                }.wait()
            } catch {
                pluginFailure = "\(error)"
            }
        }
        defer { try? loop.makeFutureWithTask { await plugins.stopAll() }.wait() }
        let tcpAddress = SocksAddress(host: tcpTarget.host, port: tcpTarget.port)
        let udpAddress = udpTarget.map { SocksAddress(host: $0.host, port: $0.port) }
        let started = ContinuousClock.now
        let pending = members.map { member in
            let tcp = timed(PoolProber.request(
                through: member, target: tcpAddress, targetHost: tcpTarget.host, eventLoop: loop, mark: mark,
                plugins: plugins), started)
            let udp = member.udp ? udpAddress.map {
                timed(PoolProber.query(through: member, target: $0, eventLoop: loop, mark: mark), started)
            } : nil
            return (member, tcp, udp)
        }
        return pending.map { member, tcp, udp in
            var outcome = Outcome(member: member, tcp: wait(tcp), udp: udp.map(wait))
            if member.plugin != nil, let pluginFailure, case .failure = outcome.tcp {
                outcome.tcp = .failure(CheckFailure(description: pluginFailure))
            }
            return outcome
        }
    }

    private static func timed(_ future: EventLoopFuture<Void>, _ started: ContinuousClock.Instant)
        -> EventLoopFuture<Duration>
    {
        future.map { ContinuousClock.now - started }
    }

    private static func wait(_ future: EventLoopFuture<Duration>) -> Result<Duration, CheckFailure> {
        do {
            return .success(try future.wait())
        } catch {
            return .failure(CheckFailure(description: ConnectErrorText.describe(error)))
        }
    }
}
