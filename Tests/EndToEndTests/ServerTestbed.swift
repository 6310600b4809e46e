import Foundation

/// Starting our ss-server and SOCKS clients in the testbed, for the ss-server end-to-end tests.
extension Testbed {
    /// env SS_SERVER_BIN (relative paths from the repo root), else the ss-server next to the ss-redir under test.
    static var ssServerBinary: String {
        if let configured = ProcessInfo.processInfo.environment["SS_SERVER_BIN"] {
            return configured.hasPrefix("/") ? configured : repoRoot.appendingPathComponent(configured).path
        }
        return URL(fileURLWithPath: ssRedirBinary).deletingLastPathComponent().appendingPathComponent("ss-server").path
    }

    /// Our ss-server in wan; waits for its TCP listener on each port (UDP with -U).
    func startOurServer(_ arguments: [String], ports: [Int] = [ProxyChain.serverPort]) throws -> BackgroundProcess {
        guard FileManager.default.isExecutableFile(atPath: Testbed.ssServerBinary) else {
            throw TestbedError("no ss-server at \(Testbed.ssServerBinary): run `swift build` or set SS_SERVER_BIN")
        }
        let server = try start(
            .wan, name: "our-ss-server-\(ports.map(String.init).joined(separator: "-"))",
            [Testbed.ssServerBinary] + arguments)
        for port in ports {
            try waitUntilListening(.wan, port: port, for: server, udp: arguments.contains("-U"))
        }
        return server
    }

    /// Debian's ss-local in gw (gw's own traffic is not captured), a SOCKS5 proxy on 127.0.0.1:`localPort`.
    func startSSLocal(
        localPort: Int, serverPort: Int, password: String, method: String = "aes-256-gcm",
        server: String = Testbed.wanIPv4
    ) throws -> BackgroundProcess {
        let local = try start(
            .gw, name: "ss-local-\(localPort)",
            [
                "ss-local", "-s", server, "-p", "\(serverPort)", "-l", "\(localPort)", "-b", "127.0.0.1", "-k",
                password,
                "-m", method, "-v",
            ])
        try waitUntilListening(.gw, port: localPort, for: local)
        return local
    }

    /// GET `url` from gw through the SOCKS5 proxy on 127.0.0.1:`proxyPort` (names resolved by the server side);
    /// `expectedSHA256` is the target's X-SHA256 header.
    func socksDownload(proxyPort: Int, url: String, tag: String, maxTime: Int = 20) throws -> Transfer {
        let body = path("socks-\(tag)")
        let headers = path("socks-\(tag).headers")
        let curl = try run(
            .gw,
            [
                "curl", "-sS", "-g", "--fail", "--max-time", "\(maxTime)", "--socks5-hostname",
                "127.0.0.1:\(proxyPort)",
                "-D", headers, "-o", body, url,
            ],
            timeout: .seconds(maxTime + 10))
        let header = Command.readText(URL(fileURLWithPath: headers))
            .split(separator: "\r\n")
            .first { $0.lowercased().hasPrefix("x-sha256:") }
            .map { $0.dropFirst("x-sha256:".count).trimmingCharacters(in: .whitespaces) }
        return Transfer(
            curl: curl, bytes: fileSize(body), sha256: try sha256(of: body), expectedSHA256: header ?? "(no X-SHA256)")
    }

    /// Waits until `process` logs `text`, up to `timeout`.
    func waitForLog(_ process: BackgroundProcess, _ text: String, timeout: Duration = .seconds(5)) -> Bool {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if process.log.contains(text) { return true }
            Thread.sleep(forTimeInterval: 0.05)
        }
        return process.log.contains(text)
    }
}
