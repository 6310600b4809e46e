import Config
import NIOCore
import ShadowsocksProtocol

/// One LAN flow (LAN source, original destination) and its own upstream socket to the server. A socket per
/// association, not one shared socket: the server's reply names only the remote peer, not our LAN client, so
/// two LAN clients talking to the same destination could not be told apart on a shared socket; and the
/// server keys its own NAT entries by our source port.
final class UDPAssociation {
    struct Key: Hashable {
        let source: SocketAddress
        let destination: SocketAddress
    }

    let key: Key
    /// The same flow as the receiver thread hashes it.
    let flow: UDPFlowKey
    let target: SocksAddress
    /// The pool member relaying this flow; nil for a bypassed flow sent straight to its destination.
    let member: ServerMember?
    /// Where the upstream socket sends: the member's address, or the destination itself (direct).
    let server: SocketAddress
    /// nil for a direct flow (datagrams go out as they came).
    let codec: (any ShadowsocksUDPCodec)?
    var channel: Channel?
    /// Sealed packets waiting for the upstream socket to be bound (bounded).
    var backlog: [ByteBuffer] = []
    var lastActive: NIODeadline
    var needsFlush = false
    /// What the controller shows of this association (nil without a registry).
    var relayedFlow: RelayedFlow?
    /// The receiver thread's handle on this association's upload, once its socket is bound (SIP004 and direct).
    var sender: UDPUpstreamSender?
    /// The receiver whose datagrams opened the association: where `sender` is published.
    let uploadPath: UDPUploadPath?
    static let maximumBacklog = 64

    init(
        key: Key, flow: UDPFlowKey, target: SocksAddress, member: ServerMember?, server: SocketAddress,
        codec: (any ShadowsocksUDPCodec)?, uploadPath: UDPUploadPath?, now: NIODeadline
    ) {
        self.key = key
        self.flow = flow
        self.uploadPath = uploadPath
        self.target = target
        self.member = member
        self.server = server
        self.codec = codec
        self.lastActive = now
    }

    /// Queues (or writes, unflushed) one sealed packet. Returns false if it had to be dropped.
    func send(_ packet: ByteBuffer) -> Bool {
        guard let channel else {
            guard backlog.count < Self.maximumBacklog else { return false }
            backlog.append(packet)
            return true
        }
        channel.write(AddressedEnvelope(remoteAddress: server, data: packet), promise: nil)
        needsFlush = true
        return true
    }

    func attach(_ channel: Channel) {
        self.channel = channel
        for packet in backlog {
            channel.write(AddressedEnvelope(remoteAddress: server, data: packet), promise: nil)
        }
        backlog.removeAll()
        channel.flush()
    }

    func flushIfNeeded() {
        if needsFlush {
            needsFlush = false
            channel?.flush()
        }
    }

    func close() {
        channel?.close(promise: nil)
        channel = nil
        backlog.removeAll()
    }
}

/// Reads the server's replies on an association's upstream socket and hands them to the relay.
final class UDPUpstreamHandler: ChannelInboundHandler {
    typealias InboundIn = AddressedEnvelope<ByteBuffer>

    private let onReply: (AddressedEnvelope<ByteBuffer>) -> Void
    private let onReadComplete: () -> Void

    init(onReply: @escaping (AddressedEnvelope<ByteBuffer>) -> Void, onReadComplete: @escaping () -> Void) {
        self.onReply = onReply
        self.onReadComplete = onReadComplete
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        onReply(unwrapInboundIn(data))
    }

    /// Replies written during this read are flushed together (sendmmsg where NIO can).
    func channelReadComplete(context: ChannelHandlerContext) {
        onReadComplete()
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        // ICMP port unreachable and friends arrive here on a datagram socket; the association just idles out.
    }
}
