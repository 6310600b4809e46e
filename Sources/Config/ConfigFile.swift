#if canImport(Glibc)
import Glibc
#endif

/// Reads a shadowsocks-libev style JSON config file into `RedirSettings`.
public enum ConfigFile {
    /// Keys other ss-libev / shadowsocks programs use that this front does not (yet); accepted silently so
    /// one file can serve several programs.
    static let knownForeignKeys: Set<String> = [
        "local", "workers", "user", "fast_open_timeout", "ipv6_first",
        "nameserver", "dns_server", "mptcp", "tunnel_address", "remarks", "server_url",
        "manager_address", "port_password", "log-file", "pid_file", "forbidden_ip", "max_connections",
    ]

    public struct Loaded: Sendable {
        public var settings: RedirSettings
        /// Keys nobody knows: probably typos. The caller logs them.
        public var unknownKeys: [String]
    }

    public static func load(path: String) throws(ConfigError) -> Loaded {
        try parse(ConfigValues.read(path), path: path)
    }

    public static func parse(_ text: String, path: String) throws(ConfigError) -> Loaded {
        let members = try ConfigValues.members(of: text, path: path)
        var settings = RedirSettings()
        var unknown: [String] = []
        for (key, node) in members {
            let origin = "\(path):\(node.line): key \"\(key)\""
            func string(_ expected: String = "a string") throws(ConfigError) -> String {
                try ConfigValues.string(node, origin: origin, expected: expected)
            }
            func bool() throws(ConfigError) -> Bool { try ConfigValues.bool(node, origin: origin) }
            guard let field = RedirSettings.Field(rawValue: key) else {
                if !knownForeignKeys.contains(key) { unknown.append("\(path):\(node.line): \(key)") }
                continue
            }
            settings.origins[field] = origin
            switch field {
            case .server:
                settings.servers = try ConfigValues.stringList(node, origin: origin)
            case .localAddress:
                settings.localAddresses = try ConfigValues.stringList(node, origin: origin)
            case .serverPort: settings.serverPort = try string("a port number")
            case .localPort: settings.localPort = try string("a port number")
            case .password: settings.password = try string()
            case .key: settings.key = try string()
            case .method: settings.method = try string()
            case .timeout: settings.timeout = try string("a number of seconds")
            case .mode: settings.mode = try string()
            case .nofile: settings.nofile = try string("a number")
            case .reusePort: settings.reusePort = try bool()
            case .noDelay: settings.noDelay = try bool()
            case .fastOpen: settings.fastOpen = try bool()
            case .tcpTproxy: settings.tcpTproxy = try bool()
            case .mtu: settings.mtu = try string("a number of bytes")
            case .udpTimeout: settings.udpTimeout = try string("a number of seconds")
            case .udpMaxAssociations: settings.udpMaxAssociations = try string("a number")
            case .maxConnectionsPerClient: settings.maxConnectionsPerClient = try string("a number")
            case .outboundFwmark: settings.outboundFwmark = try string("a mark (number or 0x hex)")
            case .tproxyFwmark: settings.tproxyFwmark = try string("a mark such as \"0x1/0x1\" (MARK or MARK/MASK)")
            case .tproxyRouteTable: settings.tproxyRouteTable = try string("a routing table number")
            case .serverSpecs:
                guard case .array(let entries) = node.value else {
                    throw ConfigError("\(origin): expected an array of server objects, found \(node.typeName)")
                }
                var specs: [ServerSpec] = []
                for (index, entry) in entries.enumerated() {
                    specs.append(try ServerEntry.parse(entry, origin: "\(path):\(entry.line): servers[\(index)]"))
                }
                settings.serverSpecs = specs
            case .serverURLs: settings.serverURLs = try ConfigValues.stringList(node, origin: origin)
            case .serversFiles: settings.serversFiles = try ConfigValues.stringList(node, origin: origin)
            case .strategy: settings.strategy = try string("a strategy name")
            case .probeTarget: settings.probeTarget = try string("host:port")
            case .probeInterval: settings.probeInterval = try string("a number of seconds")
            case .controlSocket: settings.controlSocket = try string("a socket path")
            case .metrics: settings.metrics = try string("ADDRESS:PORT")
            case .externalController: settings.externalController = try string("ADDRESS:PORT")
            case .secret: settings.secret = try string()
            case .externalUI: settings.externalUI = relative(try string("a directory"), to: path)
            case .probeUDPTarget: settings.probeUDPTarget = try string("host:port")
            case .halfCloseWait: settings.halfCloseWait = try string("a number of seconds")
            case .socks: settings.socks = try ConfigValues.stringList(node, origin: origin)
            case .socksUsername: settings.socksUsername = try string()
            case .socksPassword: settings.socksPassword = try string()
            case .bypassFiles: settings.bypassFiles = try ConfigValues.stringList(node, origin: origin)
            case .proxyFiles: settings.proxyFiles = try ConfigValues.stringList(node, origin: origin)
            case .lanInterfaces: settings.lanInterfaces = try ConfigValues.stringList(node, origin: origin)
            case .acl: settings.acl = relative(try string("an ACL file path"), to: path)
            case .rules: settings.rules = try ConfigValues.stringList(node, origin: origin).map { relative($0, to: path) }
            case .dnsListen: settings.dnsListen = try string("ADDRESS:PORT")
            case .dnsRemote: settings.dnsRemote = try string("ADDRESS:PORT")
            case .dnsDirect: settings.dnsDirect = try string("ADDRESS:PORT")
            case .sniffWait: settings.sniffWait = try string("milliseconds")
            case .resolvConf: settings.resolvConf = try string("a file path")
            case .hostsFile: settings.hostsFile = try string("a file path")
            case .plugin: settings.plugin = try string("a plugin program")
            case .pluginOptions: settings.pluginOptions = try string("plugin options (key=value;...)")
            case .pluginArguments: settings.pluginArguments = try ConfigValues.stringList(node, origin: origin)
            }
        }
        return Loaded(settings: settings, unknownKeys: unknown)
    }

    /// A relative path in a config file means relative to the file's directory (a service's cwd is `/`);
    /// the `proxy:`/`bypass:` prefix of a rules entry stays in front.
    static func relative(_ entry: String, to configPath: String) -> String {
        guard let slash = configPath.lastIndex(of: "/") else { return entry }
        var prefix = ""
        var file = Substring(entry)
        for list in ["proxy:", "bypass:"] where file.hasPrefix(list) {
            prefix = list
            file = file.dropFirst(list.count)
        }
        guard !file.hasPrefix("/") else { return entry }
        return prefix + configPath[...slash] + file
    }

}
