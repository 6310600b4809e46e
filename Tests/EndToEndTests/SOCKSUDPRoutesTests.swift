import Foundation
import Testing

extension EndToEnd {
    /// SOCKS5 UDP ASSOCIATE under bypass rules: each echo logs who sent to it, so a datagram that went direct
    /// shows the gateway's own wan address and a proxied one ss-server's side; the controller lists the
    /// association and ends it.
    @Suite("SOCKS5 UDP under rules") struct SOCKSUDPRoutesTests {
        static let gwWAN4 = "10.231.2.1"
        static let socksPort = 1081
        static let directName = "direct.socks.test"

        @Test(
            "A bypassed target is sent direct, another proxied, on one association; listed as Socks5, ended by DELETE")
        func bypassAndController() throws {
            try Testbed.with { bed in
                let rules = try bed.writeFile(
                    "socks-udp.rules", "\(PublicAddresses.bypassed4)\nfull:\(Self.directName)\n")
                // gw alone knows the bypassed name (`ip netns exec` mounts this over /etc/hosts): only a datagram
                // sent direct, after ss-redir resolved it, can be answered.
                let etc = "/etc/netns/\(bed.name(.gw))"
                try FileManager.default.createDirectory(atPath: etc, withIntermediateDirectories: true)
                defer {
                    try? FileManager.default.removeItem(atPath: etc)
                    rmdir("/etc/netns")  // only when empty: other namespaces' files stay
                }
                try Data("127.0.0.1 localhost\n\(PublicAddresses.bypassed4) \(Self.directName)\n".utf8)
                    .write(to: URL(fileURLWithPath: "\(etc)/hosts"))
                let secret = "s3-\(UUID().uuidString)"
                let chain = try bed.startPublicChain(redirArguments: [
                    "-u", "--rules", rules, "--socks", "127.0.0.1:\(Self.socksPort)",
                    "--external-controller", "\(Testbed.gwLANIPv4):\(ControllerBed.port)", "--secret", secret,
                ])
                let controller = ControllerBed(
                    bed: bed, secret: secret, redir: chain.ssRedir, servers: [chain.ssServer])
                try bed.waitUntilListening(.gw, port: ControllerBed.port, for: chain.ssRedir)
                // Port 7 answers the bypassed address, port 8 the proxied one: each log names its own senders.
                let echoes = try [7, 8].map { port in
                    let echo = try bed.start(
                        .wan, name: "udp-echo-\(port)",
                        ["python3", "-B", Testbed.resources.appendingPathComponent("udp_echo.py").path, "\(port)"])
                    try bed.waitUntilListening(.wan, port: port, for: echo, udp: true)
                    return echo
                }
                let client = try bed.start(
                    .gw, name: "socks-udp",
                    [
                        "python3", "-B", Testbed.resources.appendingPathComponent("socks5_client.py").path, "routes",
                        "127.0.0.1", "\(Self.socksPort)", "\(PublicAddresses.bypassed4):7",
                        "\(PublicAddresses.target4):8",
                        "\(Self.directName):7",
                    ])
                let ready = controller.poll({ client.log }, until: { $0.contains("ready") || !client.isRunning })
                // The echo answers from the wan link's own address: the direct reply's header names that peer.
                #expect(
                    ready.contains(
                        "\(PublicAddresses.bypassed4):7: 20 of 20 replies exact, from \(Testbed.wanIPv4):7\n"),
                    "\(ready)\n\(chain.ssRedir.logTail())")
                #expect(
                    ready.contains("\(PublicAddresses.target4):8: 20 of 20 replies exact"),
                    "\(ready)\n\(chain.ssRedir.logTail())")
                #expect(
                    ready.contains("\(Self.directName):7: 20 of 20 replies exact, from \(Testbed.wanIPv4):7\n"),
                    "\(ready)\n\(chain.ssRedir.logTail())")
                #expect(
                    echoes[0].log.contains("peer \(Self.gwWAN4)\n"),
                    "direct: from the gateway's wan address\n\(echoes[0].log)")
                #expect(
                    !echoes[1].log.contains("peer \(Self.gwWAN4)\n") && echoes[1].log.contains("peer "),
                    "proxied: from ss-server's side\n\(echoes[1].log)")
                #expect(
                    chain.ssRedir.log.contains("-> \(PublicAddresses.bypassed4):7: bypass (\(rules):1), direct"),
                    "\(chain.ssRedir.logTail())")
                #expect(chain.ssRedir.log.contains("-> \(PublicAddresses.target4):8 via"), "\(chain.ssRedir.logTail())")
                #expect(
                    chain.ssRedir.log.contains(
                        "-> \(Self.directName):7 (\(Self.directName)): bypass (\(rules):2), direct"))

                let socksFlows = {
                    (try controller.api("GET", "/connections").object["connections"] as? [[String: Any]] ?? []).filter {
                        let metadata = $0["metadata"] as? [String: Any]
                        return metadata?["network"] as? String == "udp" && metadata?["type"] as? String == "Socks5"
                    }
                }
                let flows = try socksFlows()
                #expect(flows.count == 1, "\(flows)")
                guard let id = flows.first?["id"] as? String else { return }
                // 60 echoes: as many bytes down as up, on both paths together.
                let up = flows.first?["upload"] as? Int ?? 0
                #expect(up > 0 && flows.first?["download"] as? Int == up, "\(flows)")
                #expect(try controller.api("DELETE", "/connections/\(id)").status == 204)
                let ended = controller.poll(
                    { client.log }, until: { $0.contains("control closed") || !client.isRunning })
                #expect(ended.contains("control closed by server: True"), "\(ended)")
                try controller.poll({ try socksFlows() }, until: { $0.isEmpty })
                #expect(try socksFlows().isEmpty)
            }
        }
    }
}
