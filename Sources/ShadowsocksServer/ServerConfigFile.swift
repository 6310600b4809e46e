#if canImport(Glibc)
import Glibc
#endif
import Config

/// Reads a shadowsocks-libev / shadowsocks (the seed) style JSON config file into `ServerSettings`.
public enum ServerConfigFile {
    /// Keys the clients (ss-redir, ss-local) and other ss-libev programs use: accepted silently so one file can
    /// serve both ends.
    static let knownForeignKeys: Set<String> = Set(
        [
            "local", "local_address", "local_port", "workers", "user",
            "fast_open_timeout", "ipv6_first", "nameserver", "dns_server", "mptcp", "acl", "tunnel_address",
            "remarks", "server_url", "manager_address", "log-file", "pid_file", "mtu", "interface",
        ] + RedirSettings.Field.allCases.map(\.rawValue))

    public struct Loaded: Sendable {
        public var settings: ServerSettings
        /// Keys nobody knows: probably typos ("path:line: key"). The caller logs them.
        public var unknownKeys: [String]
    }

    public static func load(path: String) throws(ConfigError) -> Loaded {
        try parse(ConfigValues.read(path), path: path)
    }

    public static func parse(_ text: String, path: String) throws(ConfigError) -> Loaded {
        let members = try ConfigValues.members(of: text, path: path)
        var settings = ServerSettings()
        var unknown: [String] = []
        for (key, node) in members {
            let origin = "\(path):\(node.line): key \"\(key)\""
            func string(_ expected: String = "a string") throws(ConfigError) -> String {
                try ConfigValues.string(node, origin: origin, expected: expected)
            }
            func bool() throws(ConfigError) -> Bool { try ConfigValues.bool(node, origin: origin) }
            guard let field = ServerSettings.Field(rawValue: key) else {
                if !knownForeignKeys.contains(key) { unknown.append("\(path):\(node.line): \(key)") }
                continue
            }
            settings.origins[field] = origin
            switch field {
            case .server: settings.servers = try ConfigValues.stringList(node, origin: origin)
            case .serverPort: settings.serverPort = try string("a port number")
            case .password: settings.password = try string()
            case .key: settings.key = try string()
            case .method: settings.method = try string()
            case .timeout: settings.timeout = try string("a number of seconds")
            case .mode: settings.mode = try string()
            case .fastOpen: settings.fastOpen = try bool()
            case .reusePort: settings.reusePort = try bool()
            case .noDelay: settings.noDelay = try bool()
            case .nofile: settings.nofile = try string("a number")
            case .maxConnections: settings.maxConnections = try string("a number")
            case .forbiddenIP: settings.forbiddenIP = try ConfigValues.stringList(node, origin: origin)
            case .portPassword: settings.portPasswords = try portPasswords(node, path: path, origin: origin)
            case .plugin: settings.plugin = try string("a plugin program")
            case .pluginOptions: settings.pluginOptions = try string("plugin options (key=value;...)")
            case .pluginArguments: settings.pluginArguments = try ConfigValues.stringList(node, origin: origin)
            }
        }
        return Loaded(settings: settings, unknownKeys: unknown)
    }

    /// `{"8381": "pw1", "8382": "pw2"}`: each member keeps its own line for messages.
    private static func portPasswords(
        _ node: JSONNode, path: String, origin: String
    ) throws(ConfigError) -> [ServerSettings.PortPassword] {
        guard case .object(let members) = node.value else {
            throw ConfigError(
                "\(origin): expected an object of \"port\": \"password\" pairs, found \(node.typeName)")
        }
        var entries: [ServerSettings.PortPassword] = []
        for (port, value) in members {
            let entryOrigin = "\(path):\(value.line): port_password \"\(port)\""
            guard case .string(let password) = value.value else {
                throw ConfigError("\(entryOrigin): expected the password as a string, found \(value.typeName)")
            }
            entries.append(ServerSettings.PortPassword(port: port, password: password, origin: entryOrigin))
        }
        return entries
    }

}
