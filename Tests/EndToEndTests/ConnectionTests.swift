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
    }
}
