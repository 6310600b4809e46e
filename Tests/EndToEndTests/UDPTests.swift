import Foundation
import Testing

extension EndToEnd {
    /// LAN UDP captured by an nft `tproxy` rule (fwmark 1 -> local route table 100) and relayed through Debian's
    /// ss-server (`-u`) to a UDP echo server and a dnsmasq resolver in wan.
    @Suite("UDP through TPROXY") struct UDPTests {
        static let echoPort = 7

        func startEcho(_ bed: Testbed) throws -> BackgroundProcess {
            let echo = try bed.startUDPEcho(port: Self.echoPort)
            return echo
        }

        func udpClient(_ bed: Testbed, _ arguments: [String]) throws -> Command.Result {
            let script = Testbed.resources.appendingPathComponent("udp_client.py").path
            return try bed.run(.lan, ["python3", "-B", script] + arguments, timeout: .seconds(60))
        }

        @Test("10,000 datagrams each way, IPv4 and IPv6: every reply exact and from the original destination")
        func echoBothFamilies() throws {
            try Testbed.with(rules: "tproxy-udp") { bed in
                let chain = try bed.startChain(extraRedirArguments: ["-u"])
                _ = try startEcho(bed)
                for host in [Testbed.wanIPv4, Testbed.wanIPv6] {
                    let result = try udpClient(bed, ["echo", host, "\(Self.echoPort)", "10000"])
                    #expect(result.succeeded, "\(result.summary)\n\(bed.diagnostics)")
                    #expect(result.stdout.contains("10000 of 10000 replies exact, 0 from a wrong source"))
                }
                // The datagrams went through ss-server, not around it.
                #expect(chain.ssRedir.log.contains("udp \(Testbed.lanIPv4)"), "\(bed.diagnostics)")
                #expect(chain.ssRedir.log.contains("-> [\(Testbed.wanIPv6)]:\(Self.echoPort)"), "\(bed.diagnostics)")
                #expect(chain.ssServer.log.contains("[udp]"), "\(bed.diagnostics)")
            }
        }

        @Test("dig through the proxy to a resolver in wan")
        func dnsWithDig() throws {
            try Testbed.with(rules: "tproxy-udp") { bed in
                let chain = try bed.startChain(extraRedirArguments: ["-u"])
                let resolver = try bed.start(
                    .wan, name: "dnsmasq",
                    [
                        "dnsmasq", "--keep-in-foreground", "--no-resolv", "--no-hosts", "--log-queries",
                        "--log-facility=-", "--listen-address=\(Testbed.wanIPv4)", "--bind-interfaces",
                        "--address=/proxied.test/192.0.2.77", "--pid-file=",
                    ])
                try bed.waitUntilListening(.wan, port: 53, for: resolver, udp: true)
                let dig = try bed.run(
                    .lan, ["dig", "+short", "+tries=1", "+time=3", "@\(Testbed.wanIPv4)", "www.proxied.test", "A"])
                #expect(dig.succeeded, "\(dig.summary)")
                #expect(dig.stdout.trimmingCharacters(in: .whitespacesAndNewlines) == "192.0.2.77", "\(bed.diagnostics)")
                // dnsmasq saw the query come from ss-server's side (the gw's wan address), not from the LAN host.
                #expect(resolver.log.contains("from 10.231.2"), "\(resolver.logTail())")
                #expect(!resolver.log.contains("from \(Testbed.lanIPv4)"), "\(resolver.logTail())")
                #expect(chain.ssRedir.log.contains("-> \(Testbed.wanIPv4):53"), "\(bed.diagnostics)")
            }
        }

        @Test("Two LAN flows to the same destination keep separate associations")
        func separateAssociations() throws {
            try Testbed.with(rules: "tproxy-udp") { bed in
                let chain = try bed.startChain(extraRedirArguments: ["-u"])
                _ = try startEcho(bed)
                let result = try udpClient(bed, ["pair", Testbed.wanIPv4, "\(Self.echoPort)", "50"])
                #expect(result.succeeded, "\(result.summary)\n\(bed.diagnostics)")
                #expect(result.stdout.contains("100 of 100 replies went to their own flow, 0 to the other"))
                let flows = chain.ssRedir.log.split(separator: "\n").filter {
                    $0.contains("udp \(Testbed.lanIPv4):") && $0.contains("-> \(Testbed.wanIPv4):\(Self.echoPort) via")
                }
                #expect(flows.count == 2, "\(chain.ssRedir.logTail())")
            }
        }

        @Test("Idle associations expire (--udp-timeout) and a new datagram opens a new one")
        func idleExpiry() throws {
            try Testbed.with(rules: "tproxy-udp") { bed in
                let chain = try bed.startChain(extraRedirArguments: ["-u", "--udp-timeout", "2"])
                _ = try startEcho(bed)
                let first = try udpClient(bed, ["once", Testbed.wanIPv4, "\(Self.echoPort)"])
                #expect(first.succeeded, "\(first.summary)")
                let deadline = ContinuousClock.now + .seconds(10)
                while !chain.ssRedir.log.contains("idle for 2s, closed") && ContinuousClock.now < deadline {
                    Thread.sleep(forTimeInterval: 0.1)
                }
                #expect(chain.ssRedir.log.contains("idle for 2s, closed"), "\(chain.ssRedir.logTail())")
                let second = try udpClient(bed, ["once", Testbed.wanIPv4, "\(Self.echoPort)"])
                #expect(second.succeeded, "\(second.summary)")
                #expect(second.stdout.contains("from \(Testbed.wanIPv4) port \(Self.echoPort)"))
            }
        }

        @Test("Beyond --udp-max-associations the least recently used is evicted, logged once, still serving")
        func evictionWhenFull() throws {
            try Testbed.with(rules: "tproxy-udp") { bed in
                let chain = try bed.startChain(extraRedirArguments: ["-u", "--udp-max-associations", "2"])
                _ = try startEcho(bed)
                for _ in 0..<5 {  // five flows (new source port each run) through a table of two
                    let result = try udpClient(bed, ["once", Testbed.wanIPv4, "\(Self.echoPort)"])
                    #expect(result.succeeded, "\(result.summary)\n\(bed.diagnostics)")
                }
                let notices = chain.ssRedir.log.split(separator: "\n").filter { $0.contains("association table full") }
                #expect(notices.count == 1, "\(chain.ssRedir.logTail())")
                #expect(chain.ssRedir.isRunning)
            }
        }

        @Test("Datagrams aimed at the gateway itself, or too large for --mtu, are dropped, counted and logged once")
        func dropsLoopAndOversized() throws {
            try Testbed.with(rules: "tproxy-udp") { bed in
                let chain = try bed.startChain(extraRedirArguments: ["-u", "--mtu", "700", "-v"])
                _ = try startEcho(bed)
                let send = { (host: String, port: Int, size: Int) throws -> Command.Result in
                    try bed.run(
                        .lan,
                        [
                            "python3", "-c",
                            "import socket; s=socket.socket(socket.AF_INET, socket.SOCK_DGRAM); "
                                + "[s.sendto(b'x'*\(size), ('\(host)', \(port))) for _ in range(3)]",
                        ])
                }
                _ = try send(Testbed.gwLANIPv4, ProxyChain.redirPort, 10)
                _ = try send(Testbed.wanIPv4, Self.echoPort, 1000)
                let small = try udpClient(bed, ["once", Testbed.wanIPv4, "\(Self.echoPort)"])
                #expect(small.succeeded, "\(small.summary)\n\(bed.diagnostics)")
                let log = chain.ssRedir.log
                #expect(log.components(separatedBy: "destination is this gateway").count == 2, "\(chain.ssRedir.logTail())")
                #expect(log.components(separatedBy: "too large for the MTU").count == 2, "\(chain.ssRedir.logTail())")
                #expect(chain.ssRedir.isRunning)
            }
        }

        @Test("-U relays UDP only: no TCP listener")
        func udpOnly() throws {
            try Testbed.with(rules: "tproxy-udp") { bed in
                let chain = try bed.startChain(extraRedirArguments: ["-U"])
                _ = try startEcho(bed)
                let result = try udpClient(bed, ["echo", Testbed.wanIPv4, "\(Self.echoPort)", "500"])
                #expect(result.succeeded, "\(result.summary)\n\(bed.diagnostics)")
                let tcp = try bed.run(.gw, ["ss", "-Hltn", "sport = :\(ProxyChain.redirPort)"])
                #expect(tcp.stdout.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty)
                #expect(chain.ssRedir.isRunning)
            }
        }
    }

    /// The foundation's TCP checks again, with TCP captured by `tproxy` instead of `redirect` (ss-redir -T).
    @Suite("TCP through TPROXY (-T)") struct TCPTproxyTests {
        @Test("-T: 50 MiB down and up, IPv6, half-close and the loop guard, with tproxy rules")
        func tcpTproxy() throws {
            try Testbed.with(rules: "tproxy") { bed in
                let chain = try bed.startChain(extraRedirArguments: ["-T", "-u"])
                let down = try bed.download(size: 50 << 20, tag: "tproxy-down")
                #expect(down.curl.succeeded && down.bytes == 50 << 20, "\(down.curl.summary)\n\(bed.diagnostics)")
                #expect(down.sha256 == down.expectedSHA256)
                let up = try bed.upload(size: 50 << 20)
                #expect(up.curl.succeeded, "\(up.curl.summary)")
                #expect(up.sha256 == up.expectedSHA256)
                let v6 = try bed.download(size: 1 << 20, tag: "tproxy-v6", host: Testbed.wanIPv6)
                #expect(v6.curl.succeeded && v6.sha256 == v6.expectedSHA256, "\(v6.curl.summary)\n\(bed.diagnostics)")
                let half = try bed.lineClient(
                    ["halfclose", Testbed.wanIPv4, "\(ProxyChain.linePort)", "\(1 << 20)", "200"])
                #expect(half.stdout.contains("received \(1 << 20) of \(1 << 20) bytes, exact"), "\(half.summary)")
                let loop = try bed.run(
                    .lan, ["curl", "-sS", "--max-time", "5", "http://\(Testbed.gwLANIPv4):\(ProxyChain.redirPort)/"],
                    timeout: .seconds(15))
                #expect(!loop.succeeded)
                #expect(chain.ssRedir.log.contains("refusing"), "\(bed.diagnostics)")
                #expect(chain.ssRedir.log.contains("tcp tproxy on"))
            }
        }
    }
}
