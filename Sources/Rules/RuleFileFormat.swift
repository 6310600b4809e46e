/// How the lines of a `--rules` file are read.
public enum RuleFileFormat: Sendable, Hashable {
    /// Decided per line: an IP prefix/range, a dnsmasq `server=/…/` line, a hosts line `IP name…`, or else a
    /// domain-list entry.
    case auto
    /// Only IPv4/IPv6 addresses, prefixes and `a-b` ranges (chnroute-style lists).
    case cidr
    /// Only domain-list entries and dnsmasq `server=`/`ipset=`/`nftset=` lines.
    case domains
    /// Only hosts(5) lines.
    case hosts
}
