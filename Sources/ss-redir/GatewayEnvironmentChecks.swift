#if canImport(Glibc)
import Glibc
#endif
import Config

/// `check`'s look at the gateway itself: the things outside ss-redir that break a transparent proxy in the
/// field (docs/troubleshooting.md).
extension CheckCommand {
    func checkEnvironment(_ report: inout CheckReport, _ configuration: RedirConfiguration) {
        checkClock(&report)
        checkBridgeNetfilter(&report, configuration)
        checkReversePathFilter(&report, configuration)
    }

    /// Routers without an RTC boot in 1970; Shadowsocks 2022 servers refuse clocks off by more than 30 s.
    private func checkClock(_ report: inout CheckReport) {
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        if now.tv_sec < 1_704_067_200 {  // 2024-01-01: earlier means the clock was never set
            report.fail(
                "the system clock says \(now.tv_sec) s since 1970: it was never set",
                fix: "enable time synchronisation (systemd-timesyncd, chrony, ntpd; OpenWrt: sysntpd); Shadowsocks 2022 servers refuse clocks off by more than 30 s")
        } else {
            report.pass("the system clock is set (\(now.tv_sec) s since 1970)")
        }
    }

    /// With br_netfilter loaded, bridged UDP reaches the tproxy rule but not a 0.0.0.0 listener (it is counted
    /// as UdpNoPorts); a `::` listener receives it.
    private func checkBridgeNetfilter(_ report: inout CheckReport, _ configuration: RedirConfiguration) {
        guard configuration.relaysUDP, Self.sysctl("/proc/sys/net/bridge/bridge-nf-call-iptables") == "1" else { return }
        if configuration.listenAddresses.contains("0.0.0.0") {
            report.fail(
                "br_netfilter is loaded (bridge-nf-call-iptables = 1) and UDP listens on 0.0.0.0: bridged LAN UDP will not reach ss-redir",
                fix: "listen on :: instead (-b :: or \"local_address\": \"::\"), which receives both IPv4 and IPv6")
        } else {
            report.pass("br_netfilter is loaded; the UDP listener (\(configuration.listenAddresses.joined(separator: ", "))) still receives bridged traffic")
        }
    }

    /// Strict reverse-path filtering drops tproxied packets on LAN ports of some setups (replies routed via lo).
    private func checkReversePathFilter(_ report: inout CheckReport, _ configuration: RedirConfiguration) {
        guard configuration.relaysUDP || configuration.tcpTproxy else { return }
        let all = Self.sysctl("/proc/sys/net/ipv4/conf/all/rp_filter")
        if all == "1" {
            report.fail(
                "strict reverse-path filtering is on (net.ipv4.conf.all.rp_filter = 1): tproxied traffic can be dropped",
                fix: "sysctl -w net.ipv4.conf.all.rp_filter=2 (loose) and the same for the LAN interface")
        } else {
            report.pass("reverse-path filtering is not strict (net.ipv4.conf.all.rp_filter = \(all ?? "?"))")
        }
    }

    static func sysctl(_ path: String) -> String? {
        guard let file = fopen(path, "r") else { return nil }
        defer { fclose(file) }
        var buffer = [CChar](repeating: 0, count: 64)
        guard fgets(&buffer, Int32(buffer.count), file) != nil else { return nil }
        let text = String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        return text.trimmingCharacters(in: " \n\t")
    }
}

extension String {
    fileprivate func trimmingCharacters(in set: String) -> String {
        var scalars = Substring(self)
        while let first = scalars.first, set.contains(first) { scalars.removeFirst() }
        while let last = scalars.last, set.contains(last) { scalars.removeLast() }
        return String(scalars)
    }
}
