import Foundation
import Testing

/// The Clash-compatible external controller against a running ss-redir with two real ss-libev servers; the
/// API is asked from gw (the testbed REDIRECTs every LAN TCP connection, the controller's too).
struct ControllerBed {
    static let port = 9090
    static let members = ["\(Testbed.wanIPv4):8388", "second"]
    let bed: Testbed
    let secret: String
    let redir: BackgroundProcess
    let servers: [BackgroundProcess]

    var base: String { "http://\(Testbed.gwLANIPv4):\(Self.port)" }

    /// Target, two ss-servers (8388 unnamed, 8389 named "second"), ss-redir with the controller on gw's LAN
    /// address (not loopback, so with a secret), failover: new flows use 8388 unless pinned.
    static func start(
        _ bed: Testbed, uiDirectory: String? = nil, udp: Bool = false, ruleFile: String? = nil
    ) throws -> ControllerBed {
        let password = UUID().uuidString
        let secret = "s3-\(UUID().uuidString)"
        _ = try bed.startTarget()
        let servers = try [8388, 8389].map {
            try bed.startSSServer(method: "aes-256-gcm", password: password, port: $0)
        }
        let ui =
            (uiDirectory.map { #", "external_ui": "\#($0)""# } ?? "")
            + (ruleFile.map { #", "rules": ["\#($0)"]"# } ?? "")
        let json = """
            {
              "servers": [{"server": "\(Testbed.wanIPv4)", "server_port": 8388},
                          {"server": "\(Testbed.wanIPv4)", "server_port": 8389, "name": "second"}],
              "password": "\(password)", "method": "aes-256-gcm",
              "local_address": "::", "local_port": \(ProxyChain.redirPort), "strategy": "failover",
              "mode": "\(udp ? "tcp_and_udp" : "tcp_only")",
              "control_socket": "\(bed.path("control.sock"))",
              "external_controller": "\(Testbed.gwLANIPv4):\(port)", "secret": "\(secret)"\(ui)
            }
            """
        let path = bed.path("controller.json")
        try Data(json.utf8).write(to: URL(fileURLWithPath: path))
        let redir = try bed.startSSRedir(["-c", path, "-v"])
        try bed.waitUntilListening(.gw, port: port, for: redir)
        return ControllerBed(bed: bed, secret: secret, redir: redir, servers: servers)
    }

    struct Reply {
        var status: Int
        var body: String
        var json: Any? { try? JSONSerialization.jsonObject(with: Data(body.utf8)) }
        var object: [String: Any] { json as? [String: Any] ?? [:] }
    }

    /// One request with curl in gw; `auth` nil sends no Authorization header.
    func api(
        _ method: String = "GET", _ path: String, body: String? = nil, auth: String?? = .none,
        extra: [String] = []
    ) throws -> Reply {
        let output = bed.path("reply-\(UUID().uuidString)")
        var arguments = ["curl", "-sS", "-g", "--max-time", "15", "-o", output, "-w", "%{http_code}", "-X", method]
        let token: String? = auth ?? secret
        if let token { arguments += ["-H", "Authorization: Bearer \(token)"] }
        if let body {
            let file = bed.path("body-\(UUID().uuidString)")
            try Data(body.utf8).write(to: URL(fileURLWithPath: file))
            arguments += ["-H", "Content-Type: application/json", "--data-binary", "@\(file)"]
        }
        let result = try bed.run(.gw, arguments + extra + [base + path], timeout: .seconds(25))
        return Reply(status: Int(result.stdout) ?? -1, body: Command.readText(URL(fileURLWithPath: output)))
    }

    /// The first `count` lines of a streamed endpoint (chunked HTTP), read for at most `seconds`.
    func streamLines(_ path: String, seconds: Int, count: Int) throws -> [String] {
        let result = try bed.run(
            .gw,
            ["curl", "-sS", "-N", "--max-time", "\(seconds)", "-H", "Authorization: Bearer \(secret)", base + path],
            timeout: .seconds(seconds + 10))
        return Array(result.stdout.split(separator: "\n").map(String.init).prefix(count))
    }

    /// Frames of a WebSocket endpoint (Resources/ws_client.py), the token in the query as browsers send it.
    func webSocket(_ path: String, frames: Int, token: String? = nil) throws -> Command.Result {
        let script = Testbed.resources.appendingPathComponent("ws_client.py").path
        let separator = path.contains("?") ? "&" : "?"
        return try bed.run(
            .gw,
            [
                "python3", "-B", script, "frames", Testbed.gwLANIPv4, "\(Self.port)",
                path + separator + "token=\(token ?? secret)", "\(frames)",
            ], timeout: .seconds(20))
    }

    static func lines(_ text: String) -> [[String: Any]] {
        text.split(separator: "\n").compactMap {
            try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]
        }
    }

    /// A LAN download to the line target read slowly (about `seconds`), so it stays open for the test.
    func startSlowDownload(size: Int, seconds: Int) throws -> BackgroundProcess {
        let script = Testbed.resources.appendingPathComponent("line_client.py").path
        return try bed.start(
            .lan, name: "slow-client",
            ["python3", "-B", script, "slow", Testbed.wanIPv4, "\(ProxyChain.linePort)", "\(size)", "\(seconds)"])
    }

    /// The open flows to the line target.
    func lineFlows() throws -> [[String: Any]] {
        let connections = try api("GET", "/connections").object["connections"] as? [[String: Any]] ?? []
        return connections.filter {
            (($0["metadata"] as? [String: Any])?["destinationPort"] as? String) == "\(ProxyChain.linePort)"
        }
    }

    /// Polls until `condition` holds (bounded); returns its last value.
    @discardableResult
    func poll<T>(_ probe: () throws -> T, until condition: (T) -> Bool, timeout: Duration = .seconds(10)) rethrows -> T
    {
        let deadline = ContinuousClock.now + timeout
        var value = try probe()
        while !condition(value) && ContinuousClock.now < deadline {
            Thread.sleep(forTimeInterval: 0.2)
            value = try probe()
        }
        return value
    }
}

extension EndToEnd {
    @Suite("External controller") struct ControllerAPITests {
        @Test(
            "Auth: bearer header, ?token= only on WebSocket upgrades, 401 otherwise; CORS; the secret stays out of the log"
        )
        func authentication() throws {
            try Testbed.with { bed in
                let controller = try ControllerBed.start(bed)
                #expect(try controller.api("GET", "/version").status == 200)
                let missing = try controller.api("GET", "/version", auth: .some(nil))
                #expect(missing.status == 401 && missing.object["message"] as? String == "Unauthorized", "\(missing)")
                #expect(try controller.api("GET", "/proxies", auth: "wrong").status == 401)
                #expect(
                    try controller.api("GET", "/version?token=\(controller.secret)", auth: .some(nil)).status == 401,
                    "a token in the query is for WebSocket upgrades only")
                let refused = try controller.webSocket("/traffic", frames: 1, token: "wrong")
                #expect(!refused.succeeded && refused.stderr.contains("401"), "\(refused.summary)")

                // A dashboard on another origin: the preflight and the answer carry CORS headers.
                let preflight = try bed.run(
                    .gw,
                    [
                        "curl", "-sS", "-i", "-X", "OPTIONS", "-H", "Origin: http://dashboard.example",
                        "-H", "Access-Control-Request-Method: PUT", "-H",
                        "Access-Control-Request-Headers: authorization,content-type",
                        "\(controller.base)/proxies/pool",
                    ])
                #expect(preflight.stdout.contains("204"), "\(preflight.stdout)")
                #expect(
                    preflight.stdout.contains("Access-Control-Allow-Origin: http://dashboard.example"),
                    "\(preflight.stdout)")
                #expect(preflight.stdout.contains("Access-Control-Allow-Methods:") && preflight.stdout.contains("PUT"))
                #expect(
                    preflight.stdout.lowercased().contains("access-control-allow-headers: authorization,content-type"))
                let cors = try bed.run(
                    .gw,
                    [
                        "curl", "-sS", "-i", "-H", "Origin: http://dashboard.example", "-H",
                        "Authorization: Bearer \(controller.secret)",
                        "\(controller.base)/version",
                    ])
                #expect(cors.stdout.contains("Access-Control-Allow-Origin: http://dashboard.example"), "\(cors.stdout)")

                #expect(!controller.redir.log.contains(controller.secret), "the secret must not be logged")
            }
        }

        @Test("Every endpoint answers in mihomo's shapes; delay runs through each member")
        func shapes() throws {
            try Testbed.with { bed in
                let controller = try ControllerBed.start(bed)
                let version = try controller.api("GET", "/version").object
                #expect(
                    (version["version"] as? String)?.hasPrefix("ss-redir ") == true && version["meta"] as? Bool == true)

                let configs = try controller.api("GET", "/configs").object
                #expect(configs["mode"] as? String == "rule" && configs["log-level"] as? String == "info", "\(configs)")
                for key in ["port", "socks-port", "redir-port", "mixed-port", "allow-lan", "mode-list"] {
                    #expect(configs[key] != nil, "configs lacks \(key)")
                }
                #expect(
                    try controller.api("PATCH", "/configs", body: #"{"mode":"rule","log-level":"warning"}"#).status
                        == 204)
                #expect(try controller.api("GET", "/configs").object["log-level"] as? String == "warning")
                #expect(try controller.api("PATCH", "/configs", body: #"{"mode":"global"}"#).status == 400)
                #expect(try controller.api("PATCH", "/configs", body: #"{"log-level":"info"}"#).status == 204)

                let proxies = try controller.api("GET", "/proxies").object["proxies"] as? [String: [String: Any]] ?? [:]
                let pool = proxies["pool"] ?? [:]
                #expect(pool["type"] as? String == "Fallback", "\(pool)")
                #expect(pool["all"] as? [String] == ControllerBed.members, "\(pool)")
                #expect(pool["now"] as? String == ControllerBed.members[0])
                #expect((proxies["GLOBAL"]?["all"] as? [String])?.first == "pool")
                for name in ControllerBed.members {
                    let member = proxies[name] ?? [:]
                    #expect(
                        member["type"] as? String == "Shadowsocks" && member["udp"] as? Bool == true,
                        "\(name): \(member)")
                    #expect(member["history"] is [Any])
                }
                let one = try controller.api(
                    "GET", "/proxies/\(ControllerBed.members[0].replacingOccurrences(of: ":", with: "%3A"))")
                #expect(one.status == 200 && one.object["name"] as? String == ControllerBed.members[0], "\(one)")
                #expect(try controller.api("GET", "/proxies/nope").status == 404)

                // Delay: a real request through each member to the wan target.
                let url = "http://\(Testbed.wanIPv4):\(ProxyChain.httpPort)/blob/16"
                for name in ControllerBed.members {
                    let delay = try controller.api("GET", "/proxies/\(name)/delay?url=\(url)&timeout=5000")
                    #expect(delay.status == 200 && (delay.object["delay"] as? Int ?? 0) > 0, "\(name): \(delay)")
                }
                let history = try controller.api("GET", "/proxies/second").object["history"] as? [[String: Any]] ?? []
                #expect((history.last?["delay"] as? Int ?? 0) > 0 && history.last?["time"] is String, "\(history)")
                let group = try controller.api("GET", "/group/pool/delay?url=\(url)&timeout=5000")
                #expect(Set(group.object.keys) == Set(ControllerBed.members), "\(group)")
                // Through a member to a port nothing listens on: the test fails, cleanly.
                let dead = try controller.api(
                    "GET", "/proxies/second/delay?url=http://\(Testbed.wanIPv4):9/&timeout=3000")
                #expect(dead.status == 503 || dead.status == 504, "\(dead)")
                #expect(try controller.api("GET", "/proxies/second/delay?url=nonsense").status == 400)
                #expect(try controller.api("GET", "/proxies/nope/delay?url=\(url)").status == 404)
                #expect(try controller.api("GET", "/group/nope/delay?url=\(url)").status == 404)
                // The servers really carried the delay requests.
                for server in controller.servers {
                    #expect(
                        server.log.contains("connect to \(Testbed.wanIPv4):\(ProxyChain.httpPort)"),
                        "\(server.logTail())")
                }

                let rules = try controller.api("GET", "/rules").object["rules"] as? [[String: Any]] ?? []
                #expect(
                    rules.last?["type"] as? String == "Match" && rules.last?["proxy"] as? String == "pool", "\(rules)")

                let memory = ControllerBed.lines(
                    try controller.streamLines("/memory", seconds: 3, count: 2).joined(separator: "\n"))
                #expect(memory.count == 2 && (memory.first?["inuse"] as? Int ?? 0) > 1 << 20, "\(memory)")
                let traffic = ControllerBed.lines(
                    try controller.streamLines("/traffic", seconds: 3, count: 2).joined(separator: "\n"))
                #expect(traffic.count == 2 && traffic.allSatisfy { $0["up"] is Int && $0["down"] is Int }, "\(traffic)")

                // /logs: a connection made while listening shows up as a line at info.
                let logScript = try bed.start(
                    .gw, name: "logs",
                    [
                        "curl", "-sS", "-N", "--max-time", "6", "-H", "Authorization: Bearer \(controller.secret)",
                        "\(controller.base)/logs?level=info",
                    ])
                Thread.sleep(forTimeInterval: 1)
                #expect(try bed.download(size: 1024, tag: "logged").curl.succeeded)
                controller.poll({ logScript.log }, until: { $0.contains("via") })
                let logLines = ControllerBed.lines(logScript.log)
                #expect(
                    logLines.contains {
                        $0["type"] as? String == "info" && ($0["payload"] as? String)?.contains("via") == true
                    },
                    "\(logScript.log)")

                // metacubexd's structured log lines, over a WebSocket.
                let structured = try bed.start(
                    .gw, name: "structured-logs",
                    [
                        "python3", "-B", Testbed.resources.appendingPathComponent("ws_client.py").path, "frames",
                        Testbed.gwLANIPv4, "\(ControllerBed.port)",
                        "/logs?level=info&format=structured&token=\(controller.secret)", "1",
                    ])
                Thread.sleep(forTimeInterval: 1)
                #expect(try bed.download(size: 1024, tag: "logged-structured").curl.succeeded)
                controller.poll({ structured.isRunning }, until: { !$0 })
                let entry = ControllerBed.lines(structured.log).first ?? [:]
                #expect(
                    entry["level"] as? String == "info" && entry["message"] is String && entry["time"] is String
                        && entry["fields"] is [Any], "\(structured.log)")

                // The WebSocket flavours (token in the query) stream the same shapes.
                let ws = try controller.webSocket("/traffic", frames: 2)
                #expect(ws.succeeded && ControllerBed.lines(ws.stdout).count == 2, "\(ws.summary)")
                let wsConnections = try controller.webSocket("/connections?interval=500", frames: 2)
                #expect(
                    ws.succeeded && ControllerBed.lines(wsConnections.stdout).allSatisfy { $0["connections"] is [Any] },
                    "\(wsConnections.summary)")
                #expect(try controller.api("GET", "/providers/proxies").status == 200)
            }
        }

        @Test("A live download is listed with growing totals and closed by DELETE /connections/{id}")
        func liveConnections() throws {
            try Testbed.with { bed in
                let controller = try ControllerBed.start(bed)
                let size = 64 << 20
                let client = try controller.startSlowDownload(size: size, seconds: 30)
                let first = try controller.poll(
                    { try controller.lineFlows() },
                    until: {
                        ($0.first?["download"] as? Int ?? 0) > 0
                    })
                #expect(first.count == 1, "\(first)\n\(bed.diagnostics)")
                guard let flow = first.first, let id = flow["id"] as? String else { return }
                let metadata = flow["metadata"] as? [String: Any] ?? [:]
                #expect(metadata["network"] as? String == "tcp" && metadata["type"] as? String == "Redir", "\(flow)")
                #expect(
                    metadata["sourceIP"] as? String == Testbed.lanIPv4
                        && metadata["destinationIP"] as? String == Testbed.wanIPv4)
                #expect(flow["chains"] as? [String] == [ControllerBed.members[0], "pool"], "\(flow)")
                #expect(flow["rule"] as? String == "Match" && (flow["start"] as? String)?.hasSuffix("Z") == true)
                #expect((flow["upload"] as? Int ?? 0) > 0, "the request line went up")

                let before = flow["download"] as? Int ?? 0
                let later = try controller.poll(
                    { try controller.lineFlows() },
                    until: {
                        ($0.first?["download"] as? Int ?? 0) > before
                    })
                #expect((later.first?["download"] as? Int ?? 0) > before, "totals grow: \(before) then \(later)")
                let totals = try controller.api("GET", "/connections").object
                #expect((totals["downloadTotal"] as? Int ?? 0) >= before)
                // /traffic reports the download's rate (the client reads about 2 MiB/s).
                let rates = ControllerBed.lines(
                    try controller.streamLines("/traffic", seconds: 4, count: 4).joined(separator: "\n"))
                #expect(rates.contains { ($0["down"] as? Int ?? 0) > 100_000 }, "\(rates)")

                #expect(try controller.api("DELETE", "/connections/\(id)").status == 204)
                let deadline = ContinuousClock.now + .seconds(10)
                while client.isRunning && ContinuousClock.now < deadline { Thread.sleep(forTimeInterval: 0.1) }
                #expect(!client.isRunning, "the client's connection was closed")
                #expect(client.log.contains("NOT exact"), "\(client.logTail())")
                #expect(try controller.lineFlows().isEmpty)
                #expect(try controller.api("DELETE", "/connections/\(id)").status == 404)

                // DELETE /connections closes them all.
                let second = try controller.startSlowDownload(size: size, seconds: 30)
                try controller.poll({ try controller.lineFlows() }, until: { !$0.isEmpty })
                #expect(try controller.api("DELETE", "/connections").status == 204)
                let end = ContinuousClock.now + .seconds(10)
                while second.isRunning && ContinuousClock.now < end { Thread.sleep(forTimeInterval: 0.1) }
                #expect(!second.isRunning)
            }
        }

        @Test("A bypassed connection shows the rule file and line that decided it and the DIRECT chain")
        func bypassRule() throws {
            try Testbed.with { bed in
                let ruleFile = bed.path("bypass.txt")
                try Data("# the wan target goes direct\n\(Testbed.wanIPv4)/32\n".utf8).write(
                    to: URL(fileURLWithPath: ruleFile))
                let controller = try ControllerBed.start(bed, ruleFile: ruleFile)
                let client = try controller.startSlowDownload(size: 16 << 20, seconds: 30)
                let flows = try controller.poll({ try controller.lineFlows() }, until: { !$0.isEmpty })
                let flow = flows.first ?? [:]
                #expect(flow["chains"] as? [String] == ["DIRECT"], "\(flow)")
                #expect(
                    flow["rule"] as? String == "Bypass" && flow["rulePayload"] as? String == "\(ruleFile):2", "\(flow)")
                let rules = try controller.api("GET", "/rules").object["rules"] as? [[String: Any]] ?? []
                #expect(
                    rules.contains {
                        $0["type"] as? String == "IPCIDR" && $0["proxy"] as? String == "DIRECT"
                            && ($0["size"] as? Int ?? 0) >= 1
                    },
                    "\(rules)")
                #expect(try controller.api("DELETE", "/connections").status == 204)
                try controller.poll({ try controller.lineFlows() }, until: { $0.isEmpty })
                _ = client
            }
        }

        @Test("A UDP association is listed with its datagram totals and ended by DELETE /connections/{id}")
        func udpAssociation() throws {
            try Testbed.with(rules: "tproxy-udp") { bed in
                let controller = try ControllerBed.start(bed, udp: true)
                try bed.waitUntilListening(.gw, port: ProxyChain.redirPort, for: controller.redir, udp: true)
                try bed.startUDPEcho(port: 7)
                let client = try bed.run(
                    .lan,
                    [
                        "python3", "-B", Testbed.resources.appendingPathComponent("udp_client.py").path, "echo",
                        Testbed.wanIPv4, "7", "50",
                    ])
                #expect(client.succeeded, "\(client.summary)")
                let udpFlows = {
                    (try controller.api("GET", "/connections").object["connections"] as? [[String: Any]] ?? []).filter {
                        ($0["metadata"] as? [String: Any])?["network"] as? String == "udp"
                    }
                }
                let flows = try udpFlows()
                #expect(flows.count == 1, "\(flows)")
                guard let flow = flows.first, let id = flow["id"] as? String else { return }
                let metadata = flow["metadata"] as? [String: Any] ?? [:]
                #expect(
                    metadata["destinationPort"] as? String == "7" && metadata["sourceIP"] as? String == Testbed.lanIPv4,
                    "\(flow)")
                #expect(flow["chains"] as? [String] == [ControllerBed.members[0], "pool"], "\(flow)")
                #expect(
                    (flow["upload"] as? Int ?? 0) > 0
                        && (flow["download"] as? Int ?? 0) == (flow["upload"] as? Int ?? 0),
                    "an echo: as many bytes down as up: \(flow)")
                #expect(try controller.api("DELETE", "/connections/\(id)").status == 204)
                try controller.poll({ try udpFlows() }, until: { $0.isEmpty })
                #expect(try udpFlows().isEmpty)
            }
        }

        @Test("PUT /proxies/pool pins new connections to a member under any strategy; DELETE unpins")
        func pinning() throws {
            try Testbed.with { bed in
                let controller = try ControllerBed.start(bed)
                func carried(by server: BackgroundProcess, _ body: () throws -> Void) rethrows -> Bool {
                    let marker = "connect to \(Testbed.wanIPv4):\(ProxyChain.httpPort)"
                    let before = server.log.components(separatedBy: marker).count
                    try body()
                    return server.log.components(separatedBy: marker).count > before
                }
                func download(_ tag: String) throws {
                    let transfer = try bed.download(size: 8 << 10, tag: tag)
                    #expect(
                        transfer.curl.succeeded && transfer.sha256 == transfer.expectedSHA256,
                        "\(transfer.curl.summary)")
                }
                #expect(try carried(by: controller.servers[0]) { try download("before") })

                #expect(try controller.api("PUT", "/proxies/pool", body: #"{"name":"second"}"#).status == 204)
                let pool = try controller.api("GET", "/proxies/pool").object
                #expect(pool["now"] as? String == "second" && pool["fixed"] as? String == "second", "\(pool)")
                let marker = "connect to \(Testbed.wanIPv4):\(ProxyChain.httpPort)"
                let counts = { controller.servers.map { $0.log.components(separatedBy: marker).count } }
                let before = counts()
                for index in 0..<3 { try download("pinned-\(index)") }
                let after = counts()
                #expect(after[1] - before[1] == 3, "every pinned connection went to second: \(before) -> \(after)")
                #expect(after[0] == before[0], "none went to the failover default")

                // Wrong names and bodies are refused without changing the pin.
                #expect(try controller.api("PUT", "/proxies/pool", body: #"{"name":"nope"}"#).status == 400)
                #expect(try controller.api("PUT", "/proxies/pool", body: #"{"name":"#).status == 400)
                #expect(try controller.api("PUT", "/proxies/nope", body: #"{"name":"second"}"#).status == 404)
                #expect(try controller.api("GET", "/proxies/pool").object["now"] as? String == "second")

                #expect(try controller.api("DELETE", "/proxies/pool").status == 204)
                #expect(try carried(by: controller.servers[0]) { try download("unpinned") })
            }
        }

        @Test("Hostile clients: oversized bodies, bad JSON, unknown paths, too many streams; relaying goes on")
        func hostileInput() throws {
            try Testbed.with { bed in
                let controller = try ControllerBed.start(bed)
                // A client that drips its request a byte a second (slowloris) is closed at the request deadline.
                let drip = try bed.start(
                    .gw, name: "drip",
                    [
                        "python3", "-c",
                        "import socket,time\ns=socket.create_connection(('\(Testbed.gwLANIPv4)', \(ControllerBed.port)))\nt=time.time()\ntry:\n  for c in b'GET /version HTTP/1.1\\r\\nX-Pad: ' + b'a' * 60:\n    s.send(bytes([c])); time.sleep(1)\n  print('never closed')\nexcept OSError:\n  print('closed after %d s' % (time.time() - t))",
                    ])
                let big = String(repeating: "x", count: 100 << 10)
                #expect(try controller.api("PATCH", "/configs", body: big).status == 413)
                #expect(try controller.api("PATCH", "/configs", body: "{nope").status == 400)
                #expect(try controller.api("PATCH", "/configs", body: "[1,2]").status == 400)
                #expect(try controller.api("GET", "/nothing/here").status == 404)
                #expect(try controller.api("DELETE", "/connections/not-an-id").status == 404)

                // More WebSockets than the cap: the extra ones are refused, the held ones keep streaming.
                let script = Testbed.resources.appendingPathComponent("ws_client.py").path
                let hold = try bed.start(
                    .gw, name: "ws-hold",
                    [
                        "python3", "-B", script, "hold", Testbed.gwLANIPv4, "\(ControllerBed.port)",
                        "/traffic?token=\(controller.secret)", "40", "4",
                    ])
                controller.poll({ hold.log }, until: { $0.contains("upgraded") })
                #expect(hold.log.contains("32 of 40 upgraded"), "\(hold.log)")
                // A silent client holding a half-sent request does not block anyone.
                let silent = try bed.start(
                    .gw, name: "silent",
                    [
                        "python3", "-c",
                        "import socket,time; s=socket.create_connection(('\(Testbed.gwLANIPv4)', \(ControllerBed.port))); s.send(b'GET /version HTTP/1.1\\r\\nHost: x\\r\\n'); time.sleep(30)",
                    ])
                _ = silent
                #expect(try controller.api("GET", "/version").status == 200)
                let transfer = try bed.download(size: 1 << 20, tag: "while-hostile")
                #expect(transfer.curl.succeeded && transfer.sha256 == transfer.expectedSHA256)
                #expect(controller.redir.isRunning)
                controller.poll({ drip.isRunning }, until: { !$0 }, timeout: .seconds(25))
                #expect(drip.log.contains("closed after 1"), "closed at the 15 s deadline: \(drip.log)")
            }
        }

        @Test("A controller off loopback without a secret refuses to start with one line")
        func secretRequired() throws {
            let result = try Command.run([
                Testbed.ssRedirBinary, "-s", "192.0.2.1", "-p", "8388", "-k", "x", "-l", "1", "--control",
                "/tmp/unused.sock",
                "--external-controller", "0.0.0.0:9090",
            ])
            #expect(!result.succeeded)
            #expect(
                result.stderr.contains("--external-controller") && result.stderr.contains("--secret"),
                "\(result.summary)")
            #expect(result.stderr.split(separator: "\n").count == 1, "\(result.stderr)")
        }
    }
}
