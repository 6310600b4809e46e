import Logging
import NIOCore
import ShadowsocksCrypto
import ShadowsocksProtocol

/// The Shadowsocks client side of an upstream connection: encrypts what the relay writes (the encoder puts the
/// target address in front of the first write, or in the SIP022 request header) and decrypts what the server
/// sends. A decoding failure closes the channel; no unauthenticated byte is ever passed on.
final class ShadowsocksClientCodec: ChannelDuplexHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer
    typealias OutboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private var encoder: ShadowsocksTCPEncoder
    private var decoder: TCPStreamProcessor
    private let logger: Logger
    private var failed = false
    /// What ended the connection, for the one line said when the server dropped it: an error already said, our
    /// own close (the relay's), or the server's FIN.
    private var reported = false
    private var closeRequested = false
    private var serverEnded = false
    /// Our FIN went out: the server's answering FIN then closes the channel with no input-closed event (NIO
    /// escalates to a full close), which is the normal end, not a drop.
    private var outputClosed = false

    init(key: MasterKey, target: SocksAddress, logger: Logger) throws {
        let (encoder, decoder) = try ShadowsocksTCP.makeClientCodecs(key: key, target: target)
        self.encoder = encoder
        self.decoder = TCPStreamProcessor(decoder, maximumBufferSize: 1 << 20)
        self.logger = logger
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard !failed else { return }
        let buffer = unwrapInboundIn(data)
        do {
            try decoder.process(buffer) { plaintext in
                context.fireChannelRead(wrapInboundOut(plaintext))
            }
        } catch {
            fail(context: context, error)
        }
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if case .some(.inputClosed) = event as? ChannelEvent {
            serverEnded = true
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
        // At most `plaintextPerBuffer` per ciphertext buffer: a 64 KiB read sealed at once made a 128 KiB
        // buffer that malloc mmap'ed and unmapped per write.
        repeat {
            var piece = plaintext.readSlice(length: min(plaintext.readableBytes, Self.plaintextPerBuffer))!
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
            try decoder.finish { plaintext in
                context.fireChannelRead(wrapInboundOut(plaintext))
            }
            return true
        } catch {
            fail(context: context, error)
            return false
        }
    }

    /// A socket error from the server's side (a reset, mostly): said once, then the relay closes both sides.
    func close(context: ChannelHandlerContext, mode: CloseMode, promise: EventLoopPromise<Void>?) {
        if mode == .all { closeRequested = true }
        if mode == .output { outputClosed = true }
        context.close(mode: mode, promise: promise)
    }

    /// A reset that NIO meets while writing closes the channel without an error event: said here instead.
    func channelInactive(context: ChannelHandlerContext) {
        if !reported && !closeRequested && !serverEnded && !outputClosed && !failed {
            reported = true
            logger.warning(
                "upstream \(context.channel.remoteAddress?.socksAddress.map { "\($0)" } ?? "?"): the server reset or dropped the connection; closing it")
        }
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        if !failed, !reported, error is IOError {
            reported = true
            logger.warning(
                "upstream \(context.remoteAddress?.socksAddress.map { "\($0)" } ?? "?"): \(ConnectErrorText.describe(error)); closing the connection")
        }
        context.fireErrorCaught(error)
    }

    private func fail(context: ChannelHandlerContext, _ error: Error) {
        guard !failed else { return }
        failed = true
        logger.warning("upstream \(context.remoteAddress?.socksAddress.map { "\($0)" } ?? "?"): \(error); closing the connection")
        // The relay closes its client at once too, not after a graceful flush: the stream did not end cleanly.
        context.fireErrorCaught(error)
        context.close(promise: nil)
    }
}
