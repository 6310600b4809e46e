import Foundation
import Testing

extension EndToEnd {
    /// Passwords, SIP022 PSKs and the keys derived from them must never reach a log line, an error or the control
    /// socket's answers, whatever happens; config files others can read are called out; the control socket is the
    /// owner's alone.
    @Suite("Secrets and permissions") struct SecretsTests {
        static let sip022Port = 8389

        /// Every form a secret could leak in: as given, and its key bytes in hex and base64.
        static func forms(password: String, psk: String, pskBytes: [UInt8]) throws -> [String: String] {
            // EVP_BytesToKey(MD5) for a 32-byte key: D1 = MD5(pw), D2 = MD5(D1 || pw).
            let derive = try Command.run([
                "python3", "-c",
                "import hashlib,sys; p=sys.argv[1].encode(); a=hashlib.md5(p).digest(); print((a+hashlib.md5(a+p).digest()).hex())",
                password,
            ])
            let masterHex = derive.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
            let masterBytes = stride(from: 0, to: masterHex.count, by: 2).map {
                UInt8(masterHex.dropFirst($0).prefix(2), radix: 16)!
            }
            let pskHex = pskBytes.map { String(format: "%02x", $0) }.joined()
            return [
                "password": password, "PSK (base64)": psk, "PSK (hex)": pskHex, "PSK (HEX)": pskHex.uppercased(),
                "PSK (base64, no padding)": String(psk.prefix { $0 != "=" }),
                "master key (hex)": masterHex, "master key (base64)": Data(masterBytes).base64EncodedString(),
                "password (start)": String(password.prefix(12)),
            ]
        }

        @Test("A full session — start, traffic, status, failover, reloads good and bad, wrong keys, stop — never shows a secret")
        func noSecretInAnyOutput() throws {
            try Testbed.with { bed in
                let password = "Pw\(UUID().uuidString.replacingOccurrences(of: "-", with: ""))"
                let wrongPassword = "Wrong\(UUID().uuidString.replacingOccurrences(of: "-", with: ""))"
                let pskBytes = (0..<32).map { _ in UInt8.random(in: 0...255) }
                let psk = Data(pskBytes).base64EncodedString()
                let socket = bed.path("control.sock")
                var outputs: [(String, String)] = []

                _ = try bed.startTarget()
                let serverConfig = bed.path("server.json")
                try Data(
                    """
                    {"server": "\(Testbed.wanIPv4)", "server_port": \(ProxyChain.serverPort), "password": "\(password)",
                     "method": "aes-256-gcm", "mode": "tcp_and_udp"}
                    """.utf8
                ).write(to: URL(fileURLWithPath: serverConfig))
                chmod(serverConfig, 0o644)
                let aeadServer = try bed.startOurServer(["-c", serverConfig, "-v"])
                let sipServer = try bed.startOurServer(
                    ["-s", Testbed.wanIPv4, "-p", "\(Self.sip022Port)", "-k", psk, "-m", "2022-blake3-aes-256-gcm", "-v"],
                    ports: [Self.sip022Port])

                let redirConfig = bed.path("redir.json")
                func writeRedirConfig(aeadPassword: String, broken: Bool = false) throws {
                    try Data(
                        """
                        {"servers": [
                           {"server": "\(Testbed.wanIPv4)", "server_port": \(ProxyChain.serverPort), "password": "\(aeadPassword)"\(broken ? "" : ",")
                            "method": "aes-256-gcm"},
                           {"server": "\(Testbed.wanIPv4)", "server_port": \(Self.sip022Port), "password": "\(psk)",
                            "method": "2022-blake3-aes-256-gcm"}],
                         "strategy": "round-robin", "local_address": "::", "local_port": \(ProxyChain.redirPort),
                         "control_socket": "\(socket)"}
                        """.utf8
                    ).write(to: URL(fileURLWithPath: redirConfig))
                    chmod(redirConfig, 0o640)
                }
                try writeRedirConfig(aeadPassword: password)
                let redir = try bed.startSSRedir(["-c", redirConfig, "-v"])

                // Permissions: both world/group-readable config files named once with the fix; the socket 0600.
                #expect(redir.log.occurrences(of: "config file \(redirConfig) is readable by its group") == 1)
                #expect(redir.log.contains("chmod 600 \(redirConfig)"), "\(redir.logTail())")
                #expect(aeadServer.log.occurrences(of: "config file \(serverConfig) is readable by every local user") == 1)
                var info = stat()
                #expect(stat(socket, &info) == 0)
                #expect(info.st_mode & 0o777 == 0o600, "control socket mode \(String(info.st_mode & 0o777, radix: 8))")
                #expect(info.st_uid == getuid())

                for index in 0..<4 {
                    let transfer = try bed.download(size: 32 << 10, tag: "secret-\(index)")
                    #expect(transfer.curl.succeeded && transfer.sha256 == transfer.expectedSHA256, "\(bed.diagnostics)")
                }
                for arguments in [["status"], ["status", "--json"]] {
                    let status = try bed.run(.gw, [Testbed.ssRedirBinary] + arguments + ["--control", socket])
                    #expect(status.succeeded, "\(status.summary)")
                    outputs.append((arguments.joined(separator: " "), status.stdout + status.stderr))
                }

                // Faults: the AEAD server gone (connections fail over), then back with another password (its
                // authentication errors), a reload to the wrong password, and a reload of a broken file.
                aeadServer.stop()
                for index in 0..<3 { _ = try bed.download(size: 8 << 10, tag: "failover-\(index)", maxTime: 10) }
                let wrongServer = try bed.startOurServer([
                    "-s", Testbed.wanIPv4, "-p", "\(ProxyChain.serverPort)", "-k", wrongPassword, "-m", "aes-256-gcm", "-v",
                ])
                for index in 0..<3 { _ = try bed.download(size: 8 << 10, tag: "wrong-\(index)", maxTime: 5) }
                // Garbage from lan at both servers: their authentication-failure paths run too.
                for port in [ProxyChain.serverPort, Self.sip022Port] {
                    let garbage = try bed.run(.lan, [
                        "python3", "-c",
                        "import os,socket; s=socket.create_connection(('\(Testbed.wanIPv4)', \(port)), 5); s.sendall(os.urandom(300)); s.close()",
                    ])
                    #expect(garbage.succeeded, "\(garbage.summary)")
                }
                try writeRedirConfig(aeadPassword: wrongPassword)
                let reload = try bed.run(.gw, [Testbed.ssRedirBinary, "reload", "--control", socket])
                outputs.append(("reload", reload.stdout + reload.stderr))
                try writeRedirConfig(aeadPassword: password, broken: true)
                let badReload = try bed.run(.gw, [Testbed.ssRedirBinary, "reload", "--control", socket])
                outputs.append(("bad reload", badReload.stdout + badReload.stderr))
                // The error names the file and line (where a naive parser would quote the offending text).
                #expect(bed.waitForLog(redir, "reload failed", timeout: .seconds(5)), "\(redir.logTail())")
                let check = try bed.run(.gw, [Testbed.ssRedirBinary, "check", "-c", redirConfig], timeout: .seconds(60))
                outputs.append(("check of the broken file", check.stdout + check.stderr))
                for index in 0..<2 { _ = try bed.download(size: 8 << 10, tag: "after-\(index)", maxTime: 5) }
                let status = try bed.run(.gw, [Testbed.ssRedirBinary, "status", "--json", "--control", socket])
                outputs.append(("status after faults", status.stdout + status.stderr))
                #expect(redir.signalAndWait(SIGTERM, timeout: .seconds(10)) == .exited(0))

                outputs += [redir, sipServer, aeadServer, wrongServer].map { ($0.name, $0.log) }
                let secrets = try Self.forms(password: password, psk: psk, pskBytes: pskBytes).merging(
                    ["wrong password": wrongPassword], uniquingKeysWith: { a, _ in a })
                // The scan finds a secret where there is one: the config file itself.
                #expect(secrets.values.contains { Command.readText(URL(fileURLWithPath: redirConfig)).contains($0) })
                for (source, text) in outputs {
                    for (form, secret) in secrets {
                        #expect(!text.contains(secret), "\(form) appears in \(source):\n\(text)")
                    }
                }
                // The session did exercise the error paths whose messages could carry a secret.
                #expect(bed.waitForLog(wrongServer, "authentication", timeout: .seconds(3)), "\(wrongServer.logTail())")
                #expect(bed.waitForLog(sipServer, "authentication", timeout: .seconds(3)), "\(sipServer.logTail())")
            }
        }
    }
}
