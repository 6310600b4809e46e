import IPAddresses
import Rules

/// One loaded set of bypass rules, shared by reference. A flow keeps the set that decided it (the controller
/// shows the deciding rule's origin) for one retain: `BypassRules` is a 500-byte struct of tables, and a copy per
/// connection retained each of them.
final class RulesSnapshot: Sendable {
    let rules: BypassRules

    init(_ rules: BypassRules) {
        self.rules = rules
    }

    // Lookups go through the class so they read the tables in place; `let rules = snapshot.rules` copied them.
    var mode: RuleAction { rules.mode }
    var hasDomainRules: Bool { rules.hasDomainRules }
    func decide(domain: String) -> RuleDecision? { rules.decide(domain: domain) }
    func decide(address: IPAddress) -> RuleDecision { rules.decide(address: address) }
    func describe(_ decision: RuleDecision) -> String { rules.describe(decision) }
}
