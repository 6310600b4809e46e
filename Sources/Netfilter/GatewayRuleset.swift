/// What a transparent-proxy gateway needs from the firewall, as `ss-redir setup` understood its flags.
public struct GatewayOptions: Sendable, Equatable {
    public enum TCPCapture: String, Sendable, Equatable {
        /// `redirect to :PORT` in a nat chain (the relay reads SO_ORIGINAL_DST).
        case redirect
        /// `tproxy to :PORT` at mangle (-T; the relay reads the accepted socket's local address).
        case tproxy
        /// TCP is not captured (-U, udp_only).
        case none
    }

    public var tableName = "ss_redir"
    public var localPort: UInt16
    public var tcp: TCPCapture = .redirect
    /// UDP through `tproxy` (-u / -U).
    public var udp = false
    /// Interfaces the LAN traffic arrives on; a trailing `*` matches a prefix. Empty: every interface except
    /// `lo` and `wanInterfaces`.
    public var lanInterfaces: [String] = []
    /// Excluded when `lanInterfaces` is empty (setup fills in the default routes' interfaces).
    public var wanInterfaces: [String] = []
    /// Capture the gateway's own connections too (output chains).
    public var proxyRouter = false
    /// Redirect LAN udp/tcp port 53 to this local port.
    public var dnsHijackPort: UInt16?
    /// Drop tproxied traffic that no socket takes (the proxy is down) instead of letting it go direct.
    public var failClosed = false
    /// Destinations that always go direct: reserved ranges, the servers, the bypass files.
    public var bypass: [IPRange] = []
    /// When not empty, only these destinations are proxied (the inverse mode, e.g. a gfwlist-style set).
    public var proxyOnly: [IPRange] = []
    /// The mark tproxied packets get, which the policy rule routes to `lo`.
    public var tproxyMark: UInt32
    /// The bits of the packet mark our rules set and the policy rule looks at; every bit by default. Narrower:
    /// other tools' bits (mwan3 0x3F00, wg-quick 0xca6c) survive our rules.
    public var tproxyMask: UInt32 = 0xffff_ffff
    /// The SO_MARK on the relay's own sockets; the output chains let it pass (0: none set).
    public var relayMark: UInt32
    /// The routing table of the `local default dev lo` route.
    public var routeTable: UInt32
    /// br_netfilter's switches as setup found them before turning them off (--disable-bridge-nf); the table
    /// comment records them so teardown can put them back. nil: setup left them alone.
    public var bridgeNetfilterFound: BridgeNetfilterCalls?

    public init(localPort: UInt16, tproxyMark: UInt32, relayMark: UInt32, routeTable: UInt32) {
        self.localPort = localPort
        self.tproxyMark = tproxyMark
        self.relayMark = relayMark
        self.routeTable = routeTable
    }

    /// TPROXY needs the fwmark rule and local route; plain redirect does not.
    public var usesTproxy: Bool { udp || tcp == .tproxy }

    public var policyRoute: PolicyRoute? {
        usesTproxy ? PolicyRoute(mark: tproxyMark, mask: tproxyMask, table: routeTable) : nil
    }

    /// Our mark on a packet, keeping the other bits when the mask is narrower than the whole mark.
    var setTproxyMark: NftStatement {
        tproxyMask == 0xffff_ffff ? .setMark(tproxyMark) : .setMarkBits(tproxyMark, mask: tproxyMask)
    }

    /// Whether a packet carries our mark (only the bits of the mask count).
    func hasTproxyMark(negated: Bool = false) -> NftMatch {
        tproxyMask == 0xffff_ffff
            ? .mark(tproxyMark, negated: negated) : .markBits(tproxyMark, mask: tproxyMask, negated: negated)
    }
}

/// Builds the `inet` table for a gateway. Sets: `bypass4`/`bypass6` (intervals fixed at setup), `bypass4_dns`/
/// `bypass6_dns` (timeout sets the running daemon fills from DNS answers), `proxy4`/`proxy6` (--proxy-file).
/// Chains, in packet order:
/// - `prerouting_nat` (nat, dstnat) → `lan_nat`: DNS hijack, then TCP `redirect` unless bypassed.
/// - `prerouting_mangle` (filter, mangle) → `lan_tproxy`: UDP (and TCP with -T) `tproxy` + mark unless bypassed;
///   with --fail-closed what no socket took is dropped.
/// - `output_nat` (nat, output) and `output_route` (route, output, mangle) for --proxy-router: the gateway's own
///   TCP is redirected, its UDP (TCP with -T) marked so the policy rule reroutes it through `lo` into
///   `prerouting_mangle`. Packets with the relay's own SO_MARK pass untouched, so nothing loops.
public enum GatewayRuleset {
    /// Marks tables made by `ss-redir setup`: setup and teardown refuse tables without it.
    public static let commentPrefix = "managed by ss-redir setup"
    static let routingMarker = "; policy routing "

    static let bridgeMarker = "bridge-nf-call found "

    public static func comment(for options: GatewayOptions) -> String {
        var comment = commentPrefix
        if let route = options.policyRoute {
            comment += "\(routingMarker)fwmark \(route.markText) table \(route.table)"
        }
        if let found = options.bridgeNetfilterFound { comment += "; \(bridgeMarker)\(found.commentWords)" }
        return comment
    }

    /// Whether a table's comment says `ss-redir setup` made it.
    public static func isOwned(comment: String?) -> Bool { comment?.hasPrefix(commentPrefix) ?? false }

    /// The `;`-separated parts after the prefix, trimmed.
    private static func commentParts(_ comment: String?) -> [Substring] {
        guard let comment, isOwned(comment: comment) else { return [] }
        return comment.split(separator: ";").dropFirst().map { part in
            var part = part
            while part.first == " " { part.removeFirst() }
            return part
        }
    }

    /// The policy route recorded in a table comment written by `comment(for:)`.
    public static func policyRoute(fromComment comment: String?) -> PolicyRoute? {
        for part in commentParts(comment) where part.hasPrefix("policy routing ") {
            let words = part.split(separator: " ").dropFirst(2).map(String.init)
            // "0x1" or "0x10000/0x10000", as `PolicyRoute.markText` writes it.
            let mark = words.count == 4 ? words[1].split(separator: "/") : []
            func hex(_ text: Substring) -> UInt32? { text.hasPrefix("0x") ? UInt32(text.dropFirst(2), radix: 16) : nil }
            guard words.count == 4, words[0] == "fwmark", words[2] == "table", (1...2).contains(mark.count),
                let value = hex(mark[0]), let table = UInt32(words[3])
            else { return nil }
            let mask = mark.count == 2 ? hex(mark[1]) : 0xffff_ffff
            guard let mask else { return nil }
            return PolicyRoute(mark: value, mask: mask, table: table)
        }
        return nil
    }

    /// The br_netfilter switches setup found (and turned off), as recorded by `comment(for:)`.
    public static func bridgeNetfilterFound(fromComment comment: String?) -> BridgeNetfilterCalls? {
        for part in commentParts(comment) where part.hasPrefix(bridgeMarker) {
            return BridgeNetfilterCalls(commentWords: part.dropFirst(bridgeMarker.count).split(separator: " "))
        }
        return nil
    }

    /// The timeout sets the DNS forwarder fills at run time with the addresses it answered for bypass domains
    /// (`DNSBypassSets`); every rule that lets `bypass4`/`bypass6` go direct does the same for them.
    public static func dnsBypassSet(_ family: IPFamily) -> String { family == .ipv4 ? "bypass4_dns" : "bypass6_dns" }

    /// Elements per DNS bypass set (nft `size`). Bounds kernel memory (roughly 100 bytes an element, so a few MB
    /// when full) far above what a LAN resolves for bypass domains within a day (the longest timeout); when the set
    /// is full the kernel refuses new elements (ENFILE) and those destinations are proxied instead of going direct.
    public static let dnsBypassCapacity: UInt32 = 65_536

    public static func build(_ options: GatewayOptions) -> NftTable {
        var table = NftTable(name: options.tableName, comment: comment(for: options))
        let bypassNote = "Destinations that always go direct: reserved ranges, the proxy servers, --bypass-file lists."
        table.sets = [
            NftSet(name: "bypass4", intervals: AddressIntervals(family: .ipv4, options.bypass), note: bypassNote),
            NftSet(name: "bypass6", intervals: AddressIntervals(family: .ipv6, options.bypass)),
            .timeout(
                name: dnsBypassSet(.ipv4), keyFamily: .ipv4, maxElements: dnsBypassCapacity,
                note:
                    "Addresses the DNS forwarder answered for bypass domains, added while ss-redir runs; each expires with its answer's TTL."
            ),
            .timeout(name: dnsBypassSet(.ipv6), keyFamily: .ipv6, maxElements: dnsBypassCapacity),
        ]
        let inverse = !options.proxyOnly.isEmpty
        if inverse {
            table.sets += [
                NftSet(
                    name: "proxy4", intervals: AddressIntervals(family: .ipv4, options.proxyOnly),
                    note: "Only these destinations are proxied (--proxy-file)."),
                NftSet(name: "proxy6", intervals: AddressIntervals(family: .ipv6, options.proxyOnly)),
            ]
        }

        let natNeeded = options.tcp == .redirect || options.dnsHijackPort != nil
        if natNeeded {
            table.chains.append(
                NftChain(
                    name: "prerouting_nat",
                    base: NftBaseChain(type: .nat, hook: .prerouting, priority: NftBaseChain.dstnatPriority),
                    rules: interfaceDispatch(options, to: "lan_nat", routerMark: nil),
                    note: options.tcp == .redirect
                        ? "LAN TCP is redirected to the local port (nat, so only a connection's first packet comes here)."
                        : "LAN DNS is redirected to the --dns-hijack port (nat)."))
            table.chains.append(NftChain(name: "lan_nat", rules: lanNatRules(options, inverse: inverse)))
        }
        if options.usesTproxy {
            table.chains.append(
                NftChain(
                    name: "prerouting_mangle",
                    base: NftBaseChain(type: .filter, hook: .prerouting, priority: NftBaseChain.manglePriority),
                    rules: interfaceDispatch(
                        options, to: "lan_tproxy", routerMark: options.proxyRouter ? options.hasTproxyMark() : nil),
                    note: "TPROXY works only here: prerouting at priority mangle."))
            table.chains.append(NftChain(name: "lan_tproxy", rules: lanTproxyRules(options, inverse: inverse)))
        }
        if options.proxyRouter && options.tcp == .redirect {
            table.chains.append(
                NftChain(
                    name: "output_nat",
                    base: NftBaseChain(type: .nat, hook: .output, priority: NftBaseChain.dstnatPriority),
                    rules: outputRules(options, inverse: inverse, capture: [.transportProtocol(.tcp)], redirect: true),
                    note: "The gateway's own TCP (--proxy-router)."))
        }
        if options.proxyRouter && options.usesTproxy {
            var protocols: [NftTransportProtocol] = []
            if options.udp { protocols.append(.udp) }
            if options.tcp == .tproxy { protocols.append(.tcp) }
            table.chains.append(
                NftChain(
                    name: "output_route",
                    base: NftBaseChain(type: .route, hook: .output, priority: NftBaseChain.manglePriority),
                    rules: outputRules(
                        options, inverse: inverse, capture: protocols.map { .transportProtocol($0) }, redirect: false),
                    note:
                        "The gateway's own \(protocols.map { $0.rawValue.uppercased() }.joined(separator: " and ")) (--proxy-router): marked, so the policy rule reroutes it through lo into prerouting_mangle."
                ))
        }
        return table
    }

    /// Which packets enter the LAN chain: the listed LAN interfaces, or everything but lo and the WAN side.
    /// `routerMark`: the gateway's own packets, rerouted through lo with this mark, enter too.
    private static func interfaceDispatch(_ options: GatewayOptions, to chain: String, routerMark: NftMatch?) -> [NftRule]
    {
        if !options.lanInterfaces.isEmpty {
            var rules = options.lanInterfaces.map { NftRule([.inputInterface($0)], verdict: .jump(chain)) }
            if let mark = routerMark {
                rules.append(
                    NftRule(
                        [.inputInterface("lo"), mark], verdict: .jump(chain),
                        note: "The gateway's own packets, marked in output_route."))
            }
            return rules
        }
        var rules: [NftRule] = []
        if routerMark != nil {
            rules.append(NftRule([.inputInterface("lo"), options.hasTproxyMark(negated: true)], verdict: .return))
        } else {
            rules.append(NftRule([.inputInterface("lo")], verdict: .return))
        }
        for (index, wan) in options.wanInterfaces.enumerated() {
            rules.append(
                NftRule(
                    [.inputInterface(wan)], verdict: .return,
                    note: index == 0 ? "WAN side (default routes when setup ran); no --lan-if given." : nil))
        }
        rules.append(NftRule([], verdict: .jump(chain)))
        return rules
    }

    private static func bypassRules(inverse: Bool) -> [NftRule] {
        var rules = [
            NftRule([.destinationIsLocal], verdict: .return),
            NftRule([.destinationInSet(.ipv4, set: "bypass4")], verdict: .return),
            NftRule([.destinationInSet(.ipv6, set: "bypass6")], verdict: .return),
            NftRule([.destinationInSet(.ipv4, set: dnsBypassSet(.ipv4))], verdict: .return),
            NftRule([.destinationInSet(.ipv6, set: dnsBypassSet(.ipv6))], verdict: .return),
        ]
        if inverse {
            rules += [
                NftRule([.destinationInSet(.ipv4, set: "proxy4", negated: true)], verdict: .return),
                NftRule([.destinationInSet(.ipv6, set: "proxy6", negated: true)], verdict: .return),
            ]
        }
        return rules
    }

    /// With br_netfilter on, frames bridged between two LAN ports run the IP hooks too; they are never ours.
    /// Not for lo: fib answers "lo" for every packet that arrives there (the gateway's own, --proxy-router).
    private static let lanToLAN = NftRule(
        [.inputInterface("lo", negated: true), .destinationOnInputInterface], verdict: .return,
        note: "LAN-to-LAN: the destination is on the interface the packet came in on (bridged with br_netfilter).")

    private static func lanNatRules(_ options: GatewayOptions, inverse: Bool) -> [NftRule] {
        var rules: [NftRule] = [lanToLAN]
        if let dns = options.dnsHijackPort {
            rules.append(
                NftRule(
                    [.destinationPort(.udp, 53)], [.redirect(port: dns)],
                    note: "DNS from the LAN goes to the local forwarder (--dns-hijack), whatever server it asked."))
            rules.append(NftRule([.destinationPort(.tcp, 53)], [.redirect(port: dns)]))
        }
        if options.tcp == .redirect {
            rules += bypassRules(inverse: inverse)
            rules.append(NftRule([.transportProtocol(.tcp)], [.redirect(port: options.localPort)]))
        }
        return rules
    }

    private static func lanTproxyRules(_ options: GatewayOptions, inverse: Bool) -> [NftRule] {
        var rules = [
            lanToLAN,
            NftRule(
                [.conntrackReplyDirection], verdict: .return,
                note: "Replies of connections made from outside (port forwards)."),
        ]
        if options.dnsHijackPort != nil {
            rules.append(
                NftRule([.destinationPort(.udp, 53)], verdict: .return, note: "Left for the DNS hijack in lan_nat."))
            if options.tcp == .tproxy { rules.append(NftRule([.destinationPort(.tcp, 53)], verdict: .return)) }
        }
        rules += bypassRules(inverse: inverse)
        var protocols: [NftTransportProtocol] = []
        if options.udp { protocols.append(.udp) }
        if options.tcp == .tproxy { protocols.append(.tcp) }
        for proto in protocols {
            rules.append(
                NftRule(
                    [.transportProtocol(proto)], [.tproxy(port: options.localPort), options.setTproxyMark],
                    verdict: .accept))
        }
        if options.failClosed {
            for (index, proto) in protocols.enumerated() {
                rules.append(
                    NftRule(
                        [.transportProtocol(proto)], verdict: .drop,
                        note: index == 0
                            ? "--fail-closed: no socket took it (the proxy is down), so it must not go direct." : nil))
            }
        }
        return rules
    }

    private static func outputRules(_ options: GatewayOptions, inverse: Bool, capture: [NftMatch], redirect: Bool)
        -> [NftRule]
    {
        var rules: [NftRule] = []
        if options.relayMark != 0 {
            rules.append(
                NftRule([.mark(options.relayMark)], verdict: .return, note: "The relay's own sockets (SO_MARK)."))
        }
        if !redirect { rules.append(NftRule([.conntrackReplyDirection], verdict: .return)) }
        rules += bypassRules(inverse: inverse)
        for match in capture {
            rules.append(
                redirect
                    ? NftRule([match], [.redirect(port: options.localPort)])
                    : NftRule([match], [options.setTproxyMark]))
        }
        return rules
    }
}
