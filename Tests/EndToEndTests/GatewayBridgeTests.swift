import Foundation
import Testing

extension EndToEnd {
    /// The LAN as a bridge `br-lan` with two hosts and br_netfilter's `bridge-nf-call-iptables=1` in gw (what Docker
    /// sets), ss-redir configured with `local_address` 0.0.0.0 as most ss-libev configs are.
    @Suite("Bridged LAN with br_netfilter") struct GatewayBridgeTests {
        static let echoPort = 7

        /// lan and lan2 also get public addresses on the bridge, so LAN-to-LAN traffic is outside the reserved
        /// ranges and only the LAN-to-LAN rule keeps it from being captured.
        static let lanPublic4 = "11.231.1.2"
        static let lan2Public4 = "11.231.1.3"

        func config(_ bed: Testbed, password: String, localAddress: String = "0.0.0.0") throws -> String {
            try bed.writeFile(
                "bridge.json",
                """
                {"server": "\(PublicAddresses.server4)", "server_port": \(ProxyChain.serverPort),
                 "local_address": "\(localAddress)", "local_port": \(ProxyChain.redirPort), "password": "\(password)",
                 "method": "aes-256-gcm", "mode": "tcp_and_udp"}
                """)
        }

        /// The UDP echo on :7 and Debian's ss-server (aes-256-gcm, -u) on the public server address, in wan.
        func startEchoAndServer(_ bed: Testbed, password: String) throws {
            try bed.startUDPEcho(port: Self.echoPort)
            let server = try bed.start(
                .wan, name: "ss-server",
                [
                    "ss-server", "-s", PublicAddresses.server4, "-p", "\(ProxyChain.serverPort)", "-k", password,
                    "-m", "aes-256-gcm", "-u",
                ])
            try bed.waitUntilListening(.wan, port: ProxyChain.serverPort, for: server)
        }

        func udpEcho(_ bed: Testbed, _ host: String, count: Int) throws -> Command.Result {
            let script = Testbed.resources.appendingPathComponent("udp_client.py").path
            return try bed.run(.lan, ["python3", "-B", script, "echo", host, "\(Self.echoPort)", "\(count)"])
        }

        func bridgeCalls(_ bed: Testbed) throws -> String {
            let result = try bed.run(
                .gw, ["sysctl", "-n", "net.bridge.bridge-nf-call-iptables", "net.bridge.bridge-nf-call-ip6tables"])
            return result.stdout.split(separator: "\n").joined(separator: " ")
        }

        /// The firewall snapshot without IPv6 link-local routes, which appear whenever a new bridge's DAD ends.
        func stableSnapshot(_ bed: Testbed) throws -> String {
            try bed.firewallSnapshot().split(separator: "\n").filter { !$0.hasPrefix("fe80::") }.joined(separator: "\n")
        }

        /// UdpNoPorts in gw (/proc/net/snmp is the reader's namespace).
        func udpNoPorts(_ bed: Testbed) throws -> Int {
            let lines = try bed.run(.gw, ["cat", "/proc/net/snmp"]).stdout.split(separator: "\n")
                .filter { $0.hasPrefix("Udp: ") }
            guard lines.count == 2 else { throw TestbedError("no Udp lines in /proc/net/snmp") }
            let names = lines[0].split(separator: " ")
            let values = lines[1].split(separator: " ")
            guard let index = names.firstIndex(of: "NoPorts"), let value = Int(values[index]) else {
                throw TestbedError("no NoPorts in /proc/net/snmp")
            }
            return value
        }

        @Test(
            "TPROXY loses bridged UDP while bridge-nf-call-iptables=1; --disable-bridge-nf fixes it (local_address 0.0.0.0: UDP and TCP, IPv4 and IPv6), LAN-to-LAN is never captured, teardown restores everything"
        )
        func bridgedLAN() throws {
            try Testbed.with(rules: "none", lan: .bridge) { bed in
                try bed.addPublicAddresses()
                for (namespace, command) in [
                    (Testbed.Namespace.gw, ["ip", "addr", "add", "11.231.1.1/24", "dev", "br-lan"]),
                    (.lan, ["ip", "addr", "add", "\(Self.lanPublic4)/24", "dev", try bed.interface(.lan, suffix: "-lan")]),
                    (.lan2, ["ip", "addr", "add", "\(Self.lan2Public4)/24", "dev", try bed.interface(.lan2, suffix: "-lan2")]),
                ] {
                    let result = try bed.run(namespace, command)
                    #expect(result.succeeded, "\(result.summary)")
                }
                let password = UUID().uuidString
                let target = try bed.startTarget()
                let lanTarget = try bed.start(
                    .lan2, name: "lan2-target",
                    ["python3", "-B", Testbed.resources.appendingPathComponent("target_server.py").path])
                try bed.waitUntilListening(.lan2, port: ProxyChain.httpPort, for: lanTarget)
                try startEchoAndServer(bed, password: password)
                let config = try config(bed, password: password)
                let redir = try bed.startSSRedir(["-c", config, "-v"])
                try bed.waitUntilListening(.gw, port: ProxyChain.redirPort, for: redir, udp: true)
                let before = try stableSnapshot(bed)
                #expect(try bridgeCalls(bed) == "1 1")

                // 1. The failure as users meet it: setup without the flag warns, and UDP dies silently.
                let plain = try bed.ssRedir(["setup", "-c", config, "--lan-if", "br-lan"])
                #expect(plain.succeeded, "\(plain.summary)")
                #expect(plain.stderr.contains("--disable-bridge-nf"), "\(plain.summary)")
                let noPorts = try udpNoPorts(bed)
                let lost = try udpEcho(bed, PublicAddresses.target4, count: 20)
                #expect(!lost.succeeded && lost.stdout.hasPrefix("0 of 20"), "\(lost.summary)")
                let counted = try udpNoPorts(bed) - noPorts
                #expect(counted >= 20, "UdpNoPorts grew by \(counted)")
                print("br_netfilter on: \(lost.stdout.trimmingCharacters(in: .whitespacesAndNewlines)); UdpNoPorts +\(counted)")

                // LAN-to-LAN (public addresses, so only the LAN-to-LAN rule keeps it direct) while the bridge
                // shows its frames to the IP hooks.
                let lanFetch = try bed.fetch(Self.lan2Public4, tag: "lan-to-lan")
                #expect(lanFetch.succeeded, "\(lanFetch.summary)")
                #expect(
                    bed.peerSeenByTarget(lanTarget, tag: "lan-to-lan") == "::ffff:\(Self.lanPublic4)",
                    "\(lanTarget.logTail())")
                let lanEcho = try bed.start(
                    .lan2, name: "lan2-udp-echo",
                    ["python3", "-B", Testbed.resources.appendingPathComponent("udp_echo.py").path, "\(Self.echoPort)"])
                try bed.waitUntilListening(.lan2, port: Self.echoPort, for: lanEcho, udp: true)
                let lanUDP = try udpEcho(bed, Self.lan2Public4, count: 20)
                #expect(lanUDP.succeeded, "LAN-to-LAN UDP: \(lanUDP.summary)")
                #expect(!redir.log.contains(Self.lan2Public4), "\(redir.logTail())")

                let checkOn = try bed.ssRedir(["check", "-c", config, "--control", bed.path("none.sock")])
                #expect(
                    checkOn.stdout.contains("FAIL  br_netfilter is on (bridge-nf-call-iptables = 1, bridge-nf-call-ip6tables = 1) with bridge br-lan"),
                    "\(checkOn.stdout)")
                #expect(checkOn.stdout.contains("fix: ss-redir setup --disable-bridge-nf"), "\(checkOn.stdout)")

                // 2. The fix: setup turns the switches off and records what it found.
                let fixed = try bed.ssRedir(["setup", "-c", config, "--lan-if", "br-lan", "--disable-bridge-nf"])
                #expect(fixed.succeeded, "\(fixed.summary)")
                #expect(try bridgeCalls(bed) == "0 0")
                // Setup again without the flag puts the switches back; with it again, they go off again and the
                // comment still records the values first found (1 1), not the zeros setup wrote.
                let without = try bed.ssRedir(["setup", "-c", config, "--lan-if", "br-lan"])
                #expect(without.succeeded, "\(without.summary)")
                #expect(try bridgeCalls(bed) == "1 1")
                let again = try bed.ssRedir(["setup", "-c", config, "--lan-if", "br-lan", "--disable-bridge-nf"])
                #expect(again.succeeded, "\(again.summary)")
                let twice = try bed.ssRedir(["setup", "-c", config, "--lan-if", "br-lan", "--disable-bridge-nf"])
                #expect(twice.succeeded, "\(twice.summary)")
                #expect(try bridgeCalls(bed) == "0 0")
                let comment = try bed.run(.gw, ["nft", "list", "table", "inet", "ss_redir"]).stdout
                #expect(comment.contains("; bridge-nf-call found 1 1\""), "\(comment.prefix(300))")
                for host in [PublicAddresses.target4, PublicAddresses.target6] {
                    let delivered = try udpEcho(bed, host, count: 100)
                    // Every datagram back, exact. (udp_echo.py's 0.0.0.0 socket answers ss-server from wan's
                    // first IPv4 address rather than the target's secondary one, so IPv4 "wrong source" is its
                    // doing, not the gateway's.)
                    #expect(
                        delivered.stdout.hasPrefix("100 of 100 replies exact") && delivered.stdout.contains(" 0 missing"),
                        "\(delivered.summary)\n\(bed.diagnostics)")
                    print("--disable-bridge-nf, \(host): \(delivered.stdout.trimmingCharacters(in: .whitespacesAndNewlines))")
                }
                let checkOff = try bed.ssRedir(["check", "-c", config, "--control", bed.path("none.sock")])
                #expect(!checkOff.stdout.contains("br_netfilter"), "\(checkOff.stdout)")
                for (host, tag) in [(PublicAddresses.target4, "bridged-tcp4"), (PublicAddresses.target6, "bridged-tcp6")] {
                    let tcp = try bed.fetch(host, tag: tag)
                    #expect(tcp.succeeded, "\(tcp.summary)")
                    let peer = bed.peerSeenByTarget(target, tag: tag)
                    #expect(
                        peer != nil && peer != "::ffff:\(Testbed.lanIPv4)" && peer != Testbed.lanIPv6,
                        "target saw \(peer ?? "nothing")")
                    #expect(redir.log.contains("-> \(Testbed.urlHost(host)):80"), "\(redir.logTail())")
                }

                // 3. Teardown puts back the switches as the first setup found them, and the ruleset.
                let teardown = try bed.ssRedir(["teardown"])
                #expect(teardown.succeeded, "\(teardown.summary)")
                #expect(try bridgeCalls(bed) == "1 1")
                let after = try stableSnapshot(bed)
                #expect(after == before, "before:\n\(before)\nafter:\n\(after)")
            }
        }
    
        @Test("With --disable-bridge-nf a listener on the LAN address also gets bridged TCP and UDP")
        func lanAddressListener() throws {
            try Testbed.with(rules: "none", lan: .bridge) { bed in
                try bed.addPublicAddresses()
                let password = UUID().uuidString
                let target = try bed.startTarget()
                try startEchoAndServer(bed, password: password)
                let config = try config(bed, password: password, localAddress: Testbed.gwLANIPv4)
                let redir = try bed.startSSRedir(["-c", config, "-v", "--control", bed.path("ss-redir.sock")])
                try bed.waitUntilListening(.gw, port: ProxyChain.redirPort, for: redir, udp: true)
                let setup = try bed.ssRedir(["setup", "-c", config, "--lan-if", "br-lan", "--disable-bridge-nf"])
                #expect(setup.succeeded, "\(setup.summary)")
                let delivered = try udpEcho(bed, PublicAddresses.target4, count: 100)
                #expect(
                    delivered.stdout.hasPrefix("100 of 100 replies exact") && delivered.stdout.contains(" 0 missing"),
                    "\(delivered.summary)\n\(bed.diagnostics)")
                let tcp = try bed.fetch(PublicAddresses.target4, tag: "lan-address")
                #expect(tcp.succeeded, "\(tcp.summary)")
                let peer = bed.peerSeenByTarget(target, tag: "lan-address")
                #expect(peer != nil && peer != "::ffff:\(Testbed.lanIPv4)", "target saw \(peer ?? "nothing")")
                #expect(try bed.ssRedir(["teardown"]).succeeded)
                #expect(try bridgeCalls(bed) == "1 1")
            }
        }
    }
}
