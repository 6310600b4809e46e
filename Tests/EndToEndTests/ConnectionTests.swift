import Foundation
import Testing

extension EndToEnd {
    @Suite("Connections") struct ConnectionTests {
        @Test("200 concurrent connections each get their own reply")
        func concurrentConnections() throws {
            try Testbed.with { bed in
                let chain = try bed.startChain()
                let client = try bed.lineClient(
                    ["concurrent", Testbed.wanIPv4, "\(ProxyChain.linePort)", "200", "65536"])
                #expect(client.succeeded, "\(client.summary)\n\(bed.diagnostics)")
                #expect(client.stdout.contains("200 of 200 replies correct, 0 wrong, 0 unfinished"))
                #expect(chain.ssRedir.isRunning)
            }
        }

        /// An address literal is connected to directly; a name goes through the resolver (gw's hosts file here,
        /// which `ip netns exec` mounts from /etc/netns/NAME/hosts).
        @Test("A server given by name relays like one given by address")
        func serverByName() throws {
            try Testbed.with { bed in
                let directory = URL(fileURLWithPath: "/etc/netns/\(bed.name(.gw))")
                try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
                defer {
                    try? FileManager.default.removeItem(at: directory)
                    rmdir("/etc/netns")  // only when empty: other namespaces' files stay
                }
                let hosts = "127.0.0.1 localhost\n\(Testbed.wanIPv4) ss-server.test\n"
                try Data(hosts.utf8).write(to: directory.appendingPathComponent("hosts"))
                _ = try bed.startTarget()
                let password = UUID().uuidString
                _ = try bed.startSSServer(method: "aes-256-gcm", password: password)
                let redir = try bed.startSSRedir([
                    "-s", "ss-server.test", "-p", "\(ProxyChain.serverPort)", "-l", "\(ProxyChain.redirPort)", "-b",
                    "::", "-k", password, "-m", "aes-256-gcm", "-v",
                ])
                for tag in ["first", "second"] {
                    let result = try bed.download(size: 1 << 16, tag: tag, host: Testbed.wanIPv4)
                    #expect(result.curl.succeeded, "\(result.curl.summary)\n\(bed.diagnostics)")
                    #expect(result.sha256 == result.expectedSHA256)
                }
                #expect(redir.log.contains("via ss-server.test:\(ProxyChain.serverPort)"), "\(redir.logTail())")
            }
        }

        @Test("IPv6 and IPv4 lan clients share one listener bound with -b ::")
        func ipv6AndIPv4() throws {
            try Testbed.with { bed in
                let chain = try bed.startChain()

                let v6 = try bed.download(size: 1 << 20, tag: "v6", host: Testbed.wanIPv6)
                #expect(v6.curl.succeeded, "\(v6.curl.summary)\n\(bed.diagnostics)")
                #expect(v6.bytes == 1 << 20)
                #expect(v6.sha256 == v6.expectedSHA256)

                let v4 = try bed.download(size: 1 << 20, tag: "v4", host: Testbed.wanIPv4)
                #expect(v4.curl.succeeded, "\(v4.curl.summary)\n\(bed.diagnostics)")
                #expect(v4.sha256 == v4.expectedSHA256)

                // ss-server logs the destination it was asked for; the target never sees the lan address.
                #expect(chain.ssServer.log.contains("fd31:2::2"), "\(bed.diagnostics)")
                #expect(!chain.target.log.contains(Testbed.lanIPv6), "\(bed.diagnostics)")
            }
        }

        /// The client shuts its write side after the request; the target replies 200 ms after reading the request
        /// line, without waiting for EOF. ss-libev's ss-server drops both directions on EOF from its client, so the
        /// proxy must hold the client's FIN until the reply is done. shadowsocks-libev's own ss-redir fails this.
        @Test("Half-close: the full 1 MiB reply arrives after the client shuts down its write side")
        func halfClose() throws {
            try Testbed.with { bed in
                let chain = try bed.startChain()
                let client = try bed.lineClient(
                    ["halfclose", Testbed.wanIPv4, "\(ProxyChain.linePort)", "\(1 << 20)", "200"])
                #expect(client.succeeded, "\(client.summary)\n\(bed.diagnostics)")
                #expect(client.stdout.contains("received \(1 << 20) of \(1 << 20) bytes, exact"))
                #expect(chain.ssRedir.isRunning)
            }
        }
    
        /// The client shuts its write side, then reads nothing for longer than the half-close wait: the relay has
        /// stopped reading the server (backpressure), which is not the server's silence, so the client's FIN must
        /// stay held (ss-libev's ss-server would drop the rest of the reply on it). When the target ends, the
        /// reply's tail still queued for the client is written before the relay closes, and no reset is logged.
        @Test("Half-close, a client that reads late and slowly: the whole 2 MiB reply, no warning")
        func halfCloseSlowReader() throws {
            try Testbed.with { bed in
                let chain = try bed.startChain()
                let client = try bed.lineClient(
                    ["halfclose-slow", Testbed.wanIPv4, "\(ProxyChain.linePort)", "\(2 << 20)", "3", "4.5"])
                #expect(client.succeeded, "\(client.summary)\n\(bed.diagnostics)")
                #expect(client.stdout.contains("received \(2 << 20) of \(2 << 20) bytes, exact"))
                #expect(!chain.ssRedir.log.contains("warning"), "\(chain.ssRedir.logTail())")
            }
        }

        /// A protocol whose server speaks first (SMTP, SSH): the client sends nothing, so the target address must
        /// reach the Shadowsocks server on its own (the relay holds it back only to the end of an event-loop round,
        /// for a request to ride with it).
        @Test("A target that speaks first reaches a client that sends nothing")
        func targetSpeaksFirst() throws {
            try Testbed.with { bed in
                _ = try bed.startChain()
                let banner = try bed.start(
                    .wan, name: "banner", ["socat", "TCP-LISTEN:9101,reuseaddr", "SYSTEM:echo banner-from-target"])
                try bed.waitUntilListening(.wan, port: 9101, for: banner)
                let client = try bed.run(
                    .lan, ["socat", "-u", "TCP:\(Testbed.wanIPv4):9101", "STDOUT"], timeout: .seconds(15))
                #expect(client.succeeded, "\(client.summary)\n\(bed.diagnostics)")
                #expect(client.stdout.contains("banner-from-target"), "\(client.summary)")
            }
        }

        /// The other half-close pattern: the client uploads and sends FIN, the target reads until EOF. The held
        /// FIN must reach the target once the server side is quiet (--half-close-wait, 3 s), not at the 60 s idle
        /// timeout.
        @Test("An upload ending in FIN reaches its target's EOF after the half-close wait")
        func uploadThenEOF() throws {
            try Testbed.with { bed in
                _ = try bed.startChain()
                let received = bed.path("received.bin")
                let sink = try bed.start(
                    .wan, name: "eof-sink",
                    ["socat", "-u", "TCP-LISTEN:9100,reuseaddr", "OPEN:\(received),creat,trunc"])
                try bed.waitUntilListening(.wan, port: 9100, for: sink)
                let file = bed.path("upload.bin")
                try Data((0..<(1 << 20)).map { UInt8(truncatingIfNeeded: $0 &* 7) }).write(to: URL(fileURLWithPath: file))
                let started = ContinuousClock.now
                let upload = try bed.run(.lan, ["socat", "-u", "OPEN:\(file)", "TCP:\(Testbed.wanIPv4):9100"])
                #expect(upload.succeeded, "\(upload.summary)")
                // The sink exits when its connection reaches EOF.
                let deadline = ContinuousClock.now + .seconds(20)
                while sink.isRunning && ContinuousClock.now < deadline { Thread.sleep(forTimeInterval: 0.1) }
                #expect(!sink.isRunning, "the target never saw EOF")
                #expect(ContinuousClock.now - started < .seconds(20))
                #expect(try bed.sha256(of: received) == (try bed.sha256(of: file)))
            }
        }
}
}
