import Foundation
import Testing

extension EndToEnd {
    /// A server given by name, resolved through the project's resolver (resolv.conf, TTLs): ss-redir starts
    /// before the name resolves and serves once it does; when the name moves, new connections follow.
    @Suite("Server names") struct ServerNameTests {
        func startResolver(_ bed: Testbed, serverAddress: String, name: String = "ss.test") throws -> BackgroundProcess {
            let process = try bed.start(
                .wan, name: "dnsmasq-\(serverAddress)",
                [
                    "dnsmasq", "--keep-in-foreground", "--no-resolv", "--no-hosts", "--bind-interfaces",
                    "--listen-address=\(Testbed.wanIPv4)", "--port=53", "--pid-file=", "--local-ttl=1",
                    "--host-record=\(name),\(serverAddress)",
                ])
            try bed.waitUntilListening(.wan, port: 53, for: process, udp: true)
            return process
        }

        /// Fetches until one succeeds or `limit` passes (bounded: one try per second).
        func fetchEventually(_ bed: Testbed, tag: String, limit: Duration) throws -> Bool {
            let deadline = ContinuousClock.now + limit
            var attempt = 0
            while ContinuousClock.now < deadline {
                attempt += 1
                if try bed.fetch(PublicAddresses.target4, tag: "\(tag)-\(attempt)", maxTime: 3).succeeded { return true }
                Thread.sleep(forTimeInterval: 1)
            }
            return false
        }

        @Test("Started before the name resolves it keeps running and serves once it does; a moved name is followed")
        func startsEarlyAndFollowsTheName() throws {
            try Testbed.with { bed in
                try bed.addPublicAddresses()
                let password = UUID().uuidString
                _ = try bed.startTarget()
                let first = try bed.start(
                    .wan, name: "ss-server-first",
                    ["ss-server", "-s", Testbed.wanIPv4, "-p", "8388", "-k", password, "-m", "aes-256-gcm", "-v"])
                try bed.waitUntilListening(.wan, port: 8388, for: first)
                let resolvConf = try bed.writeFile("resolv.conf", "nameserver \(Testbed.wanIPv4)\noptions timeout:1 attempts:1\n")
                let redir = try bed.startSSRedir([
                    "-s", "ss.test", "-p", "8388", "-k", password, "-m", "aes-256-gcm", "-l", "\(ProxyChain.redirPort)",
                    "-b", "::", "--resolv-conf", resolvConf, "-v",
                ])
                // No resolver yet: connections fail, the daemon stays up.
                #expect(!(try bed.fetch(PublicAddresses.target4, tag: "no-dns", maxTime: 3).succeeded))
                #expect(redir.isRunning)

                var dns = try startResolver(bed, serverAddress: Testbed.wanIPv4)
                #expect(try fetchEventually(bed, tag: "first", limit: .seconds(15)), "\(redir.logTail())")
                #expect(first.log.contains("connect to"), "\(first.logTail())")

                // The name moves to another server; the old one goes away.
                let second = try bed.start(
                    .wan, name: "ss-server-second",
                    ["ss-server", "-s", PublicAddresses.server4, "-p", "8388", "-k", password, "-m", "aes-256-gcm", "-v"])
                try bed.waitUntilListening(.wan, port: 8388, for: second)
                first.stop()
                dns.stop()
                dns = try startResolver(bed, serverAddress: PublicAddresses.server4)
                #expect(try fetchEventually(bed, tag: "moved", limit: .seconds(30)), "\(redir.logTail())")
                #expect(second.log.contains("connect to"), "\(second.logTail())")
                #expect(redir.isRunning)
                _ = dns
            }
        }
    
        @Test("setup with a server name that does not resolve yet succeeds; the daemon adds the address later")
        func setupBeforeTheNameResolves() throws {
            try Testbed.with(rules: "none") { bed in
                try bed.addPublicAddresses()
                let password = UUID().uuidString
                _ = try bed.startTarget()
                let server = try bed.start(
                    .wan, name: "ss-server",
                    ["ss-server", "-s", PublicAddresses.server4, "-p", "8388", "-k", password, "-m", "aes-256-gcm", "-v"])
                try bed.waitUntilListening(.wan, port: 8388, for: server)
                let lan = try bed.interface(.gw, suffix: "-gwl")
                let setup = try bed.ssRedir([
                    "setup", "-s", "ss.test.invalid", "-l", "\(ProxyChain.redirPort)", "-b", "::", "--lan-if", lan,
                ])
                #expect(setup.succeeded, "\(setup.summary)")
                #expect(setup.stderr.contains("server ss.test.invalid does not resolve yet"), "\(setup.stderr)")

                _ = try startResolver(bed, serverAddress: PublicAddresses.server4, name: "ss.test.invalid")
                let resolvConf = try bed.writeFile("resolv.conf", "nameserver \(Testbed.wanIPv4)\noptions timeout:1\n")
                let redir = try bed.startSSRedir([
                    "-s", "ss.test.invalid", "-p", "8388", "-k", password, "-m", "aes-256-gcm",
                    "-l", "\(ProxyChain.redirPort)", "-b", "::", "--resolv-conf", resolvConf, "-v",
                ])
                let fetch = try bed.fetch(PublicAddresses.target4, tag: "named")
                #expect(fetch.succeeded, "\(fetch.summary)\n\(redir.logTail())")
                let set = try bed.run(.gw, ["nft", "list", "set", "inet", "ss_redir", "bypass4_dns"])
                #expect(set.stdout.contains(PublicAddresses.server4), "\(set.summary)\n\(redir.logTail())")
            }
        }
    }
}
