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
    /// The tproxy mark, the bits of the packet mark it owns, and the routing table of the local route.
    public var tproxyMark = FirewallMarks.tproxyMark
    public var tproxyMask = FirewallMarks.tproxyMask
    public var routeTable = FirewallMarks.tproxyRouteTable

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
        var configuration = FirewallConfiguration(
            servers: servers, localPort: localPort,
            listenAddresses: settings.localAddresses ?? [RedirConfiguration.defaultListenAddress],
            mode: mode, tcpTproxy: settings.tcpTproxy ?? false, outboundFwmark: mark,
            bypassFiles: paths(settings.bypassFiles, .bypassFiles), proxyFiles: paths(settings.proxyFiles, .proxyFiles),
            lanInterfaces: interfaces)
        try configuration.resolveRouting(settings)
        return configuration
    }

    /// `tproxy_fwmark` / `--fwmark` and `tproxy_route_table` / `--route-table`.
    mutating func resolveRouting(_ settings: RedirSettings) throws(ConfigError) {
        if let text = settings.tproxyFwmark {
            guard let parsed = FirewallMarks.parseMarkAndMask(text) else {
                throw ConfigError(
                    "\(settings.origin(.tproxyFwmark)): expected MARK or MARK/MASK such as 0x1 or 0x10000/0x10000 (not 0, the mark inside the mask), got \"\(text)\""
                )
            }
            (tproxyMark, tproxyMask) = parsed
        }
        if outboundFwmark != 0 && outboundFwmark & tproxyMask == tproxyMark {
            throw ConfigError(
                "\(settings.origin(.tproxyFwmark)): the relay's own mark (outbound_fwmark 0x\(String(outboundFwmark, radix: 16))) matches the tproxy mark 0x\(String(tproxyMark, radix: 16))/0x\(String(tproxyMask, radix: 16)): its traffic to the server would be routed back to itself; choose marks with different bits"
            )
        }
        if let text = settings.tproxyRouteTable {
            // 0 and 253-255 are the kernel's unspec, default, main and local tables.
            guard let table = UInt32(text), table != 0, !(253...255).contains(table) else {
                throw ConfigError(
                    "\(settings.origin(.tproxyRouteTable)): expected a routing table number other than 0, 253, 254, 255 (main, local...), got \"\(text)\""
                )
            }
            routeTable = table
        }
    }

    /// IFNAMSIZ - 1 bytes at most; nothing nft would need to quote or escape.
    static func isInterfaceName(_ name: String) -> Bool {
        let body = name.hasSuffix("*") ? name.dropLast() : Substring(name)
        return !body.isEmpty && name.utf8.count <= 15
            && body.allSatisfy { $0.isASCII && !$0.isWhitespace && !"\"'/\\*:".contains($0) }
    }
}
