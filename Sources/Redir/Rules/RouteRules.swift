import IPAddresses
import NIOConcurrencyHelpers
import NIOCore
import Rules
import ShadowsocksProtocol

/// The bypass rules the fronts consult (swapped whole on reload) and the names the DNS forwarder saw answered,
/// so a connection to an address can be decided by the name the client looked up (mihomo's "redir-host").
final class RouteRules: Sendable {
    private let loaded: NIOLockedValueBox<RulesSnapshot>
    let learnedNames: LearnedNames

    init(_ rules: BypassRules, learnedNames: LearnedNames = LearnedNames()) {
        self.loaded = NIOLockedValueBox(RulesSnapshot(rules))
        self.learnedNames = learnedNames
    }

    /// The rules now in force, by reference (a connection takes one retain, not a copy of the tables).
    var snapshot: RulesSnapshot { loaded.withLockedValue { $0 } }
    var current: BypassRules { snapshot.rules }
    var hasDomainRules: Bool { snapshot.hasDomainRules }

    func replace(_ fresh: BypassRules) {
        let snapshot = RulesSnapshot(fresh)
        loaded.withLockedValue { $0 = snapshot }
    }

    /// The decision for a connection to `target`, with the name that decided it. A domain target (SOCKS5) or a
    /// sniffed name is looked up in the domain rules first; an address falls back to the name learnt from DNS,
    /// then to the address rules.
    func decide(target: SocksAddress, sniffed: String?) -> (decision: RuleDecision, domain: String?, rules: RulesSnapshot)
    {
        let rules = self.snapshot
        if let name = sniffed ?? target.domainName {
            if let decision = rules.decide(domain: name) { return (decision, name, rules) }
        }
        guard let address = target.ipAddress else {
            return (RuleDecision(rules.mode, .defaultAction), sniffed ?? target.domainName, rules)
        }
        if sniffed == nil, let learned = learnedNames.name(for: address),
            let decision = rules.decide(domain: learned)
        {
            return (decision, learned, rules)
        }
        return (rules.decide(address: address), sniffed, rules)
    }
}

extension SocksAddress {
    var domainName: String? {
        if case .domain(let name, _) = self { return name }
        return nil
    }

    /// The IP of an address target (IPv4-mapped IPv6 folded to IPv4); nil for a name.
    var ipAddress: IPAddress? {
        switch self {
        case .ipv4(let b, _): return IPAddress(family: .ipv4, bytes: [b.0, b.1, b.2, b.3])
        case .ipv6(let bytes, _):
            if bytes[0..<10].allSatisfy({ $0 == 0 }) && bytes[10] == 0xFF && bytes[11] == 0xFF {
                return IPAddress(family: .ipv4, bytes: Array(bytes[12...]))
            }
            return IPAddress(family: .ipv6, bytes: bytes)
        case .domain: return nil
        }
    }
}
