import IPAddresses
import Rules

/// Bypass rules and the DNS forwarder, as `RedirConfiguration` carries them (docs/rules.md, docs/dns.md).
public struct RoutingConfiguration: Sendable {
    /// Loaded once per (re)load; everything proxied when no --acl/--rules was given.
    public var rules = BypassRules()
    /// Whether any --acl/--rules was given (then the built-in reserved/LAN lists are bypassed too).
    public var hasRuleFiles = false
    /// How long a redirected connection may wait for its first bytes when domain rules exist.
    public var sniffWaitMilliseconds = RoutingConfiguration.defaultSniffWaitMilliseconds
    /// `--dns-listen`: where the LAN DNS forwarder listens; nil: no forwarder.
    public var dnsListen: ServerEndpoint?
    /// Where proxied names are asked, through the tunnel.
    public var dnsRemote = ServerEndpoint(host: "8.8.8.8", port: 53)
    /// Where bypassed names are asked; nil: the resolv.conf nameservers.
    public var dnsDirect: ServerEndpoint?
    public var resolvConfPath = "/etc/resolv.conf"
    public var hostsPath = "/etc/hosts"

    public static let defaultSniffWaitMilliseconds = 300

    public init() {}
}

extension RedirConfiguration {
    static func resolveRouting(
        _ settings: RedirSettings, into configuration: inout RedirConfiguration
    ) throws(ConfigError) {
        var routing = RoutingConfiguration()
        let specs = (settings.rules ?? []).map { RuleFileSpec(argument: $0) }
        routing.hasRuleFiles = settings.acl != nil || !specs.isEmpty
        if routing.hasRuleFiles {
            do {
                routing.rules = try BypassRules.load(acl: settings.acl, ruleFiles: specs, includeReserved: true)
            } catch {
                let origin = settings.origin(settings.acl != nil && error.message.contains(settings.acl!) ? .acl : .rules)
                throw ConfigError("\(error.message) (from \(origin))")
            }
        }
        if let text = settings.sniffWait {
            routing.sniffWaitMilliseconds = try integer(
                text, origin: settings.origin(.sniffWait), range: 0...5_000, expected: "milliseconds")
        }
        routing.dnsListen = try endpoint(settings.dnsListen, origin: settings.origin(.dnsListen), example: "0.0.0.0:5353")
        if let remote = try endpoint(settings.dnsRemote, origin: settings.origin(.dnsRemote), example: "8.8.8.8:53") {
            routing.dnsRemote = remote
        }
        routing.dnsDirect = try endpoint(settings.dnsDirect, origin: settings.origin(.dnsDirect), example: "192.168.1.1:53")
        if let direct = routing.dnsDirect, IPAddress(direct.host) == nil {
            throw ConfigError("\(settings.origin(.dnsDirect)): the direct resolver must be an IP address, got \"\(direct.host)\"")
        }
        if let path = settings.resolvConf { routing.resolvConfPath = path }
        if let path = settings.hostsFile { routing.hostsPath = path }
        configuration.routing = routing
    }
}
