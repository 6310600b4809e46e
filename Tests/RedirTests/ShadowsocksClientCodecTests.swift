import Logging
import NIOCore
import NIOEmbedded
import ShadowsocksCrypto
import ShadowsocksProtocol
import Testing

@testable import Redir

@Suite struct ShadowsocksClientCodecTests {
    let key = MasterKey(method: .chacha20IETFPoly1305, password: "codec")
    let target = SocksAddress.domain("example.com", port: 443)

    func makeChannel() throws -> EmbeddedChannel {
        let channel = EmbeddedChannel()
        try channel.pipeline.syncOperations.addHandler(
            ShadowsocksClientCodec(key: key, target: target, logger: Logger(label: "test")))
        try channel.connect(to: SocketAddress(ipAddress: "192.0.2.1", port: 8388)).wait()
        return channel
    }

    /// What a server would decode from everything the codec wrote.
    func serverView(of channel: EmbeddedChannel) throws -> ByteBuffer {
        var decoder = AEADChunkDecoder(key: key)
        var wire = ByteBuffer()
        while var chunk = try channel.readOutbound(as: ByteBuffer.self) { wire.writeBuffer(&chunk) }
        var plaintext = ByteBuffer()
        while var chunk = try decoder.decode(buffer: &wire) { plaintext.writeBuffer(&chunk) }
        return plaintext
    }

    @Test func firstWriteCarriesTheTargetAndTheDataInOneChunk() throws {
        let channel = try makeChannel()
        try channel.writeAndFlush(ByteBuffer(string: "GET / HTTP/1.1\r\n\r\n")).wait()
        let written = try #require(try channel.readOutbound(as: ByteBuffer.self))
        // salt + one sealed length + one sealed payload (address + request): a single chunk.
        #expect(written.readableBytes == 32 + 18 + target.encodedLength + 18 + 16)
        var decoder = AEADChunkDecoder(key: key)
        var wire = written
        var plaintext = try #require(try decoder.decode(buffer: &wire))
        #expect(try plaintext.readSocksAddress() == target)
        #expect(String(buffer: plaintext) == "GET / HTTP/1.1\r\n\r\n")
        _ = try channel.finish(acceptAlreadyClosed: true)
    }

    @Test func emptyFirstWriteStillSendsTheTarget() throws {
        let channel = try makeChannel()
        try channel.writeAndFlush(ByteBuffer()).wait()
        try channel.writeAndFlush(ByteBuffer(string: "later")).wait()
        var plaintext = try serverView(of: channel)
        #expect(try plaintext.readSocksAddress() == target)
        #expect(String(buffer: plaintext) == "later")
        _ = try channel.finish(acceptAlreadyClosed: true)
    }

    /// A 64 KiB read sealed whole would need a 128 KiB buffer (mmap'ed by glibc on every write); the codec seals
    /// it into several smaller buffers, in order, completing the write's promise once all are written.
    @Test(arguments: [65_536, 3 * 0x3FFF, 3 * 0x3FFF + 1, 200_000])
    func largeWritesAreSealedIntoBuffersUnder64KiB(size: Int) throws {
        let channel = try makeChannel()
        let first = ByteBuffer(bytes: (0..<size).map { UInt8(truncatingIfNeeded: $0 &* 31) })
        let second = ByteBuffer(bytes: (0..<size).map { UInt8(truncatingIfNeeded: $0 &* 7 &+ 3) })
        try channel.writeAndFlush(first).wait()
        let promise = channel.eventLoop.makePromise(of: Void.self)
        channel.writeAndFlush(second, promise: promise)
        try promise.futureResult.wait()

        var decoder = AEADChunkDecoder(key: key)
        var plaintext = ByteBuffer()
        var buffers = 0
        while var written = try channel.readOutbound(as: ByteBuffer.self) {
            buffers += 1
            #expect(written.capacity <= 65_536, "buffer \(buffers) has a capacity of \(written.capacity)")
            while var chunk = try decoder.decode(buffer: &written) { plaintext.writeBuffer(&chunk) }
            #expect(written.readableBytes == 0, "buffer \(buffers) ends inside a chunk")
        }
        #expect(buffers >= 2 * ((size + 3 * 0x3FFF - 1) / (3 * 0x3FFF)))
        #expect(try plaintext.readSocksAddress() == target)
        #expect(plaintext.readSlice(length: size) == first)
        #expect(plaintext == second)
        _ = try channel.finish(acceptAlreadyClosed: true)
    }

    @Test func serverBytesAreDecryptedDripFed() throws {
        let channel = try makeChannel()
        var encoder = try AEADChunkEncoder(key: key)
        var reply = ByteBuffer(string: String(repeating: "reply ", count: 5000))
        let expected = String(buffer: reply)
        var wire = ByteBuffer()
        try encoder.encode(&reply, into: &wire)
        for byte in wire.readableBytesView {
            try channel.writeInbound(ByteBuffer(bytes: [byte]))
        }
        var received = ""
        while let chunk = try channel.readInbound(as: ByteBuffer.self) { received += String(buffer: chunk) }
        #expect(received == expected)
        #expect(channel.isActive)
        _ = try channel.finish(acceptAlreadyClosed: true)
    }

    @Test func tamperedServerBytesCloseTheChannelAndReleaseNothing() throws {
        let channel = try makeChannel()
        var encoder = try AEADChunkEncoder(key: key)
        var reply = ByteBuffer(string: "secret reply")
        var wire = ByteBuffer()
        try encoder.encode(&reply, into: &wire)
        var bytes = Array(wire.readableBytesView)
        bytes[bytes.count - 3] ^= 0x01  // inside the payload's tag
        // The failure goes down the pipeline as an error (the relay then closes its client at once, without the
        // graceful flush of a clean end); EmbeddedChannel rethrows it.
        #expect(throws: ShadowsocksProtocolError.self) { try channel.writeInbound(ByteBuffer(bytes: bytes)) }
        #expect(try channel.readInbound(as: ByteBuffer.self) == nil)
        #expect(!channel.isActive)
    }

    @Test func streamEndingInsideAChunkClosesTheChannel() throws {
        let channel = try makeChannel()
        var encoder = try AEADChunkEncoder(key: key)
        var reply = ByteBuffer(string: "cut short")
        var wire = ByteBuffer()
        try encoder.encode(&reply, into: &wire)
        try channel.writeInbound(wire.getSlice(at: 0, length: wire.readableBytes - 4)!)
        channel.pipeline.fireUserInboundEventTriggered(ChannelEvent.inputClosed)
        #expect(try channel.readInbound(as: ByteBuffer.self) == nil)
        #expect(!channel.isActive)
    }
}
