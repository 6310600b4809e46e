#if canImport(Glibc)
import Glibc
#endif

/// br_netfilter's switches `net.bridge.bridge-nf-call-iptables` / `-ip6tables` (per network namespace).
/// With them on, frames entering a bridge run the IPv4/IPv6 prerouting hooks inside the bridge; a `tproxy`
/// there assigns its socket to the packet, and when the bridge hands the frame up to IP, `ip_rcv` orphans the
/// packet (drops that socket) and br_netfilter's `ip_sabotage_in` skips the hooks the second time: the marked
/// packet is delivered locally with no socket and counted as UdpNoPorts (TCP: answered with a reset), whatever
/// address the listener has. Only turning the switches off (or unloading br_netfilter) fixes it.
public struct BridgeNetfilterCalls: Sendable, Equatable, CustomStringConvertible {
    public var iptables: Bool
    public var ip6tables: Bool

    public init(iptables: Bool, ip6tables: Bool) {
        self.iptables = iptables
        self.ip6tables = ip6tables
    }

    public var any: Bool { iptables || ip6tables }

    public var description: String {
        "bridge-nf-call-iptables = \(iptables ? 1 : 0), bridge-nf-call-ip6tables = \(ip6tables ? 1 : 0)"
    }

    static let iptablesPath = "/proc/sys/net/bridge/bridge-nf-call-iptables"
    static let ip6tablesPath = "/proc/sys/net/bridge/bridge-nf-call-ip6tables"

    /// The current values; nil when br_netfilter is not loaded (no such sysctls).
    public static func current() -> BridgeNetfilterCalls? {
        guard let v4 = TextFile.read(iptablesPath, limit: 64), let v6 = TextFile.read(ip6tablesPath, limit: 64) else {
            return nil
        }
        return BridgeNetfilterCalls(iptables: v4.hasPrefix("1"), ip6tables: v6.hasPrefix("1"))
    }

    /// Writes both switches.
    public func apply() throws(NetfilterError) {
        try Self.write(iptables, to: Self.iptablesPath)
        try Self.write(ip6tables, to: Self.ip6tablesPath)
    }

    private static func write(_ value: Bool, to path: String) throws(NetfilterError) {
        guard let file = fopen(path, "w") else {
            throw NetfilterError(
                .socket, "cannot open \(path): \(TextFile.lastError); run as root", errno: errno)
        }
        let ok = fputs(value ? "1\n" : "0\n", file) >= 0
        let closed = fclose(file) == 0
        guard ok && closed else {
            throw NetfilterError(.socket, "cannot write \(path): \(TextFile.lastError)", errno: errno)
        }
    }

    /// `"1 1"`, as the table comment records the values setup found.
    var commentWords: String { "\(iptables ? 1 : 0) \(ip6tables ? 1 : 0)" }

    init?(commentWords words: [Substring]) {
        guard words.count == 2, words.allSatisfy({ $0 == "0" || $0 == "1" }) else { return nil }
        self.init(iptables: words[0] == "1", ip6tables: words[1] == "1")
    }
}
