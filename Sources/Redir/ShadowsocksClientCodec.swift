import Logging
import NIOCore
import ShadowsocksCrypto
import ShadowsocksProtocol

/// The Shadowsocks client side of an upstream connection: encrypts what the relay writes (the target
/// address goes in front of the first write, in the same chunk as the first client bytes) and decrypts what the
/// server sends. A decoding failure closes the channel; no unauthenticated byte is ever passed on.
final class ShadowsocksClientCodec: ChannelDuplexHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer
    typealias OutboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private var encoder: ShadowsocksTCPEncoder
    private var decoder: NIOSingleStepByteToMessageProcessor<ShadowsocksTCPDecoder>
    private var pendingTarget: SocksAddress?
    private let logger: Logger
    private var failed = false

    init(key: MasterKey, target: SocksAddress, logger: Logger) throws {
        self.encoder = try ShadowsocksTCPEncoder(key: key)
        self.decoder = NIOSingleStepByteToMessageProcessor(ShadowsocksTCPDecoder(key: key), maximumBufferSize: 1 << 20)
        self.pendingTarget = target
        self.logger = logger
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard !failed else { return }
        let buffer = unwrapInboundIn(data)
        do {
            try decoder.process(buffer: buffer) { plaintext in
                context.fireChannelRead(wrapInboundOut(plaintext))
            }
        } catch {
            fail(context: context, error)
        }
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if case .some(.inputClosed) = event as? ChannelEvent {
            guard finishDecoding(context: context) else { return }
        }
        context.fireUserInboundEventTriggered(event)
    }

    /// Plaintext sealed into one ciphertext buffer: three full chunks. A 64 KiB read sealed whole needs a buffer
    /// that NIO rounds up to 128 KiB, the size from which glibc maps and unmaps every allocation: page faults
    /// on each write, a third of the upload CPU (docs/performance.md). Three chunks seal into less than 64 KiB.
    static let plaintextPerBuffer = 3 * AEADFraming.maximumPayload

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        var plaintext = unwrapOutboundIn(data)
        repeat {
            var piece: ByteBuffer
            if let target = pendingTarget {
                pendingTarget = nil
                let take = min(plaintext.readableBytes, Self.plaintextPerBuffer - target.encodedLength)
                piece = context.channel.allocator.buffer(capacity: target.encodedLength + take)
                piece.writeSocksAddress(target)
                var head = plaintext.readSlice(length: take)!
                piece.writeBuffer(&head)
            } else {
                piece = plaintext.readSlice(length: min(plaintext.readableBytes, Self.plaintextPerBuffer))!
            }
            var ciphertext = context.channel.allocator.buffer(capacity: encoder.encodedSizeBound(piece.readableBytes))
            do {
                try encoder.encode(&piece, into: &ciphertext)
            } catch {
                promise?.fail(error)
                fail(context: context, error)
                return
            }
            context.write(wrapOutboundOut(ciphertext), promise: plaintext.readableBytes == 0 ? promise : nil)
        } while plaintext.readableBytes > 0
    }

    /// Returns false if the stream ended in the middle of a chunk (the channel is then closed).
    private func finishDecoding(context: ChannelHandlerContext) -> Bool {
        do {
            try decoder.finishProcessing(seenEOF: true) { plaintext in
                context.fireChannelRead(wrapInboundOut(plaintext))
            }
            return true
        } catch {
            fail(context: context, error)
            return false
        }
    }

    private func fail(context: ChannelHandlerContext, _ error: Error) {
        guard !failed else { return }
        failed = true
        logger.warning("upstream \(context.remoteAddress?.socksAddress.map { "\($0)" } ?? "?"): \(error); closing the connection")
        context.close(promise: nil)
    }
}
