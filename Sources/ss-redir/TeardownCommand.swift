import ArgumentParser
import Config
import Netfilter

/// `ss-redir teardown`: removes what `ss-redir setup` installed, and nothing else.
struct TeardownCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "teardown",
        abstract: "Remove the table and policy routing `ss-redir setup` installed.",
        discussion: """
            Deletes the table (inet ss_redir, or --table) in one netlink batch, then the policy rule and local \
            route recorded in its comment. A table that setup did not make is refused. With no table left, still \
            removes policy routing tagged as ss-redir's (proto 83) for fwmark 0x1 / table 100, then exits 0.
            It accepts setup's flags (so both can be given the same arguments); only --table and --dry-run matter.
            """
    )

    /// Setup's own flags, so a service can pass both commands the same arguments; only --table and --dry-run
    /// matter here (the table's comment records what else to remove).
    @OptionGroup var options: FirewallOptions

    private var table: String { options.table }
    private var dryRun: Bool { options.dryRun }

    func run() throws {
        // What an interrupted setup with the same flags may have left (the table's comment says it otherwise).
        let marks = options.fwmark.flatMap(FirewallMarks.parseMarkAndMask)
        let fallback = PolicyRoute(
            mark: marks?.mark ?? FirewallMarks.tproxyMark, mask: marks?.mask ?? FirewallMarks.tproxyMask,
            table: options.routeTable.flatMap { UInt32($0) } ?? FirewallMarks.tproxyRouteTable)
        do {
            let firewall = try GatewayFirewall()
            if dryRun {
                guard let existing = try firewall.nftables.table(family: .inet, name: table) else {
                    print(
                        "no table inet \(table); would remove policy routing tagged proto \(PolicyRoute.protocolTag) if present: \(fallback)"
                    )
                    return
                }
                guard GatewayRuleset.isOwned(comment: existing.comment) else {
                    Console.error("table inet \(table) was not made by ss-redir setup; teardown would refuse it")
                    throw ExitCode(1)
                }
                let route = GatewayRuleset.policyRoute(fromComment: existing.comment)
                print("would delete table inet \(table)\(route.map { " and policy routing \($0)" } ?? "")")
                return
            }
            let report = try firewall.remove(table: table, fallbackRoute: fallback)
            print(
                report.removedTable
                    ? "deleted table inet \(table)" : "no table inet \(table) (nothing to delete from nftables)")
            if let route = report.route, report.removedRoutingObjects > 0 {
                print("removed policy routing \(route) (\(report.removedRoutingObjects) rules/routes)")
            }
            if let restored = report.restoredBridgeNetfilter { print("br_netfilter restored: \(restored)") }
        } catch let error as NetfilterError {
            Console.error(error.message)
            throw ExitCode(1)
        }
    }
}
