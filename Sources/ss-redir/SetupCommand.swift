import ArgumentParser
import Config
import Netfilter

#if canImport(Glibc)
import Glibc
#endif

/// `ss-redir setup`: the gateway's nftables table and TPROXY policy routing, installed atomically over netlink.
struct SetupCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "setup",
        abstract: "Install the gateway's nftables rules and policy routing (one atomic netlink batch).",
        discussion: """
            Creates or replaces the table `inet ss_redir` (--table) with bypass sets (reserved ranges, the servers' \
            addresses, --bypass-file lists), LAN capture chains (TCP redirect, or tproxy with -T; UDP tproxy with \
            -u/-U), and with --proxy-router the gateway's own traffic. TPROXY modes also get `ip rule fwmark 0x1 \
            lookup 100` and `local default dev lo table 100` (IPv4 and IPv6; --fwmark, --route-table). Running it again replaces the table \
            with the same result; a table it did not make is never touched. --dry-run prints the nft script instead.
            Example: ss-redir setup -c /etc/ss-redir/config.json --lan-if br-lan -u --proxy-router
            """
    )

    @OptionGroup var options: FirewallOptions

    func run() throws {
        let configuration: FirewallConfiguration
        var dnsHijackPort = options.dnsHijackPort
        do {
            var settings = RedirSettings()
            var directory: String?
            if let path = options.relay.configFile {
                let loaded = try ConfigFile.load(path: path)
                for unknown in loaded.unknownKeys { Console.warn("\(unknown): unknown config key, ignored") }
                settings = loaded.settings
                directory = path.contains("/") ? String(path[..<path.lastIndex(of: "/")!]) : "."
            }
            let merged = settings.overridden(by: options.flagSettings())
            configuration = try FirewallConfiguration.resolve(merged, configDirectory: directory)
            // The config's DNS forwarder gets LAN DNS unless --dns-hijack says otherwise.
            if dnsHijackPort == nil {
                dnsHijackPort = try RedirConfiguration.endpoint(
                    merged.dnsListen, origin: merged.origin(.dnsListen), example: "0.0.0.0:5353"
                ).map { UInt16($0.port) }
            }
        } catch {
            Console.error(error.message)
            throw ExitCode(2)
        }
        do {
            try install(configuration, dnsHijackPort: dnsHijackPort)
        } catch let error as NetfilterError {
            Console.error(error.message)
            throw ExitCode(error.kind == .invalidInput ? 2 : 1)
        }
    }

    private func install(_ configuration: FirewallConfiguration, dnsHijackPort: UInt16?) throws {
        let started = ContinuousClock.now
        // A dry run needs no privileges; everything else does (the kernel answers EPERM without CAP_NET_ADMIN).
        let firewall = options.dryRun ? nil : try GatewayFirewall()
        let plan = try GatewayPlan.make(
            configuration, tableName: options.table, proxyRouter: options.proxyRouter,
            dnsHijackPort: dnsHijackPort, failClosed: options.failMode == .failClosed, firewall: firewall)
        var gateway = plan.gateway
        let sources = plan.sources
        let bridgeNetfilter = try bridgeNetfilterPlan(gateway, firewall: firewall)
        gateway.bridgeNetfilterFound = bridgeNetfilter.record
        let table = GatewayRuleset.build(gateway)
        guard let firewall else {
            print(NftTextRenderer.render(table, header: Self.header(gateway, sources: sources)), terminator: "")
            return
        }
        let report = try firewall.install(table, route: gateway.policyRoute)
        if let change = bridgeNetfilter.apply {
            try change.apply()
            print("br_netfilter: \(change) (\(bridgeNetfilter.record.map { "was: \($0)" } ?? "restored"))")
        }
        let elapsed = started.duration(to: .now)
        let sets = table.sets.map { "\($0.name) \($0.ranges.count)" }.joined(separator: ", ")
        print(
            "\(report.replacedExisting ? "replaced" : "created") table inet \(table.name): \(table.chains.count) chains, "
                + "\(table.ruleCount) rules, sets (ranges) \(sets); one batch of \(report.batchMessages) messages, "
                + "\(report.batchBytes) bytes; \(Console.milliseconds(elapsed)) ms")
        if let route = gateway.policyRoute {
            for outcome in report.routing {
                let family = outcome.family == .ipv4 ? "IPv4" : "IPv6"
                if let skipped = outcome.skipped {
                    Console.warn(skipped)
                } else {
                    let rule = outcome.addedRule ? "rule added" : "rule already in place"
                    let local = outcome.addedRoute ? "route added" : "route already in place"
                    print("policy routing \(family): \(route) (\(rule), \(local))")
                }
            }
        }
        if let stale = report.removedStaleRouting { print("removed policy routing no longer needed: \(stale)") }
    }

    /// What to record in the table comment (the switches as found, before setup turned them off) and what to
    /// write. TPROXY on a bridged LAN fails while br_netfilter's switches are on (BridgeNetfilterCalls).
    private func bridgeNetfilterPlan(_ gateway: GatewayOptions, firewall: GatewayFirewall?) throws
        -> (record: BridgeNetfilterCalls?, apply: BridgeNetfilterCalls?)
    {
        let existing = try firewall?.nftables.table(family: .inet, name: options.table)
        let recorded =
            GatewayRuleset.isOwned(comment: existing?.comment)
            ? GatewayRuleset.bridgeNetfilterFound(fromComment: existing?.comment) : nil
        guard let current = BridgeNetfilterCalls.current() else { return (nil, nil) }
        let off = BridgeNetfilterCalls(iptables: false, ip6tables: false)
        if options.disableBridgeNetfilter {
            // A second setup keeps what the first one found, not the zeros it wrote.
            let found = recorded ?? current
            return (found, current == off ? nil : off)
        }
        if gateway.usesTproxy && current.any {
            Console.warn(
                "br_netfilter is on (\(current)): TPROXY does not reach ss-redir from a bridged LAN (UDP is lost, -T TCP reset); pass --disable-bridge-nf (teardown restores it) or set them to 0 yourself"
            )
        }
        // Setup ran before with --disable-bridge-nf and no longer does: put back what it found.
        return (nil, recorded.flatMap { $0 == current ? nil : $0 })
    }

    static func header(_ gateway: GatewayOptions, sources: [String]) -> [String] {
        var lines = [
            "ss-redir setup --dry-run: the table setup would install (one netlink batch; `nft -f` loads the same).",
            "Bypass sources: \(sources.joined(separator: "; ")).",
        ]
        if let route = gateway.policyRoute {
            lines += [
                "Policy routing, added through rtnetlink with the table (not part of this script):",
                "  ip rule add fwmark \(route.markText) lookup \(route.table) pref \(route.priority) proto \(PolicyRoute.protocolTag)",
                "  ip route add local default dev lo table \(route.table) proto \(PolicyRoute.protocolTag)",
                "  (and the same with ip -6)",
            ]
        }
        return lines
    }
}
