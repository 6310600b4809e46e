#if canImport(Glibc)
import Glibc
#endif
import Config
import Logging
import NIOCore
import NIOPosix
import SOCKS5
import ServerPool

/// The SOCKS5 inbound (`--socks ADDR:PORT` on `ss-redir run`, or all of `ss-local`): RFC 1928 CONNECT through
/// the shared relay client, UDP ASSOCIATE through a pool member, RFC 1929 username/password when configured.
struct SOCKS5Front: Sendable {
    let configuration: RedirConfiguration
    let group: EventLoopGroup
    let registry: ConnectionRegistry
    let logger: Logger
    /// SO_MARK for upstream sockets, when the process may set one.
    let mark: UInt32?
    let pool: ServerPool
    /// A client must have sent its request this long after connecting, or it is closed.
    var handshakeTimeout: TimeAmount = .seconds(10)

    /// Bypass rules (nil: everything proxied) and the direct connections' counters.
    var routes: RouteRules?
    var directCounters: DirectCounters?
    var addressBook: ServerAddressBook?
    /// The CONNECT relays' idle clocks, one sweeper per event loop (RedirService gives every front the same one).
    var idleSweepers = IdleSweepers()

    var connector: UpstreamConnector {
        UpstreamConnector(
            configuration: configuration, logger: logger, mark: mark, pool: pool, routes: routes,
            directCounters: directCounters, addressBook: addressBook)
    }

    /// The credentials clients must give, when configured (the configuration checked their lengths).
    var credentials: SOCKS5Credentials? {
        guard let username = configuration.socksUsername, let password = configuration.socksPassword else {
            return nil
        }
        return SOCKS5Credentials(username: username, password: password)
    }

    /// CONNECT follows the TCP mode and UDP ASSOCIATE the UDP mode (-u/-U); the other is answered X'07'.
    var supportedCommands: Set<SOCKS5Command> {
        var commands: Set<SOCKS5Command> = []
        if configuration.relaysTCP { commands.insert(.connect) }
        if configuration.relaysUDP { commands.insert(.udpAssociate) }
        return commands
    }

    /// Binds every `socks` endpoint; a failure is one clear line naming the endpoint.
    func bind() async throws -> [Channel] {
        var listeners: [Channel] = []
        for endpoint in configuration.socksListen {
            do {
                let address = try SocketAddress(ipAddress: endpoint.host, port: endpoint.port)
                listeners.append(try await makeBootstrap().bind(to: address).get())
            } catch {
                for listener in listeners { try? await listener.close() }
                throw ConfigError(
                    "cannot listen for SOCKS5 on \(endpoint): \(error); give an IP address and a free port to --socks (ss-local: -b/-l)")
            }
        }
        return listeners
    }

    /// What every connection's handler reads, made once per listener: the handler holds a reference to it, not a
    /// copy of this struct (the whole configuration, about a kilobyte and a hundred retains per connection).
    final class Shared: Sendable {
        let front: SOCKS5Front
        let connector: UpstreamConnector

        init(_ front: SOCKS5Front) {
            self.front = front
            self.connector = front.connector
        }
    }

    private func makeBootstrap() -> ServerBootstrap {
        let noDelay: SocketOptionValue = configuration.noDelay ? 1 : 0
        let shared = Shared(self)
        return ServerBootstrap(group: group)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .serverChannelOption(.backlog, value: 1024)
            .childChannelOption(.allowRemoteHalfClosure, value: true)
            .childChannelOption(.tcpOption(.tcp_nodelay), value: noDelay)
            .childChannelOption(.recvAllocator, value: RelayReceiveAllocator.adaptive)
            .serverChannelInitializer { [logger] channel in
                AcceptPauseHandler.install(on: channel, listener: "socks5 listener", logger: logger)
            }
            .childChannelInitializer { [logger] channel in
                guard
                    registry.admit(
                        channel, limit: configuration.maxConnectionsPerClient, logger: logger, listener: "socks5")
                else { return channel.close() }
                return channel.eventLoop.makeCompletedFuture {
                    let handler = SOCKS5ServerHandler(shared: shared)
                    handler.flow = registry.track(channel, inbound: "Socks5")
                    try channel.pipeline.syncOperations.addHandler(handler)
                }
            }
    }
}
