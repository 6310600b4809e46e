import IPAddresses

/// hosts-rules/reserved.cidr and hosts-rules/lan.domains, built in so an installed binary needs no data files.
/// A test keeps them equal to the files.
enum BuiltinLists {
    static let reservedOrigin = ReservedAddressList.origin
    static let lanDomainsOrigin = "hosts-rules/lan.domains (built in)"

    static let reserved = ReservedAddressList.text

    static let lanDomains = """
        # Names that only exist on the local network: never proxied (they resolve to LAN addresses, if at all).
        # Domain list format: one name per line, each matching itself and every name under it; '#' starts a comment.
        # RFC 6761 special-use names.
        localhost
        invalid
        # RFC 6762 multicast DNS.
        local
        # RFC 8375 home networks.
        home.arpa
        # Reserved by ICANN for private use (2024).
        internal
        # Router and distribution defaults (dnsmasq, OpenWrt, Debian's localdomain); not in the root zone.
        lan
        localdomain
        intranet
        # ICANN will not delegate these (name-collision risk, 2018).
        home
        corp
        """
}
