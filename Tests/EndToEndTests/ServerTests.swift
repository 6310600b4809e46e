import Foundation
import Testing

extension EndToEnd {
    /// Our ss-server in wan, with Debian's shadowsocks-libev clients and our ss-redir in front of it.
    @Suite("ss-server") struct ServerTests {
        static let method = "aes-256-gcm"

        @Test("Debian's ss-redir -> our ss-server: 8 MiB down and up arrive intact")
        func libevRedirToOurServer() throws {
            try Testbed.with { bed in
                let password = UUID().uuidString
                let target = try bed.startTarget()
                // No -s: both wildcards, the IPv6 one IPv6-only so the IPv4 one can take the port.
                let server = try bed.startOurServer([
                    "-p", "\(ProxyChain.serverPort)", "-k", password, "-m", Self.method, "-v",
                ])
                let redir = try bed.start(
                    .gw, name: "libev-ss-redir",
                    [
                        "ss-redir", "-s", Testbed.wanIPv4, "-p", "\(ProxyChain.serverPort)", "-l",
                        "\(ProxyChain.redirPort)",
                        "-b", "0.0.0.0", "-k", password, "-m", Self.method, "-v",
                    ])
                try bed.waitUntilListening(.gw, port: ProxyChain.redirPort, for: redir)

                let download = try bed.download(size: 8 << 20, tag: "libev")
                #expect(download.curl.succeeded, "\(download.curl.summary)\n\(bed.diagnostics)")
                #expect(download.bytes == 8 << 20 && download.sha256 == download.expectedSHA256)
                let upload = try bed.upload(size: 8 << 20)
                #expect(upload.curl.succeeded, "\(upload.curl.summary)\n\(bed.diagnostics)")
                #expect(upload.sha256 == upload.expectedSHA256)

                #expect(server.log.contains("-> \(Testbed.wanIPv4):\(ProxyChain.httpPort)"), "\(server.logTail())")
                // The target saw the server's address (IPv4-mapped on its dual-stack socket), never the LAN client's.
                #expect(target.log.contains("\(Testbed.wanIPv4) \"GET /blob"), "\(target.logTail())")
                #expect(!target.log.contains(Testbed.lanIPv4))
                let listening = try bed.run(.wan, ["ss", "-Hltn", "sport = :\(ProxyChain.serverPort)"]).stdout
                #expect(
                    listening.contains("0.0.0.0:\(ProxyChain.serverPort)")
                        && listening.contains("[::]:\(ProxyChain.serverPort)"))
            }
        }

        @Test("Our ss-redir -> our ss-server: IPv4 and IPv6 targets, 100 at once, half-close; SIGTERM exits 0")
        func ourRedirToOurServer() throws {
            try Testbed.with { bed in
                let password = UUID().uuidString
                _ = try bed.startTarget()
                let server = try bed.startOurServer(["-p", "\(ProxyChain.serverPort)", "-k", password, "-v"])
                _ = try bed.startSSRedir([
                    "-s", Testbed.wanIPv4, "-p", "\(ProxyChain.serverPort)", "-l", "\(ProxyChain.redirPort)", "-b",
                    "::",
                    "-k", password, "-v",
                ])
                for host in [Testbed.wanIPv4, Testbed.wanIPv6] {
                    let download = try bed.download(size: 4 << 20, tag: "ours", host: host)
                    #expect(download.curl.succeeded, "\(download.curl.summary)\n\(bed.diagnostics)")
                    #expect(download.sha256 == download.expectedSHA256)
                    let upload = try bed.upload(size: 4 << 20, host: host)
                    #expect(upload.sha256 == upload.expectedSHA256, "\(upload.curl.summary)")
                }
                #expect(server.log.contains("-> [\(Testbed.wanIPv6)]:\(ProxyChain.httpPort)"), "\(server.logTail())")
                let concurrent = try bed.lineClient([
                    "concurrent", Testbed.wanIPv4, "\(ProxyChain.linePort)", "100", "65536",
                ])
                #expect(
                    concurrent.stdout.contains("100 of 100 replies correct, 0 wrong, 0 unfinished"),
                    "\(concurrent.summary)")
                // The client shuts its write side after the request and still gets the whole reply.
                let halfClose = try bed.lineClient([
                    "halfclose", Testbed.wanIPv4, "\(ProxyChain.linePort)", "\(1 << 20)", "200",
                ])
                #expect(
                    halfClose.stdout.contains("received \(1 << 20) of \(1 << 20) bytes, exact"), "\(halfClose.summary)")
                let exit = server.signalAndWait(SIGTERM, timeout: .seconds(8))
                #expect(exit == .exited(0), "\(server.logTail())")
                #expect(server.log.contains("shutting down"))
            }
        }

        @Test("port_password: two ports, two passwords; a wrong password gets nothing through")
        func portPassword() throws {
            try Testbed.with(rules: "none") { bed in
                let target = try bed.startTarget()
                let config = bed.path("server.json")
                try Data(
                    """
                    {
                        "server": "\(Testbed.wanIPv4)",
                        "port_password": {"8381": "first-user", "8382": "second-user"},
                        "method": "\(Self.method)",
                        "timeout": 2
                    }
                    """.utf8
                ).write(to: URL(fileURLWithPath: config))
                let server = try bed.startOurServer(["-c", config, "-v"], ports: [8381, 8382])
                _ = try bed.startSSLocal(localPort: 1081, serverPort: 8381, password: "first-user")
                _ = try bed.startSSLocal(localPort: 1082, serverPort: 8382, password: "second-user")
                _ = try bed.startSSLocal(localPort: 1083, serverPort: 8381, password: "second-user")
                for (proxy, tag) in [(1081, "first"), (1082, "second")] {
                    let transfer = try bed.socksDownload(
                        proxyPort: proxy, url: "http://\(Testbed.wanIPv4)/blob/\(1 << 20)?tag=\(tag)", tag: tag)
                    #expect(transfer.curl.succeeded, "\(transfer.curl.summary)\n\(bed.diagnostics)")
                    #expect(transfer.sha256 == transfer.expectedSHA256)
                }
                let wrong = try bed.socksDownload(
                    proxyPort: 1083, url: "http://\(Testbed.wanIPv4)/blob/1000?tag=wrong", tag: "wrong", maxTime: 6)
                #expect(!wrong.curl.succeeded)
                #expect(wrong.curl.elapsed >= .milliseconds(1500), "held until the deadline, not refused at once")
                #expect(!target.log.contains("tag=wrong"), "\(target.logTail())")
                #expect(server.log.contains("authentication failed"), "\(server.logTail())")
            }
        }

        @Test("A captured stream sent again is refused: nothing reaches the target, silence until the deadline")
        func replayIsRefused() throws {
            try Testbed.with(rules: "none") { bed in
                let password = UUID().uuidString
                let target = try bed.startTarget()
                let server = try bed.startOurServer([
                    "-s", Testbed.wanIPv4, "-p", "\(ProxyChain.serverPort)", "-k", password,
                    "-m", Self.method, "-t", "3", "-v",
                ])
                let script = Testbed.resources.appendingPathComponent("replay_relay.py").path
                let capture = bed.path("captured.bin")
                let recorder = try bed.start(
                    .gw, name: "recorder",
                    ["python3", "-B", script, "record", "8500", Testbed.wanIPv4, "\(ProxyChain.serverPort)", capture])
                try bed.waitUntilListening(.gw, port: 8500, for: recorder)
                _ = try bed.startSSLocal(localPort: 1081, serverPort: 8500, password: password, server: "127.0.0.1")

                let original = try bed.socksDownload(
                    proxyPort: 1081, url: "http://\(Testbed.wanIPv4)/blob/100000?tag=replayme", tag: "original")
                #expect(original.curl.succeeded, "\(original.curl.summary)\n\(bed.diagnostics)")
                #expect(original.sha256 == original.expectedSHA256)
                let deadline = ContinuousClock.now + .seconds(10)
                while recorder.isRunning && ContinuousClock.now < deadline { Thread.sleep(forTimeInterval: 0.05) }
                #expect(!recorder.isRunning, "\(recorder.logTail())")

                let replay = try bed.run(
                    .gw, ["python3", "-B", script, "replay", Testbed.wanIPv4, "\(ProxyChain.serverPort)", capture])
                #expect(replay.succeeded, "\(replay.summary)")
                // Format: "sent N bytes, received M bytes, closed after S s".
                #expect(replay.stdout.contains("received 0 bytes, closed after"), "\(replay.stdout)")
                let seconds = Double(replay.stdout.split(separator: " ").dropLast().last ?? "") ?? 0
                #expect(seconds >= 2.5, "closed at the 3 s deadline, not at once: \(replay.stdout)")
                #expect(
                    target.log.components(separatedBy: "tag=replayme").count == 2,
                    "one request only\n\(target.logTail())")
                #expect(server.log.contains("salt/IV seen before"), "\(server.logTail())")
            }
        }

        @Test("forbidden_ip: the server's own loopback is refused by default, by address and by name")
        func forbiddenLoopback() throws {
            try Testbed.with(rules: "none") { bed in
                let password = UUID().uuidString
                let loopbackService = try bed.start(
                    .wan, name: "loopback-http",
                    ["python3", "-m", "http.server", "9100", "--bind", "127.0.0.1", "--directory", bed.workDir.path])
                try bed.waitUntilListening(.wan, port: 9100, for: loopbackService)
                let guarded = try bed.startOurServer(["-p", "8388", "-k", password, "-m", Self.method, "-v"])
                let open = try bed.startOurServer(
                    ["-p", "8389", "-k", password, "-m", Self.method, "--forbidden-ip", "", "-v"], ports: [8389])
                _ = try bed.startSSLocal(localPort: 1081, serverPort: 8388, password: password)
                _ = try bed.startSSLocal(localPort: 1082, serverPort: 8389, password: password)

                for url in ["http://127.0.0.1:9100/", "http://localhost:9100/"] {
                    let refused = try bed.socksDownload(proxyPort: 1081, url: url, tag: "refused", maxTime: 5)
                    #expect(!refused.curl.succeeded, "\(url)")
                }
                #expect(
                    guarded.log.contains("-> 127.0.0.1:9100: refused: 127.0.0.1 is in forbidden_ip"),
                    "\(guarded.logTail())")
                #expect(guarded.log.contains("-> localhost:9100: refused: "), "\(guarded.logTail())")
                #expect(!loopbackService.log.contains("GET /"), "nothing reached the loopback service")

                // The same request through a server with forbidden_ip "" reaches it: the refusal was the rule.
                let allowed = try bed.socksDownload(
                    proxyPort: 1082, url: "http://localhost:9100/", tag: "allowed", maxTime: 5)
                #expect(allowed.curl.succeeded, "\(allowed.curl.summary)\n\(open.logTail())")
                #expect(bed.waitForLog(loopbackService, "GET /"))
            }
        }

        @Test("--max-connections: connections beyond the limit are closed on accept, the others stay")
        func maxConnections() throws {
            try Testbed.with(rules: "none") { bed in
                let server = try bed.startOurServer(
                    [
                        "-s", Testbed.wanIPv4, "-p", "\(ProxyChain.serverPort)", "-k", "x", "--max-connections", "2",
                        "-v",
                    ])
                // Three silent connections, opened one after another: what each sees within half a second.
                let probe = """
                    import socket, time
                    socks = []
                    for i in range(3):
                        s = socket.create_connection(("\(Testbed.wanIPv4)", \(ProxyChain.serverPort)))
                        s.settimeout(0.5)
                        socks.append(s)
                        time.sleep(0.2)
                    for i, s in enumerate(socks):
                        try:
                            print(i, "closed" if s.recv(1) == b"" else "data")
                        except socket.timeout:
                            print(i, "open")
                    """
                let result = try bed.run(.gw, ["python3", "-c", probe])
                #expect(result.stdout == "0 open\n1 open\n2 closed\n", "\(result.summary)\n\(server.logTail())")
                #expect(server.log.contains("2 connections open (--max-connections); closing"), "\(server.logTail())")
            }
        }

        @Test("UDP: Debian's ss-redir -u (tproxy) -> our ss-server -u -> echo; replies carry their source")
        func udpThroughLibevRedir() throws {
            try Testbed.with(rules: "tproxy-udp") { bed in
                let password = UUID().uuidString
                try bed.startUDPEcho(port: 7)
                let server = try bed.startOurServer([
                    "-p", "\(ProxyChain.serverPort)", "-k", password, "-m", Self.method, "-u", "-v",
                ])
                try bed.waitUntilListening(.wan, port: ProxyChain.serverPort, for: server, udp: true)
                let redir = try bed.start(
                    .gw, name: "libev-ss-redir",
                    [
                        "ss-redir", "-s", Testbed.wanIPv4, "-p", "\(ProxyChain.serverPort)", "-l",
                        "\(ProxyChain.redirPort)",
                        "-b", "0.0.0.0", "-k", password, "-m", Self.method, "-u", "-v",
                    ])
                try bed.waitUntilListening(.gw, port: ProxyChain.redirPort, for: redir, udp: true)

                let client = Testbed.resources.appendingPathComponent("udp_client.py").path
                let result = try bed.run(
                    .lan, ["python3", "-B", client, "echo", Testbed.wanIPv4, "7", "2000"], timeout: .seconds(40))
                #expect(result.succeeded, "\(result.summary)\n\(bed.diagnostics)")
                #expect(result.stdout.contains("2000 of 2000 replies exact, 0 from a wrong source"), "\(result.stdout)")
                #expect(
                    server.log.contains(
                        "udp \(Testbed.wanIPv4.split(separator: ".").prefix(3).joined(separator: "."))"),
                    "the datagrams went through our server\n\(server.logTail())")
                #expect(server.log.contains("-> \(Testbed.wanIPv4):7"), "\(server.logTail())")
            }
        }

        @Test("UDP: our ss-redir -u -> our ss-server -u, IPv4 and IPv6 targets")
        func udpThroughOurRedir() throws {
            try Testbed.with(rules: "tproxy-udp") { bed in
                let password = UUID().uuidString
                try bed.startUDPEcho(port: 7)
                let server = try bed.startOurServer(["-p", "\(ProxyChain.serverPort)", "-k", password, "-U", "-v"])
                _ = try bed.startSSRedir([
                    "-s", Testbed.wanIPv4, "-p", "\(ProxyChain.serverPort)", "-l", "\(ProxyChain.redirPort)", "-b",
                    "::",
                    "-k", password, "-u", "-v",
                ])
                let client = Testbed.resources.appendingPathComponent("udp_client.py").path
                for host in [Testbed.wanIPv4, Testbed.wanIPv6] {
                    let result = try bed.run(
                        .lan, ["python3", "-B", client, "echo", host, "7", "2000"], timeout: .seconds(40))
                    #expect(result.succeeded, "\(result.summary)\n\(bed.diagnostics)")
                    #expect(
                        result.stdout.contains("2000 of 2000 replies exact, 0 from a wrong source"), "\(result.stdout)")
                }
                #expect(server.log.contains("-> [\(Testbed.wanIPv6)]:7"), "\(server.logTail())")
                let tcp = try bed.run(.wan, ["ss", "-Hltn", "sport = :\(ProxyChain.serverPort)"])
                #expect(tcp.stdout.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty, "-U: no TCP listener")
            }
        }
    }
}

/// The ss-server binary's contract with a user: ss-libev's flags in --help, one line and exit 2 on a mistake.
/// No network, so these run without root.
@Suite("ss-server command line") struct ServerCommandLineTests {
    func runServer(_ arguments: [String]) throws -> Command.Result {
        try Command.run([Testbed.ssServerBinary] + arguments, timeout: .seconds(20))
    }

    @Test func helpListsTheSsLibevFlags() throws {
        let result = try runServer(["--help"])
        #expect(result.status == 0)
        for text in [
            "-s, --server <server_host>", "-p, --server-port <server_port>", "-k, --password <password>",
            "--key <key_in_base64>", "-m, --method <encrypt_method>", "-c <config_file>", "-t, --timeout <timeout>",
            "-n <number>", "-u ", "-U ", "--reuse-port", "--fast-open", "--no-delay", "--max-connections <number>",
            "--forbidden-ip <ip_list>", "-v ",
        ] {
            #expect(result.stdout.contains(text), "\(text)")
        }
    }

    @Test func mistakesAreOneLineAndExit2() throws {
        let noPassword = try runServer(["-p", "8388"])
        #expect(noPassword.status == 2)
        #expect(noPassword.stderr.hasPrefix("ss-server: no password given: pass -k PASSWORD"))
        #expect(noPassword.stderr.filter { $0 == "\n" }.count == 1)

        let badForbidden = try runServer(["-p", "8388", "-k", "x", "--forbidden-ip", "10.0.0.0/33"])
        #expect(badForbidden.status == 2)
        #expect(
            badForbidden.stderr
                == "ss-server: flag --forbidden-ip: \"10.0.0.0/33\" is not an IP address or CIDR prefix (e.g. 127.0.0.0/8, ::1/128, 10.0.0.1)\n"
        )

        let config = FileManager.default.temporaryDirectory.appendingPathComponent(
            "ss-server-\(UUID().uuidString).json")
        try Data("{\n  \"port_password\": {\n    \"8381\": [\"pw\"]\n  }\n}\n".utf8).write(to: config)
        defer { try? FileManager.default.removeItem(at: config) }
        let badFile = try runServer(["-c", config.path])
        #expect(badFile.status == 2)
        #expect(
            badFile.stderr
                == "ss-server: \(config.path):3: port_password \"8381\": expected the password as a string, found an array\n"
        )

        let both = try runServer(["-p", "8388", "-k", "x", "-u", "-U"])
        #expect(both.status != 0)
    }
}
