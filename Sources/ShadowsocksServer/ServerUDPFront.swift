import Logging
import NIOCore
import NIOPosix
import ShadowsocksProtocol

/// The UDP listening socket of one server port on one address, with its `ServerUDPRelay`.
struct ServerUDPFront: Sendable {
    let configuration: ServerConfiguration
    let port: ServerConfiguration.Port
    let group: EventLoopGroup
    let connector: TargetConnector
    let counters: ServerCounters
    let logger: Logger

    func bind(_ address: String) async throws -> Channel {
        let bindAddress = try SocketAddress(ipAddress: address, port: port.port)
        var bootstrap = DatagramBootstrap(group: group)
            .channelOption(.socketOption(.so_reuseaddr), value: 1)
            // A Shadowsocks UDP packet can be as large as a datagram; NIO's default reads 2048 bytes.
            .channelOption(.recvAllocator, value: FixedSizeRecvByteBufferAllocator(capacity: 65_536))
            .channelOption(.datagramVectorReadMessageCount, value: 16)
            .channelInitializer { [self] channel in
                do {
                    let relay = ServerUDPRelay(
                        packets: try .make(for: port.key), connector: connector,
                        timeoutSeconds: configuration.timeoutSeconds,
                        maximumAssociations: configuration.udpMaxAssociations, counters: counters, logger: logger)
                    try channel.pipeline.syncOperations.addHandler(relay)
                    return channel.eventLoop.makeSucceededVoidFuture()
                } catch {
                    return channel.eventLoop.makeFailedFuture(error)
                }
            }
        if bindAddress.protocol == .inet6, configuration.listensOnIPv4 {
            bootstrap = bootstrap.channelOption(
                ChannelOptions.Types.SocketOption(level: .ipv6, name: .ipv6_v6only), value: 1)
        }
        return try await bootstrap.bind(to: bindAddress).get()
    }
}
