/// Packet marks and the routing table shared by the firewall rules `ss-redir setup` installs and the relay.
public enum FirewallMarks {
    /// fwmark the tproxy rules put on captured packets; the policy rule `fwmark 0x1 lookup 100` sends them to
    /// the `local default dev lo` route, so they are delivered to the transparent sockets.
    public static let tproxyMark: UInt32 = 0x1
    /// Routing table that holds `local default dev lo` for tproxied packets.
    public static let tproxyRouteTable: UInt32 = 100
    /// SO_MARK the relay sets on its own outbound sockets; the `--proxy-router` output chains let packets with it
    /// pass untouched, so the relay's traffic to the server is never captured again.
    public static let relayOutboundMark: UInt32 = 0xff
}
