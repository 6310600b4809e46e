import Foundation
import Testing

extension EndToEnd {
    /// The LAN DNS forwarder (`--dns-listen`) with setup's rules: two resolvers in wan play "the ISP's resolver"
    /// (the gateway's resolv.conf, asked directly) and "the remote resolver" (asked through the tunnel); each
    /// answers the other's names with a wrong address, so the answer shows which one was asked.
    @Suite("DNS forwarder") struct DNSForwarderTests {
        static let localResolver = PublicAddresses.bypassed4  // 11.231.2.200
        static let remoteResolver = PublicAddresses.target4  // 11.231.2.3
        static let wrong = "192.0.2.66"

        func startResolver(_ bed: Testbed, on address: String, answers: [(String, String)]) throws -> BackgroundProcess {
            let process = try bed.start(
                .wan, name: "dnsmasq-\(address)",
                [
                    "dnsmasq", "--keep-in-foreground", "--no-resolv", "--no-hosts", "--log-queries", "--log-facility=-",
                    "--bind-interfaces", "--listen-address=\(address)", "--port=53", "--pid-file=", "--local-ttl=300",
                ] + answers.map { "--address=/\($0.0)/\($0.1)" })
            try bed.waitUntilListening(.wan, port: 53, for: process, udp: true)
            return process
        }

        func dig(_ bed: Testbed, _ name: String, server: String = Testbed.gwLANIPv4, tcp: Bool = false) throws -> String {
            let result = try bed.run(
                .lan, ["dig", "+short", "+tries=1", "+time=5", tcp ? "+tcp" : "+notcp", "@\(server)", name, "A"],
                timeout: .seconds(20))
            return result.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        }

        @Test("Bypassed names are asked locally and their addresses go direct in the kernel; the rest through the tunnel")
        func forwarder() throws {
            try Testbed.with(rules: "none") { bed in
                let rules = try bed.writeFile("names.rules", "direct.test\n10.9.8.7 static.test\n")
                let resolvConf = try bed.writeFile("resolv.conf", "nameserver \(Self.localResolver)\noptions timeout:2\n")
                let config = try bed.writeFile(
                    "dns.json",
                    """
                    {"dns_listen": "[::]:5353", "dns_remote": "\(Self.remoteResolver):53",
                     "resolv_conf": "\(resolvConf)", "rules": "\(rules)"}
                    """)
                let chain = try bed.startPublicChain(redirArguments: ["-u", "-c", config])
                let local = try startResolver(
                    bed, on: Self.localResolver,
                    answers: [("direct.test", PublicAddresses.bypassed4), ("proxied.test", Self.wrong)])
                let remote = try startResolver(
                    bed, on: Self.remoteResolver,
                    answers: [("proxied.test", PublicAddresses.target4), ("direct.test", Self.wrong)])
                let lan = try bed.interface(.gw, suffix: "-gwl")
                // setup takes the forwarder's port from the config's dns_listen (no --dns-hijack needed).
                let setup = try bed.ssRedir([
                    "setup", "-c", config, "-s", PublicAddresses.server4, "-l", "\(ProxyChain.redirPort)", "-b", "::",
                    "-u", "--lan-if", lan,
                ])
                #expect(setup.succeeded, "\(setup.summary)")

                // A proxied name, asked of any server: hijacked to the forwarder, answered through the tunnel.
                #expect(try dig(bed, "proxied.test", server: "9.9.9.9") == PublicAddresses.target4, "\(chain.ssRedir.logTail())")
                #expect(remote.log.contains("query[A] proxied.test from \(PublicAddresses.server4)"), "\(remote.logTail())")
                #expect(!local.log.contains("proxied.test"))
                // Over TCP too (the forwarder listens on both).
                #expect(try dig(bed, "proxied.test", server: "9.9.9.9", tcp: true) == PublicAddresses.target4)

                // A bypassed name: asked of resolv.conf's nameserver from the gateway itself.
                #expect(try dig(bed, "www.direct.test") == PublicAddresses.bypassed4, "\(chain.ssRedir.logTail())")
                #expect(local.log.contains("query[A] www.direct.test from 10.231.2.1"), "\(local.logTail())")
                #expect(!remote.log.contains("direct.test"))
                // Its address is now in the kernel's bypass set, with a timeout.
                let set = try bed.run(.gw, ["nft", "list", "set", "inet", "ss_redir", "bypass4_dns"])
                #expect(set.stdout.contains(PublicAddresses.bypassed4) && set.stdout.contains("expires"), "\(set.summary)")

                // So a connection to it is not even redirected: the target sees the LAN host itself.
                let fetch = try bed.fetch(PublicAddresses.bypassed4, tag: "learnt")
                #expect(fetch.succeeded, "\(fetch.summary)")
                #expect(bed.peerSeenByTarget(chain.target, tag: "learnt") == "::ffff:\(Testbed.lanIPv4)")

                // A hosts line in the rules answers statically; a second ask is served from the cache.
                #expect(try dig(bed, "static.test") == "10.9.8.7")
                let before = remote.log.components(separatedBy: "query[A] proxied.test").count
                #expect(try dig(bed, "proxied.test") == PublicAddresses.target4)
                #expect(remote.log.components(separatedBy: "query[A] proxied.test").count == before, "cache missed")
            }
        }
    }
}
