import ShadowsocksCrypto

/// A validated pool member: where it is, how to talk to it, and how the pool treats it.
public struct ServerMember: Sendable, Hashable, CustomStringConvertible {
    public let name: String
    public let endpoint: ServerEndpoint
    public let key: MasterKey
    /// Share for weighted random selection (default 1).
    public let weight: Int
    /// Whether UDP associations may use this member.
    public let udp: Bool
    /// SIP003: TCP to this member goes through a plugin child process (UDP still goes straight to `endpoint`).
    public let plugin: PluginSpec?

    public var description: String { name == endpoint.host ? "\(endpoint)" : "\(name) (\(endpoint))" }

    public init(
        name: String, endpoint: ServerEndpoint, key: MasterKey, weight: Int = 1, udp: Bool = true,
        plugin: PluginSpec? = nil
    ) {
        self.plugin = plugin
        self.name = name
        self.endpoint = endpoint
        self.key = key
        self.weight = weight
        self.udp = udp
    }
}

/// Gathers the pool from every place a server can be named, in this order: ss-libev's `server`/`-s` with the
/// top-level port and password; the config's `servers` array; `--server-url` / `server_url` (SIP002);
/// `--servers-file` / `servers_file` (SIP008). Entries inherit the top-level method, password and port.
public enum ServerMembers {
    public static func resolve(_ settings: RedirSettings) throws(ConfigError) -> [ServerMember] {
        let specs = try specs(settings)
        guard !specs.isEmpty else {
            throw ConfigError(
                "no server given: pass -s ADDRESS, --server-url ss://..., --servers-file FILE, or set \"server\" or \"servers\" in the config file (-c)")
        }
        var members: [ServerMember] = []
        for spec in specs {
            members.append(try member(spec, defaults: settings))
        }
        return members
    }

    /// Every server host named anywhere, without validating keys (setup only needs the addresses).
    public static func hosts(_ settings: RedirSettings) throws(ConfigError) -> [String] {
        try specs(settings).compactMap(\.host)
    }

    /// Every server as written, from all sources, in pool order.
    static func specs(_ settings: RedirSettings) throws(ConfigError) -> [ServerSpec] {
        var specs: [ServerSpec] = []
        for host in settings.servers ?? [] {
            var spec = ServerSpec(origin: settings.origin(.server))
            spec.host = host
            specs.append(spec)
        }
        specs += settings.serverSpecs ?? []
        for (index, url) in (settings.serverURLs ?? []).enumerated() {
            specs.append(try ServerURI.parse(url, origin: "\(settings.origin(.serverURLs)) #\(index + 1)"))
        }
        for path in settings.serversFiles ?? [] {
            guard let text = TextFileReader.read(path) else {
                throw ConfigError("\(path): cannot read the SIP008 servers file given by \(settings.origin(.serversFiles))")
            }
            specs += try SIP008Document.parse(text, path: path)
        }
        return specs
    }

    static func member(_ spec: ServerSpec, defaults settings: RedirSettings) throws(ConfigError) -> ServerMember {
        let usesOwnCredentials = spec.password != nil || spec.key != nil
        let hostOrigin = spec.origin
        guard let host = spec.host, !host.isEmpty, !host.contains(where: { $0 == " " || $0 == "/" }) else {
            throw ConfigError("\(hostOrigin): \"\(spec.host ?? "")\" is not a host name or IP address")
        }
        guard let portText = spec.port ?? settings.serverPort else {
            throw ConfigError(
                "\(hostOrigin): no server port for \(host): pass -p PORT or set \"server_port\" (top level or in the entry)")
        }
        let portOrigin = spec.port == nil ? settings.origin(.serverPort) : hostOrigin
        guard let port = Int(portText), (1...65_535).contains(port) else {
            throw ConfigError("\(portOrigin): expected a port number (1-65535), got \"\(portText)\"")
        }
        let methodName = spec.method ?? settings.method ?? CipherMethod.default.name
        let methodOrigin = spec.method == nil ? settings.origin(.method) : hostOrigin
        guard let method = CipherMethod(name: methodName) else {
            throw ConfigError(
                "\(methodOrigin): unknown method \"\(methodName)\"; supported: \(CipherMethod.supportedNames)")
        }
        if let reason = method.unavailableReason {
            throw ConfigError("\(methodOrigin): \(reason); use an AEAD method such as chacha20-ietf-poly1305")
        }
        let keyText = usesOwnCredentials ? spec.key : settings.key
        let password = usesOwnCredentials ? spec.password : settings.password
        let keyOrigin = usesOwnCredentials ? hostOrigin : settings.origin(.key)
        let passwordOrigin = usesOwnCredentials ? hostOrigin : settings.origin(.password)
        let key: MasterKey
        if method.kind == .aead2022, let psk = keyText ?? password, !psk.isEmpty {
            key = try PreSharedKey.parse(psk, method: method, origin: keyText != nil ? keyOrigin : passwordOrigin)
        } else if let keyText {
            guard let raw = Base64Key.decode(keyText), !raw.isEmpty else {
                throw ConfigError("\(keyOrigin): the key is not valid base64")
            }
            do {
                key = try MasterKey(method: method, rawKey: raw)
            } catch {
                throw ConfigError(
                    "\(keyOrigin): \(method.name) needs a \(method.keySize)-byte key, the base64 decodes to \(raw.count) bytes")
            }
        } else if let password, !password.isEmpty {
            key = MasterKey(method: method, password: password)
        } else {
            throw ConfigError(
                "no password for server \(host): pass -k PASSWORD (or --key BASE64) or set \"password\" in the config file (-c)")
        }
        var weight = 1
        if let text = spec.weight {
            guard let value = Int(text), (1...1000).contains(value) else {
                throw ConfigError("\(hostOrigin): \"weight\" must be 1-1000, got \"\(text)\"")
            }
            weight = value
        }
        return ServerMember(
            name: spec.name ?? host, endpoint: ServerEndpoint(host: host, port: port), key: key, weight: weight,
            udp: spec.udp ?? true, plugin: try plugin(spec, defaults: settings))
    }

    /// The entry's own plugin, else (for `-s` and `servers` entries) the top-level one; "" means none.
    static func plugin(_ spec: ServerSpec, defaults settings: RedirSettings) throws(ConfigError) -> PluginSpec? {
        let inherited = spec.plugin == nil && spec.inheritsPlugin
        let program = inherited ? settings.plugin : spec.plugin
        guard let program, !program.isEmpty else { return nil }
        let origin = inherited ? settings.origin(.plugin) : spec.origin
        guard !program.contains(where: { $0 == "\0" || $0 == "\n" }) else {
            throw ConfigError("\(origin): \"\(program)\" is not a plugin program name or path")
        }
        let options = inherited ? settings.pluginOptions : spec.pluginOptions
        let arguments = (inherited ? settings.pluginArguments : spec.pluginArguments) ?? []
        return PluginSpec(program: program, options: options?.isEmpty == true ? nil : options, arguments: arguments)
    }
}
