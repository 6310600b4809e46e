import Config
import Logging
import NIOCore
import NIOPosix
import ServerPool

/// Wires the TPROXY receivers (one per listen address, each on a thread of its own) to the UDP relay's event loop.
final class UDPTransparentFront: Sendable {
    private let relay: NIOLoopBound<UDPTransparentRelay>
    private let receivers: [TransparentDatagramReceiver]
    private let threads: NIOThreadPool

    private init(relay: NIOLoopBound<UDPTransparentRelay>, receivers: [TransparentDatagramReceiver], threads: NIOThreadPool) {
        self.relay = relay
        self.receivers = receivers
        self.threads = threads
    }

    static func start(
        configuration: RedirConfiguration, pool: ServerPool, group: EventLoopGroup, mark: UInt32?, logger: Logger,
        routes: RouteRules? = nil, addressBook: ServerAddressBook? = nil, registry: ConnectionRegistry? = nil
    ) async throws -> UDPTransparentFront {
        var receivers: [TransparentDatagramReceiver] = []
        do {
            let hosts = configuration.listenAddresses
            for host in hosts where !(host == "0.0.0.0" && hosts.contains("::")) {
                let address = try SocketAddress(ipAddress: host, port: configuration.localPort)
                // tproxy hands IPv6 datagrams only to an IPv6 socket: a 0.0.0.0 listener is widened to a
                // dual-stack `::` one, which receives both families (it stays 0.0.0.0 where IPv6 is off).
                if host == "0.0.0.0",
                    let wide = try? TransparentDatagramReceiver(
                        address: SocketAddress(ipAddress: "::", port: configuration.localPort))
                {
                    receivers.append(wide)
                    continue
                }
                receivers.append(try TransparentDatagramReceiver(address: address))
            }
        } catch {
            for receiver in receivers { receiver.stop() }
            throw ConfigError("udp: \(error); check -b/-l, and run as root (or with CAP_NET_ADMIN)")
        }
        let eventLoop = group.next()
        let paths = receivers.map { _ in UDPUploadPath() }
        let relay = try await eventLoop.submit {
            let relay = UDPTransparentRelay(
                configuration: configuration, pool: pool, mark: mark, eventLoop: eventLoop, logger: logger,
                routes: routes, addressBook: addressBook)
            relay.registry = registry
            relay.uploadPaths = paths
            relay.start()
            return NIOLoopBound(relay, eventLoop: eventLoop)
        }.get()
        let threads = NIOThreadPool(numberOfThreads: receivers.count)
        threads.start()
        for (receiver, path) in zip(receivers, paths) {
            threads.submit { _ in
                receiver.run(upload: path) { batch in
                    eventLoop.execute { relay.value.handle(batch, from: path) }
                }
            }
        }
        return UDPTransparentFront(relay: relay, receivers: receivers, threads: threads)
    }

    var listenAddresses: [SocketAddress] { receivers.map(\.localAddress) }

    func stop() async {
        for receiver in receivers { receiver.stop() }
        try? await threads.shutdownGracefully()
        let relay = self.relay
        try? await relay.eventLoop.submit { relay.value.stop() }.get()
    }
}
