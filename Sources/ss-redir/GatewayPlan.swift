import Config
import Netfilter

/// What `setup` (and `run --auto-setup`) installs, worked out from the configuration: the gateway options for
/// the ruleset builder and, for the dry-run header, where the bypass entries came from.
struct GatewayPlan {
    var gateway: GatewayOptions
    var sources: [String]

    static func make(
        _ configuration: FirewallConfiguration, tableName: String, proxyRouter: Bool, dnsHijackPort: UInt16?,
        failClosed: Bool, firewall: GatewayFirewall?
    ) throws -> GatewayPlan {
        var gateway = GatewayOptions(
            localPort: UInt16(configuration.localPort), tproxyMark: configuration.tproxyMark,
            relayMark: configuration.outboundFwmark, routeTable: configuration.routeTable)
        gateway.tproxyMask = configuration.tproxyMask
        gateway.tableName = tableName
        gateway.tcp = !configuration.relaysTCP ? .none : (configuration.tcpTproxy ? .tproxy : .redirect)
        gateway.udp = configuration.relaysUDP
        gateway.lanInterfaces = configuration.lanInterfaces
        gateway.proxyRouter = proxyRouter
        gateway.dnsHijackPort = dnsHijackPort
        gateway.failClosed = failClosed

        var bypass = ReservedRanges.ranges
        var sources = ["\(ReservedRanges.origin)"]
        for host in configuration.servers {
            do {
                let addresses = try HostAddresses.lookup(host)
                bypass += addresses.map { IPRange(single: $0) }
                sources.append("server \(host): \(addresses.map(\.description).joined(separator: ", "))")
            } catch {
                // Boot before the WAN: the rules go in now; the daemon adds the server's addresses to the
                // bypass4_dns/bypass6_dns sets once the name resolves.
                Console.warn("server \(host) does not resolve yet (\(error)); installing the rules anyway, ss-redir adds its addresses to the bypass sets once it resolves")
                sources.append("server \(host): not resolved yet")
            }
        }
        for path in configuration.bypassFiles {
            let ranges = try CIDRList.load(path: path)
            bypass += ranges
            sources.append("\(path): \(ranges.count) entries")
        }
        gateway.bypass = bypass
        for path in configuration.proxyFiles {
            let ranges = try CIDRList.load(path: path)
            if ranges.isEmpty { Console.warn("\(path): no addresses; it proxies nothing") }
            gateway.proxyOnly += ranges
        }
        if !configuration.proxyFiles.isEmpty && gateway.proxyOnly.isEmpty {
            throw NetfilterError(.invalidInput, "--proxy-file lists hold no address: nothing would be proxied")
        }
        warnAboutListener(configuration)

        if gateway.lanInterfaces.isEmpty {
            do {
                gateway.wanInterfaces = try firewall?.wanInterfaces() ?? PolicyRouting().defaultRouteInterfaces()
            } catch {
                Console.warn("cannot list the default routes (\(error)); capturing on every interface but lo")
            }
            if gateway.wanInterfaces.isEmpty {
                Console.warn("no --lan-if and no default route: capturing on every interface but lo")
            }
        }
        return GatewayPlan(gateway: gateway, sources: sources)
    }

    /// `redirect` rewrites to the incoming interface's address and tproxy looks up a socket on it: a
    /// loopback-only listener sees no LAN traffic.
    private static func warnAboutListener(_ configuration: FirewallConfiguration) {
        let loopback = configuration.listenAddresses.allSatisfy {
            $0 == "127.0.0.1" || $0 == "::1" || $0 == "localhost"
        }
        if loopback {
            Console.warn(
                "ss-redir listens on \(configuration.listenAddresses.joined(separator: ", ")) only: LAN traffic cannot reach it; run it with -b :: (or the LAN address)"
            )
        }
    }
}
