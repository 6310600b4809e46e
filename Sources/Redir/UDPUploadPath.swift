#if canImport(Glibc)
import Glibc
#endif
import CShadowsocksLinux
import NIOConcurrencyHelpers
import NIOCore
import ShadowsocksCrypto
import ShadowsocksProtocol
import Synchronization

/// The receiver thread's side of established associations: it seals a known flow's datagrams in the receive
/// buffer (the room around each payload is reserved for salt, address and tag) and sends each association's share
/// of a batch with one sendmmsg(2). Everything else (a new flow, a truncated or oversized datagram, a method
/// without an in-place sealer) still goes to the relay's event loop. The relay adds and retires senders through a
/// mailbox the thread empties before each batch; all other state belongs to the receiver thread. A sender's
/// descriptor is closed once, when it is retired: by the receiver thread, or by the relay once the thread is gone.
final class UDPUploadPath: @unchecked Sendable {
    private enum Mail {
        case add(UDPUpstreamSender)
        case retire(UDPUpstreamSender)
    }

    private struct Mailbox {
        var mail: [Mail] = []
        /// The receiver thread has exited: a retired sender's descriptor is closed by the relay itself.
        var closed = false
    }

    private let mailbox = NIOLockedValueBox(Mailbox())
    /// Datagrams the kernel refused (full send buffer, ENOBUFS) and ones that could not be sealed; the relay
    /// adds them to its drop counters.
    let refused = Atomic<Int>(0)
    let unsealed = Atomic<Int>(0)

    /// A sender and the codec sealing for it (looked up once: hashing a key per datagram showed in profiles).
    private struct Entry {
        let sender: UDPUpstreamSender
        let codec: AEADPacketCodec?
    }

    // The receiver thread's own.
    private var senders: [UDPFlowKey: Entry] = [:]
    private var codecs: [MasterKey: AEADPacketCodec] = [:]
    private var queued: [c_ss_outgoing] = []
    private var queuedDescriptors: [Int32] = []

    init() {
        queued.reserveCapacity(TransparentDatagramReceiver.batchSize)
        queuedDescriptors.reserveCapacity(TransparentDatagramReceiver.batchSize)
    }

    /// Whether a method's packets can be sealed here (SIP004 AEAD; stream ciphers and SIP022 sessions stay on
    /// the relay's loop, where their codec lives).
    static func canSeal(_ key: MasterKey?) -> Bool {
        key.map { $0.method.kind == .aead } ?? true
    }

    // MARK: the relay's loop

    func add(_ sender: UDPUpstreamSender) {
        mailbox.withLockedValue { box in
            if !box.closed { box.mail.append(.add(sender)) }
        }
    }

    func retire(_ sender: UDPUpstreamSender) {
        let posted = mailbox.withLockedValue { box in
            guard !box.closed else { return false }
            box.mail.append(.retire(sender))
            return true
        }
        if !posted { Glibc.close(sender.descriptor) }
    }

    // MARK: the receiver thread

    /// Applies the relay's additions and retirements, in the order it made them.
    func takeMail() {
        let mail = mailbox.withLockedValue { box -> [Mail] in
            guard !box.mail.isEmpty else { return [] }
            defer { box.mail.removeAll() }
            return box.mail
        }
        for item in mail {
            switch item {
            case .add(let sender):
                guard let key = sender.key else {
                    senders[sender.flow] = Entry(sender: sender, codec: nil)
                    continue
                }
                if codecs[key] == nil { codecs[key] = try? AEADPacketCodec(key: key) }
                // Without a codec the flow's datagrams keep going to the relay, which reports the error.
                if let codec = codecs[key] { senders[sender.flow] = Entry(sender: sender, codec: codec) }
            case .retire(let sender):
                if senders[sender.flow]?.sender === sender { senders.removeValue(forKey: sender.flow) }
                Glibc.close(sender.descriptor)
            }
        }
    }

    enum Outcome {
        case queued
        /// Not an established flow here, or a datagram the relay must judge (and count): its payload is intact.
        case forRelay
        /// Sealing failed part-way: the payload is no longer intact, so it is dropped (and counted) here.
        case dropped
    }

    /// Seals and queues one datagram whose payload lies at `payload` (with `TransparentDatagramReceiver.headroom`
    /// bytes before it and `.tailroom` after, both free).
    func enqueue(_ flow: UDPFlowKey, payload: UnsafeMutableRawPointer, count: Int, now: UInt64) -> Outcome {
        guard let entry = senders[flow] else { return .forRelay }
        let sender = entry.sender
        var start = payload
        var length = count
        if let codec = entry.codec {
            let headroom = codec.headroom(addressCount: sender.address.count)
            guard headroom + count + codec.tailroom <= sender.maximumPacket,
                headroom <= TransparentDatagramReceiver.headroom
            else { return .forRelay }
            let region = UnsafeMutableRawBufferPointer(
                start: payload - TransparentDatagramReceiver.headroom,
                count: TransparentDatagramReceiver.headroom + count + TransparentDatagramReceiver.tailroom)
            guard
                let range = try? sender.address.withUnsafeBytes({ address in
                    try codec.sealInPlace(
                        address: address, packet: region, payloadOffset: TransparentDatagramReceiver.headroom,
                        payloadCount: count)
                })
            else {
                unsealed.add(1, ordering: .relaxed)
                return .dropped
            }
            start = region.baseAddress! + range.lowerBound
            length = range.count
        }
        queued.append(
            c_ss_outgoing(
                data: start.assumingMemoryBound(to: UInt8.self), length: length,
                address: sender.destination.assumingMemoryBound(to: sockaddr.self),
                address_length: sender.destinationLength))
        queuedDescriptors.append(sender.descriptor)
        sender.lastActive.store(now, ordering: .relaxed)
        sender.unreportedBytes.add(UInt64(count), ordering: .relaxed)
        return .queued
    }

    /// Sends what `enqueue` queued: one sendmmsg per run of datagrams for the same socket.
    func sendQueued() {
        var index = 0
        var failed = 0
        queued.withUnsafeBufferPointer { outgoing in
            while index < outgoing.count {
                let descriptor = queuedDescriptors[index]
                var end = index + 1
                while end < outgoing.count && queuedDescriptors[end] == descriptor { end += 1 }
                var error: Int32 = 0
                let sent = c_ss_udp_send_batch(descriptor, outgoing.baseAddress! + index, UInt32(end - index), &error)
                failed += end - index - Int(sent)
                index = end
            }
        }
        if failed > 0 { refused.add(failed, ordering: .relaxed) }
        queued.removeAll(keepingCapacity: true)
        queuedDescriptors.removeAll(keepingCapacity: true)
    }

    /// The receiver thread is exiting: from now on the relay closes what it retires.
    func close() {
        mailbox.withLockedValue { $0.closed = true }
        takeMail()
        senders.removeAll()
    }
}
