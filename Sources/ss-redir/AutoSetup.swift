import Config
import Logging
import Netfilter

/// `run --auto-setup`: the rules `setup` would install, created over a netlink socket the daemon keeps open and
/// flagged NFT_TABLE_F_OWNER (kernel 5.12+), so the kernel deletes the table when the daemon exits or crashes:
/// captured traffic then goes direct (fail-open) instead of into a dead port. Policy routing is removed on a
/// clean exit (the kernel does not tie it to the socket; left behind, it routes nothing without the marks).
final class AutoSetup {
    private let firewall: GatewayFirewall
    /// The socket that owns the table: only it may add to the table's DNS bypass sets.
    var nftables: NftConnection { firewall.nftables }
    private let tableName: String
    private let route: PolicyRoute?

    init(settings: RedirSettings, configDirectory: String?, logger: Logger) throws {
        let configuration = try FirewallConfiguration.resolve(settings, configDirectory: configDirectory)
        firewall = try GatewayFirewall()
        // With the forwarder on, LAN DNS to any server is sent to it (setup's --dns-hijack).
        let dnsPort = try RedirConfiguration.endpoint(
            settings.dnsListen, origin: settings.origin(.dnsListen), example: "0.0.0.0:5353"
        ).map { UInt16($0.port) }
        let plan = try GatewayPlan.make(
            configuration, tableName: "ss_redir", proxyRouter: false, dnsHijackPort: dnsPort, failClosed: false,
            firewall: firewall)
        var table = GatewayRuleset.build(plan.gateway)
        table.ownedBySocket = true
        tableName = table.name
        route = plan.gateway.policyRoute
        let report = try firewall.install(table, route: route)
        logger.notice(
            "auto-setup: table inet \(table.name) (\(table.ruleCount) rules, bound to this process) and \(route.map { "policy routing \($0)" } ?? "no policy routing"); \(report.batchMessages) netlink messages")
    }

    func remove(logger: Logger) {
        do {
            _ = try firewall.remove(table: tableName, fallbackRoute: route)
        } catch {
            logger.warning("auto-setup: removing the rules: \(error)")
        }
    }
}
