import Logging
import NIOCore
import NIOPosix

/// Sockets bound transparently (IP_TRANSPARENT) to the remote peers' addresses, so a reply reaches the LAN
/// client from the address and port it sent to. One per remote address, shared by every association that
/// talks to it, kept while in use and closed when idle. They stay unconnected: a connected one would win the
/// kernel's TPROXY socket lookup and steal the LAN's next datagrams from the listener.
final class TransparentReplySockets {
    private final class Entry {
        var channel: Channel?
        var pending: [AddressedEnvelope<ByteBuffer>] = []
        var lastUsed: NIODeadline
        var failed = false
        init(now: NIODeadline) { lastUsed = now }
    }

    private let eventLoop: EventLoop
    private let mark: UInt32?
    private var entries = LRUTable<SocketAddress, Entry>()
    private let capacity: Int
    /// Sockets written to since the last `flushPending()`.
    private var unflushed: [Channel] = []

    init(eventLoop: EventLoop, mark: UInt32?, capacity: Int) {
        self.eventLoop = eventLoop
        self.mark = mark
        self.capacity = capacity
    }

    /// Sends `payload` to `client` from `source`. Returns false if no socket can be bound for `source`.
    func send(_ payload: ByteBuffer, from source: SocketAddress, to client: SocketAddress, now: NIODeadline) -> Bool {
        let envelope = AddressedEnvelope(remoteAddress: client, data: payload)
        if let entry = entries.touch(source) {
            guard !entry.failed else { return false }
            entry.lastUsed = now
            if let channel = entry.channel {
                channel.write(envelope, promise: nil)
                unflushed.append(channel)
            } else if entry.pending.count < UDPAssociation.maximumBacklog {
                entry.pending.append(envelope)
            }
            return true
        }
        if entries.count >= capacity, let oldest = entries.oldest {
            entries.remove(oldest.key)?.channel?.close(promise: nil)
        }
        let entry = Entry(now: now)
        entry.pending.append(envelope)
        entries.set(entry, for: source)
        var bootstrap = DatagramBootstrap(group: eventLoop)
            .channelOption(.socketOption(.so_reuseaddr), value: 1)
            .channelOption(TransparentOption.forAddress(source), value: 1)
            .channelOption(.autoRead, value: false)
        if let mark {
            bootstrap = bootstrap.channelOption(OutboundMark.option(), value: Int(Int32(bitPattern: mark)))
        }
        bootstrap.bind(to: source).assumeIsolated().whenComplete { result in
            switch result {
            case .success(let channel):
                entry.channel = channel
                for pending in entry.pending { channel.write(pending, promise: nil) }
                entry.pending.removeAll()
                channel.flush()
            case .failure:
                entry.failed = true
                entry.pending.removeAll()
            }
        }
        return true
    }

    func flushPending() {
        for channel in unflushed { channel.flush() }
        unflushed.removeAll(keepingCapacity: true)
    }

    /// Closes sockets unused since `cutoff`.
    func closeIdle(before cutoff: NIODeadline) {
        while let oldest = entries.oldest, oldest.value.lastUsed < cutoff {
            entries.remove(oldest.key)?.channel?.close(promise: nil)
        }
    }

    func closeAll() {
        for entry in entries.removeAll() { entry.channel?.close(promise: nil) }
    }
}
