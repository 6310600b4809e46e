import IPAddresses
import NIOCore
import ShadowsocksProtocol

/// One client's (address, port) UDP association at the server, NAT-like: its own outbound sockets (one per
/// address family, bound on first use) send the client's datagrams to any target, and whatever comes back to
/// them goes to this client, labelled with the address it came from. Owned by its relay's event loop.
final class ServerUDPAssociation {
    /// SIP004 and stream ciphers: associations are per client address; SIP022 3.2.4: per client session id.
    enum Key: Hashable {
        case client(SocketAddress)
        case session(UInt64)
    }

    let key: Key
    /// Where replies go: the client's address (SIP022: the last one a valid packet came from).
    var client: SocketAddress
    /// SIP022: the server side of the client's session (reply numbering, replay window).
    var session: SIP022ServerSession?
    var lastActive: NIODeadline
    private var sockets: [IPFamily: Channel] = [:]
    /// Datagrams waiting for a socket of their family to be bound (bounded).
    private var backlog: [IPFamily: [AddressedEnvelope<ByteBuffer>]] = [:]
    /// Targets' names resolved for this client, so a stream of datagrams to one name resolves it once.
    var resolvedNames: [String: [SocketAddress]] = [:]
    /// Names being resolved now, with the payloads that wait for them.
    var pendingNames: [String: [ByteBuffer]] = [:]
    private var needsFlush: Set<IPFamily> = []

    static let maximumBacklog = 64
    static let maximumResolvedNames = 64
    static let maximumPendingPerName = 16

    init(key: Key, client: SocketAddress, now: NIODeadline) {
        self.key = key
        self.client = client
        self.lastActive = now
    }

    func hasSocket(for family: IPFamily) -> Bool { sockets[family] != nil }

    func isBinding(_ family: IPFamily) -> Bool { backlog[family] != nil }

    /// Marks `family`'s socket as being bound: datagrams queue until `attach`.
    func startBinding(_ family: IPFamily) { backlog[family] = [] }

    /// Writes (unflushed) or queues one datagram. Returns false if it had to be dropped.
    func send(_ payload: ByteBuffer, to target: SocketAddress, family: IPFamily) -> Bool {
        let envelope = AddressedEnvelope(remoteAddress: target, data: payload)
        if let socket = sockets[family] {
            socket.write(envelope, promise: nil)
            needsFlush.insert(family)
            return true
        }
        guard var queued = backlog[family], queued.count < Self.maximumBacklog else { return false }
        queued.append(envelope)
        backlog[family] = queued
        return true
    }

    func attach(_ socket: Channel, family: IPFamily) {
        sockets[family] = socket
        for envelope in backlog.removeValue(forKey: family) ?? [] { socket.write(envelope, promise: nil) }
        socket.flush()
    }

    func bindFailed(_ family: IPFamily) { backlog[family] = nil }

    func flushIfNeeded() {
        for family in needsFlush { sockets[family]?.flush() }
        needsFlush.removeAll()
    }

    func close() {
        for socket in sockets.values { socket.close(promise: nil) }
        sockets.removeAll()
        backlog.removeAll()
        pendingNames.removeAll()
    }
}
