import Logging
import NIOCore

/// Reads a plugin's merged stdout/stderr pipe and logs it line by line as `plugin NAME: line`. A line longer than
/// `maximumLine` is logged in pieces, so a plugin that never prints a newline cannot grow our memory.
final class PluginOutputLogger: ChannelInboundHandler, Sendable {
    typealias InboundIn = ByteBuffer
    static let maximumLine = 4096

    private let name: String
    private let logger: Logger
    private let pending: NIOLoopBoundBox<[UInt8]>

    init(name: String, logger: Logger, eventLoop: EventLoop) {
        self.name = name
        self.logger = logger
        self.pending = NIOLoopBoundBox([], eventLoop: eventLoop)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let buffer = unwrapInboundIn(data)
        for byte in buffer.readableBytesView {
            if byte == UInt8(ascii: "\n") {
                flush()
            } else {
                pending.value.append(byte)
                if pending.value.count >= Self.maximumLine { flush() }
            }
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        flush()
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        context.close(promise: nil)
    }

    private func flush() {
        var line = pending.value
        pending.value.removeAll(keepingCapacity: true)
        if line.last == UInt8(ascii: "\r") { line.removeLast() }
        guard !line.isEmpty else { return }
        logger.notice("plugin \(name): \(String(decoding: line, as: UTF8.self))")
    }
}
