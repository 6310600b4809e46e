import Foundation
import Testing

extension EndToEnd {
    /// lan → gw → wan with the gw's rules installed only by `ss-redir setup`. The target and the server have
    /// addresses outside the reserved ranges (`PublicAddresses`), so they are in the captured range: the target
    /// logs each client, which is the LAN host only when the request went direct (bypassed), and ss-server's side
    /// of the wan namespace when it went through the proxy.
    @Suite("Traffic through the rules setup installs") struct SetupTrafficTests {
        static let echoPort = 7
        static let lanClient4 = "::ffff:\(Testbed.lanIPv4)"
        static let gwWAN4 = "::ffff:10.231.2.1"

        func startEcho(_ bed: Testbed) throws {
            try bed.startUDPEcho(port: Self.echoPort)
        }

        func udpOnce(_ bed: Testbed, _ host: String, from namespace: Testbed.Namespace = .lan) throws -> Command.Result
        {
            let script = Testbed.resources.appendingPathComponent("udp_client.py").path
            return try bed.run(
                namespace, ["python3", "-B", script, "once", host, "\(Self.echoPort)"], timeout: .seconds(30))
        }

        /// /etc/netns/sst* left by a run killed before its cleanup (its namespace is gone).
        static func removeStaleNetnsEtc() {
            let names = (try? FileManager.default.contentsOfDirectory(atPath: "/etc/netns")) ?? []
            for name in names where name.hasPrefix("sst") && !FileManager.default.fileExists(atPath: "/run/netns/\(name)") {
                try? FileManager.default.removeItem(atPath: "/etc/netns/\(name)")
            }
        }

        func bypassFile(_ bed: Testbed) throws -> String {
            try bed.writeFile("bypass.cidr", "\(PublicAddresses.bypassed4)\n\(PublicAddresses.bypassed6)\n")
        }

        @Test("TCP and UDP are proxied, bypassed CIDRs and the server's own address go direct (IPv4 and IPv6)")
        func proxiedAndBypassed() throws {
            try Testbed.with(rules: "none") { bed in
                let chain = try bed.startPublicChain(redirArguments: ["-u"])
                try startEcho(bed)
                let lan = try bed.interface(.gw, suffix: "-gwl")
                // The server by name: setup resolves it (IPv4 and IPv6) through gw's hosts file, which
                // `ip netns exec` mounts from /etc/netns/NAME/hosts.
                let etc = "/etc/netns/\(bed.name(.gw))"
                Self.removeStaleNetnsEtc()
                try FileManager.default.createDirectory(atPath: etc, withIntermediateDirectories: true)
                defer { try? FileManager.default.removeItem(atPath: etc) }
                try Data("\(PublicAddresses.server4) ss.test\n\(PublicAddresses.server6) ss.test\n".utf8)
                    .write(to: URL(fileURLWithPath: "\(etc)/hosts"))
                let setup = try bed.ssRedir([
                    "setup", "-s", "ss.test", "-l", "\(ProxyChain.redirPort)", "-b", "::", "-u", "--lan-if", lan,
                    "--bypass-file", try bypassFile(bed),
                ])
                #expect(setup.succeeded, "\(setup.summary)")
                let dryRun = try bed.ssRedir(["setup", "-s", "ss.test", "-l", "1080", "--dry-run"])
                #expect(
                    dryRun.stdout.contains("server ss.test: \(PublicAddresses.server4), \(PublicAddresses.server6)"),
                    "\(dryRun.summary)")

                for (host, tag) in [(PublicAddresses.target4, "proxied4"), (PublicAddresses.target6, "proxied6")] {
                    let fetch = try bed.fetch(host, tag: tag)
                    #expect(fetch.succeeded, "\(fetch.summary)\n\(bed.diagnostics)")
                    let peer = bed.peerSeenByTarget(chain.target, tag: tag)
                    #expect(
                        peer != nil && peer != Self.lanClient4 && peer != Testbed.lanIPv6,
                        "\(tag): target saw \(peer ?? "nothing")")
                    #expect(chain.ssRedir.log.contains("-> \(Testbed.urlHost(host)):80"), "\(chain.ssRedir.logTail())")
                }
                for (host, tag, client) in [
                    (PublicAddresses.bypassed4, "bypassed4", Self.lanClient4),
                    (PublicAddresses.bypassed6, "bypassed6", Testbed.lanIPv6),
                    (PublicAddresses.server4, "server4", Self.lanClient4),
                    (PublicAddresses.server6, "server6", Testbed.lanIPv6),
                ] {
                    let fetch = try bed.fetch(host, tag: tag)
                    #expect(fetch.succeeded, "\(fetch.summary)\n\(bed.diagnostics)")
                    #expect(bed.peerSeenByTarget(chain.target, tag: tag) == client, "\(tag) should go direct")
                }

                // (udp_echo.py answers from its wildcard socket, so its reply's source is not necessarily target4.)
                let proxied = try udpOnce(bed, PublicAddresses.target4)
                #expect(proxied.succeeded, "\(proxied.summary)\n\(bed.diagnostics)")
                #expect(
                    chain.ssRedir.log.contains("-> \(PublicAddresses.target4):\(Self.echoPort) via"),
                    "\(chain.ssRedir.logTail())")
                let proxied6 = try udpOnce(bed, PublicAddresses.target6)
                #expect(proxied6.succeeded, "\(proxied6.summary)\n\(bed.diagnostics)")
                #expect(
                    chain.ssRedir.log.contains("-> [\(PublicAddresses.target6)]:\(Self.echoPort) via"),
                    "\(chain.ssRedir.logTail())")
                let direct = try udpOnce(bed, PublicAddresses.bypassed4)
                #expect(direct.succeeded, "\(direct.summary)")
                #expect(!chain.ssRedir.log.contains(PublicAddresses.bypassed4), "\(chain.ssRedir.logTail())")
                // The relay's own connections to the server were never captured again.
                #expect(!chain.ssRedir.log.contains("-> \(PublicAddresses.server4):\(ProxyChain.serverPort)"))
            }
        }

        @Test("Proxy down: --fail-open lets tproxied UDP go direct, --fail-closed drops it; TCP -T with tproxy rules")
        func failOpenAndClosed() throws {
            try Testbed.with(rules: "none") { bed in
                let chain = try bed.startPublicChain(redirArguments: ["-T", "-u"])
                try startEcho(bed)
                let lan = try bed.interface(.gw, suffix: "-gwl")
                let arguments = [
                    "setup", "-s", PublicAddresses.server4, "-l", "\(ProxyChain.redirPort)", "-b", "::", "-T", "-u",
                    "--lan-if", lan,
                    "--bypass-file", try bypassFile(bed),
                ]
                #expect(try bed.ssRedir(arguments).succeeded)

                let fetch = try bed.fetch(PublicAddresses.target4, tag: "tproxy-tcp")
                #expect(fetch.succeeded, "\(fetch.summary)\n\(bed.diagnostics)")
                let peer = bed.peerSeenByTarget(chain.target, tag: "tproxy-tcp")
                #expect(peer != nil && peer != Self.lanClient4, "target saw \(peer ?? "nothing")")
                #expect(try udpOnce(bed, PublicAddresses.target4).succeeded)

                chain.ssRedir.stop()
                let open = try udpOnce(bed, PublicAddresses.target4)
                #expect(open.succeeded, "--fail-open: direct while the proxy is down\n\(open.summary)")
                let openTCP = try bed.fetch(PublicAddresses.target4, tag: "fail-open-tcp")
                #expect(openTCP.succeeded, "\(openTCP.summary)")
                #expect(bed.peerSeenByTarget(chain.target, tag: "fail-open-tcp") == Self.lanClient4)

                #expect(try bed.ssRedir(arguments + ["--fail-closed"]).succeeded)
                let closed = try udpOnce(bed, PublicAddresses.target4)
                #expect(
                    !closed.succeeded, "--fail-closed: nothing gets through while the proxy is down\n\(closed.summary)")
                let closedTCP = try bed.fetch(PublicAddresses.target4, tag: "fail-closed-tcp", maxTime: 3)
                #expect(!closedTCP.succeeded)
                #expect(bed.peerSeenByTarget(chain.target, tag: "fail-closed-tcp", wait: .milliseconds(300)) == nil)
                // Bypassed destinations still work.
                #expect(try bed.fetch(PublicAddresses.bypassed4, tag: "closed-bypass").succeeded)
            }
        }

        @Test("The gateway's own curl works without --proxy-router (direct) and with it (proxied); nothing loops")
        func proxyRouter() throws {
            try Testbed.with(rules: "none") { bed in
                let chain = try bed.startPublicChain(redirArguments: ["-u"])
                try startEcho(bed)
                let lan = try bed.interface(.gw, suffix: "-gwl")
                let arguments = [
                    "setup", "-s", PublicAddresses.server4, "-l", "\(ProxyChain.redirPort)", "-b", "::", "-u",
                    "--lan-if", lan,
                ]
                #expect(try bed.ssRedir(arguments).succeeded)
                let direct = try bed.fetch(PublicAddresses.target4, tag: "gw-direct", from: .gw)
                #expect(direct.succeeded, "\(direct.summary)")
                #expect(bed.peerSeenByTarget(chain.target, tag: "gw-direct") == Self.gwWAN4)

                let setup = try bed.ssRedir(arguments + ["--proxy-router"])
                #expect(setup.succeeded, "\(setup.summary)")
                for (host, tag) in [(PublicAddresses.target4, "gw-proxied4"), (PublicAddresses.target6, "gw-proxied6")]
                {
                    let fetch = try bed.fetch(host, tag: tag, from: .gw)
                    #expect(fetch.succeeded, "\(fetch.summary)\n\(bed.diagnostics)")
                    let peer = bed.peerSeenByTarget(chain.target, tag: tag)
                    #expect(
                        peer != nil && peer != Self.gwWAN4 && peer != "fd31:2::1",
                        "\(tag): target saw \(peer ?? "nothing")")
                }
                #expect(chain.ssRedir.log.contains("-> \(PublicAddresses.target4):80"), "\(chain.ssRedir.logTail())")
                let udp = try udpOnce(bed, PublicAddresses.target4, from: .gw)
                #expect(udp.succeeded, "\(udp.summary)\n\(bed.diagnostics)")
                #expect(
                    chain.ssRedir.log.contains("-> \(PublicAddresses.target4):\(Self.echoPort) via"),
                    "\(chain.ssRedir.logTail())")
                // LAN traffic still flows, and the relay never saw its own upstream connections.
                #expect(try bed.fetch(PublicAddresses.target4, tag: "lan-with-router").succeeded)
                #expect(
                    !chain.ssRedir.log.contains("-> \(PublicAddresses.server4):\(ProxyChain.serverPort)"),
                    "\(chain.ssRedir.logTail())")
                #expect(chain.ssRedir.isRunning)

                #expect(try bed.ssRedir(["teardown"]).succeeded)
                let after = try bed.fetch(PublicAddresses.target4, tag: "gw-after-teardown", from: .gw)
                #expect(after.succeeded)
                #expect(bed.peerSeenByTarget(chain.target, tag: "gw-after-teardown") == Self.gwWAN4)
            }
        }

        @Test("run --auto-setup: rules live exactly as long as the daemon (owner flag), routing removed on exit")
        func autoSetup() throws {
            try Testbed.with(rules: "none") { bed in
                let chain = try bed.startPublicChain(redirArguments: ["-u", "--auto-setup"])
                let table = try bed.run(.gw, ["nft", "list", "table", "inet", "ss_redir"])
                #expect(table.succeeded, "\(table.summary)\n\(chain.ssRedir.logTail())")
                #expect(try bed.fetch(PublicAddresses.target4, tag: "auto").succeeded)
                let peer = bed.peerSeenByTarget(chain.target, tag: "auto")
                #expect(peer != nil && peer != Self.lanClient4, "\(bed.diagnostics)")
                #expect(chain.ssServer.log.contains("connect to \(PublicAddresses.target4)"), "\(bed.diagnostics)")

                // A crash: the kernel drops the table with the daemon's netlink socket.
                _ = chain.ssRedir.signalAndWait(SIGKILL, timeout: .seconds(5))
                let afterCrash = try bed.run(.gw, ["nft", "list", "table", "inet", "ss_redir"])
                #expect(!afterCrash.succeeded, "the table outlived the daemon: \(afterCrash.stdout)")

                // A clean stop also takes the policy routing away.
                let again = try bed.startSSRedir(
                    ["-s", PublicAddresses.server4, "-p", "\(ProxyChain.serverPort)", "-l", "\(ProxyChain.redirPort)",
                     "-b", "::", "-k", "unused", "-u", "--auto-setup"])
                #expect(try bed.run(.gw, ["ip", "rule", "show"]).stdout.contains("fwmark 0x1 lookup 100"))
                #expect(again.signalAndWait(SIGTERM, timeout: .seconds(10)) == .exited(0), "\(again.logTail())")
                #expect(!(try bed.run(.gw, ["ip", "rule", "show"]).stdout.contains("fwmark 0x1 lookup 100")))
                #expect(!(try bed.run(.gw, ["nft", "list", "table", "inet", "ss_redir"]).succeeded))
            }
        }

        @Test("--dns-hijack: LAN DNS to any server is answered by the gateway's forwarder port")
        func dnsHijack() throws {
            try Testbed.with(rules: "none") { bed in
                let chain = try bed.startPublicChain(redirArguments: ["-u"])
                let resolver = try bed.start(
                    .gw, name: "dnsmasq",
                    [
                        "dnsmasq", "--keep-in-foreground", "--no-resolv", "--no-hosts", "--log-queries",
                        "--log-facility=-",
                        "--port=5353", "--address=/hijacked.test/192.0.2.99", "--pid-file=",
                    ])
                try bed.waitUntilListening(.gw, port: 5353, for: resolver, udp: true)
                let lan = try bed.interface(.gw, suffix: "-gwl")
                let setup = try bed.ssRedir([
                    "setup", "-s", PublicAddresses.server4, "-l", "\(ProxyChain.redirPort)", "-b", "::", "-u",
                    "--lan-if", lan,
                    "--dns-hijack", "5353",
                ])
                #expect(setup.succeeded, "\(setup.summary)")
                for (server, transport) in [(PublicAddresses.target4, "+notcp"), (PublicAddresses.target6, "+tcp")] {
                    let dig = try bed.run(
                        .lan,
                        ["dig", "+short", "+tries=1", "+time=3", transport, "@\(server)", "www.hijacked.test", "A"])
                    #expect(
                        dig.stdout.trimmingCharacters(in: .whitespacesAndNewlines) == "192.0.2.99",
                        "\(dig.summary)\n\(resolver.logTail())")
                }
                #expect(
                    !chain.ssRedir.log.contains(":53 via"), "DNS must not reach the relay: \(chain.ssRedir.logTail())")
            }
        }
    }
}
