import Foundation
import Testing

extension EndToEnd {
    /// Bypass rules in the relay (`--rules`, `--acl`): the target logs each client, so a request that went direct
    /// shows the gateway's own wan address, and a proxied one shows ss-server's side. Targets have public
    /// addresses (`PublicAddresses`) because with rule files the reserved ranges are bypassed too.
    @Suite("Bypass rules in the relay") struct RulesTrafficTests {
        static let gwWAN4 = "::ffff:10.231.2.1"
        static let echoPort = 7

        func startEcho(_ bed: Testbed) throws {
            try bed.startUDPEcho(port: Self.echoPort)
        }

        /// curl with the name resolved by hand (`--resolve`), so only the Host header / SNI carries the name.
        func fetch(_ bed: Testbed, name: String, address: String, tag: String, https: Bool = false) throws
            -> Command.Result
        {
            let port = https ? 443 : 80
            return try bed.run(
                .lan,
                [
                    "curl", "-sS", "-k", "--max-time", "5", "-o", "/dev/null", "--resolve", "\(name):\(port):\(address)",
                    "\(https ? "https" : "http")://\(name)/blob/4096?tag=\(tag)",
                ], timeout: .seconds(15))
        }

        @Test("--rules: CIDR and domain entries (Host header, TLS SNI) go direct, the rest through the server; UDP too")
        func rulesDecide() throws {
            try Testbed.with(rules: "tproxy-udp") { bed in
                let rules = try bed.writeFile(
                    "bypass.rules",
                    """
                    # addresses
                    \(PublicAddresses.bypassed4)
                    # names
                    full:direct.test
                    tls.test
                    """)
                // ss-server resolves a name the relay sends it through wan's hosts file.
                let etc = "/etc/netns/\(bed.name(.wan))"
                try FileManager.default.createDirectory(atPath: etc, withIntermediateDirectories: true)
                defer { try? FileManager.default.removeItem(atPath: etc) }
                try Data("\(PublicAddresses.target4) proxied.test\n\(PublicAddresses.target6) proxied.test\n".utf8)
                    .write(to: URL(fileURLWithPath: "\(etc)/hosts"))
                let chain = try bed.startPublicChain(redirArguments: ["-u", "--rules", rules])
                try startEcho(bed)
                #expect(chain.ssRedir.log.contains("domain entries, default proxy, sniffing TLS/HTTP names"), "\(chain.ssRedir.logTail())")

                // An address on no list: proxied.
                let proxied = try bed.fetch(PublicAddresses.target4, tag: "plain")
                #expect(proxied.succeeded, "\(proxied.summary)")
                let proxiedPeer = bed.peerSeenByTarget(chain.target, tag: "plain")
                #expect(proxiedPeer != nil && proxiedPeer != Self.gwWAN4, "proxied request seen from \(proxiedPeer ?? "-")")

                // A bypassed CIDR: direct, from the gateway's own address.
                let cidr = try bed.fetch(PublicAddresses.bypassed4, tag: "cidr")
                #expect(cidr.succeeded, "\(cidr.summary)")
                #expect(bed.peerSeenByTarget(chain.target, tag: "cidr") == Self.gwWAN4, "\(chain.ssRedir.logTail())")
                #expect(chain.ssRedir.log.contains("\(PublicAddresses.bypassed4):80: bypass (\(rules):2), direct"))

                // The same proxied address, asked for by a bypassed name in the Host header: direct.
                let named = try fetch(bed, name: "direct.test", address: PublicAddresses.target4, tag: "host")
                #expect(named.succeeded, "\(named.summary)")
                #expect(bed.peerSeenByTarget(chain.target, tag: "host") == Self.gwWAN4, "\(chain.ssRedir.logTail())")
                #expect(chain.ssRedir.log.contains("(direct.test): bypass (\(rules):4), direct"))

                // A name on no list is sent to the server as a name; ss-server resolves it.
                let sent = try fetch(bed, name: "proxied.test", address: PublicAddresses.target4, tag: "sent")
                #expect(sent.succeeded, "\(sent.summary)")
                let sentPeer = bed.peerSeenByTarget(chain.target, tag: "sent")
                #expect(sentPeer != nil && sentPeer != Self.gwWAN4)
                #expect(chain.ssServer.log.contains("proxied.test"), "\(chain.ssServer.logTail())")

                // TLS: the ClientHello's server name decides (nothing serves 443; the decision is what counts).
                _ = try fetch(bed, name: "www.tls.test", address: PublicAddresses.target4, tag: "tls", https: true)
                #expect(
                    chain.ssRedir.log.contains("\(PublicAddresses.target4):443 (www.tls.test): bypass (\(rules):5), direct"),
                    "\(chain.ssRedir.logTail())")

                // UDP: the bypassed address is answered directly, the other through the server.
                let script = Testbed.resources.appendingPathComponent("udp_client.py").path
                for host in [PublicAddresses.bypassed4, PublicAddresses.target4] {
                    let once = try bed.run(.lan, ["python3", "-B", script, "once", host, "\(Self.echoPort)"])
                    #expect(once.succeeded, "\(host): \(once.summary)")
                }
                #expect(chain.ssRedir.log.contains("\(PublicAddresses.bypassed4):\(Self.echoPort): bypass (\(rules):2), direct"))
                #expect(chain.ssRedir.log.contains("\(PublicAddresses.target4):\(Self.echoPort) via"), "\(chain.ssRedir.logTail())")

                let status = try bed.ssRedir(["status"])
                #expect(status.stdout.contains("direct (bypassed):"), "\(status.summary)")
            }
        }

        @Test("--acl in ss-libev's format: [bypass_all] with a [proxy_list] proxies only what is listed")
        func aclBypassAll() throws {
            try Testbed.with { bed in
                let acl = try bed.writeFile(
                    "gateway.acl",
                    """
                    [bypass_all]

                    [proxy_list]
                    \(PublicAddresses.target4)/32
                    (^|\\.)proxied\\.test$
                    """)
                let chain = try bed.startPublicChain(redirArguments: ["--acl", acl])
                let listed = try bed.fetch(PublicAddresses.target4, tag: "listed")
                #expect(listed.succeeded, "\(listed.summary)")
                let listedPeer = bed.peerSeenByTarget(chain.target, tag: "listed")
                #expect(listedPeer != nil && listedPeer != Self.gwWAN4)
                let other = try bed.fetch(PublicAddresses.bypassed4, tag: "other")
                #expect(other.succeeded, "\(other.summary)")
                #expect(bed.peerSeenByTarget(chain.target, tag: "other") == Self.gwWAN4, "\(chain.ssRedir.logTail())")
                #expect(chain.ssRedir.log.contains("bypass (default, \(acl):1 [bypass_all]), direct"), "\(chain.ssRedir.logTail())")
            }
        }
    
        @Test("reload re-reads the rule files: an address taken off the bypass list is proxied again")
        func reloadSwapsRules() throws {
            try Testbed.with { bed in
                let rules = try bed.writeFile("reload.rules", "\(PublicAddresses.bypassed4)\n")
                let chain = try bed.startPublicChain(redirArguments: ["--rules", rules, "--control", bed.path("c.sock")])
                #expect(try bed.fetch(PublicAddresses.bypassed4, tag: "before").succeeded)
                #expect(bed.peerSeenByTarget(chain.target, tag: "before") == Self.gwWAN4)
                _ = try bed.writeFile("reload.rules", "# emptied\n")
                let reload = try bed.ssRedir(["reload", "--control", bed.path("c.sock")])
                #expect(reload.succeeded, "\(reload.summary)")
                // The reload runs on the daemon's signal task: wait for its log line (bounded).
                let deadline = ContinuousClock.now + .seconds(5)
                while !chain.ssRedir.log.contains("reloaded:") && ContinuousClock.now < deadline {
                    Thread.sleep(forTimeInterval: 0.05)
                }
                #expect(try bed.fetch(PublicAddresses.bypassed4, tag: "after").succeeded)
                let peer = bed.peerSeenByTarget(chain.target, tag: "after")
                #expect(peer != nil && peer != Self.gwWAN4, "after reload: seen from \(peer ?? "-")\n\(chain.ssRedir.logTail())")
            }
        }
    }
}
