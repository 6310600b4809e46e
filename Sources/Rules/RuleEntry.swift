import IPAddresses

/// One usable thing read from a rule file line.
enum RuleEntry: Sendable {
    case cidr(IPRange)
    case domain(DomainPattern)
    /// A hosts-format line: a static DNS answer, not a bypass rule.
    case staticHost(name: String, address: IPAddress)
}
