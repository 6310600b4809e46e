import IPAddresses
import NIOConcurrencyHelpers
import NIOCore
import NIOEmbedded
import Testing

@testable import Resolver

/// The UDP reply filter on its own: only a datagram from the server that answers our id and question counts.
@Suite struct DatagramReplyHandlerTests {
    @Test func acceptsOnlyTheServersMatchingReply() throws {
        let channel = EmbeddedChannel()
        let server = try SocketAddress(ipAddress: "192.0.2.53", port: 53)
        let stranger = try SocketAddress(ipAddress: "192.0.2.54", port: 53)
        let wrongPort = try SocketAddress(ipAddress: "192.0.2.53", port: 5353)
        let query = DNSMessage.query(id: 0x1111, name: try DNSName("a.test"), type: .a)
        let promise = channel.eventLoop.makePromise(of: NameserverReply.self)
        let handler = DatagramReplyHandler(server: server, query: query, promise: promise)
        try channel.pipeline.syncOperations.addHandler(handler)
        let reply = try DNSMessage.answer(to: query, addresses: [IPAddress("192.0.2.1")!]).serialized()
        let completed = NIOLockedValueBox<NameserverReply?>(nil)
        promise.futureResult.whenSuccess { reply in completed.withLockedValue { $0 = reply } }

        for source in [stranger, wrongPort] {
            try channel.writeInbound(AddressedEnvelope(remoteAddress: source, data: ByteBuffer(bytes: reply)))
        }
        var wrongID = reply
        wrongID[1] ^= 0xFF
        try channel.writeInbound(AddressedEnvelope(remoteAddress: server, data: ByteBuffer(bytes: wrongID)))
        try channel.writeInbound(AddressedEnvelope(remoteAddress: server, data: ByteBuffer(bytes: [0x11, 0x11])))
        #expect(completed.withLockedValue { $0 } == nil)
        #expect(handler.ignored == 4)

        try channel.writeInbound(AddressedEnvelope(remoteAddress: server, data: ByteBuffer(bytes: reply)))
        #expect(completed.withLockedValue { $0 }?.bytes == reply)
        #expect(completed.withLockedValue { $0 }?.message.answers.count == 1)
        _ = try? channel.finish()
    }
}
