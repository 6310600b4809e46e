import IPAddresses

/// The proxy/bypass decision, built once from the rule files and replaced whole on reload.
///
/// Precedence is shadowsocks-libev's (src/acl.c acl_match_host, src/local.c): the bypass list is checked before
/// the proxy list, so an entry on both lists bypasses; an address on neither list gets the mode (`[proxy_all]`,
/// the default, or `[bypass_all]`). A domain rule, when one matches, decides before the address is looked at.
public struct BypassRules: Sendable {
    /// The action for an address on no list: proxy unless an ACL says `[bypass_all]`.
    public let mode: RuleAction
    /// Static DNS answers from hosts-format lines of the rule files: lower-cased name → addresses in file order.
    public let staticHosts: [String: [IPAddress]]

    private let modeOrigin: RuleOrigin?
    private let bypass: RuleTries
    private let proxy: RuleTries
    private let outboundBlock: RuleTries
    private let origins: RuleOriginTable

    /// No rules: everything is proxied.
    public init() {
        self.init(
            mode: .proxy, modeOrigin: nil, bypass: RuleTries(), proxy: RuleTries(), outboundBlock: RuleTries(),
            origins: RuleOriginTable(), staticHosts: [:])
    }

    init(
        mode: RuleAction, modeOrigin: RuleOrigin?, bypass: RuleTries, proxy: RuleTries, outboundBlock: RuleTries,
        origins: RuleOriginTable, staticHosts: [String: [IPAddress]]
    ) {
        self.mode = mode
        self.modeOrigin = modeOrigin
        self.bypass = bypass
        self.proxy = proxy
        self.outboundBlock = outboundBlock
        self.origins = origins
        self.staticHosts = staticHosts
    }

    /// Reads the ACL (if any), then each `--rules` file in order. `includeReserved` puts the built-in
    /// hosts-rules/reserved.cidr and hosts-rules/lan.domains on the bypass list first.
    public static func load(acl: String?, ruleFiles: [RuleFileSpec], includeReserved: Bool) throws(RulesError)
        -> BypassRules
    {
        var builder = RuleSetBuilder()
        if includeReserved { builder.addBuiltinLists() }
        if let acl { try builder.addACL(try RuleText.read(acl, purpose: "ACL file"), origin: acl) }
        for spec in ruleFiles {
            try builder.addRules(
                try RuleText.read(spec.path, purpose: "rule file"), origin: spec.path, list: spec.list,
                format: spec.format)
        }
        return builder.build()
    }

    // MARK: - Decisions

    /// Bypass list, then proxy list (longest prefix within each), then the mode.
    public func decide(address: IPAddress) -> RuleDecision {
        if let value = bypass.cidrs.lookup(address) { return .bypass(RuleSource(index: value)) }
        if let value = proxy.cidrs.lookup(address) { return .proxy(RuleSource(index: value)) }
        return RuleDecision(mode, .defaultAction)
    }

    /// The domain rules' answer for a host name, nil when no domain rule matches (then decide by address).
    /// An IP literal is looked up in the address entries (nil when on no list), as ss-libev does. A name longer
    /// than a DNS name can be (255 bytes, RFC 1035 2.3.4) matches nothing.
    public func decide(domain: String) -> RuleDecision? {
        guard domain.utf8.count <= Self.maximumNameLength else { return nil }
        let literal = Self.addressLiteral(domain)
        if let value = bypass.match(domain: domain, literal: literal) { return .bypass(RuleSource(index: value)) }
        if let value = proxy.match(domain: domain, literal: literal) { return .proxy(RuleSource(index: value)) }
        return nil
    }

    static let maximumNameLength = 255

    private static func addressLiteral(_ domain: String) -> IPAddress? {
        DomainName.mayBeAddressLiteral(domain) ? IPAddress(domain) : nil
    }

    /// The `[outbound_block_list]` entry matching a destination the server side is asked to reach.
    public func outboundBlock(address: IPAddress) -> RuleSource? {
        outboundBlock.cidrs.lookup(address).map { RuleSource(index: $0) }
    }

    public func outboundBlock(domain: String) -> RuleSource? {
        guard domain.utf8.count <= Self.maximumNameLength else { return nil }
        return outboundBlock.match(domain: domain, literal: Self.addressLiteral(domain)).map { RuleSource(index: $0) }
    }

    // MARK: - Status

    /// Whether any bypass/proxy domain rule exists (else sniffing SNI/Host cannot change a decision).
    public var hasDomainRules: Bool { bypass.domains.count + proxy.domains.count > 0 }
    /// Address entries (prefixes, addresses, ranges) on the bypass and proxy lists.
    public var cidrCount: Int { bypass.cidrEntries + proxy.cidrEntries }
    /// Domain entries on the bypass and proxy lists.
    public var domainCount: Int { bypass.domains.count + proxy.domains.count }

    /// Entries per list, for the controller's GET /rules.
    public var bypassCounts: (addresses: Int, domains: Int) { (bypass.cidrEntries, bypass.domains.count) }
    public var proxyCounts: (addresses: Int, domains: Int) { (proxy.cidrEntries, proxy.domains.count) }
    /// Entries on the outbound block list (addresses and domains).
    public var outboundBlockCount: Int { outboundBlock.cidrEntries + outboundBlock.domains.count }
    public var hasOutboundBlockRules: Bool { outboundBlockCount > 0 }

    /// The file:line of the entry behind a decision; nil for the default action.
    public func origin(of source: RuleSource) -> RuleOrigin? {
        source.isDefaultAction ? nil : origins.origin(source.index)
    }

    /// For logs: "bypass (chnroute.txt:120)", "proxy (default)", "bypass (default, my.acl:1 [bypass_all])".
    public func describe(_ decision: RuleDecision) -> String {
        if let origin = origin(of: decision.source) { return "\(decision.action) (\(origin))" }
        guard let modeOrigin else { return "\(decision.action) (default)" }
        return "\(decision.action) (default, \(modeOrigin) [\(mode == .proxy ? "proxy_all" : "bypass_all")])"
    }
}
