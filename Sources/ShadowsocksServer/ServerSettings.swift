/// What the user gave `ss-server`, from one source (flags or a JSON file), before validation. Every field is
/// optional so that flags override the file field by field; `origins` remembers where each came from
/// ("flag -p", "/etc/shadowsocks-libev/config.json:4: key \"server_port\"") for error messages.
public struct ServerSettings: Sendable {
    /// One `port_password` entry: a port (as written) and its password, with where it was written.
    public struct PortPassword: Sendable, Hashable {
        public var port: String
        public var password: String
        public var origin: String

        public init(port: String, password: String, origin: String) {
            self.port = port
            self.password = password
            self.origin = origin
        }
    }

    public var servers: [String]?
    public var serverPort: String?
    public var password: String?
    public var key: String?
    public var method: String?
    public var timeout: String?
    public var mode: String?
    public var fastOpen: Bool?
    public var reusePort: Bool?
    public var noDelay: Bool?
    public var nofile: String?
    public var portPasswords: [PortPassword]?
    /// Entries of `forbidden_ip` / `--forbidden-ip`, each maybe a comma-separated list.
    public var forbiddenIP: [String]?
    public var maxConnections: String?
    /// SIP003 server-side plugin: it listens on the public port and hands ss-server the plain stream.
    public var plugin: String?
    public var pluginOptions: String?
    public var pluginArguments: [String]?
    public var origins: [Field: String] = [:]

    public enum Field: String, Sendable, CaseIterable {
        case server
        case serverPort = "server_port"
        case password, key, method, timeout, mode
        case fastOpen = "fast_open"
        case reusePort = "reuse_port"
        case noDelay = "no_delay"
        case nofile
        case portPassword = "port_password"
        case forbiddenIP = "forbidden_ip"
        case maxConnections = "max_connections"
        case plugin, pluginOptions = "plugin_opts", pluginArguments = "plugin_args"
    }

    public init() {}

    /// `self` with every field that `other` sets replaced by `other`'s (flags override the file).
    public func overridden(by other: ServerSettings) -> ServerSettings {
        var merged = self
        merged.servers = other.servers ?? servers
        merged.serverPort = other.serverPort ?? serverPort
        merged.password = other.password ?? password
        merged.key = other.key ?? key
        merged.method = other.method ?? method
        merged.timeout = other.timeout ?? timeout
        merged.mode = other.mode ?? mode
        merged.fastOpen = other.fastOpen ?? fastOpen
        merged.reusePort = other.reusePort ?? reusePort
        merged.noDelay = other.noDelay ?? noDelay
        merged.nofile = other.nofile ?? nofile
        merged.portPasswords = other.portPasswords ?? portPasswords
        merged.forbiddenIP = other.forbiddenIP ?? forbiddenIP
        merged.maxConnections = other.maxConnections ?? maxConnections
        merged.plugin = other.plugin ?? plugin
        merged.pluginOptions = other.pluginOptions ?? pluginOptions
        merged.pluginArguments = other.pluginArguments ?? pluginArguments
        merged.origins.merge(other.origins) { _, flag in flag }
        return merged
    }

    /// Sets `keyPath` to `value` (when given) and records `origin` for `field`: how flags enter the settings.
    public mutating func set<T>(
        _ keyPath: WritableKeyPath<ServerSettings, T?>, _ value: T?, _ field: Field, origin: String
    ) {
        guard let value else { return }
        self[keyPath: keyPath] = value
        origins[field] = origin
    }

    func origin(_ field: Field) -> String {
        origins[field] ?? "\"\(field.rawValue)\""
    }
}
