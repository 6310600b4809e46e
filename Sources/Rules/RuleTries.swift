import IPAddresses

/// The address and domain entries of one list (bypass, proxy or outbound block).
struct RuleTries: Sendable {
    var cidrs = CIDRTrie()
    var domains = DomainTrie()
    /// Entries as read (a range or a hosts line counts once), for status.
    var cidrEntries = 0

    /// A domain that is an IP literal (`literal`, parsed once by the caller) is checked against the address
    /// entries, as acl_match_host does.
    func match(domain: String, literal: IPAddress?) -> UInt32? {
        if let literal { return cidrs.lookup(literal) }
        return domains.match(domain)
    }
}
