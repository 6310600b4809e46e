import NIOCore
import NIOPosix
import Testing

/// TCPRedirectFront sets TCP_NODELAY (`no_delay`) on its listeners only and relies on accepted sockets inheriting
/// it (Linux copies the listener's setting to each connection it accepts).
@Suite struct ListenerNoDelayTests {
    @Test(arguments: [SocketOptionValue(0), 1])
    func acceptedSocketsInheritTheListenersNoDelay(value: SocketOptionValue) async throws {
        let group = MultiThreadedEventLoopGroup.singleton
        let accepted = group.next().makePromise(of: SocketOptionValue.self)
        let listener = try await ServerBootstrap(group: group)
            .serverChannelOption(.tcpOption(.tcp_nodelay), value: value)
            .childChannelInitializer { channel in
                // A socket option read goes to the kernel (getsockopt), not to a value NIO remembers.
                accepted.completeWith(channel.getOption(.tcpOption(.tcp_nodelay)))
                return channel.eventLoop.makeSucceededVoidFuture()
            }
            .bind(host: "127.0.0.1", port: 0).get()
        let client = try await ClientBootstrap(group: group).connect(to: listener.localAddress!).get()
        let inherited = try await accepted.futureResult.get()
        #expect((inherited != 0) == (value != 0))
        try await client.close()
        try await listener.close()
    }
}
