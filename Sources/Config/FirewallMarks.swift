/// Packet marks and the routing table shared by the firewall rules `ss-redir setup` installs and the relay.
public enum FirewallMarks {
    /// fwmark the tproxy rules put on captured packets; the policy rule `fwmark 0x1 lookup 100` sends them to
    /// the `local default dev lo` route, so they are delivered to the transparent sockets.
    public static let tproxyMark: UInt32 = 0x1
    /// The bits of the packet mark setup's rules own. The default, every bit, keeps `meta mark set 0x1` and
    /// `fwmark 0x1` as ss-libev's guides have them; with a narrower mask (`--fwmark 0x10000/0x10000`) the rules
    /// become `meta mark set meta mark & ~mask | mark` and `fwmark MARK/MASK`, so other tools' bits survive
    /// (mwan3 uses 0x3F00, wg-quick 51820 = 0xca6c).
    public static let tproxyMask: UInt32 = 0xffff_ffff
    /// Routing table that holds `local default dev lo` for tproxied packets.
    public static let tproxyRouteTable: UInt32 = 100
    /// SO_MARK the relay sets on its own outbound sockets; the `--proxy-router` output chains let packets with it
    /// pass untouched, so the relay's traffic to the server is never captured again.
    public static let relayOutboundMark: UInt32 = 0xff

    /// `MARK` or `MARK/MASK`, each decimal or 0x hex; without a mask every bit counts (as `ip rule fwmark`).
    /// nil when malformed, zero, or the mark has bits outside the mask.
    public static func parseMarkAndMask(_ text: String) -> (mark: UInt32, mask: UInt32)? {
        func number(_ part: Substring) -> UInt32? {
            part.lowercased().hasPrefix("0x") ? UInt32(part.dropFirst(2), radix: 16) : UInt32(part)
        }
        let parts = text.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count <= 2, let mark = number(parts[0]), mark != 0 else { return nil }
        let mask = parts.count == 2 ? number(parts[1]) : 0xffff_ffff
        guard let mask, mask & mark == mark else { return nil }
        return (mark, mask)
    }
}
