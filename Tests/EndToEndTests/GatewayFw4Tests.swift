import Foundation
import Testing

extension EndToEnd {
    /// Our table beside an OpenWrt-fw4-like `table inet fw4` (input/forward policy drop, `ct state` rules, masquerade
    /// on wan): ours works and never touches theirs; `check` names a rule of theirs that would drop our traffic.
    @Suite("Beside an fw4-like firewall") struct GatewayFw4Tests {
        static let echoPort = 7

        func fw4(_ bed: Testbed) throws -> String {
            let listed = try bed.run(.gw, ["nft", "list", "table", "inet", "fw4"])
            guard listed.succeeded else { throw TestbedError("nft list table inet fw4: \(listed.summary)") }
            return listed.stdout
        }

        func udpOnce(_ bed: Testbed, _ host: String) throws -> Command.Result {
            let script = Testbed.resources.appendingPathComponent("udp_client.py").path
            return try bed.run(.lan, ["python3", "-B", script, "once", host, "\(Self.echoPort)"])
        }

        @Test("TCP and UDP proxied (IPv4, IPv6) with fw4's policy drop beside us; fw4 byte-identical through setup and teardown; check names fw4's drop and its fix")
        func besideFw4() throws {
            try Testbed.with(rules: "none", fw4: true) { bed in
                let chain = try bed.startPublicChain(redirArguments: ["-u"])
                try bed.startUDPEcho(port: Self.echoPort)
                let lan = try bed.interface(.gw, suffix: "-gwl")
                let config = try bed.writeFile(
                    "fw4.json",
                    """
                    {"server": "\(PublicAddresses.server4)", "server_port": \(ProxyChain.serverPort), "password": "x",
                     "method": "aes-256-gcm", "local_address": "::", "local_port": \(ProxyChain.redirPort),
                     "mode": "tcp_and_udp", "lan_interfaces": ["\(lan)"]}
                    """)
                let theirs = try fw4(bed)
                let before = try bed.firewallSnapshot()

                let setup = try bed.ssRedir(["setup", "-c", config])
                #expect(setup.succeeded, "\(setup.summary)")
                #expect(try fw4(bed) == theirs)

                for (host, tag) in [(PublicAddresses.target4, "fw4-4"), (PublicAddresses.target6, "fw4-6")] {
                    let fetch = try bed.fetch(host, tag: tag)
                    #expect(fetch.succeeded, "\(fetch.summary)\n\(bed.diagnostics)")
                    #expect(chain.ssRedir.log.contains("-> \(Testbed.urlHost(host)):80"), "\(chain.ssRedir.logTail())")
                    let udp = try udpOnce(bed, host)
                    #expect(udp.succeeded, "\(udp.summary)\n\(bed.diagnostics)")
                    #expect(chain.ssRedir.log.contains("-> \(Testbed.urlHost(host)):\(Self.echoPort) via"), "\(chain.ssRedir.logTail())")
                }
                // Bypassed traffic is forwarded by fw4 (lan -> wan accept) and masqueraded on wan.
                let direct = try bed.fetch(PublicAddresses.server4, tag: "fw4-direct")
                #expect(direct.succeeded, "\(direct.summary)")
                #expect(bed.peerSeenByTarget(chain.target, tag: "fw4-direct") == "::ffff:10.231.2.1")

                let check = try bed.ssRedir(["check", "-c", config, "--control", bed.path("none.sock")])
                #expect(check.stdout.contains("ok    no other nftables table drops what ss-redir receives from the LAN (1 other tables)"), "\(check.stdout)")

                let teardown = try bed.ssRedir(["teardown"])
                #expect(teardown.succeeded, "\(teardown.summary)")
                #expect(try fw4(bed) == theirs)
                #expect(try bed.firewallSnapshot() == before)

                // The LAN zone without its input accept: fw4's input policy drops what we must receive.
                let broken = try bed.run(.gw, ["nft", "flush", "chain", "inet", "fw4", "input_lan"])
                #expect(broken.succeeded, "\(broken.summary)")
                let report = try bed.ssRedir(["check", "-c", config, "--control", bed.path("none.sock")])
                #expect(report.status == 1)
                #expect(
                    report.stdout.contains(
                        "FAIL  table inet fw4 chain input (hook input, policy drop) has no accept for a new ipv4 tcp port \(ProxyChain.redirPort) from \(lan) (redirected) that ss-redir must receive"),
                    "\(report.stdout)")
                #expect(
                    report.stdout.contains(
                        "fix: nft insert rule inet fw4 input iifname \"\(lan)\" meta l4proto udp accept (OpenWrt: set the lan zone's input to ACCEPT)"),
                    "\(report.stdout)")
            }
        }
    }
}
