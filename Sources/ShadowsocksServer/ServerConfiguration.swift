import Config
import IPAddresses
import ShadowsocksCrypto

/// The validated configuration `ss-server` runs with. Built only through `resolve`, which rejects anything
/// incomplete or malformed with one clear line.
public struct ServerConfiguration: Sendable {
    /// One listening port and the key its clients use (one, or one per `port_password` entry).
    public struct Port: Sendable, Hashable, CustomStringConvertible {
        public let port: Int
        public let key: MasterKey
        public init(port: Int, key: MasterKey) {
            self.port = port
            self.key = key
        }
        public var description: String { "port \(port) (\(key.method.name))" }
    }

    public var ports: [Port]
    /// IP literals the listeners bind, each on every port.
    public var listenAddresses: [String]
    /// False when no address was given (both wildcards): then a family the host lacks is skipped with a warning.
    public var listenAddressesGiven: Bool
    public var timeoutSeconds: Int
    public var mode: RelayMode
    public var fastOpen: Bool
    public var reusePort: Bool
    public var noDelay: Bool
    public var nofile: Int?
    /// `--max-connections`: open TCP connections beyond this are closed on accept; nil: no limit.
    public var maxConnections: Int?
    public var forbidden: ForbiddenAddresses
    /// Bound on UDP associations per listener; the least recently used is evicted beyond it.
    public var udpMaxAssociations: Int
    /// SIP003: the plugin that listens on the public TCP port and forwards to a loopback listener of ours.
    public var plugin: PluginSpec?
    /// Things the user should know that are not errors ("port_password given: -p is ignored").
    public var warnings: [String]

    /// Whether an IPv4 address is among the listen addresses (IPv6 listeners are then IPv6-only).
    public var listensOnIPv4: Bool { listenAddresses.contains { IPAddress($0)?.family == .ipv4 } }

    public var relaysTCP: Bool { mode != .udpOnly }
    public var relaysUDP: Bool { mode != .tcpOnly }

    /// How long a client has to send its salt and target address; also how long a connection that failed
    /// authentication is held (read and discarded) before it is closed.
    public var headerTimeoutSeconds: Int { min(timeoutSeconds, Self.maximumHeaderTimeoutSeconds) }

    /// ss-libev's defaults where the user said nothing (server: both wildcards, 60 s).
    public static let defaultListenAddresses = ["0.0.0.0", "::"]
    public static let defaultTimeoutSeconds = 60
    public static let maximumHeaderTimeoutSeconds = 10
    public static let defaultUDPMaxAssociations = 4096
    /// For --help: the method names the cipher catalogue knows, and the one used when none is given.
    public static var supportedMethods: String { CipherMethod.supportedNames }
    public static var defaultMethod: String { CipherMethod.default.name }

    public static func resolve(_ settings: ServerSettings) throws(ConfigError) -> ServerConfiguration {
        var warnings: [String] = []
        let methodName = settings.method ?? CipherMethod.default.name
        guard let method = CipherMethod(name: methodName) else {
            throw ConfigError(
                "\(settings.origin(.method)): unknown method \"\(methodName)\"; supported: \(CipherMethod.supportedNames)"
            )
        }

        var ports: [Port] = []
        if let entries = settings.portPasswords, !entries.isEmpty {
            // The seed's server.py: port_password replaces server_port and password.
            let ignored = [ServerSettings.Field.serverPort, .password, .key].filter {
                settings.origins[$0] != nil
            }
            if !ignored.isEmpty {
                warnings.append(
                    "\(settings.origin(.portPassword)) is given, so \(ignored.map { settings.origin($0) }.joined(separator: ", ")) ignored: each port uses its own password"
                )
            }
            var seen: [Int: String] = [:]
            for entry in entries {
                let port = try integer(entry.port, origin: entry.origin, range: 1...65_535, expected: "a port number")
                if let first = seen[port] {
                    throw ConfigError("\(entry.origin): port \(port) is already given at \(first)")
                }
                seen[port] = entry.origin
                guard !entry.password.isEmpty else {
                    throw ConfigError("\(entry.origin): empty password; give each port a password")
                }
                let key =
                    method.kind == .aead2022
                    ? try PreSharedKey.parse(entry.password, method: method, origin: entry.origin, server: true)
                    : MasterKey(method: method, password: entry.password)
                ports.append(Port(port: port, key: key))
            }
        } else {
            guard let portText = settings.serverPort else {
                throw ConfigError(
                    "no server port given: pass -p PORT or set \"server_port\" (or \"port_password\") in the config file (-c)"
                )
            }
            let port = try integer(
                portText, origin: settings.origin(.serverPort), range: 1...65_535, expected: "a port number")
            ports.append(Port(port: port, key: try key(settings, method: method)))
        }

        var listenAddresses: [String] = []
        for text in settings.servers ?? Self.defaultListenAddresses {
            let address = text.hasPrefix("[") && text.hasSuffix("]") ? String(text.dropFirst().dropLast()) : text
            guard IPAddress(address) != nil else {
                throw ConfigError(
                    "\(settings.origin(.server)): \"\(text)\" is not an IP address; the server listens on its own addresses (e.g. 0.0.0.0, ::, 203.0.113.7)"
                )
            }
            if !listenAddresses.contains(address) { listenAddresses.append(address) }
        }

        let timeout = try integer(
            settings.timeout ?? String(defaultTimeoutSeconds), origin: settings.origin(.timeout), range: 1...86_400,
            expected: "a timeout in seconds")
        let modeName = settings.mode ?? RelayMode.tcpOnly.rawValue
        guard let mode = RelayMode(rawValue: modeName) else {
            throw ConfigError(
                "\(settings.origin(.mode)): unknown mode \"\(modeName)\"; expected one of \(RelayMode.allCases.map(\.rawValue).joined(separator: ", "))"
            )
        }
        let nofile = try settings.nofile.map { text throws(ConfigError) in
            try integer(
                text, origin: settings.origin(.nofile), range: 1...(1 << 22), expected: "a file descriptor limit")
        }
        let maxConnections = try settings.maxConnections.map { text throws(ConfigError) in
            try integer(
                text, origin: settings.origin(.maxConnections), range: 1...10_000_000,
                expected: "a number of connections")
        }
        let forbidden =
            try settings.forbiddenIP.map { entries throws(ConfigError) in
                try ForbiddenAddresses.parse(entries, origin: settings.origin(.forbiddenIP))
            } ?? .default

        var plugin: PluginSpec?
        if let program = settings.plugin, !program.isEmpty {
            guard ports.count == 1 else {
                throw ConfigError(
                    "\(settings.origin(.plugin)): a plugin serves one port, but port_password gives \(ports.count); use server_port and password with a plugin"
                )
            }
            guard mode != .udpOnly else {
                throw ConfigError(
                    "\(settings.origin(.plugin)): SIP003 plugins carry TCP only, but the mode is udp_only; drop the plugin or use -u")
            }
            let options = settings.pluginOptions.flatMap { $0.isEmpty ? nil : $0 }
            plugin = PluginSpec(program: program, options: options, arguments: settings.pluginArguments ?? [])
        }

        return ServerConfiguration(
            ports: ports, listenAddresses: listenAddresses, listenAddressesGiven: settings.servers != nil,
            timeoutSeconds: timeout, mode: mode,
            fastOpen: settings.fastOpen ?? false, reusePort: settings.reusePort ?? false,
            noDelay: settings.noDelay ?? true, nofile: nofile, maxConnections: maxConnections, forbidden: forbidden,
            udpMaxAssociations: defaultUDPMaxAssociations, plugin: plugin, warnings: warnings)
    }

    /// `--key` (base64 of the raw key) wins over `-k` (a password turned into a key), as in ss-libev.
    private static func key(_ settings: ServerSettings, method: CipherMethod) throws(ConfigError) -> MasterKey {
        // SIP022: `-k` and `--key` both carry the base64 PSK.
        if method.kind == .aead2022, let text = settings.key ?? settings.password, !text.isEmpty {
            return try PreSharedKey.parse(
                text, method: method, origin: settings.origin(settings.key != nil ? .key : .password), server: true)
        }
        if let keyText = settings.key {
            guard let raw = Base64Key.decode(keyText), !raw.isEmpty else {
                throw ConfigError("\(settings.origin(.key)): the key is not valid base64")
            }
            do {
                return try MasterKey(method: method, rawKey: raw)
            } catch {
                throw ConfigError(
                    "\(settings.origin(.key)): \(method.name) needs a \(method.keySize)-byte key, the base64 decodes to \(raw.count) bytes"
                )
            }
        }
        guard let password = settings.password, !password.isEmpty else {
            throw ConfigError(
                "no password given: pass -k PASSWORD (or --key BASE64) or set \"password\" (or \"port_password\") in the config file (-c)"
            )
        }
        return MasterKey(method: method, password: password)
    }

    private static func integer(
        _ text: String, origin: String, range: ClosedRange<Int>, expected: String
    ) throws(ConfigError) -> Int {
        guard let value = Int(text), range.contains(value) else {
            throw ConfigError(
                "\(origin): expected \(expected) (\(range.lowerBound)-\(range.upperBound)), got \"\(text)\"")
        }
        return value
    }
}
