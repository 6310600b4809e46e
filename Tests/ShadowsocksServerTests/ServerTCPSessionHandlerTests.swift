import Logging
import NIOCore
import NIOEmbedded
import ShadowsocksCrypto
import ShadowsocksProtocol
import Testing

@testable import ShadowsocksServer

@Suite struct ServerTCPSessionHandlerTests {
    let key = MasterKey(method: .chacha20IETFPoly1305, password: "session")
    let headerTimeout = TimeAmount.seconds(10)

    /// Collects what the session passes on to the relay.
    final class Sink: ChannelInboundHandler {
        typealias InboundIn = ByteBuffer
        var received: [UInt8] = []
        var events: [ChannelEvent] = []
        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            received += unwrapInboundIn(data).readableBytesView
        }
        func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
            if let event = event as? ChannelEvent { events.append(event) }
        }
    }

    final class Targets {
        var seen: [SocksAddress] = []
    }

    func makeChannel(
        counters: ServerCounters, targets: Targets, filter: PingPongBloomFilter? = nil
    ) throws -> (EmbeddedChannel, Sink) {
        let channel = EmbeddedChannel()
        let sink = Sink()
        let session = try ServerTCPSessionHandler(
            key: key, saltFilter: filter, headerTimeout: headerTimeout, client: "192.0.2.9:4000",
            logger: Logger(label: "test"), counters: counters
        ) { targets.seen.append($0) }
        try channel.pipeline.syncOperations.addHandlers([session, sink])
        try channel.connect(to: SocketAddress(ipAddress: "192.0.2.9", port: 4000)).wait()
        return (channel, sink)
    }

    func clientBytes(_ target: SocksAddress, _ payload: String) throws -> ByteBuffer {
        var encoder = try ShadowsocksTCPEncoder(key: key)
        var plaintext = ByteBuffer()
        plaintext.writeSocksAddress(target)
        plaintext.writeString(payload)
        var wire = ByteBuffer()
        try encoder.encode(&plaintext, into: &wire)
        return wire
    }

    @Test func dripFedClientGivesTargetThenPayload() throws {
        let counters = ServerCounters()
        let targets = Targets()
        let (channel, sink) = try makeChannel(counters: counters, targets: targets)
        let target = SocksAddress.domain("example.org", port: 80)
        let wire = try clientBytes(target, "hello")
        for byte in wire.readableBytesView { try channel.writeInbound(ByteBuffer(bytes: [byte])) }
        #expect(targets.seen == [target])
        #expect(String(decoding: sink.received, as: UTF8.self) == "hello")
        // Past the header deadline a connection with a target stays open: the relay's idle timeout governs it.
        channel.embeddedEventLoop.advanceTime(by: headerTimeout + .seconds(1))
        #expect(channel.isActive)
        _ = try channel.finish(acceptAlreadyClosed: true)
    }

    @Test func answersAreEncryptedForTheClient() throws {
        let (channel, _) = try makeChannel(counters: ServerCounters(), targets: Targets())
        try channel.writeInbound(try clientBytes(.ipv4((192, 0, 2, 1), port: 80), ""))
        try channel.writeOutbound(ByteBuffer(string: "HTTP/1.1 200 OK\r\n"))
        var wire = try #require(try channel.readOutbound(as: ByteBuffer.self))
        var decoder = ShadowsocksTCPDecoder(key: key)
        let plaintext = try #require(try decoder.decode(buffer: &wire))
        #expect(String(buffer: plaintext) == "HTTP/1.1 200 OK\r\n")
        _ = try channel.finish(acceptAlreadyClosed: true)
    }

    /// No oracle: garbage is read and discarded, nothing is written and the connection closes only at the deadline,
    /// exactly like a valid client that has not finished its address.
    @Test func garbageIsHeldSilentlyUntilTheDeadline() throws {
        let counters = ServerCounters()
        let targets = Targets()
        let (channel, sink) = try makeChannel(counters: counters, targets: targets)
        for _ in 0..<20 {
            try channel.writeInbound(ByteBuffer(bytes: (0..<100).map { _ in UInt8.random(in: 0...255) }))
        }
        channel.embeddedEventLoop.advanceTime(by: headerTimeout - .milliseconds(1))
        #expect(channel.isActive)
        #expect(try channel.readOutbound(as: ByteBuffer.self) == nil)
        channel.embeddedEventLoop.advanceTime(by: .milliseconds(1))
        #expect(!channel.isActive)
        #expect(targets.seen.isEmpty && sink.received.isEmpty)
        #expect(counters[.authenticationFailed] == 1)
    }

    @Test func incompleteAddressFromTheRightKeyClosesAtTheSameDeadline() throws {
        let counters = ServerCounters()
        let (channel, _) = try makeChannel(counters: counters, targets: Targets())
        var encoder = try ShadowsocksTCPEncoder(key: key)
        var partial = ByteBuffer(bytes: [0x03, 20, UInt8(ascii: "a")])
        var wire = ByteBuffer()
        try encoder.encode(&partial, into: &wire)
        try channel.writeInbound(wire)
        channel.embeddedEventLoop.advanceTime(by: headerTimeout - .milliseconds(1))
        #expect(channel.isActive)
        channel.embeddedEventLoop.advanceTime(by: .milliseconds(1))
        #expect(!channel.isActive)
        #expect(counters[.noTargetInTime] == 1 && counters[.authenticationFailed] == 0)
    }

    @Test func replayIsHeldLikeBadAuthenticationAndCountedApart() throws {
        let counters = ServerCounters()
        let filter = PingPongBloomFilter(capacity: 100)
        let wire = try clientBytes(.domain("example.org", port: 443), "secret request")
        let (first, _) = try makeChannel(counters: counters, targets: Targets(), filter: filter)
        try first.writeInbound(wire)
        let targets = Targets()
        let (replay, sink) = try makeChannel(counters: counters, targets: targets, filter: filter)
        try replay.writeInbound(wire)
        #expect(targets.seen.isEmpty && sink.received.isEmpty)
        #expect(replay.isActive)
        replay.embeddedEventLoop.advanceTime(by: headerTimeout)
        #expect(!replay.isActive)
        #expect(counters[.replayedSalt] == 1)
        _ = try first.finish(acceptAlreadyClosed: true)
    }

    @Test func connectAndLeaveWithoutAByteClosesAtOnce() throws {
        let (channel, _) = try makeChannel(counters: ServerCounters(), targets: Targets())
        channel.pipeline.fireUserInboundEventTriggered(ChannelEvent.inputClosed)
        #expect(!channel.isActive)
    }

    @Test func halfCloseAfterTheTargetIsPassedOn() throws {
        let (channel, sink) = try makeChannel(counters: ServerCounters(), targets: Targets())
        try channel.writeInbound(try clientBytes(.ipv4((192, 0, 2, 1), port: 9), "upload"))
        channel.pipeline.fireUserInboundEventTriggered(ChannelEvent.inputClosed)
        #expect(sink.events == [.inputClosed])
        #expect(channel.isActive)
        _ = try channel.finish(acceptAlreadyClosed: true)
    }

    @Test func halfCloseInsideAChunkClosesTheConnection() throws {
        let (channel, _) = try makeChannel(counters: ServerCounters(), targets: Targets())
        var encoder = try ShadowsocksTCPEncoder(key: key)
        var first = ByteBuffer()
        first.writeSocksAddress(.ipv4((192, 0, 2, 1), port: 9))
        var wire = ByteBuffer()
        try encoder.encode(&first, into: &wire)
        try channel.writeInbound(wire)
        var second = ByteBuffer(string: "the rest")
        var tail = ByteBuffer()
        try encoder.encode(&second, into: &tail)
        try channel.writeInbound(tail.getSlice(at: tail.readerIndex, length: tail.readableBytes - 3)!)
        #expect(channel.isActive)
        channel.pipeline.fireUserInboundEventTriggered(ChannelEvent.inputClosed)
        #expect(!channel.isActive)
    }
}
