/// What `ss-redir setup` takes from the same flags and config file the relay runs with: where the relay listens,
/// what it relays, and its servers (never to be captured). Password and method do not matter here.
public struct FirewallConfiguration: Sendable, Equatable {
    /// Host names or IP literals, as given.
    public var servers: [String]
    public var localPort: Int
    public var listenAddresses: [String]
    public var mode: RelayMode
    public var tcpTproxy: Bool
    /// The relay's SO_MARK (0: none), which the `--proxy-router` output chains let pass.
    public var outboundFwmark: UInt32
    /// Paths; relative ones from the config file are taken relative to its directory.
    public var bypassFiles: [String]
    public var proxyFiles: [String]
    public var lanInterfaces: [String]

    public var relaysTCP: Bool { mode != .udpOnly }
    public var relaysUDP: Bool { mode != .tcpOnly }

    /// `configDirectory`: the directory of the `-c` file, for relative list paths written in it.
    public static func resolve(_ settings: RedirSettings, configDirectory: String? = nil) throws(ConfigError)
        -> FirewallConfiguration
    {
        // Every pool member, wherever it is named (server/-s, servers, server_url, servers_file).
        let servers = try ServerMembers.hosts(settings)
        guard !servers.isEmpty else {
            throw ConfigError(
                "no server given: setup puts the servers' addresses in the bypass sets so the relay's own traffic is never captured; pass -s ADDRESS or set \"server\" or \"servers\" in the config file (-c)"
            )
        }
        for host in servers where host.isEmpty || host.contains(where: { $0 == " " || $0 == "/" }) {
            throw ConfigError("\(settings.origin(.server)): \"\(host)\" is not a host name or IP address")
        }
        guard let portText = settings.localPort else {
            throw ConfigError("no local port given: pass -l PORT or set \"local_port\" in the config file (-c)")
        }
        guard let localPort = Int(portText), (1...65_535).contains(localPort) else {
            throw ConfigError("\(settings.origin(.localPort)): expected a port number (1-65535), got \"\(portText)\"")
        }
        let modeName = settings.mode ?? RelayMode.tcpOnly.rawValue
        guard let mode = RelayMode(rawValue: modeName) else {
            throw ConfigError(
                "\(settings.origin(.mode)): unknown mode \"\(modeName)\"; expected one of \(RelayMode.allCases.map(\.rawValue).joined(separator: ", "))"
            )
        }
        var mark = FirewallMarks.relayOutboundMark
        if let text = settings.outboundFwmark {
            let parsed = text.lowercased().hasPrefix("0x") ? UInt32(text.dropFirst(2), radix: 16) : UInt32(text)
            guard let parsed else {
                throw ConfigError(
                    "\(settings.origin(.outboundFwmark)): expected a mark such as 255 or 0xff (0 for none), got \"\(text)\""
                )
            }
            mark = parsed
        }
        let interfaces = settings.lanInterfaces ?? []
        for name in interfaces where !isInterfaceName(name) {
            throw ConfigError(
                "\(settings.origin(.lanInterfaces)): \"\(name)\" is not an interface name (1-15 characters, no spaces, quotes or '/'; a trailing * matches a prefix)"
            )
        }
        func paths(_ list: [String]?, _ field: RedirSettings.Field) -> [String] {
            let fromFile = !(settings.origins[field]?.hasPrefix("flag") ?? true)
            return (list ?? []).map { path in
                guard fromFile, let directory = configDirectory, !path.hasPrefix("/") else { return path }
                return directory.hasSuffix("/") ? directory + path : "\(directory)/\(path)"
            }
        }
        return FirewallConfiguration(
            servers: servers, localPort: localPort,
            listenAddresses: settings.localAddresses ?? [RedirConfiguration.defaultListenAddress],
            mode: mode, tcpTproxy: settings.tcpTproxy ?? false, outboundFwmark: mark,
            bypassFiles: paths(settings.bypassFiles, .bypassFiles), proxyFiles: paths(settings.proxyFiles, .proxyFiles),
            lanInterfaces: interfaces)
    }

    /// IFNAMSIZ - 1 bytes at most; nothing nft would need to quote or escape.
    static func isInterfaceName(_ name: String) -> Bool {
        let body = name.hasSuffix("*") ? name.dropLast() : Substring(name)
        return !body.isEmpty && name.utf8.count <= 15
            && body.allSatisfy { $0.isASCII && !$0.isWhitespace && !"\"'/\\*:".contains($0) }
    }
}
