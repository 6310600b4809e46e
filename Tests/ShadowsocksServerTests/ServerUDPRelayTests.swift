import IPAddresses
import Logging
import NIOCore
import NIOPosix
import ShadowsocksCrypto
import ShadowsocksProtocol
import Testing

@testable import ShadowsocksServer

/// The UDP relay on real loopback sockets: a client seals packets to the relay's listener, the relay sends them to
/// a local echo and seals the answers back.
@Suite struct ServerUDPRelayTests {
    let key = MasterKey(method: .aes128GCM, password: "udp-relay")

    /// Names this test knows; everything else is unresolvable.
    struct FixedResolver: TargetResolving {
        let names: [String: [IPAddress]]
        func addresses(of host: String) async throws -> [IPAddress] {
            guard let found = names[host] else { throw TargetResolutionError(host: host, reason: "unknown name") }
            return found
        }
    }

    /// Echoes every datagram back (`echo`), or passes it to `onRead`.
    final class Endpoint: ChannelInboundHandler, @unchecked Sendable {
        typealias InboundIn = AddressedEnvelope<ByteBuffer>
        typealias OutboundOut = AddressedEnvelope<ByteBuffer>
        let echo: Bool
        let onRead: @Sendable (AddressedEnvelope<ByteBuffer>) -> Void
        init(echo: Bool, onRead: @escaping @Sendable (AddressedEnvelope<ByteBuffer>) -> Void = { _ in }) {
            self.echo = echo
            self.onRead = onRead
        }
        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            let envelope = unwrapInboundIn(data)
            if echo {
                context.writeAndFlush(wrapOutboundOut(envelope), promise: nil)
            } else {
                onRead(envelope)
            }
        }
    }

    struct Bench {
        let group: MultiThreadedEventLoopGroup
        let echo: Channel
        let listener: Channel
        let client: Channel
        let replies: AsyncStream<AddressedEnvelope<ByteBuffer>>
        let counters: ServerCounters

        func close() async throws {
            for channel in [client, listener, echo] { try await channel.close() }
            try await group.shutdownGracefully()
        }
    }

    func makeBench(forbidden: ForbiddenAddresses, resolver: FixedResolver, key: MasterKey? = nil) async throws -> Bench {
        let key = key ?? self.key
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let echo = try await DatagramBootstrap(group: group)
            .channelInitializer { $0.pipeline.addHandler(Endpoint(echo: true)) }
            .bind(host: "127.0.0.1", port: 0).get()
        var settings = ServerSettings()
        settings.serverPort = "1"
        settings.password = "unused"
        var configuration = try ServerConfiguration.resolve(settings)
        configuration.ports = [.init(port: 0, key: key)]
        configuration.forbidden = forbidden
        let counters = ServerCounters()
        let connector = TargetConnector(
            resolver: resolver, forbidden: forbidden, timeout: .seconds(5), noDelay: true, fastOpen: false)
        let front = ServerUDPFront(
            configuration: configuration, port: configuration.ports[0], group: group, connector: connector,
            counters: counters, logger: Logger(label: "test"))
        let listener = try await front.bind("127.0.0.1")
        let (replies, continuation) = AsyncStream.makeStream(of: AddressedEnvelope<ByteBuffer>.self)
        let client = try await DatagramBootstrap(group: group)
            .channelInitializer { $0.pipeline.addHandler(Endpoint(echo: false) { continuation.yield($0) }) }
            .bind(host: "127.0.0.1", port: 0).get()
        return Bench(group: group, echo: echo, listener: listener, client: client, replies: replies, counters: counters)
    }

    func send(_ bench: Bench, to target: SocksAddress, _ text: String) async throws {
        var packet = ByteBuffer()
        try AEADPacketCodec(key: key).seal(target: target, payload: ByteBuffer(string: text), into: &packet)
        try await bench.client.writeAndFlush(
            AddressedEnvelope(remoteAddress: bench.listener.localAddress!, data: packet))
    }

    /// The next reply within a second, opened; nil if none came.
    func nextReply(_ bench: Bench) async throws -> (address: SocksAddress, payload: String)? {
        let reply = await withTaskGroup(of: AddressedEnvelope<ByteBuffer>?.self) { tasks in
            tasks.addTask {
                var iterator = bench.replies.makeAsyncIterator()
                return await iterator.next()
            }
            tasks.addTask {
                try? await Task.sleep(for: .seconds(1))
                return nil
            }
            let first = await tasks.next() ?? nil
            tasks.cancelAll()
            return first
        }
        guard let reply else { return nil }
        let opened = try AEADPacketCodec(key: key).open(reply.data)
        return (opened.address, String(buffer: opened.payload))
    }

    @Test func repliesCarryTheirSourceForIPAndNamedTargets() async throws {
        let loopback = try #require(IPAddress("127.0.0.1"))
        let bench = try await makeBench(forbidden: .none, resolver: FixedResolver(names: ["echo.test": [loopback]]))
        let echoPort = try #require(bench.echo.localAddress?.port)
        let echoAddress = SocksAddress.ipv4((127, 0, 0, 1), port: UInt16(echoPort))

        try await send(bench, to: echoAddress, "ping by address")
        let first = try #require(try await nextReply(bench))
        #expect(first.address == echoAddress && first.payload == "ping by address")

        // A name: resolved through the resolver seam, and the reply names the address that answered.
        try await send(bench, to: .domain("echo.test", port: UInt16(echoPort)), "ping by name")
        let second = try #require(try await nextReply(bench))
        #expect(second.address == echoAddress && second.payload == "ping by name")
        try await bench.close()
    }

    @Test func forbiddenUnresolvableAndUnauthenticPacketsAreDroppedAndCounted() async throws {
        let bench = try await makeBench(forbidden: .default, resolver: FixedResolver(names: [:]))
        let echoPort = try #require(bench.echo.localAddress?.port)
        try await send(bench, to: .ipv4((127, 0, 0, 1), port: UInt16(echoPort)), "ping forbidden")
        try await send(bench, to: .domain("nowhere.test", port: 7), "ping unresolvable")
        try await bench.client.writeAndFlush(
            AddressedEnvelope(remoteAddress: bench.listener.localAddress!, data: ByteBuffer(repeating: 7, count: 64)))
        #expect(try await nextReply(bench) == nil)
        #expect(bench.counters[.udpForbidden] == 1)
        #expect(bench.counters[.udpUnresolvable] == 1)
        #expect(bench.counters[.udpUnauthentic] == 1)
        try await bench.close()
    }

    // SIP022 3.2.4: sessions are routed by session id, not source address; replies follow the client's last
    // address; a replayed packet id is dropped and counted.
    @Test func sip022SessionsFollowTheClientAndRefuseReplays() async throws {
        let key = try MasterKey(method: .blake3AES128GCM, rawKey: Array(0..<16))
        let bench = try await makeBench(forbidden: .none, resolver: FixedResolver(names: [:]), key: key)
        let echoPort = try #require(bench.echo.localAddress?.port)
        let echo = SocksAddress.ipv4((127, 0, 0, 1), port: UInt16(echoPort))
        let session = try SIP022ClientPacketCodec(key: key)
        let (moved, continuation) = AsyncStream.makeStream(of: AddressedEnvelope<ByteBuffer>.self)
        let otherSocket = try await DatagramBootstrap(group: bench.group)
            .channelInitializer { $0.pipeline.addHandler(Endpoint(echo: false) { continuation.yield($0) }) }
            .bind(host: "127.0.0.1", port: 0).get()

        var first = ByteBuffer()
        try session.seal(target: echo, payload: ByteBuffer(string: "one"), into: &first)
        try await bench.client.writeAndFlush(AddressedEnvelope(remoteAddress: bench.listener.localAddress!, data: first))
        let reply = try #require(await next(bench.replies))
        #expect(String(buffer: try session.open(reply.data).payload) == "one")

        // The same packet again: dropped.
        try await bench.client.writeAndFlush(AddressedEnvelope(remoteAddress: bench.listener.localAddress!, data: first))
        #expect(await next(bench.replies) == nil)
        #expect(bench.counters[.udpUnauthentic] == 1)

        // The next packet of the session from another address: the reply goes there.
        var second = ByteBuffer()
        try session.seal(target: echo, payload: ByteBuffer(string: "two"), into: &second)
        try await otherSocket.writeAndFlush(AddressedEnvelope(remoteAddress: bench.listener.localAddress!, data: second))
        let movedReply = try #require(await next(moved))
        #expect(String(buffer: try session.open(movedReply.data).payload) == "two")
        try await otherSocket.close()
        try await bench.close()
    }

    /// The next datagram within a second; nil if none came.
    func next(_ stream: AsyncStream<AddressedEnvelope<ByteBuffer>>) async -> AddressedEnvelope<ByteBuffer>? {
        await withTaskGroup(of: AddressedEnvelope<ByteBuffer>?.self) { tasks in
            tasks.addTask {
                var iterator = stream.makeAsyncIterator()
                return await iterator.next()
            }
            tasks.addTask {
                try? await Task.sleep(for: .seconds(1))
                return nil
            }
            let first = await tasks.next() ?? nil
            tasks.cancelAll()
            return first
        }
    }
}
