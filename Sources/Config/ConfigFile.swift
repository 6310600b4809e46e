#if canImport(Glibc)
import Glibc
#endif

/// Reads a shadowsocks-libev style JSON config file into `RedirSettings`.
public enum ConfigFile {
    /// Keys other ss-libev / shadowsocks programs use that this front does not (yet); accepted silently so
    /// one file can serve several programs.
    static let knownForeignKeys: Set<String> = [
        "local", "workers", "user", "plugin", "plugin_opts", "plugin_args", "fast_open_timeout", "ipv6_first",
        "nameserver", "dns_server", "mptcp", "acl", "tunnel_address", "remarks", "server_url",
        "manager_address", "port_password", "log-file", "pid_file",
    ]

    public struct Loaded: Sendable {
        public var settings: RedirSettings
        /// Keys nobody knows: probably typos. The caller logs them.
        public var unknownKeys: [String]
    }

    public static func load(path: String) throws(ConfigError) -> Loaded {
        guard let text = readFile(path) else {
            throw ConfigError("\(path): cannot read config file (\(String(cString: strerror(errno)))); check the path given to -c")
        }
        return try parse(text, path: path)
    }

    public static func parse(_ text: String, path: String) throws(ConfigError) -> Loaded {
        let root: JSONNode
        do {
            root = try JSONDocument.parse(text)
        } catch {
            throw ConfigError("\(path):\(error.line): invalid JSON: \(error.message)")
        }
        guard case .object(let members) = root.value else {
            throw ConfigError("\(path):\(root.line): the config must be a JSON object { ... }, found \(root.typeName)")
        }
        var settings = RedirSettings()
        var unknown: [String] = []
        for (key, node) in members {
            let origin = "\(path):\(node.line): key \"\(key)\""
            func string(_ expected: String = "a string") throws(ConfigError) -> String {
                switch node.value {
                case .string(let text): return text
                case .number(let text): return text
                default: throw ConfigError("\(origin): expected \(expected), found \(node.typeName)")
                }
            }
            func bool() throws(ConfigError) -> Bool {
                if case .bool(let flag) = node.value { return flag }
                throw ConfigError("\(origin): expected true or false, found \(node.typeName)")
            }
            guard let field = RedirSettings.Field(rawValue: key) else {
                if !knownForeignKeys.contains(key) { unknown.append("\(path):\(node.line): \(key)") }
                continue
            }
            settings.origins[field] = origin
            switch field {
            case .server:
                settings.servers = try stringList(node, origin: origin)
            case .localAddress:
                settings.localAddresses = try stringList(node, origin: origin)
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
            case .outboundFwmark: settings.outboundFwmark = try string("a mark (number or 0x hex)")
            }
        }
        return Loaded(settings: settings, unknownKeys: unknown)
    }

    /// `"server": "a"` or `"server": ["a", "b"]`.
    private static func stringList(_ node: JSONNode, origin: String) throws(ConfigError) -> [String] {
        switch node.value {
        case .string(let text): return [text]
        case .array(let elements):
            var list: [String] = []
            for element in elements {
                guard case .string(let text) = element.value else {
                    throw ConfigError("\(origin): expected a string or an array of strings, found \(element.typeName) in the array")
                }
                list.append(text)
            }
            return list
        default:
            throw ConfigError("\(origin): expected a string or an array of strings, found \(node.typeName)")
        }
    }

    private static func readFile(_ path: String) -> String? {
        guard let file = fopen(path, "rb") else { return nil }
        defer { fclose(file) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 65536)
        while true {
            let count = chunk.withUnsafeMutableBytes { fread($0.baseAddress, 1, $0.count, file) }
            if count <= 0 { break }
            bytes += chunk[0..<count]
            if bytes.count > 16 << 20 { return nil }  // no config is 16 MiB
        }
        if ferror(file) != 0 { return nil }
        return String(decoding: bytes, as: UTF8.self)
    }
}
