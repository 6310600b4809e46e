import IPAddresses

/// The address and domain entries of one list (bypass, proxy or outbound block).
struct RuleTries: Sendable {
    var cidrs = CIDRTrie()
    var domains = DomainTrie()
    /// Entries as read (a range or a hosts line counts once), for status.
    var cidrEntries = 0

    /// A domain that is an IP literal is checked against the address entries, as acl_match_host does.
    func match(domain: String) -> UInt32? {
        if let address = IPAddress(domain) { return cidrs.lookup(address) }
        return domains.match(domain)
    }
}
