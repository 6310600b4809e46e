import Foundation
import Testing

/// The legacy stream ciphers as shadowsocks 2.8.2 and ss-libev offer them, all but the AEAD four.
let legacyStreamMethods = [
    "aes-128-cfb", "aes-192-cfb", "aes-256-cfb", "aes-128-ctr", "aes-192-ctr", "aes-256-ctr", "chacha20-ietf",
    "chacha20", "rc4-md5",
]

extension EndToEnd {
    /// Our ss-redir against Debian's ss-libev `ss-server` (3.3.5: mbed TLS for AES and RC4, libsodium for the
    /// ChaCha20 variants) with each legacy stream cipher: an independent implementation on the other end.
    @Suite("Legacy stream ciphers") struct StreamCipherTransferTests {
        static let warning = "is a legacy stream cipher: no integrity and no replay protection"

        @Test("aes-256-cfb: 50 MiB down and 50 MiB up arrive intact")
        func largeTransfer() throws {
            try Testbed.with { bed in
                let chain = try bed.startChain(method: "aes-256-cfb")
                let download = try bed.download(size: 50 << 20, tag: "cfb-down")
                #expect(download.curl.succeeded, "\(download.curl.summary)\n\(bed.diagnostics)")
                #expect(download.bytes == 50 << 20)
                #expect(download.sha256 == download.expectedSHA256)
                let upload = try bed.upload(size: 50 << 20)
                #expect(upload.curl.succeeded, "\(upload.curl.summary)\n\(bed.diagnostics)")
                #expect(upload.sha256 == upload.expectedSHA256)
                #expect(!chain.target.log.contains(Testbed.lanIPv4), "\(bed.diagnostics)")
            }
        }

        @Test(
            "Each stream cipher carries 4 MiB both ways and is logged as insecure once",
            arguments: legacyStreamMethods)
        func cipher(_ method: String) throws {
            try Testbed.with { bed in
                let chain = try bed.startChain(method: method)
                let download = try bed.download(size: 4 << 20, tag: method)
                #expect(download.curl.succeeded, "\(download.curl.summary)\n\(bed.diagnostics)")
                #expect(download.bytes == 4 << 20)
                #expect(download.sha256 == download.expectedSHA256)

                let upload = try bed.upload(size: 4 << 20)
                #expect(upload.curl.succeeded, "\(upload.curl.summary)\n\(bed.diagnostics)")
                #expect(upload.sha256 == upload.expectedSHA256)

                // The bytes went through ss-server, and the operator was told once what the method lacks.
                #expect(!chain.target.log.contains(Testbed.lanIPv4), "\(bed.diagnostics)")
                let warnings = chain.ssRedir.log.components(separatedBy: "\(method) \(Self.warning)").count - 1
                #expect(warnings == 1, "\(chain.ssRedir.logTail())")
            }
        }

        @Test(
            "UDP through tproxy with stream ciphers: every echo exact, IPv4 and IPv6",
            arguments: ["chacha20", "rc4-md5"])
        func udp(_ method: String) throws {
            try Testbed.with(rules: "tproxy-udp") { bed in
                let chain = try bed.startChain(method: method, extraRedirArguments: ["-u"])
                try bed.startUDPEcho(port: 7)
                let client = Testbed.resources.appendingPathComponent("udp_client.py").path
                for host in [Testbed.wanIPv4, Testbed.wanIPv6] {
                    let result = try bed.run(
                        .lan, ["python3", "-B", client, "echo", host, "7", "2000"], timeout: .seconds(60))
                    #expect(result.succeeded, "\(result.summary)\n\(bed.diagnostics)")
                    #expect(result.stdout.contains("2000 of 2000 replies exact, 0 from a wrong source"))
                }
                #expect(chain.ssServer.log.contains("[udp]"), "\(bed.diagnostics)")
                #expect(chain.ssRedir.log.contains("-> [\(Testbed.wanIPv6)]:7"), "\(bed.diagnostics)")
            }
        }
    }
}

/// rc4-md5 needs OpenSSL's legacy provider; without one ss-redir must refuse to start with one clear line.
/// No network, so this runs without root.
@Suite("Stream cipher availability") struct StreamCipherAvailabilityTests {
    @Test("rc4-md5 without a legacy provider: exit 2, one line")
    func rc4WithoutLegacyProvider() throws {
        let empty = FileManager.default.temporaryDirectory
            .appendingPathComponent("no-ossl-modules-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: empty, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: empty) }
        let result = try Command.run(
            ["env", "OPENSSL_MODULES=\(empty.path)", Testbed.ssRedirBinary, "-s", "192.0.2.1", "-p", "8388", "-l",
             "1080", "-k", "x", "-m", "rc4-md5"],
            timeout: .seconds(20))
        #expect(result.status == 2)
        #expect(
            result.stderr
                == "ss-redir: flag -m: rc4-md5 is not supported by this OpenSSL (no legacy provider); use an AEAD "
                + "method such as chacha20-ietf-poly1305\n")
    }
}
