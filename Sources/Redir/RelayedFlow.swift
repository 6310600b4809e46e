import Config
import Controller
import NIOCore
import Rules
import ServerPool
import ShadowsocksProtocol
import Synchronization

/// What the controller shows of one relayed TCP flow: where it comes from and goes, which rule decided it and
/// which member carries it. Touched only on its channel's event loop (the fronts and the connector fill it
/// in as they decide; the byte totals are the relay handlers' own counters, read there, so the relay takes
/// no lock per chunk).
package final class RelayedFlow {
    /// Set by the registry when it tracks the flow; `id` is its text.
    var serial: UInt64 = 0
    var id: String { Self.idText(serial) }
    /// "tcp", or "udp" for a UDP association.
    let network: String
    let inbound: String
    let source: SocketAddress?
    let startNanoseconds: Int64
    /// Set when the connector runs (a SOCKS5 flow learns it from the request).
    var destination: SocksAddress?
    var host = ""
    /// The rule that decided the flow (nil: no rules, the default); rendered only when the controller asks.
    var decision: RuleDecision?
    var rules: RulesSnapshot?
    /// The member carrying the flow; nil with `direct` false: not connected yet.
    var member: ServerMember? {
        get { poolMember?.server ?? memberValue }
        set {
            memberValue = newValue
            poolMember = nil
        }
    }
    /// A TCP flow's member as the pool's object: setting it per connection is one retain, not a copy of the
    /// member's strings and key.
    var poolMember: ServerPool.Member? {
        didSet { if poolMember != nil { memberValue = nil } }
    }
    private var memberValue: ServerMember?
    var direct = false
    /// Strong, and cleared by the handler when it leaves its pipeline: a weak reference gave the handler a side
    /// table, which sent every retain and release of it down the runtime's slow path.
    var lanSide: RelayGlueHandler?
    /// The totals once the LAN side closed (the handlers may be gone by the time the registry looks).
    var finalBytes: (up: UInt64, down: UInt64)?
    /// UDP: payload bytes the relay counts per datagram (there is no relay handler to read).
    var datagramBytes: (up: UInt64, down: UInt64) = (0, 0)
    /// UDP TPROXY: the receiver thread's sender, whose bytes the relay has not added to `datagramBytes` yet.
    var datagramSender: UDPUpstreamSender?

    init(network: String = "tcp", inbound: String, source: SocketAddress?) {
        self.network = network
        self.inbound = inbound
        self.source = source
        self.startNanoseconds = WallClock.nowNanoseconds()
    }

    var bytes: (up: UInt64, down: UInt64) {
        if let finalBytes { return finalBytes }
        guard let lanSide else {
            let unreported = datagramSender?.unreportedBytes.load(ordering: .relaxed) ?? 0
            return (datagramBytes.up &+ unreported, datagramBytes.down)
        }
        return (lanSide.bytesRead, lanSide.partnerBytesRead)
    }

    /// nil until the flow has a destination (a SOCKS5 client still shaking hands, or a UDP ASSOCIATE).
    /// `names`: the controller's member names (ControllerNames).
    func view(names: [ServerMember: String]) -> FlowView? {
        guard let destination else { return nil }
        let (up, down) = bytes
        var chains: [String] = []
        if direct {
            chains = [ControllerNames.direct]
        } else if let member {
            chains = [names[member] ?? member.endpoint.description, ControllerNames.pool]
        }
        var rule = "Match"
        var rulePayload = ""
        if let decision, !decision.source.isDefaultAction {
            rule = decision.action == .bypass ? "Bypass" : "Proxy"
            rulePayload = rules?.rules.origin(of: decision.source).map { "\($0)" } ?? ""
        }
        return FlowView(
            id: id, network: network, inbound: inbound, sourceIP: Self.unmapped(source?.ipAddress ?? ""),
            sourcePort: source?.port ?? 0,
            destinationIP: destination.ipAddress?.description ?? "", destinationPort: Int(destination.port),
            host: host.isEmpty ? (destination.domainName ?? "") : host, rule: rule, rulePayload: rulePayload,
            chains: chains, upload: up, download: down, startNanoseconds: startNanoseconds)
    }

    /// A dual-stack listener sees IPv4 clients as ::ffff:a.b.c.d; dashboards show them as a.b.c.d.
    static func unmapped(_ address: String) -> String {
        address.hasPrefix("::ffff:") && address.contains(".") ? String(address.dropFirst(7)) : address
    }

    /// Dashboards get mihomo's id format, a version 4 UUID: here a random prefix drawn once per process and the
    /// flow's serial number, made into text only when listed (a random UUID per connection cost two getrandom
    /// calls and a string on the relay's hot path).
    static let idPrefix: UInt64 = {
        var generator = SystemRandomNumberGenerator()
        return generator.next() & 0xFFFF_FFFF_FFFF_0FFF | 0x0000_0000_0000_4000
    }()
    /// RFC 9562 variant bits over the serial's low 62 bits.
    private static let serialMask: UInt64 = 0x3FFF_FFFF_FFFF_FFFF

    static func idText(_ serial: UInt64) -> String {
        let high = idPrefix
        let low = serial & serialMask | 0x8000_0000_0000_0000
        func hex(_ value: UInt64, digits: Int) -> String {
            let text = String(value, radix: 16)
            return String(repeating: "0", count: digits - text.count) + text
        }
        return "\(hex(high >> 32, digits: 8))-\(hex(high >> 16 & 0xFFFF, digits: 4))-\(hex(high & 0xFFFF, digits: 4))-"
            + "\(hex(low >> 48, digits: 4))-\(hex(low & 0xFFFF_FFFF_FFFF, digits: 12))"
    }

    /// The serial an id names (nil: not one of this process's ids).
    static func serial(fromID text: String) -> UInt64? {
        let groups = text.lowercased().split(separator: "-", omittingEmptySubsequences: false)
        guard groups.count == 5, [8, 4, 4, 4, 12] == groups.map(\.count),
            let a = UInt64(groups[0], radix: 16), let b = UInt64(groups[1], radix: 16),
            let c = UInt64(groups[2], radix: 16), let d = UInt64(groups[3], radix: 16),
            let e = UInt64(groups[4], radix: 16), a << 32 | b << 16 | c == idPrefix
        else { return nil }
        return (d << 48 | e) & serialMask
    }
}
