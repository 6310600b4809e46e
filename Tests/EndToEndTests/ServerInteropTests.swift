import Foundation
import Testing

extension EndToEnd {
    /// Our ss-server with shadowsocks-libev clients for the legacy stream ciphers (the seed's methods), and the
    /// seed's own pairing: ss-local (SOCKS5) → ss-server, both ours.
    @Suite("ss-server interoperability") struct ServerInteropTests {
        static let streamMethods = [
            "aes-128-cfb", "aes-192-cfb", "aes-256-cfb", "aes-128-ctr", "aes-192-ctr", "aes-256-ctr", "chacha20-ietf",
            "chacha20", "rc4-md5",
        ]

        @Test("Debian's ss-redir -> our ss-server with each stream cipher: 4 MiB both ways, UDP echoes", arguments: streamMethods)
        func libevStreamCipher(method: String) throws {
            try Testbed.with(rules: "tproxy-udp") { bed in
                let password = UUID().uuidString
                _ = try bed.startTarget()
                try bed.startUDPEcho(port: 7)
                let server = try bed.startOurServer(["-p", "\(ProxyChain.serverPort)", "-k", password, "-m", method, "-u", "-v"])
                try bed.waitUntilListening(.wan, port: ProxyChain.serverPort, for: server, udp: true)
                let redir = try bed.start(
                    .gw, name: "libev-ss-redir",
                    [
                        "ss-redir", "-s", Testbed.wanIPv4, "-p", "\(ProxyChain.serverPort)", "-l", "\(ProxyChain.redirPort)",
                        "-b", "0.0.0.0", "-k", password, "-m", method, "-u", "-v",
                    ])
                try bed.waitUntilListening(.gw, port: ProxyChain.redirPort, for: redir)
                try bed.waitUntilListening(.gw, port: ProxyChain.redirPort, for: redir, udp: true)

                let download = try bed.download(size: 4 << 20, tag: method)
                #expect(download.curl.succeeded && download.sha256 == download.expectedSHA256, "\(bed.diagnostics)")
                let upload = try bed.upload(size: 4 << 20)
                #expect(upload.curl.succeeded && upload.sha256 == upload.expectedSHA256, "\(bed.diagnostics)")
                let client = Testbed.resources.appendingPathComponent("udp_client.py").path
                let udp = try bed.run(.lan, ["python3", "-B", client, "echo", Testbed.wanIPv4, "7", "200"], timeout: .seconds(30))
                #expect(udp.stdout.contains("200 of 200 replies exact"), "\(udp.summary)\n\(server.logTail())")
                #expect(server.log.contains("is a legacy stream cipher"), "the stream cipher warning is logged")
            }
        }

        @Test("Our ss-local -> our ss-server: curl --socks5-hostname gets the blob, the name resolved by the server")
        func ourLocalToOurServer() throws {
            try Testbed.with(rules: "none") { bed in
                let password = UUID().uuidString
                let target = try bed.startTarget()
                let etc = "/etc/netns/\(bed.name(.wan))"
                try FileManager.default.createDirectory(atPath: etc, withIntermediateDirectories: true)
                defer { try? FileManager.default.removeItem(atPath: etc) }
                try Data("\(Testbed.wanIPv4) target.test\n\(Testbed.wanIPv6) target.test\n".utf8)
                    .write(to: URL(fileURLWithPath: "\(etc)/hosts"))
                _ = try bed.startOurServer(["-p", "\(ProxyChain.serverPort)", "-k", password, "-m", "aes-128-gcm", "-v"])
                let localBinary = URL(fileURLWithPath: Testbed.ssRedirBinary).deletingLastPathComponent()
                    .appendingPathComponent("ss-local").path
                let local = try bed.start(
                    .gw, name: "ss-local",
                    [
                        localBinary, "-s", Testbed.wanIPv4, "-p", "\(ProxyChain.serverPort)", "-k", password, "-m",
                        "aes-128-gcm", "-b", Testbed.gwLANIPv4, "-l", "1081", "--control", bed.path("local.sock"), "-v",
                    ])
                try bed.waitUntilListening(.gw, port: 1081, for: local)
                let fetch = try bed.run(
                    .lan,
                    [
                        "curl", "-sS", "--fail", "--max-time", "15", "--socks5-hostname", "\(Testbed.gwLANIPv4):1081",
                        "-o", "/dev/null", "-w", "%{size_download}", "http://target.test/blob/65536?tag=socks-ours",
                    ], timeout: .seconds(30))
                #expect(fetch.succeeded && fetch.stdout == "65536", "\(fetch.summary)\n\(local.logTail())")
                #expect(target.log.contains("tag=socks-ours"))
            }
        }
    }
}
