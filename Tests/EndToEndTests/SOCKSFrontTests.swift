import Foundation
import Testing

extension EndToEnd {
    /// The SOCKS5 inbound, through Debian's ss-server (`-u`) in wan: `ss-redir run --socks` next to the redirect
    /// front, and `ss-local` alone. Names are resolved in wan only (a hosts file there), so a download by name
    /// proves the name went to the server unresolved.
    @Suite("SOCKS5 front") struct SOCKSFrontTests {
        static let socksPort = 1081
        static let echoPort = 7
        static let targetName = "target.socks.test"

        static var ssLocalBinary: String {
            URL(fileURLWithPath: Testbed.ssRedirBinary).deletingLastPathComponent().appendingPathComponent("ss-local").path
        }

        /// `ip netns exec` mounts /etc/netns/NAME/hosts over /etc/hosts for what it starts: wan alone knows the
        /// target's name. Both families are listed: ss-server waits for the AAAA answer too, and a DNS query for
        /// it would time out in the testbed. Removed by the returned closure.
        func nameTargetInWan(_ bed: Testbed) throws -> () -> Void {
            let directory = URL(fileURLWithPath: "/etc/netns/\(bed.name(.wan))")
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
            let hosts = "127.0.0.1 localhost\n\(Testbed.wanIPv4) \(Self.targetName)\n\(Testbed.wanIPv6) \(Self.targetName)\n"
            try Data(hosts.utf8).write(to: directory.appendingPathComponent("hosts"))
            return {
                try? FileManager.default.removeItem(at: directory)
                rmdir("/etc/netns")  // only when empty: other namespaces' files stay
            }
        }

        func startEcho(_ bed: Testbed) throws {
            try bed.startUDPEcho(port: Self.echoPort)
        }

        /// GET /blob/SIZE through the SOCKS5 proxy; `hostname`: the name goes to the proxy (--socks5-hostname).
        func download(
            _ bed: Testbed, in namespace: Testbed.Namespace, proxy: String, user: String, host: String,
            hostname: Bool, size: Int, tag: String
        ) throws -> Transfer {
            let body = bed.path("socks-\(tag)")
            let headers = bed.path("socks-\(tag).headers")
            let curl = try bed.run(
                namespace,
                [
                    "curl", "-sS", "-g", "--fail", "--max-time", "20", hostname ? "--socks5-hostname" : "--socks5", proxy,
                    "--proxy-user", user, "-D", headers, "-o", body,
                    "http://\(Testbed.urlHost(host))/blob/\(size)?tag=\(tag)",
                ], timeout: .seconds(30))
            let header = Command.readText(URL(fileURLWithPath: headers)).split(separator: "\r\n")
                .first { $0.lowercased().hasPrefix("x-sha256:") }
                .map { $0.dropFirst("x-sha256:".count).trimmingCharacters(in: .whitespaces) }
            return Transfer(
                curl: curl, bytes: bed.fileSize(body), sha256: try bed.sha256(of: body),
                expectedSHA256: header ?? "(no X-SHA256)")
        }

        func socksClient(_ bed: Testbed, in namespace: Testbed.Namespace, _ arguments: [String]) throws -> Command.Result {
            let script = Testbed.resources.appendingPathComponent("socks5_client.py").path
            return try bed.run(namespace, ["python3", "-B", script] + arguments, timeout: .seconds(40))
        }

        @Test("ss-redir run --socks: one process serves redirect and SOCKS5 (CONNECT by name and IP, UDP) with one pool")
        func runWithSocks() throws {
            try Testbed.with(rules: "redirect") { bed in
                let removeHosts = try nameTargetInWan(bed)
                defer { removeHosts() }
                let socksPassword = UUID().uuidString
                let control = bed.path("control.sock")
                let chain = try bed.startChain(extraRedirArguments: [
                    "-u", "--socks", "127.0.0.1:\(Self.socksPort)", "--socks-user", "alice", "--socks-password",
                    socksPassword, "--control", control,
                ])
                try startEcho(bed)
                let proxy = "127.0.0.1:\(Self.socksPort)"

                // The transparent front still works next to it.
                let redirected = try bed.download(size: 1 << 20, tag: "redirected")
                #expect(redirected.curl.succeeded && redirected.sha256 == redirected.expectedSHA256, "\(redirected.curl.summary)")

                // CONNECT by name (resolved in wan only), by IPv4 and by IPv6.
                let byName = try download(
                    bed, in: .gw, proxy: proxy, user: "alice:\(socksPassword)", host: Self.targetName, hostname: true,
                    size: 1 << 20, tag: "by-name")
                #expect(byName.curl.succeeded && byName.sha256 == byName.expectedSHA256, "\(byName.curl.summary)\n\(bed.diagnostics)")
                for host in [Testbed.wanIPv4, Testbed.wanIPv6] {
                    let byAddress = try download(
                        bed, in: .gw, proxy: proxy, user: "alice:\(socksPassword)", host: host, hostname: false,
                        size: 256 << 10, tag: "by-ip")
                    #expect(byAddress.curl.succeeded && byAddress.sha256 == byAddress.expectedSHA256, "\(byAddress.curl.summary)")
                }
                #expect(chain.ssRedir.log.contains("(socks5) -> \(Self.targetName):80 via"), "\(chain.ssRedir.logTail())")
                #expect(chain.ssServer.log.contains(Self.targetName), "\(chain.ssServer.logTail())")

                // A wrong password: RFC 1929 status 1 and the connection closed; curl gives up.
                let refused = try socksClient(bed, in: .gw, ["auth", "127.0.0.1", "\(Self.socksPort)", "alice", "wrong"])
                #expect(refused.stdout.contains("auth status 1") && refused.stdout.contains("closed after failure: True"), "\(refused.summary)")
                let wrongCurl = try download(
                    bed, in: .gw, proxy: proxy, user: "alice:wrong", host: Testbed.wanIPv4, hostname: false, size: 10,
                    tag: "wrong")
                #expect(!wrongCurl.curl.succeeded)
                #expect(chain.ssRedir.log.contains("wrong username or password"))
                #expect(!chain.ssRedir.log.contains(socksPassword), "the password must never be logged")

                // UDP ASSOCIATE through the same process and pool.
                let udp = try socksClient(
                    bed, in: .gw,
                    ["udp", "127.0.0.1", "\(Self.socksPort)", Testbed.wanIPv4, "\(Self.echoPort)", "300", "alice", socksPassword])
                #expect(udp.succeeded, "\(udp.summary)\n\(bed.diagnostics)")
                #expect(udp.stdout.contains("300 of 300 replies exact"))

                // One pool, one status: the SOCKS connections are counted with the redirected one.
                let json = try Command.run([Testbed.ssRedirBinary, "status", "--json", "--control", control])
                let report = try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [String: Any]
                let members = report?["members"] as? [[String: Any]] ?? []
                #expect((members.first?["total_connections"] as? Int ?? 0) >= 4, "\(json.stdout)")
                #expect(chain.ssRedir.log.contains("socks5 on 127.0.0.1:\(Self.socksPort)"))
            }
        }

        @Test("ss-local (-c JSON): LAN clients over IPv4 and IPv6, CONNECT and UDP ASSOCIATE, a wrong password refused")
        func ssLocal() throws {
            try Testbed.with(rules: "none") { bed in
                let removeHosts = try nameTargetInWan(bed)
                defer { removeHosts() }
                let password = UUID().uuidString
                let socksPassword = UUID().uuidString
                _ = try bed.startTarget()
                let server = try bed.startSSServer(method: "aes-256-gcm", password: password)
                try startEcho(bed)
                // ss-libev's keys: local_address/local_port are the SOCKS5 listener here.
                let config = """
                    {
                      "servers": [{"server": "\(Testbed.wanIPv4)", "server_port": \(ProxyChain.serverPort)}],
                      "password": "\(password)", "method": "aes-256-gcm",
                      "local_address": "::", "local_port": \(Self.socksPort), "mode": "tcp_and_udp",
                      "socks_username": "bob", "socks_password": "\(socksPassword)",
                      "control_socket": "\(bed.path("local.sock"))"
                    }
                    """
                let configPath = bed.path("ss-local.json")
                try Data(config.utf8).write(to: URL(fileURLWithPath: configPath))
                let local = try bed.start(.gw, name: "ss-local", [Self.ssLocalBinary, "-c", configPath, "-v"])
                try bed.waitUntilListening(.gw, port: Self.socksPort, for: local)
                let user = "bob:\(socksPassword)"

                let byName = try download(
                    bed, in: .lan, proxy: "\(Testbed.gwLANIPv4):\(Self.socksPort)", user: user, host: Self.targetName,
                    hostname: true, size: 1 << 20, tag: "local-name")
                #expect(byName.curl.succeeded && byName.sha256 == byName.expectedSHA256, "\(byName.curl.summary)\n\(bed.diagnostics)")
                let overIPv6 = try download(
                    bed, in: .lan, proxy: "[fd31:1::1]:\(Self.socksPort)", user: user, host: Testbed.wanIPv6,
                    hostname: false, size: 256 << 10, tag: "local-v6")
                #expect(overIPv6.curl.succeeded && overIPv6.sha256 == overIPv6.expectedSHA256, "\(overIPv6.curl.summary)")

                // UDP: IPv4 relay to an IPv4 target, IPv6 relay to an IPv6 target, and a target by name.
                for (proxyHost, target, count) in [
                    (Testbed.gwLANIPv4, Testbed.wanIPv4, 500), ("fd31:1::1", Testbed.wanIPv6, 200),
                    (Testbed.gwLANIPv4, Self.targetName, 100),
                ] {
                    let udp = try socksClient(
                        bed, in: .lan,
                        ["udp", proxyHost, "\(Self.socksPort)", target, "\(Self.echoPort)", "\(count)", "bob", socksPassword])
                    #expect(udp.succeeded, "\(udp.summary)\n\(bed.diagnostics)")
                    #expect(udp.stdout.contains("\(count) of \(count) replies exact"), "\(udp.stdout)")
                    #expect(udp.stdout.contains("relay at \(proxyHost) "), "the UDP relay is on the address the client reached")
                }
                #expect(server.log.contains("[udp]"), "\(server.logTail())")
                #expect(local.log.contains("association closed"))

                let refused = try socksClient(bed, in: .lan, ["auth", Testbed.gwLANIPv4, "\(Self.socksPort)", "bob", "nope"])
                #expect(refused.stdout.contains("auth status 1"), "\(refused.summary)")
                #expect(!local.log.contains(socksPassword), "the password must never be logged")
                #expect(!local.log.contains(password))
                #expect(local.isRunning)
            }
        }
    }
}

/// The new flags in --help, and ss-local's ss-libev flags. No network, so these run without root.
@Suite("SOCKS5 command line") struct SOCKSCommandLineTests {
    @Test("ss-redir run --help lists --socks, --socks-user, --socks-password")
    func runHelp() throws {
        let result = try Command.run([Testbed.ssRedirBinary, "run", "--help"], timeout: .seconds(20))
        #expect(result.status == 0)
        for flag in ["--socks <addr:port>", "--socks-user", "--socks-password"] {
            #expect(result.stdout.contains(flag), "missing \(flag)")
        }
    }

    @Test("ss-local --help lists ss-libev ss-local's flags and the pool's")
    func localHelp() throws {
        let result = try Command.run([EndToEnd.SOCKSFrontTests.ssLocalBinary, "--help"], timeout: .seconds(20))
        #expect(result.status == 0)
        for flag in ["-s", "-p", "-l", "-b", "-k", "--key", "-m", "-c", "-u", "-U", "-t", "-v", "--server-url",
            "--servers-file", "--socks-user", "--socks-password"]
        {
            #expect(result.stdout.contains("  \(flag)"), "missing \(flag)")
        }
    }

    @Test("ss-local: a password without a username, and no port, are one clear line each")
    func localErrors() throws {
        let binary = EndToEnd.SOCKSFrontTests.ssLocalBinary
        let noUser = try Command.run(
            [binary, "-s", "192.0.2.1", "-p", "8388", "-k", "x", "-l", "1080", "--socks-password", "p"],
            timeout: .seconds(20))
        #expect(noUser.status == 2)
        #expect(noUser.stderr == "ss-local: flag --socks-password given without a SOCKS username: add --socks-user or \"socks_username\"\n")
        let noPort = try Command.run([binary, "-s", "192.0.2.1", "-p", "8388", "-k", "x"], timeout: .seconds(20))
        #expect(noPort.status == 2)
        #expect(noPort.stderr.hasPrefix("ss-local: no local port given: pass -l PORT"))
    }
}
