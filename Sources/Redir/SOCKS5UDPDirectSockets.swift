import Logging
import NIOCore
import NIOPosix
import ShadowsocksProtocol

/// The direct side of a SOCKS5 UDP association: payloads for bypassed targets sent as they came, from a plain
/// UDP socket per address family (bound on first use, on the wildcard address, with the relay's SO_MARK as the
/// TPROXY direct path), a target's name resolved once. Every reply goes to `onReply` whoever sent it (full
/// cone, as the TPROXY direct path). Lives on the association's event loop.
final class SOCKS5UDPDirectSockets {
    private enum Socket {
        /// Datagrams waiting for the bind (bounded by `maximumBacklog`).
        case binding([(SocketAddress, ByteBuffer)])
        case ready(Channel)
        case failed
    }

    private enum Name {
        case resolving([ByteBuffer])
        case resolved(SocketAddress)
        case failed
    }

    private let eventLoop: EventLoop
    private let mark: UInt32?
    private let logger: Logger
    private let label: String
    private let onReply: (AddressedEnvelope<ByteBuffer>) -> Void
    private let onReadComplete: () -> Void
    /// Keyed by "is IPv6": one socket per family, so no target needs an IPv4-mapped address.
    private var sockets: [Bool: Socket] = [:]
    /// Names of bypassed targets, bounded so a client spraying names cannot grow it.
    private var names: [SocksAddress: Name] = [:]
    private var needsFlush = false
    private var closed = false
    static let maximumBacklog = 64
    static let maximumNames = 64

    init(
        eventLoop: EventLoop, mark: UInt32?, logger: Logger, label: String,
        onReply: @escaping (AddressedEnvelope<ByteBuffer>) -> Void, onReadComplete: @escaping () -> Void
    ) {
        self.eventLoop = eventLoop
        self.mark = mark
        self.logger = logger
        self.label = label
        self.onReply = onReply
        self.onReadComplete = onReadComplete
    }

    /// Writes (unflushed) or queues `payload` for `target`. Returns false if it had to be dropped.
    func send(_ payload: ByteBuffer, to target: SocksAddress) -> Bool {
        guard !closed else { return false }
        if let address = SocketAddress(target) { return send(payload, to: address.normalized) }
        switch names[target] {
        case .resolved(let address):
            return send(payload, to: address)
        case .failed:
            return false
        case .resolving(var queue):
            guard queue.count < Self.maximumBacklog else { return false }
            queue.append(payload)
            names[target] = .resolving(queue)
            return true
        case nil:
            if names.count >= Self.maximumNames {
                names = names.filter { if case .resolving = $0.value { true } else { false } }
                guard names.count < Self.maximumNames else { return false }
            }
            names[target] = .resolving([payload])
            resolve(target)
            return true
        }
    }

    func flush() {
        guard needsFlush else { return }
        needsFlush = false
        for case .ready(let channel) in sockets.values { channel.flush() }
    }

    func close() {
        guard !closed else { return }
        closed = true
        for case .ready(let channel) in sockets.values { channel.close(promise: nil) }
        sockets.removeAll()
        names.removeAll()
    }

    private func send(_ payload: ByteBuffer, to address: SocketAddress) -> Bool {
        let v6 = address.protocol == .inet6
        switch sockets[v6] {
        case .ready(let channel):
            channel.write(AddressedEnvelope(remoteAddress: address, data: payload), promise: nil)
            needsFlush = true
            return true
        case .binding(var queue):
            guard queue.count < Self.maximumBacklog else { return false }
            queue.append((address, payload))
            sockets[v6] = .binding(queue)
            return true
        case .failed:
            return false
        case nil:
            sockets[v6] = .binding([(address, payload)])
            bind(v6: v6)
            return true
        }
    }

    private func bind(v6: Bool) {
        let wildcard =
            v6
            ? SocketAddress(ipv6: Array(repeating: 0, count: 16), port: 0) : SocketAddress(ipv4: [0, 0, 0, 0], port: 0)
        SOCKS5UDPAssociation.bindDatagram(at: wildcard, mark: mark, on: eventLoop).assumeIsolated().whenComplete {
            [self] result in
            switch result {
            case .success(let channel):
                guard !closed, case .binding(let queue) = sockets[v6] else {
                    channel.close(promise: nil)
                    return
                }
                do {
                    try channel.pipeline.syncOperations.addHandler(
                        UDPUpstreamHandler(onReply: onReply, onReadComplete: onReadComplete))
                } catch {
                    channel.close(promise: nil)
                    sockets[v6] = .failed
                    return
                }
                sockets[v6] = .ready(channel)
                for (address, payload) in queue {
                    channel.write(AddressedEnvelope(remoteAddress: address, data: payload), promise: nil)
                }
                channel.flush()
            case .failure(let error):
                guard !closed else { return }
                sockets[v6] = .failed
                logger.warning("\(label): cannot open a direct \(v6 ? "IPv6" : "IPv4") UDP socket: \(error)")
            }
        }
    }

    /// getaddrinfo on NIO's thread pool (it blocks); a name that does not resolve stays failed for this association.
    private func resolve(_ target: SocksAddress) {
        guard case .domain(let name, let port) = target else { return }
        NIOThreadPool.singleton.runIfActive(eventLoop: eventLoop) {
            try SocketAddress.makeAddressResolvingHost(name, port: Int(port))
        }.assumeIsolated().whenComplete { [self] result in
            guard !closed, case .resolving(let queue) = names[target] else { return }
            switch result {
            case .success(let address):
                let address = address.normalized
                names[target] = .resolved(address)
                for payload in queue where !send(payload, to: address) { break }
                flush()
            case .failure(let error):
                names[target] = .failed
                logger.warning("\(label): cannot resolve \(name) to send to it directly: \(error)")
            }
        }
    }
}
