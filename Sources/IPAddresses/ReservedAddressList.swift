/// hosts-rules/reserved.cidr, built in so an installed binary needs no data files; one copy for setup's
/// kernel bypass sets (Netfilter) and the relay's rules (Rules). Tests keep it equal to the file.
public enum ReservedAddressList {
    public static let origin = "hosts-rules/reserved.cidr (built in)"

    public static let text = """
        # Reserved, private, link-local and multicast ranges: never proxied (RFC 6890 and the IANA registries).
        # One prefix per line, IPv4 and IPv6; '#' starts a comment. Used by the nftables bypass sets.
        0.0.0.0/8
        10.0.0.0/8
        100.64.0.0/10
        127.0.0.0/8
        169.254.0.0/16
        172.16.0.0/12
        192.0.0.0/24
        192.0.2.0/24
        192.88.99.0/24
        192.168.0.0/16
        198.18.0.0/15
        198.51.100.0/24
        203.0.113.0/24
        224.0.0.0/4
        240.0.0.0/4
        ::/128
        ::1/128
        ::ffff:0:0/96
        64:ff9b:1::/48
        100::/64
        2001:db8::/32
        fc00::/7
        fe80::/10
        ff00::/8
        """
}
