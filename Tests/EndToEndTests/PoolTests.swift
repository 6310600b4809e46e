import Foundation
import Testing

extension EndToEnd {
    /// Three Debian ss-servers in wan behind one ss-redir.
    @Suite("Server pool") struct PoolTests {
        static let ports = [8388, 8389, 8390]

        /// Probes go to the target's IPv6 address, so a server's log tells probes (fd31:2::2) from the
        /// downloads under test (10.231.2.2).
        func writeConfig(
            _ bed: Testbed, password: String, strategy: String, ports: [Int] = PoolTests.ports
        ) throws -> String {
            let servers = ports.map { #"{"server": "\#(Testbed.wanIPv4)", "server_port": \#($0)}"# }
            let json = """
                {
                  "servers": [\(servers.joined(separator: ", "))],
                  "password": "\(password)", "method": "aes-256-gcm",
                  "local_address": "::", "local_port": \(ProxyChain.redirPort),
                  "strategy": "\(strategy)",
                  "probe_target": "[\(Testbed.wanIPv6)]:\(ProxyChain.httpPort)",
                  "probe_interval": 1,
                  "control_socket": "\(bed.path("control.sock"))",
                  "metrics": "127.0.0.1:9464"
                }
                """
            let path = bed.path("pool.json")
            try Data(json.utf8).write(to: URL(fileURLWithPath: path))
            return path
        }

        @Test("A member killed mid-run costs no new connection; it is ejected and re-admitted when back")
        func killOneMember() throws {
            try Testbed.with { bed in
                let password = UUID().uuidString
                _ = try bed.startTarget()
                var servers = try Self.ports.map { try bed.startSSServer(method: "aes-256-gcm", password: password, port: $0) }
                let config = try writeConfig(bed, password: password, strategy: "round-robin")
                let redir = try bed.startSSRedir(["-c", config, "-v"])

                var failures: [String] = []
                for index in 0..<45 {
                    if index == 15 { servers[1].stop() }
                    let transfer = try bed.download(size: 16 << 10, tag: "pool-\(index)", maxTime: 10)
                    if !(transfer.curl.succeeded && transfer.sha256 == transfer.expectedSHA256) {
                        failures.append("#\(index): \(transfer.curl.summary)")
                    }
                }
                #expect(failures.isEmpty, "\(failures)\n\(bed.diagnostics)")
                #expect(redir.log.contains(":8389 is down"), "\(redir.logTail(lines: 40))")

                // `ss-redir status` shows it down, as a table and as JSON.
                let table = try Command.run([Testbed.ssRedirBinary, "status", "--control", bed.path("control.sock")])
                #expect(table.succeeded, "\(table.summary)")
                let downRow = table.stdout.split(separator: "\n").first { $0.contains(":8389") }
                #expect(downRow?.contains("down") == true, "\(table.stdout)")
                let json = try Command.run([Testbed.ssRedirBinary, "status", "--json", "--control", bed.path("control.sock")])
                let report = try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [String: Any]
                let members = report?["members"] as? [[String: Any]] ?? []
                #expect(members.map { $0["state"] as? String } == ["up", "down", "up"], "\(json.stdout)")
                #expect(members.reduce(0) { $0 + ($1["total_connections"] as? Int ?? 0) } >= 45, "\(json.stdout)")
                #expect((members[0]["bytes_down"] as? Int ?? 0) > 0)

                // The Prometheus endpoint says the same.
                let metrics = try bed.run(.gw, ["curl", "-sS", "--max-time", "5", "http://127.0.0.1:9464/metrics"])
                #expect(metrics.stdout.contains("ss_redir_server_up{server=\"\(Testbed.wanIPv4):8389\",name=\"\(Testbed.wanIPv4)\"} 0"), "\(metrics.summary)")
                #expect(metrics.stdout.contains("# TYPE ss_redir_server_connections_total counter"))

                servers[1] = try bed.startSSServer(method: "aes-256-gcm", password: password, port: Self.ports[1])
                let deadline = ContinuousClock.now + .seconds(15)
                while !redir.log.contains("8389 is back up") && ContinuousClock.now < deadline {
                    Thread.sleep(forTimeInterval: 0.2)
                }
                #expect(redir.log.contains("8389 is back up"), "\(redir.logTail(lines: 40))")
                // Round-robin uses it again.
                let before = servers[1].log.components(separatedBy: "connect to").count
                for index in 0..<6 {
                    let transfer = try bed.download(size: 4 << 10, tag: "again-\(index)", maxTime: 10)
                    #expect(transfer.curl.succeeded)
                }
                #expect(servers[1].log.components(separatedBy: "connect to").count > before)
            }
        }

        @Test("failover keeps to the first healthy member")
        func failoverOrder() throws {
            try Testbed.with { bed in
                let password = UUID().uuidString
                _ = try bed.startTarget()
                let servers = try Self.ports.map { try bed.startSSServer(method: "aes-256-gcm", password: password, port: $0) }
                let config = try writeConfig(bed, password: password, strategy: "failover")
                _ = try bed.startSSRedir(["-c", config])
                for index in 0..<4 {
                    let transfer = try bed.download(size: 4 << 10, tag: "first-\(index)")
                    #expect(transfer.curl.succeeded)
                }
                servers[0].stop()
                for index in 0..<4 {
                    let transfer = try bed.download(size: 4 << 10, tag: "second-\(index)")
                    #expect(transfer.curl.succeeded, "\(transfer.curl.summary)\n\(bed.diagnostics)")
                }
                #expect(servers[1].log.contains("connect to \(Testbed.wanIPv4):\(ProxyChain.httpPort)"))
                #expect(!servers[2].log.contains("connect to \(Testbed.wanIPv4):\(ProxyChain.httpPort)"))
            }
        }
    
        @Test("SIGHUP/`ss-redir reload` swaps the pool; a broken config is refused; a running download survives")
        func reloadPool() throws {
            try Testbed.with { bed in
                let password = UUID().uuidString
                _ = try bed.startTarget()
                let servers = try Self.ports.map { try bed.startSSServer(method: "aes-256-gcm", password: password, port: $0) }
                let config = try writeConfig(bed, password: password, strategy: "round-robin", ports: [8388, 8389])
                let redir = try bed.startSSRedir(["-c", config, "-v"])
                let control = ["--control", bed.path("control.sock")]

                // A download read slowly enough to last across both reloads.
                let longStarted = ContinuousClock.now
                let script = Testbed.resources.appendingPathComponent("line_client.py").path
                let long = try bed.start(
                    .lan, name: "slow-client",
                    ["python3", "-B", script, "slow", Testbed.wanIPv4, "\(ProxyChain.linePort)", "\(2 << 20)", "3"])
                Thread.sleep(forTimeInterval: 0.5)

                _ = try writeConfig(bed, password: password, strategy: "round-robin", ports: [8389, 8390])
                let reload = try Command.run([Testbed.ssRedirBinary, "reload"] + control)
                #expect(reload.succeeded, "\(reload.summary)")
                try waitForLog(redir, "reloaded: 2 server(s)")

                try Data("{ \"servers\": [ broken".utf8).write(to: URL(fileURLWithPath: config))
                _ = try Command.run([Testbed.ssRedirBinary, "reload"] + control)
                try waitForLog(redir, "reload failed, keeping the running configuration")

                let status = try Command.run([Testbed.ssRedirBinary, "status", "--json"] + control)
                let report = try JSONSerialization.jsonObject(with: Data(status.stdout.utf8)) as? [String: Any]
                let addresses = (report?["members"] as? [[String: Any]] ?? []).compactMap { $0["address"] as? String }
                #expect(addresses == ["\(Testbed.wanIPv4):8389", "\(Testbed.wanIPv4):8390"], "\(status.stdout)")

                let before8388 = servers[0].log.components(separatedBy: "connect to \(Testbed.wanIPv4)").count
                for index in 0..<4 {
                    let transfer = try bed.download(size: 4 << 10, tag: "after-reload-\(index)")
                    #expect(transfer.curl.succeeded)
                }
                #expect(servers[0].log.components(separatedBy: "connect to \(Testbed.wanIPv4)").count == before8388)
                #expect(servers[2].log.contains("connect to \(Testbed.wanIPv4):\(ProxyChain.httpPort)"))

                let deadline = ContinuousClock.now + .seconds(30)
                while long.isRunning && ContinuousClock.now < deadline { Thread.sleep(forTimeInterval: 0.1) }
                #expect(!long.isRunning)
                // It really ran across both reloads.
                #expect(ContinuousClock.now - longStarted > .seconds(2), "\(ContinuousClock.now - longStarted)")
                #expect(long.log.contains("received \(2 << 20) of \(2 << 20) bytes, exact"), "\(long.logTail())")
            }
        }

        /// Two members, each behind a forwarder whose added latency the test sets (tc netem stands in poorly:
        /// this kernel has no sch_netem). least-latency must leave the slow one, and come back when it is fast.
        @Test("least-latency moves traffic away from a slowed member and back")
        func leastLatency() throws {
            try Testbed.with { bed in
                let password = UUID().uuidString
                _ = try bed.startTarget()
                _ = try bed.startSSServer(method: "aes-256-gcm", password: password, port: 8388)
                _ = try bed.startSSServer(method: "aes-256-gcm", password: password, port: 8389)
                let script = Testbed.resources.appendingPathComponent("delay_forwarder.py").path
                let delays = [bed.path("delay-a"), bed.path("delay-b")]
                try Data("0".utf8).write(to: URL(fileURLWithPath: delays[0]))
                try Data("200".utf8).write(to: URL(fileURLWithPath: delays[1]))
                for (index, (listen, target)) in [(9388, 8388), (9389, 8389)].enumerated() {
                    let forwarder = try bed.start(
                        .wan, name: "delay-\(listen)",
                        ["python3", "-B", script, Testbed.wanIPv4, "\(listen)", Testbed.wanIPv4, "\(target)", delays[index]])
                    try bed.waitUntilListening(.wan, port: listen, for: forwarder)
                }
                let config = try writeConfig(bed, password: password, strategy: "least-latency", ports: [9389, 9388])
                let redir = try bed.startSSRedir(["-c", config, "-v"])
                let control = ["--control", bed.path("control.sock")]

                func preferred(timeout: Duration) throws -> String? {
                    // Wait until probes measured both, then see where a new connection goes.
                    let deadline = ContinuousClock.now + timeout
                    var last: String?
                    while ContinuousClock.now < deadline {
                        let before = redir.log.split(separator: "\n").count
                        let transfer = try bed.download(size: 1 << 10, tag: "ll", maxTime: 10)
                        #expect(transfer.curl.succeeded)
                        let lines = redir.log.split(separator: "\n").dropFirst(before)
                        last = lines.first { $0.contains("-> \(Testbed.wanIPv4):\(ProxyChain.httpPort) via") }
                            .flatMap { $0.split(separator: " ").last.map(String.init) }
                        if last == "\(Testbed.wanIPv4):9388" { return last }
                        Thread.sleep(forTimeInterval: 0.5)
                    }
                    return last
                }
                // 9389 is listed first but slow: traffic goes to 9388.
                #expect(try preferred(timeout: .seconds(15)) == "\(Testbed.wanIPv4):9388", "\(redir.logTail(lines: 30))")

                // Now 9388 becomes slow and 9389 fast: traffic moves back to 9389.
                try Data("400".utf8).write(to: URL(fileURLWithPath: delays[0]))
                try Data("0".utf8).write(to: URL(fileURLWithPath: delays[1]))
                let deadline = ContinuousClock.now + .seconds(20)
                var moved = false
                while !moved && ContinuousClock.now < deadline {
                    let before = redir.log.split(separator: "\n").count
                    _ = try bed.download(size: 1 << 10, tag: "ll2", maxTime: 10)
                    moved = redir.log.split(separator: "\n").dropFirst(before).contains {
                        $0.contains("via \(Testbed.wanIPv4):9389")
                    }
                    if !moved { Thread.sleep(forTimeInterval: 0.5) }
                }
                let status = try Command.run([Testbed.ssRedirBinary, "status"] + control)
                #expect(moved, "\(status.stdout)\n\(redir.logTail(lines: 30))")
            }
        }

        @Test("UDP probes: a member whose server relays no UDP is skipped for UDP only")
        func udpProbe() throws {
            try Testbed.with(rules: "tproxy-udp") { bed in
                let password = UUID().uuidString
                _ = try bed.startTarget()
                _ = try bed.startSSServer(method: "aes-256-gcm", password: password, port: 8388, udp: false)
                _ = try bed.startSSServer(method: "aes-256-gcm", password: password, port: 8389)
                try bed.startUDPEcho(port: 7)
                let config = try writeConfig(bed, password: password, strategy: "failover", ports: [8388, 8389])
                let redir = try bed.startSSRedir(
                    ["-c", config, "-u", "-v", "--probe-udp-target", "\(Testbed.wanIPv4):7"])
                try waitForLog(redir, "\(Testbed.wanIPv4):8388 does not relay UDP")

                let udp = try bed.run(
                    .lan,
                    ["python3", "-B", Testbed.resources.appendingPathComponent("udp_client.py").path, "once",
                     Testbed.wanIPv4, "7"])
                #expect(udp.succeeded, "\(udp.summary)\n\(bed.diagnostics)")
                #expect(redir.log.contains("-> \(Testbed.wanIPv4):7 via \(Testbed.wanIPv4):8389"), "\(redir.logTail())")
                let tcp = try bed.download(size: 4 << 10, tag: "tcp-first")
                #expect(tcp.curl.succeeded)
                #expect(redir.log.contains("-> \(Testbed.wanIPv4):\(ProxyChain.httpPort) via \(Testbed.wanIPv4):8388"))

                let status = try Command.run(
                    [Testbed.ssRedirBinary, "status", "--json", "--control", bed.path("control.sock")])
                let report = try JSONSerialization.jsonObject(with: Data(status.stdout.utf8)) as? [String: Any]
                let members = report?["members"] as? [[String: Any]] ?? []
                #expect(members.map { $0["udp_state"] as? String } == ["down", "up"], "\(status.stdout)")
                #expect(members.map { $0["state"] as? String } == ["up", "up"], "\(status.stdout)")
            }
        }

        func waitForLog(_ process: BackgroundProcess, _ text: String) throws {
            let deadline = ContinuousClock.now + .seconds(10)
            while !process.log.contains(text) && ContinuousClock.now < deadline { Thread.sleep(forTimeInterval: 0.05) }
            #expect(process.log.contains(text), "\(process.logTail())")
        }
}
}
