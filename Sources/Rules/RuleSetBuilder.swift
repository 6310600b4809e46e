import IPAddresses

/// Collects rule files into the lists of a `BypassRules`. Files are added in order; when one prefix or name is
/// given twice in a list, the first file:line is the one reported.
public struct RuleSetBuilder: Sendable {
    private var origins = RuleOriginTable()
    private var bypass = RuleTries()
    private var proxy = RuleTries()
    private var outboundBlock = RuleTries()
    private var mode = RuleAction.proxy
    private var modeOrigin: RuleOrigin?
    private var staticHosts: [String: [IPAddress]] = [:]

    public init() {}

    /// hosts-rules/reserved.cidr and hosts-rules/lan.domains (built in) on the bypass list.
    public mutating func addBuiltinLists() {
        // The built-in texts are checked by the tests; a failure here would be a build-time mistake.
        try? addRules(BuiltinLists.reserved, origin: BuiltinLists.reservedOrigin, list: .bypass, format: .cidr)
        try? addRules(BuiltinLists.lanDomains, origin: BuiltinLists.lanDomainsOrigin, list: .bypass, format: .domains)
    }

    /// A shadowsocks-libev ACL file (see `ACLFile` and docs/rules.md). Its mode header sets the default action.
    public mutating func addACL(_ text: String, origin: String) throws(RulesError) {
        let acl = try ACLFile(parsing: text, origin: origin)
        if let line = acl.modeLine {
            mode = acl.mode
            modeOrigin = RuleOrigin(file: origin, line: line, list: acl.mode == .proxy ? .proxy : .bypass)
        }
        for item in acl.entries { add(item.entry, list: item.list, file: origin, line: item.line) }
    }

    /// A rule file whose entries join `list`; hosts lines become static answers whatever the list.
    public mutating func addRules(
        _ text: String, origin: String, list: RuleList = .bypass, format: RuleFileFormat = .auto
    ) throws(RulesError) {
        for item in try RuleFileReader.read(text, origin: origin, format: format) {
            add(item.entry, list: list, file: origin, line: item.line)
        }
    }

    private mutating func add(_ entry: RuleEntry, list: RuleList, file: String, line: Int) {
        if case .staticHost(let name, let address) = entry {
            if !staticHosts[name, default: []].contains(address) { staticHosts[name, default: []].append(address) }
            return
        }
        let value = origins.add(file: file, line: line, list: list)
        switch list {
        case .bypass: Self.insert(entry, value: value, into: &bypass)
        case .proxy: Self.insert(entry, value: value, into: &proxy)
        case .outboundBlock: Self.insert(entry, value: value, into: &outboundBlock)
        }
    }

    private static func insert(_ entry: RuleEntry, value: UInt32, into tries: inout RuleTries) {
        switch entry {
        case .cidr(let range):
            tries.cidrs.insert(range, value: value)
            tries.cidrEntries += 1
        case .domain(let pattern): tries.domains.insert(pattern, value: value)
        case .staticHost: break
        }
    }

    public func build() -> BypassRules {
        BypassRules(
            mode: mode, modeOrigin: modeOrigin, bypass: bypass, proxy: proxy, outboundBlock: outboundBlock,
            origins: origins, staticHosts: staticHosts)
    }
}
