import Foundation
import Testing

/// `ss-redir check` with no daemon: the config line is green, the missing daemon red with a fix, exit code 1.
/// No network and no root.
@Suite("ss-redir check") struct CheckCommandTests {
    @Test("A valid config with no daemon: config ok, daemon FAIL with a fix, exit 1")
    func noDaemon() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("ssredir-check-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let config = directory.appendingPathComponent("config.json")
        let socket = directory.appendingPathComponent("control.sock").path
        try Data(
            """
            {"server": "192.0.2.1", "server_port": 8388, "password": "x", "local_port": 1080,
             "control_socket": "\(socket)"}
            """.utf8
        ).write(to: config)
        let result = try Command.run([Testbed.ssRedirBinary, "check", "-c", config.path], timeout: .seconds(20))
        #expect(result.status == 1, "\(result.summary)")
        #expect(result.stdout.contains("ok    config \(config.path): 1 servers, port 1080, mode tcp_only"))
        #expect(result.stdout.contains("FAIL  no ss-redir answers on \(socket)"))
        #expect(result.stdout.contains("      fix: start it"))
    }

    @Test("A broken config is a red line naming the key, exit 1")
    func badConfig() throws {
        let config = FileManager.default.temporaryDirectory.appendingPathComponent("ssredir-\(UUID().uuidString).json")
        try Data("{\n  \"server\": \"192.0.2.1\",\n  \"server_port\": true\n}\n".utf8).write(to: config)
        defer { try? FileManager.default.removeItem(at: config) }
        let result = try Command.run(
            [Testbed.ssRedirBinary, "check", "-c", config.path, "--control", "/nonexistent/ss-redir.sock"],
            timeout: .seconds(20))
        #expect(result.status == 1, "\(result.summary)")
        #expect(result.stdout.contains("FAIL  \(config.path):3: key \"server_port\""))
    }
}

extension EndToEnd {
    @Suite("ss-redir check against a gateway") struct CheckGatewayTests {
        @Test("UDP config: policy routing is red before setup (with the ip rule fix) and green after")
        func policyRouting() throws {
            try Testbed.with(rules: "none") { bed in
                let socket = bed.path("control.sock")
                let config = try bed.writeFile(
                    "check.json",
                    """
                    {"server": "\(Testbed.wanIPv4)", "server_port": 8388, "password": "x", "local_port": 1080,
                     "local_address": "::", "mode": "tcp_and_udp", "control_socket": "\(socket)"}
                    """)
                let before = try bed.ssRedir(["check", "-c", config])
                #expect(before.status == 1)
                #expect(before.stdout.contains("FAIL  policy routing: IPv4 packets marked 0x1 are routed out"), "\(before.stdout)")
                #expect(before.stdout.contains("ip rule add fwmark 0x1 lookup 100"), "\(before.stdout)")
                let setup = try bed.ssRedir(["setup", "-c", config])
                #expect(setup.succeeded, "\(setup.summary)")
                let after = try bed.ssRedir(["check", "-c", config])
                #expect(after.stdout.contains("ok    policy routing: IPv4 packets marked 0x1 are delivered locally"), "\(after.stdout)")
                #expect(after.stdout.contains("ok    policy routing: IPv6"), "\(after.stdout)")
                #expect(after.stdout.contains("ok    nftables table inet ss_redir is installed"), "\(after.stdout)")
            }
        }

        @Test("A running chain: each server answers a real request over TCP and UDP; a wrong password is red")
        func membersAnswer() throws {
            try Testbed.with { bed in
                let password = UUID().uuidString
                let chain = try bed.startChain(password: password, extraRedirArguments: ["-u", "--control", bed.path("c.sock")])
                try bed.startUDPEcho(port: 7)
                func config(_ password: String) throws -> String {
                    try bed.writeFile(
                        "check-\(password.prefix(4)).json",
                        """
                        {"server": "\(Testbed.wanIPv4)", "server_port": \(ProxyChain.serverPort), "password": "\(password)",
                         "method": "aes-256-gcm", "local_port": \(ProxyChain.redirPort), "mode": "tcp_and_udp",
                         "probe_target": "\(Testbed.wanIPv4):\(ProxyChain.httpPort)", "probe_udp_target": "\(Testbed.wanIPv4):7",
                         "control_socket": "\(bed.path("c.sock"))"}
                        """)
                }
                let good = try bed.ssRedir(["check", "-c", config(password)])
                #expect(good.stdout.contains("ok    test request through \(Testbed.wanIPv4):\(ProxyChain.serverPort) to \(Testbed.wanIPv4):80: answered in"), "\(good.stdout)")
                #expect(good.stdout.contains("ok    DNS query over UDP through"), "\(good.stdout)")
                #expect(good.stdout.contains("ok    daemon answers"), "\(good.stdout)")
                let bad = try bed.ssRedir(["check", "-c", config("wrong-password")])
                #expect(bad.status == 1)
                #expect(bad.stdout.contains("FAIL  test request through"), "\(bad.stdout)")
                _ = chain
            }
        }
    
        @Test("dns_listen: the forwarder is asked a real query; red when nothing answers, green when something does")
        func dnsForwarder() throws {
            try Testbed.with(rules: "none") { bed in
                let config = try bed.writeFile(
                    "dns-check.json",
                    """
                    {"server": "192.0.2.1", "server_port": 8388, "password": "x", "local_port": 1080,
                     "dns_listen": "127.0.0.1:5354", "control_socket": "\(bed.path("none.sock"))"}
                    """)
                let silent = try bed.ssRedir(["check", "-c", config])
                #expect(silent.stdout.contains("FAIL  the DNS forwarder on 127.0.0.1:5354 does not answer"), "\(silent.stdout)")
                let resolver = try bed.start(
                    .gw, name: "dnsmasq",
                    ["dnsmasq", "--keep-in-foreground", "--no-resolv", "--no-hosts", "--port=5354",
                     "--listen-address=127.0.0.1", "--bind-interfaces", "--pid-file="])
                try bed.waitUntilListening(.gw, port: 5354, for: resolver, udp: true)
                let answered = try bed.ssRedir(["check", "-c", config])
                #expect(answered.stdout.contains("ok    the DNS forwarder on 127.0.0.1:5354 answers"), "\(answered.stdout)")
            }
        }
    
        @Test("Strict rp_filter is red with the sysctl fix, loose is green; the clock line is there")
        func environment() throws {
            try Testbed.with(rules: "none") { bed in
                let config = try bed.writeFile(
                    "env.json",
                    """
                    {"server": "192.0.2.1", "server_port": 8388, "password": "x", "local_port": 1080,
                     "local_address": "::", "mode": "tcp_and_udp", "control_socket": "\(bed.path("none.sock"))"}
                    """)
                _ = try bed.run(.gw, ["sysctl", "-qw", "net.ipv4.conf.all.rp_filter=1"])
                let strict = try bed.ssRedir(["check", "-c", config])
                #expect(strict.stdout.contains("FAIL  strict reverse-path filtering is on"), "\(strict.stdout)")
                #expect(strict.stdout.contains("sysctl -w net.ipv4.conf.all.rp_filter=2"))
                #expect(strict.stdout.contains("ok    the system clock is set"), "\(strict.stdout)")
                _ = try bed.run(.gw, ["sysctl", "-qw", "net.ipv4.conf.all.rp_filter=2"])
                let loose = try bed.ssRedir(["check", "-c", config])
                #expect(loose.stdout.contains("ok    reverse-path filtering is not strict"), "\(loose.stdout)")
            }
        }
    }
}
