/// The relay mode keys shared with shadowsocks-libev (`mode` in JSON, `-u` / `-U` on the command line).
public enum RelayMode: String, Sendable, CaseIterable {
    case tcpOnly = "tcp_only"
    case tcpAndUDP = "tcp_and_udp"
    case udpOnly = "udp_only"
}

/// What the user gave, from one source (flags or a JSON file), before validation. Every field is optional so
/// that flags can override the file field by field. `origins` remembers where each field came from
/// ("flag -p", "/etc/ss-redir/config.json:4") for error messages.
public struct RedirSettings: Sendable {
    public var servers: [String]?
    public var serverPort: String?
    public var localAddresses: [String]?
    public var localPort: String?
    public var password: String?
    public var key: String?
    public var method: String?
    public var timeout: String?
    public var mode: String?
    public var reusePort: Bool?
    public var noDelay: Bool?
    public var fastOpen: Bool?
    public var nofile: String?
    public var tcpTproxy: Bool?
    public var mtu: String?
    public var udpTimeout: String?
    public var udpMaxAssociations: String?
    public var maxConnectionsPerClient: String?
    public var outboundFwmark: String?
    /// `ss-redir setup` only: CIDR lists that go direct, lists that alone are proxied, the LAN interfaces.
    public var bypassFiles: [String]?
    public var proxyFiles: [String]?
    public var lanInterfaces: [String]?
    /// `ss-redir setup` only: the tproxy fwmark (`MARK[/MASK]`) and the routing table of the local route.
    public var tproxyFwmark: String?
    public var tproxyRouteTable: String?
    /// Bypass rules and DNS (docs/rules.md, docs/dns.md).
    public var acl: String?
    public var rules: [String]?
    public var dnsListen: String?
    public var dnsRemote: String?
    public var dnsDirect: String?
    public var sniffWait: String?
    public var resolvConf: String?
    public var hostsFile: String?
    /// The pool: `servers` entries, SIP002 URIs, SIP008 files; and how members are chosen and probed.
    public var serverSpecs: [ServerSpec]?
    public var serverURLs: [String]?
    public var serversFiles: [String]?
    public var strategy: String?
    public var probeTarget: String?
    public var probeInterval: String?
    public var controlSocket: String?
    public var metrics: String?
    public var probeUDPTarget: String?
    public var halfCloseWait: String?
    /// The SOCKS5 front: listen endpoints ("ADDR:PORT") and the RFC 1929 credentials it requires.
    public var socks: [String]?
    public var socksUsername: String?
    public var socksPassword: String?
    /// SIP003 plugin for the members that inherit the top-level settings (`-s`, `servers` entries).
    public var plugin: String?
    public var pluginOptions: String?
    public var pluginArguments: [String]?
    /// The Clash-compatible external controller (docs/dashboard.md): listen endpoint, secret, static UI directory.
    public var externalController: String?
    public var secret: String?
    public var externalUI: String?
    public var origins: [Field: String] = [:]

    public enum Field: String, Sendable, CaseIterable {
        case serverSpecs = "servers", serverURLs = "server_url", serversFiles = "servers_file", strategy
        case probeTarget = "probe_target", probeInterval = "probe_interval", controlSocket = "control_socket", metrics
        case probeUDPTarget = "probe_udp_target", halfCloseWait = "half_close_wait"
        case socks, socksUsername = "socks_username", socksPassword = "socks_password"
        case server, serverPort = "server_port", localAddress = "local_address", localPort = "local_port"
        case password, key, method, timeout, mode
        case reusePort = "reuse_port", noDelay = "no_delay", fastOpen = "fast_open", nofile
        case tcpTproxy = "tcp_tproxy", mtu, udpTimeout = "udp_timeout"
        case udpMaxAssociations = "udp_max_associations", outboundFwmark = "outbound_fwmark"
        case maxConnectionsPerClient = "max_connections_per_client"
        case bypassFiles = "bypass_files", proxyFiles = "proxy_files", lanInterfaces = "lan_interfaces"
        case tproxyFwmark = "tproxy_fwmark", tproxyRouteTable = "tproxy_route_table"
        case acl, rules, dnsListen = "dns_listen", dnsRemote = "dns_remote", dnsDirect = "dns_direct"
        case sniffWait = "sniff_wait", resolvConf = "resolv_conf", hostsFile = "hosts_file"
        case plugin, pluginOptions = "plugin_opts", pluginArguments = "plugin_args"
        case externalController = "external_controller", secret, externalUI = "external_ui"
    }

    public init() {}

    /// `self` with every field that `other` sets replaced by `other`'s (flags override the file).
    public func overridden(by other: RedirSettings) -> RedirSettings {
        var merged = self
        merged.servers = other.servers ?? servers
        merged.serverPort = other.serverPort ?? serverPort
        merged.localAddresses = other.localAddresses ?? localAddresses
        merged.localPort = other.localPort ?? localPort
        merged.password = other.password ?? password
        merged.key = other.key ?? key
        merged.method = other.method ?? method
        merged.timeout = other.timeout ?? timeout
        merged.mode = other.mode ?? mode
        merged.reusePort = other.reusePort ?? reusePort
        merged.noDelay = other.noDelay ?? noDelay
        merged.fastOpen = other.fastOpen ?? fastOpen
        merged.nofile = other.nofile ?? nofile
        merged.tcpTproxy = other.tcpTproxy ?? tcpTproxy
        merged.mtu = other.mtu ?? mtu
        merged.udpTimeout = other.udpTimeout ?? udpTimeout
        merged.udpMaxAssociations = other.udpMaxAssociations ?? udpMaxAssociations
        merged.maxConnectionsPerClient = other.maxConnectionsPerClient ?? maxConnectionsPerClient
        merged.outboundFwmark = other.outboundFwmark ?? outboundFwmark
        merged.bypassFiles = other.bypassFiles ?? bypassFiles
        merged.proxyFiles = other.proxyFiles ?? proxyFiles
        merged.lanInterfaces = other.lanInterfaces ?? lanInterfaces
        merged.tproxyFwmark = other.tproxyFwmark ?? tproxyFwmark
        merged.tproxyRouteTable = other.tproxyRouteTable ?? tproxyRouteTable
        merged.serverSpecs = other.serverSpecs ?? serverSpecs
        merged.serverURLs = other.serverURLs ?? serverURLs
        merged.serversFiles = other.serversFiles ?? serversFiles
        merged.strategy = other.strategy ?? strategy
        merged.probeTarget = other.probeTarget ?? probeTarget
        merged.probeInterval = other.probeInterval ?? probeInterval
        merged.controlSocket = other.controlSocket ?? controlSocket
        merged.metrics = other.metrics ?? metrics
        merged.probeUDPTarget = other.probeUDPTarget ?? probeUDPTarget
        merged.halfCloseWait = other.halfCloseWait ?? halfCloseWait
        merged.acl = other.acl ?? acl
        merged.rules = other.rules ?? rules
        merged.dnsListen = other.dnsListen ?? dnsListen
        merged.dnsRemote = other.dnsRemote ?? dnsRemote
        merged.dnsDirect = other.dnsDirect ?? dnsDirect
        merged.sniffWait = other.sniffWait ?? sniffWait
        merged.resolvConf = other.resolvConf ?? resolvConf
        merged.hostsFile = other.hostsFile ?? hostsFile
        merged.socks = other.socks ?? socks
        merged.socksUsername = other.socksUsername ?? socksUsername
        merged.socksPassword = other.socksPassword ?? socksPassword
        merged.plugin = other.plugin ?? plugin
        merged.pluginOptions = other.pluginOptions ?? pluginOptions
        merged.pluginArguments = other.pluginArguments ?? pluginArguments
        merged.externalController = other.externalController ?? externalController
        merged.secret = other.secret ?? secret
        merged.externalUI = other.externalUI ?? externalUI
        merged.origins.merge(other.origins) { _, flag in flag }
        return merged
    }

    public func origin(_ field: Field) -> String {
        origins[field] ?? "\"\(field.rawValue)\""
    }
}
