import Foundation
import Testing

extension EndToEnd {
    @Suite("Transfers") struct TransferTests {
        static let fiftyMiB = 50 << 20

        @Test("50 MiB download and 50 MiB upload arrive intact")
        func downloadAndUpload() throws {
            try Testbed.with { bed in
                let chain = try bed.startChain()

                let download = try bed.download(size: Self.fiftyMiB, tag: "down")
                #expect(download.curl.succeeded, "\(download.curl.summary)")
                #expect(download.bytes == Self.fiftyMiB)
                #expect(download.sha256 == download.expectedSHA256)

                let upload = try bed.upload(size: Self.fiftyMiB)
                #expect(upload.curl.succeeded, "\(upload.curl.summary)")
                #expect(upload.sha256 == upload.expectedSHA256)

                // The target saw ss-server's address, never the lan client's: the bytes went through the proxy.
                #expect(!chain.target.log.contains(Testbed.lanIPv4), "\(bed.diagnostics)")
                #expect(chain.ssRedir.isRunning)
            }
        }

        @Test(
            "Each AEAD cipher carries a transfer both ways",
            arguments: ["aes-128-gcm", "aes-192-gcm", "aes-256-gcm", "chacha20-ietf-poly1305"]
        )
        func cipher(_ method: String) throws {
            try Testbed.with { bed in
                _ = try bed.startChain(method: method)
                let download = try bed.download(size: 2 << 20, tag: method)
                #expect(download.curl.succeeded, "\(download.curl.summary)\n\(bed.diagnostics)")
                #expect(download.bytes == 2 << 20)
                #expect(download.sha256 == download.expectedSHA256)

                let upload = try bed.upload(size: 2 << 20)
                #expect(upload.curl.succeeded, "\(upload.curl.summary)\n\(bed.diagnostics)")
                #expect(upload.sha256 == upload.expectedSHA256)
            }
        }

        @Test("ss-redir -c reads ss-libev JSON config")
        func configFile() throws {
            try Testbed.with { bed in
                let password = UUID().uuidString
                _ = try bed.startTarget()
                _ = try bed.startSSServer(method: "aes-256-gcm", password: password)
                let config: [String: Any] = [
                    "server": Testbed.wanIPv4, "server_port": ProxyChain.serverPort,
                    "local_address": "::", "local_port": ProxyChain.redirPort,
                    "password": password, "method": "aes-256-gcm", "timeout": 60,
                ]
                let file = bed.path("config.json")
                try JSONSerialization.data(withJSONObject: config, options: [.prettyPrinted, .sortedKeys])
                    .write(to: URL(fileURLWithPath: file))
                _ = try bed.startSSRedir(["-c", file, "-v"])

                let download = try bed.download(size: 8 << 20, tag: "config")
                #expect(download.curl.succeeded, "\(download.curl.summary)\n\(bed.diagnostics)")
                #expect(download.bytes == 8 << 20)
                #expect(download.sha256 == download.expectedSHA256)
            }
        }
    }
}
