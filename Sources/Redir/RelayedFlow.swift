import Controller
import NIOCore
import ShadowsocksProtocol

/// What the controller shows of one relayed TCP flow: where it comes from and goes, which rule decided it and
/// which member carries it. Touched only on its channel's event loop (the fronts and the connector fill it
/// in as they decide; the byte totals are the relay handlers' own counters, read there, so the relay takes
/// no lock per chunk).
package final class RelayedFlow {
    let id: String
    let inbound: String
    let source: SocketAddress?
    let startNanoseconds: Int64
    /// Set when the connector runs (a SOCKS5 flow learns it from the request).
    var destination: SocksAddress?
    var host = ""
    var rule = ""
    var rulePayload = ""
    var chains: [String] = []
    weak var lanSide: RelayGlueHandler?
    /// The totals once the LAN side closed (the handlers may be gone by the time the registry looks).
    var finalBytes: (up: UInt64, down: UInt64)?

    init(id: String, inbound: String, source: SocketAddress?) {
        self.id = id
        self.inbound = inbound
        self.source = source
        self.startNanoseconds = WallClock.nowNanoseconds()
    }

    var bytes: (up: UInt64, down: UInt64) {
        if let finalBytes { return finalBytes }
        guard let lanSide else { return (0, 0) }
        return (lanSide.bytesRead, lanSide.partnerBytesRead)
    }

    /// nil until the flow has a destination (a SOCKS5 client still shaking hands, or a UDP ASSOCIATE).
    var view: FlowView? {
        guard let destination else { return nil }
        let (up, down) = bytes
        return FlowView(
            id: id, network: "tcp", inbound: inbound, sourceIP: Self.unmapped(source?.ipAddress ?? ""),
            sourcePort: source?.port ?? 0,
            destinationIP: destination.ipAddress?.description ?? "", destinationPort: Int(destination.port),
            host: host.isEmpty ? (destination.domainName ?? "") : host, rule: rule, rulePayload: rulePayload,
            chains: chains, upload: up, download: down, startNanoseconds: startNanoseconds)
    }

    /// A dual-stack listener sees IPv4 clients as ::ffff:a.b.c.d; dashboards show them as a.b.c.d.
    static func unmapped(_ address: String) -> String {
        address.hasPrefix("::ffff:") && address.contains(".") ? String(address.dropFirst(7)) : address
    }

    /// A random (version 4) UUID, the id format dashboards get from mihomo.
    static func makeID() -> String {
        var generator = SystemRandomNumberGenerator()
        var bytes = (0..<16).map { _ in UInt8.random(in: 0...255, using: &generator) }
        bytes[6] = bytes[6] & 0x0F | 0x40
        bytes[8] = bytes[8] & 0x3F | 0x80
        let hex = bytes.map { $0 < 16 ? "0" + String($0, radix: 16) : String($0, radix: 16) }
        return [0..<4, 4..<6, 6..<8, 8..<10, 10..<16].map { hex[$0].joined() }.joined(separator: "-")
    }
}
