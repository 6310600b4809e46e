#if canImport(Glibc)
import Glibc
#endif
import Config
import Netfilter

/// `check`'s look at the gateway itself: the things outside ss-redir that break a transparent proxy in the
/// field (docs/troubleshooting.md).
extension CheckCommand {
    func checkEnvironment(_ report: inout CheckReport, _ configuration: RedirConfiguration) {
        checkClock(&report)
        checkBridgeNetfilter(&report, configuration)
        checkReversePathFilter(&report, configuration)
        checkOtherTables(&report, configuration)
    }

    /// Another firewall in the same box (OpenWrt's fw4, Docker, a user's table): what our rules deliver
    /// locally passes its input (and prerouting) chains too, and a policy drop there silently eats it.
    private func checkOtherTables(_ report: inout CheckReport, _ configuration: RedirConfiguration) {
        let (loaded, problem) = ForeignInputChains.load(excludingTable: table)
        guard let chains = loaded else {
            report.fail("cannot look at the other nftables tables: \(problem ?? "?")", fix: "install nft (the nftables package)")
            return
        }
        let interfaces = ((try? ConfigFile.load(path: configFile))?.settings.lanInterfaces ?? []).map {
            $0.hasSuffix("*") ? String($0.dropLast()) + "0" : $0
        }
        var probes: [ForeignInputChains.Probe] = []
        for interface in interfaces.isEmpty ? [nil] : interfaces.map(Optional.some) {
            for nfproto in ["ipv4", "ipv6"] {
                if configuration.relaysTCP {
                    probes.append(
                        ForeignInputChains.Probe(
                            interface: interface, proto: "tcp", nfproto: nfproto,
                            port: configuration.tcpTproxy ? nil : configuration.localPort,
                            redirected: !configuration.tcpTproxy))
                }
                if configuration.relaysUDP {
                    probes.append(
                        ForeignInputChains.Probe(
                            interface: interface, proto: "udp", nfproto: nfproto, port: nil, redirected: false))
                }
            }
        }
        var reported: Set<String> = []
        for probe in probes {
            for drop in chains.drops(probe) {
                let key = "\(drop.chain.label) \(drop.rule?.handle ?? "policy") \(probe.proto)"
                guard reported.insert(key).inserted else { continue }
                let lan = probe.interface.map { "iifname \"\($0)\" " } ?? "iifname LAN "
                let accept =
                    "nft insert rule \(drop.chain.family) \(drop.chain.table) \(drop.chain.name) \(lan)meta l4proto \(probe.proto) accept"
                if let rule = drop.rule {
                    report.fail(
                        "\(drop.chain.label) rule handle \(rule.handle)\(rule.comment.map { " (\"\($0)\")" } ?? "") drops a \(probe.text) that ss-redir must receive",
                        fix: "let LAN traffic to this router through before that rule (\(accept); OpenWrt: the lan zone's input must be ACCEPT)")
                } else {
                    report.fail(
                        "\(drop.chain.label) (hook \(drop.chain.hook ?? "?"), policy drop) has no accept for a \(probe.text) that ss-redir must receive",
                        fix: "\(accept) (OpenWrt: set the lan zone's input to ACCEPT)")
                }
            }
        }
        if reported.isEmpty {
            let count = Set(chains.chains.map { "\($0.family) \($0.table)" }).count
            report.pass("no other nftables table drops what ss-redir receives from the LAN (\(count) other tables)")
        }
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

    /// With br_netfilter's switches on, frames entering a bridge run the IP prerouting hooks inside the bridge,
    /// where tproxy assigns its socket; `ip_rcv` drops that socket when the bridge hands the frame up, and the
    /// hooks do not run again: tproxied UDP (and -T TCP) from a bridged LAN never reaches ss-redir, whatever it
    /// listens on (docs/troubleshooting.md). Redirected TCP (nat) is not affected.
    private func checkBridgeNetfilter(_ report: inout CheckReport, _ configuration: RedirConfiguration) {
        guard configuration.relaysUDP || configuration.tcpTproxy, let calls = BridgeNetfilterCalls.current(),
            calls.any
        else { return }
        let bridges = Self.bridges()
        guard !bridges.isEmpty else {
            report.pass("br_netfilter is on (\(calls)) but there is no bridge: tproxy is not affected")
            return
        }
        report.fail(
            "br_netfilter is on (\(calls)) with bridge \(bridges.joined(separator: ", ")): tproxied traffic from a bridged LAN is lost (the kernel counts the UDP as UdpNoPorts)",
            fix: "ss-redir setup --disable-bridge-nf (teardown restores the values), or sysctl -w net.bridge.bridge-nf-call-iptables=0 net.bridge.bridge-nf-call-ip6tables=0 if nothing here needs bridged frames filtered (Docker's default bridge does)")
    }

    /// Interfaces that are bridges (they have /sys/class/net/NAME/bridge).
    static func bridges() -> [String] {
        guard let directory = opendir("/sys/class/net") else { return [] }
        defer { closedir(directory) }
        var names: [String] = []
        while let entry = readdir(directory) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
            }
            guard !name.hasPrefix(".") else { continue }
            if access("/sys/class/net/\(name)/bridge", F_OK) == 0 { names.append(name) }
        }
        return names.sorted()
    }

    /// Each relayed connection holds two descriptors; init systems often start services with 1024 (procd) and
    /// the daemon can only raise its soft limit up to the hard one.
    func checkOpenFileLimit(_ report: inout CheckReport, pid: Int) {
        guard let limits = TextFileReader.read("/proc/\(pid)/limits"),
            let line = limits.split(separator: "\n").first(where: { $0.hasPrefix("Max open files") }),
            let soft = line.split(separator: " ").dropFirst(3).first.flatMap({ Int($0) })
        else { return }
        if soft < 4_096 {
            report.fail(
                "ss-redir (pid \(pid)) may open only \(soft) files: about \(soft / 2) connections at once, then new ones wait",
                fix: "raise the service's hard limit (systemd: LimitNOFILE=65536; procd: procd_set_param limits nofile=\"65536 65536\"); ss-redir raises its soft limit to it at start, or set \"nofile\" / -n")
        } else {
            report.pass("ss-redir (pid \(pid)) may open \(soft) files (about \(soft / 2) connections at once)")
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
