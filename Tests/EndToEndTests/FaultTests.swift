import Foundation
import Testing

extension EndToEnd {
    /// Faults FailureTests does not cover. Each: ss-redir stays up, the failing connection ends within a bound with a
    /// log line that says why, and a connection started meanwhile through a healthy path is unaffected.
    @Suite("Faults") struct FaultTests {
        static let faultPort = 8390
        static let promptClose: Duration = .seconds(5)

        func startFaultServer(_ bed: Testbed, mode: String) throws -> BackgroundProcess {
            let script = Testbed.resources.appendingPathComponent("fault_server.py").path
            let server = try bed.start(
                .wan, name: "fault-\(mode)", ["python3", "-B", script, mode, Testbed.wanIPv4, "\(Self.faultPort)"])
            try bed.waitUntilListening(.wan, port: Self.faultPort, for: server)
            return server
        }

        /// A slow download through the chain that runs while the fault happens; it must finish intact.
        func startBystander(_ bed: Testbed) throws -> BackgroundProcess {
            let script = Testbed.resources.appendingPathComponent("line_client.py").path
            return try bed.start(
                .lan, name: "bystander", ["python3", "-B", script, "slow", Testbed.wanIPv4, "\(ProxyChain.linePort)", "300000", "4"])
        }

        func expectBystanderFinished(_ bed: Testbed, _ bystander: BackgroundProcess) {
            #expect(bed.waitFor(.seconds(30)) { !bystander.isRunning }, "\(bystander.logTail())")
            #expect(bystander.log.contains("received 300000 of 300000 bytes, exact"), "\(bystander.logTail())\n\(bed.diagnostics)")
        }

        /// ss-redir on the real ss-server with a bystander transfer running; then a reload (SIGHUP) points the pool
        /// at the faulty server: new connections meet the fault, the established one keeps its route.
        func withFaultAfterReload(
            mode: String, extra: [String] = [], _ body: (Testbed, BackgroundProcess) throws -> Void
        ) throws {
            try Testbed.with { bed in
                let password = UUID().uuidString
                _ = try bed.startTarget()
                _ = try bed.startSSServer(method: "aes-256-gcm", password: password)
                _ = try startFaultServer(bed, mode: mode)
                let config = bed.path("redir.json")
                func write(port: Int) throws {
                    try Data(
                        """
                        {"server": "\(Testbed.wanIPv4)", "server_port": \(port), "password": "\(password)",
                         "method": "aes-256-gcm", "local_address": "::", "local_port": \(ProxyChain.redirPort)}
                        """.utf8
                    ).write(to: URL(fileURLWithPath: config))
                }
                try write(port: ProxyChain.serverPort)
                let redir = try bed.startSSRedir(["-c", config, "-v"] + extra)
                let bystander = try startBystander(bed)
                #expect(bed.waitForLog(redir, "-> \(Testbed.wanIPv4):\(ProxyChain.linePort) via", timeout: .seconds(5)))
                try write(port: Self.faultPort)
                kill(redir.pid, SIGHUP)
                #expect(bed.waitForLog(redir, "reloaded", timeout: .seconds(5)), "\(redir.logTail())")
                try body(bed, redir)
                expectBystanderFinished(bed, bystander)
                #expect(redir.isRunning)
            }
        }

        @Test("Server resets the connection: the client is closed promptly, with a log line; others unaffected")
        func serverReset() throws {
            try withFaultAfterReload(mode: "rst") { bed, redir in
                let attempt = try bed.download(size: 64 << 10, tag: "reset", maxTime: 10)
                #expect(!attempt.curl.succeeded)
                #expect(attempt.curl.elapsed < Self.promptClose, "\(attempt.curl.summary)")
                #expect(bed.waitForLog(redir, "reset", timeout: .seconds(5)), "\(redir.logTail())")
            }
        }

        @Test("Server accepts then stalls: the timeout closes the connection with a log line; others unaffected")
        func serverStalls() throws {
            try withFaultAfterReload(mode: "stall", extra: ["-t", "3"]) { bed, redir in
                let attempt = try bed.download(size: 64 << 10, tag: "stall", maxTime: 20)
                #expect(!attempt.curl.succeeded)
                #expect(attempt.curl.elapsed < .seconds(10), "\(attempt.curl.summary)")
                #expect(redir.log.contains("no data either way for 3s (timeout)"), "\(redir.logTail())")
            }
        }

        @Test("Client vanishes without a FIN: the idle timeout frees both sockets, with a log line")
        func clientVanishes() throws {
            try Testbed.with { bed in
                let chain = try bed.startChain(extraRedirArguments: ["-t", "3"])
                let usage = ProcessUsage(pid: chain.ssRedir.pid)
                let baseline = usage.openDescriptors
                // Ten connections whose replies the target delays a minute; then lan drops every packet to the
                // target and the client dies: its FINs and RSTs never reach the gateway.
                let script = Testbed.resources.appendingPathComponent("load_client.py").path
                let holder = try bed.start(
                    .lan, name: "vanishing", ["python3", "-B", script, "hold", Testbed.wanIPv4, "\(ProxyChain.linePort)", "10", "60"])
                #expect(bed.waitFor(.seconds(10)) { holder.log.contains("holding 10") })
                #expect(bed.waitFor(.seconds(5)) { usage.openDescriptors >= baseline + 20 }, "\(usage.openDescriptors)")
                let drop = try bed.run(.lan, [
                    "nft", "add table inet vanish; add chain inet vanish out { type filter hook output priority 0; };"
                        + " add rule inet vanish out ip daddr \(Testbed.wanIPv4) tcp dport \(ProxyChain.linePort) drop",
                ])
                #expect(drop.succeeded, "\(drop.summary)")
                _ = holder.signalAndWait(SIGKILL, timeout: .seconds(5))
                let freed = bed.waitFor(.seconds(10)) { usage.openDescriptors <= baseline + 2 }
                #expect(freed, "\(usage.openDescriptors) descriptors, baseline \(baseline)")
                #expect(chain.ssRedir.log.occurrences(of: "(timeout); closing both sides") >= 10, "\(chain.ssRedir.logTail())")
                _ = try bed.run(.lan, ["nft", "delete table inet vanish"])
                let after = try bed.download(size: 64 << 10, tag: "after-vanish")
                #expect(after.curl.succeeded && after.sha256 == after.expectedSHA256, "\(bed.diagnostics)")
            }
        }

        @Test("Target unreachable (closed port, unroutable address): closed promptly, ss-redir stays up")
        func targetUnreachable() throws {
            try Testbed.with { bed in
                let chain = try bed.startChain(extraRedirArguments: ["-t", "5"])
                let bystander = try startBystander(bed)
                let closed = try bed.run(.lan, ["curl", "-sS", "--max-time", "10", "http://\(Testbed.wanIPv4):81/"], timeout: .seconds(20))
                #expect(!closed.succeeded)
                #expect(closed.elapsed < Self.promptClose, "\(closed.summary)")
                // Nothing answers for 10.231.2.99: ss-server's connect times out, or our idle timeout ends it.
                let unroutable = try bed.run(.lan, ["curl", "-sS", "--max-time", "20", "http://10.231.2.99/"], timeout: .seconds(30))
                #expect(!unroutable.succeeded)
                #expect(unroutable.elapsed < .seconds(15), "\(unroutable.summary)")
                #expect(chain.ssRedir.log.contains("-> 10.231.2.99:80"), "\(chain.ssRedir.logTail())")
                expectBystanderFinished(bed, bystander)
                #expect(chain.ssRedir.isRunning)
            }
        }

        @Test("DNS upstream down: the forwarder answers SERVFAIL within its timeout, with a log line; TCP unaffected")
        func dnsUpstreamDown() throws {
            try Testbed.with { bed in
                // Nothing listens on wan:53: the query through the tunnel gets no answer.
                let chain = try bed.startChain(extraRedirArguments: [
                    "-u", "--dns-listen", "127.0.0.1:5353", "--dns-remote", "\(Testbed.wanIPv4):53",
                ])
                let dig = try bed.run(
                    .gw, ["dig", "+tries=1", "+time=15", "-p", "5353", "@127.0.0.1", "down.test", "A"], timeout: .seconds(30))
                #expect(dig.stdout.contains("SERVFAIL"), "\(dig.summary)\n\(chain.ssRedir.logTail())")
                #expect(dig.elapsed < .seconds(14), "\(dig.summary)")
                #expect(chain.ssRedir.log.contains("answering SERVFAIL"), "\(chain.ssRedir.logTail())")
                let after = try bed.download(size: 64 << 10, tag: "after-dns")
                #expect(after.curl.succeeded && after.sha256 == after.expectedSHA256, "\(bed.diagnostics)")
            }
        }

        /// Without the nat table the kernel no longer translates the established redirected flows either (the NAT
        /// hooks go with the last nat chain): the LAN side of those connections breaks. ss-redir's halves are freed
        /// (by the reset, at the latest by the idle timeout), new connections simply go direct.
        @Test("nft rules removed under a running daemon: no crash or spin, broken relays freed, new connections direct")
        func rulesRemoved() throws {
            try Testbed.with { bed in
                let chain = try bed.startChain(extraRedirArguments: ["-t", "3"])
                let usage = ProcessUsage(pid: chain.ssRedir.pid)
                let baseline = usage.openDescriptors
                let bystander = try startBystander(bed)
                #expect(bed.waitForLog(chain.ssRedir, "-> \(Testbed.wanIPv4):\(ProxyChain.linePort) via", timeout: .seconds(5)))
                let flush = try bed.run(.gw, ["nft", "flush", "ruleset"])
                #expect(flush.succeeded, "\(flush.summary)")
                let direct = try bed.download(size: 64 << 10, tag: "unredirected")
                #expect(direct.curl.succeeded && direct.sha256 == direct.expectedSHA256, "\(bed.diagnostics)")
                #expect(!chain.ssRedir.log.contains("-> \(Testbed.wanIPv4):\(ProxyChain.httpPort)"), "it went direct")
                #expect(bed.waitFor(.seconds(10)) { !bystander.isRunning })
                #expect(bed.waitFor(.seconds(10)) { usage.openDescriptors <= baseline + 2 }, "\(usage.openDescriptors)")
                #expect(usage.cpuSeconds(over: .seconds(1)) < 0.2)
                #expect(chain.ssRedir.isRunning, "\(chain.ssRedir.logTail())")
            }
        }
    }
}
