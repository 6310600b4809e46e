#if canImport(Glibc)
import Glibc
#endif

/// Installs and removes a gateway table and its policy routing, refusing tables `ss-redir setup` did not make.
/// Keep the object alive while a table made with `ownedBySocket` should exist: the kernel removes such a table
/// when the socket closes, also when the process crashes.
public final class GatewayFirewall {
    public let nftables: NftConnection
    private var routing: PolicyRouting?

    public init() throws(NetfilterError) {
        nftables = try NftConnection()
    }

    private func policyRouting() throws(NetfilterError) -> PolicyRouting {
        if let routing { return routing }
        let opened = try PolicyRouting()
        routing = opened
        return opened
    }

    public struct InstallReport: Sendable {
        /// false when the table did not exist before.
        public var replacedExisting: Bool
        public var batchMessages: Int
        public var batchBytes: Int
        /// Per family: what was added, or found in place.
        public var routing: [PolicyRouting.Outcome]
        /// Policy routing of an earlier setup that the new one no longer needs, removed.
        public var removedStaleRouting: PolicyRoute?
    }

    /// Replaces (or creates) `table` in one batch and adds `route` for IPv4 and IPv6 first, so tproxied packets
    /// are routed locally from the first one on. When the batch fails, routing added here is taken away again
    /// and the error names the object the kernel refused.
    public func install(_ table: NftTable, route: PolicyRoute?) throws(NetfilterError) -> InstallReport {
        let existing = try nftables.table(family: table.family, name: table.name)
        if let existing, !GatewayRuleset.isOwned(comment: existing.comment) {
            throw notOwned(table.family, table.name, existing)
        }
        var outcomes: [PolicyRouting.Outcome] = []
        if let route {
            let routing = try policyRouting()
            do {
                for family in IPFamily.allCases { outcomes.append(try routing.install(route, family: family)) }
            } catch {
                undo(outcomes, route: route)
                throw error
            }
        }
        let batch = NftBatchEncoder.replace(table, mustNotExist: existing == nil)
        do {
            try nftables.commit(batch)
        } catch {
            if let route { undo(outcomes, route: route) }
            throw error
        }
        var stale: PolicyRoute?
        if let previous = GatewayRuleset.policyRoute(fromComment: existing?.comment), previous != route {
            // Keep what the new route shares with the old (same table: the local route; same mark: nothing).
            let routing = try policyRouting()
            for family in IPFamily.allCases {
                try routing.remove(
                    previous, family: family,
                    rule: previous.mark != route?.mark || previous.table != route?.table
                        || previous.priority != route?.priority,
                    localRoute: previous.table != route?.table)
            }
            stale = previous
        }
        return InstallReport(
            replacedExisting: existing != nil, batchMessages: batch.messageCount, batchBytes: batch.bytes.count,
            routing: outcomes, removedStaleRouting: stale)
    }

    public struct RemoveReport: Sendable {
        /// false: there was no such table (nothing to remove from nftables).
        public var removedTable: Bool
        /// The policy route removed with it (the one its comment recorded, or `fallbackRoute`).
        public var route: PolicyRoute?
        public var removedRoutingObjects: Int
        /// br_netfilter's switches put back as setup found them (--disable-bridge-nf), if it changed them.
        public var restoredBridgeNetfilter: BridgeNetfilterCalls?
    }

    /// Deletes the table and the policy routing it recorded. With no table left, still removes the routing tagged
    /// as ours for `fallbackRoute` (what an interrupted earlier run may have left).
    public func remove(family: NftFamily = .inet, table name: String, fallbackRoute: PolicyRoute?)
        throws(NetfilterError)
        -> RemoveReport
    {
        let existing = try nftables.table(family: family, name: name)
        if let existing, !GatewayRuleset.isOwned(comment: existing.comment) {
            throw notOwned(family, name, existing)
        }
        if existing != nil {
            try nftables.commit(NftBatchEncoder.delete(family: family, table: name))
        }
        let found = GatewayRuleset.bridgeNetfilterFound(fromComment: existing?.comment)
        if let found { try found.apply() }
        let route = existing.flatMap { GatewayRuleset.policyRoute(fromComment: $0.comment) } ?? fallbackRoute
        var removed = 0
        if let route {
            let routing = try policyRouting()
            for family in IPFamily.allCases { removed += try routing.remove(route, family: family) }
        }
        return RemoveReport(
            removedTable: existing != nil, route: route, removedRoutingObjects: removed, restoredBridgeNetfilter: found)
    }

    /// The interfaces of the default routes: the WAN side when no LAN interface is named.
    public func wanInterfaces() throws(NetfilterError) -> [String] {
        try policyRouting().defaultRouteInterfaces()
    }

    private func undo(_ outcomes: [PolicyRouting.Outcome], route: PolicyRoute) {
        guard let routing else { return }
        for outcome in outcomes where outcome.addedRule || outcome.addedRoute {
            _ = try? routing.remove(
                route, family: outcome.family, rule: outcome.addedRule, localRoute: outcome.addedRoute)
        }
    }

    private func notOwned(_ family: NftFamily, _ name: String, _ existing: InstalledTable) -> NetfilterError {
        let what = existing.comment.map { "its comment is \"\($0)\"" } ?? "it has no comment"
        return NetfilterError(
            .notOwned,
            "table \(family.rawValue) \(name) exists and was not made by ss-redir setup (\(what)); leaving it alone: "
                + "choose another name with --table, or remove it yourself (nft delete table \(family.rawValue) \(name))"
        )
    }
}
