import Foundation
import Testing

extension EndToEnd {
    /// The gateway as it is in the field, all at once: LAN bridge with br_netfilter on, an fw4-like table beside
    /// ours, the server by a name only a dnsmasq on the WAN side knows, `local_address` 0.0.0.0, and the daemon
    /// started with a soft `nofile` of 1024 (procd's); then a boot with the WAN link down.
    @Suite("The gateway's real world") struct GatewayFieldTests {
        static let echoPort = 7

        func startResolver(_ bed: Testbed) throws -> String {
            let dnsmasq = try bed.start(
                .wan, name: "dnsmasq",
                [
                    "dnsmasq", "--keep-in-foreground", "--no-resolv", "--no-hosts", "--bind-interfaces",
                    "--listen-address=\(Testbed.wanIPv4)", "--port=53", "--pid-file=", "--local-ttl=5",
                    "--host-record=ss.test,\(PublicAddresses.server4)",
                ])
            try bed.waitUntilListening(.wan, port: 53, for: dnsmasq, udp: true)
            return try bed.writeFile("resolv.conf", "nameserver \(Testbed.wanIPv4)\noptions timeout:1 attempts:1\n")
        }

        func startServers(_ bed: Testbed, password: String) throws -> BackgroundProcess {
            let target = try bed.startTarget()
            try bed.startUDPEcho(port: Self.echoPort)
            let server = try bed.start(
                .wan, name: "ss-server",
                [
                    "prlimit", "--nofile=20000:20000", "ss-server", "-s", PublicAddresses.server4, "-p",
                    "\(ProxyChain.serverPort)", "-k", password, "-m", "aes-256-gcm", "-u",
                ])
            try bed.waitUntilListening(.wan, port: ProxyChain.serverPort, for: server)
            return target
        }

        func config(_ bed: Testbed, password: String, lan: String) throws -> String {
            try bed.writeFile(
                "field.json",
                """
                {"server": "ss.test", "server_port": \(ProxyChain.serverPort), "password": "\(password)",
                 "method": "aes-256-gcm", "local_address": "0.0.0.0", "local_port": \(ProxyChain.redirPort),
                 "mode": "tcp_and_udp", "lan_interfaces": ["\(lan)"]}
                """)
        }

        /// The daemon as procd starts it: soft nofile 1024 (it raises the soft limit to the hard one itself).
        func startDaemon(_ bed: Testbed, config: String, resolvConf: String) throws -> BackgroundProcess {
            try bed.start(
                .gw, name: "ss-redir",
                [
                    "prlimit", "--nofile=1024:20000", Testbed.ssRedirBinary, "-c", config, "--resolv-conf", resolvConf,
                    "--control", bed.path("ss-redir.sock"), "-v",
                ])
        }

        func openFileLimit(_ pid: pid_t) -> String {
            let limits = (try? String(contentsOfFile: "/proc/\(pid)/limits", encoding: .utf8)) ?? ""
            return limits.split(separator: "\n").first { $0.hasPrefix("Max open files") }
                .map { $0.split(separator: " ", omittingEmptySubsequences: true).dropFirst(3).prefix(2).joined(separator: " ") } ?? "?"
        }

        func bridgeCalls(_ bed: Testbed) throws -> String {
            try bed.run(.gw, ["sysctl", "-n", "net.bridge.bridge-nf-call-iptables", "net.bridge.bridge-nf-call-ip6tables"])
                .stdout.split(separator: "\n").joined(separator: " ")
        }

        @Test("Bridge + br_netfilter + fw4 + server by name + 0.0.0.0 + soft nofile 1024: 1,500 connections at once, UDP v4/v6, teardown restores all")
        func everythingAtOnce() throws {
            try Testbed.with(rules: "none", lan: .bridge, fw4: true) { bed in
                try bed.addPublicAddresses()
                let password = UUID().uuidString
                let resolvConf = try startResolver(bed)
                _ = try startServers(bed, password: password)
                let config = try config(bed, password: password, lan: "br-lan")
                let before = try bed.firewallSnapshot().split(separator: "\n").filter { !$0.hasPrefix("fe80::") }
                let fw4Before = try bed.run(.gw, ["nft", "list", "table", "inet", "fw4"]).stdout

                let setup = try bed.ssRedir(["setup", "-c", config, "--disable-bridge-nf"])
                #expect(setup.succeeded, "\(setup.summary)")
                #expect(try bridgeCalls(bed) == "0 0")
                let redir = try startDaemon(bed, config: config, resolvConf: resolvConf)
                try bed.waitUntilListening(.gw, port: ProxyChain.redirPort, for: redir)
                try bed.waitUntilListening(.gw, port: ProxyChain.redirPort, for: redir, udp: true)
                let limit = openFileLimit(redir.pid)
                #expect(limit == "20000 20000", "Max open files \(limit)")
                let check = try bed.ssRedir(["check", "-c", config, "--control", bed.path("ss-redir.sock")])
                #expect(check.stdout.contains("may open 20000 files (about 10000 connections at once)"), "\(check.stdout)")
                #expect(check.stdout.contains("ok    no other nftables table drops what ss-redir receives"), "\(check.stdout)")

                let script = Testbed.resources.appendingPathComponent("line_client.py").path
                let started = ContinuousClock.now
                let many = try bed.run(
                    .lan, ["prlimit", "--nofile=8192:8192", "python3", "-B", script, "concurrent", PublicAddresses.target4,
                           "\(ProxyChain.linePort)", "1500", "4096"], timeout: .seconds(40))
                #expect(many.succeeded && many.stdout.hasPrefix("1500 of 1500 replies correct"), "\(many.summary)\n\(redir.logTail())")
                print("1,500 connections at once through ss-redir (soft nofile 1024 at start): \(many.stdout.trimmingCharacters(in: .whitespacesAndNewlines)) in \(started.duration(to: .now))")
                #expect(redir.isRunning)

                let udp = Testbed.resources.appendingPathComponent("udp_client.py").path
                // The UDP relay looks the server name up on its first datagram and drops datagrams until the
                // answer is in ("ss.test is not resolved yet"), even though TCP resolved it: one to start it.
                _ = try bed.run(.lan, ["python3", "-B", udp, "once", PublicAddresses.target4, "\(Self.echoPort)"])
                for host in [PublicAddresses.target4, PublicAddresses.target6] {
                    let echo = try bed.run(.lan, ["python3", "-B", udp, "echo", host, "\(Self.echoPort)", "50"])
                    #expect(
                        echo.stdout.hasPrefix("50 of 50 replies exact") && echo.stdout.contains(" 0 missing"),
                        "\(host): \(echo.summary)\n\(redir.logTail())")
                }

                redir.stop()
                let teardown = try bed.ssRedir(["teardown"])
                #expect(teardown.succeeded, "\(teardown.summary)")
                #expect(try bridgeCalls(bed) == "1 1")
                #expect(try bed.run(.gw, ["nft", "list", "table", "inet", "fw4"]).stdout == fw4Before)
                let after = try bed.firewallSnapshot().split(separator: "\n").filter { !$0.hasPrefix("fe80::") }
                #expect(after == before)
            }
        }

        @Test("Setup and daemon started with the WAN link down keep running and proxy within 15 s of the link coming up")
        func bootBeforeWAN() throws {
            try Testbed.with(rules: "none") { bed in
                try bed.addPublicAddresses()
                let password = UUID().uuidString
                let resolvConf = try startResolver(bed)
                let target = try startServers(bed, password: password)
                let lan = try bed.interface(.gw, suffix: "-gwl")
                let wan = try bed.interface(.gw, suffix: "-gww")
                let config = try config(bed, password: password, lan: lan)

                // The WAN link is down: its routes go with it (a PPPoE link's default route does the same).
                #expect(try bed.run(.gw, ["ip", "link", "set", wan, "down"]).succeeded)
                let setup = try bed.ssRedir(["setup", "-c", config])
                #expect(setup.succeeded, "\(setup.summary)")
                let redir = try startDaemon(bed, config: config, resolvConf: resolvConf)
                try bed.waitUntilListening(.gw, port: ProxyChain.redirPort, for: redir)
                // LAN hosts keep trying for a while: the daemon's lookups and connects fail, it stays up.
                let down = ContinuousClock.now
                var attempts = 0
                while down.duration(to: .now) < .seconds(6) {
                    attempts += 1
                    let early = try bed.fetch(PublicAddresses.target4, tag: "wan-down-\(attempts)", maxTime: 1)
                    #expect(!early.succeeded)
                    Thread.sleep(forTimeInterval: 0.5)
                }
                #expect(redir.isRunning, "\(redir.logTail())")

                // Link up, then its routes again (as a PPPoE client does), each retried while the link settles.
                let up = ContinuousClock.now
                for command in [
                    ["ip", "link", "set", wan, "up"], ["ip", "addr", "replace", "fd31:2::1/64", "dev", wan, "nodad"],
                    ["ip", "route", "replace", "11.231.2.0/24", "via", Testbed.wanIPv4],
                    ["ip", "-6", "route", "replace", "2a11:231:2::/64", "via", Testbed.wanIPv6],
                ] {
                    var result = try bed.run(.gw, command)
                    for _ in 0..<20 where !result.succeeded {
                        Thread.sleep(forTimeInterval: 0.1)
                        result = try bed.run(.gw, command)
                    }
                    #expect(result.succeeded, "\(command.joined(separator: " ")): \(result.summary)")
                }
                var proxied: Duration?
                var attempt = 0
                while up.duration(to: .now) < .seconds(15) {
                    attempt += 1
                    if try bed.fetch(PublicAddresses.target4, tag: "wan-up-\(attempt)", maxTime: 2).succeeded {
                        proxied = up.duration(to: .now)
                        break
                    }
                    Thread.sleep(forTimeInterval: 0.25)
                }
                #expect(proxied != nil, "not proxied within 15 s of the link coming up\n\(redir.logTail())")
                if proxied != nil {
                    let peer = bed.peerSeenByTarget(target, tag: "wan-up-\(attempt)")
                    #expect(peer != nil && peer != "::ffff:\(Testbed.lanIPv4)", "went direct: \(peer ?? "nothing")")
                    print("WAN link up -> first proxied request after \(proxied!) (\(attempt) attempts)")
                }
                #expect(redir.isRunning)
                #expect(try bed.ssRedir(["teardown"]).succeeded)
            }
        }
    }
}
