import NIOCore

/// What the external controller asks of the running relay. The relay (Redir) implements it; the controller
/// only renders and routes, so it never touches a relay channel itself.
package protocol ControllerBackend: Sendable {
    /// "ss-redir X.Y.Z".
    var version: String { get }
    /// The pool as one group with its members, in configuration order.
    func proxyGroup() -> ProxyGroupView
    /// Pins new flows to the member named `member` (nil unpins); false when no member has that name.
    func pin(member: String?) -> Bool
    /// A real request through the member to `target`; the time to its first authentic answer byte.
    func delay(member: String, target: DelayTarget, timeout: TimeAmount) async -> DelayOutcome
    /// Every open relayed flow, with live byte totals.
    func flows() async -> [FlowView]
    /// Closes the flow with `id`; false when there is none.
    func closeFlow(id: String) -> Bool
    func closeAllFlows()
    /// Bytes relayed up and down since start (closed and open flows), for /traffic.
    func trafficTotals() async -> (up: UInt64, down: UInt64)
    /// The routing rules as (type, payload, target) rows.
    func rules() -> [RuleView]
}

package struct ProxyMemberView: Sendable {
    /// The configured name, or ADDR:PORT; unique in the group.
    package var name: String
    package var udp: Bool
    package var up: Bool
    /// Smoothed probe latency, when measured.
    package var latencyMilliseconds: Double?

    package init(name: String, udp: Bool, up: Bool, latencyMilliseconds: Double?) {
        self.name = name
        self.udp = udp
        self.up = up
        self.latencyMilliseconds = latencyMilliseconds
    }
}

package struct ProxyGroupView: Sendable {
    package var name: String
    /// The Clash group type the pool's strategy corresponds to (Fallback, URLTest, LoadBalance).
    package var type: String
    package var members: [ProxyMemberView]
    /// The member new flows use now (the pin, or the strategy's pick).
    package var now: String
    package var pinned: String?

    package init(name: String, type: String, members: [ProxyMemberView], now: String, pinned: String?) {
        self.name = name
        self.type = type
        self.members = members
        self.now = now
        self.pinned = pinned
    }
}

/// Where a delay test goes: parsed from the `url` query parameter.
package struct DelayTarget: Sendable, Equatable {
    package var host: String
    package var port: Int
    package var path: String

    package init(host: String, port: Int, path: String) {
        self.host = host
        self.port = port
        self.path = path
    }

    /// http://host[:port]/path or https://... (the request is plain HTTP either way: the delay is the time to
    /// the first answer byte, which a TLS server also sends, if only an alert).
    package init?(url: String) {
        var rest = Substring(url)
        var port = 80
        if rest.hasPrefix("http://") {
            rest = rest.dropFirst(7)
        } else if rest.hasPrefix("https://") {
            rest = rest.dropFirst(8)
            port = 443
        } else {
            return nil
        }
        let authority = rest.prefix { $0 != "/" && $0 != "?" && $0 != "#" }
        let path = rest.dropFirst(authority.count)
        var host = authority
        if authority.hasPrefix("[") {
            guard let close = authority.firstIndex(of: "]") else { return nil }
            host = authority[authority.index(after: authority.startIndex)..<close]
            let after = authority[authority.index(after: close)...]
            if after.hasPrefix(":") {
                guard let value = Int(after.dropFirst()), (1...65_535).contains(value) else { return nil }
                port = value
            } else if !after.isEmpty {
                return nil
            }
        } else if let colon = authority.lastIndex(of: ":") {
            guard let value = Int(authority[authority.index(after: colon)...]), (1...65_535).contains(value) else {
                return nil
            }
            port = value
            host = authority[..<colon]
        }
        guard !host.isEmpty, host.utf8.count <= 255 else { return nil }
        self.host = String(host)
        self.port = port
        self.path = path.isEmpty ? "/" : String(path.prefix { $0 != "#" })
    }
}

package enum DelayOutcome: Sendable, Equatable {
    case milliseconds(Int)
    case timeout
    case failed(String)
    case unknownMember
}

/// One open relayed flow, as /connections shows it.
package struct FlowView: Sendable {
    package var id: String
    /// "tcp" or "udp".
    package var network: String
    /// "Redir", "TProxy", "Socks5".
    package var inbound: String
    package var sourceIP: String
    package var sourcePort: Int
    package var destinationIP: String
    package var destinationPort: Int
    /// A sniffed or learnt name, or the SOCKS5 domain target.
    package var host: String
    package var rule: String
    package var rulePayload: String
    /// Last hop first, as mihomo lists them: [member, group] or ["DIRECT"].
    package var chains: [String]
    package var upload: UInt64
    package var download: UInt64
    /// Wall-clock start, nanoseconds since the epoch.
    package var startNanoseconds: Int64

    package init(
        id: String, network: String, inbound: String, sourceIP: String, sourcePort: Int, destinationIP: String,
        destinationPort: Int, host: String, rule: String, rulePayload: String, chains: [String], upload: UInt64,
        download: UInt64, startNanoseconds: Int64
    ) {
        self.id = id
        self.network = network
        self.inbound = inbound
        self.sourceIP = sourceIP
        self.sourcePort = sourcePort
        self.destinationIP = destinationIP
        self.destinationPort = destinationPort
        self.host = host
        self.rule = rule
        self.rulePayload = rulePayload
        self.chains = chains
        self.upload = upload
        self.download = download
        self.startNanoseconds = startNanoseconds
    }
}

package struct RuleView: Sendable {
    package var type: String
    package var payload: String
    package var proxy: String
    /// Entries in the rule set (shown by dashboards as the rule's size).
    package var size: Int

    package init(type: String, payload: String, proxy: String, size: Int) {
        self.type = type
        self.payload = payload
        self.proxy = proxy
        self.size = size
    }
}
