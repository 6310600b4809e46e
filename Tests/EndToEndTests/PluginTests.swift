import Foundation
import Testing

/// SIP003 plugins (Debian's simple-obfs and shadowsocks-v2ray-plugin) on either end: ss-redir starts the client
/// plugin as its child and sends the member's TCP through it; ss-server (ss-libev's or ours) sits behind the server
/// plugin, which holds the public port.
extension EndToEnd {
    @Suite("SIP003 plugins") struct PluginTests {
        static let size = 8 << 20

        struct Pairing: Sendable, CustomStringConvertible {
            var serverPlugin: String
            var serverOptions: String
            var clientPlugin: String
            var clientOptions: String
            var description: String { "\(clientPlugin) \(clientOptions)" }
        }

        static let pairings = [
            Pairing(
                serverPlugin: "obfs-server", serverOptions: "obfs=http", clientPlugin: "obfs-local",
                clientOptions: "obfs=http;obfs-host=example.test"),
            Pairing(
                serverPlugin: "obfs-server", serverOptions: "obfs=tls", clientPlugin: "obfs-local",
                clientOptions: "obfs=tls;obfs-host=example.test"),
            Pairing(
                serverPlugin: "ss-v2ray-plugin", serverOptions: "server", clientPlugin: "ss-v2ray-plugin",
                clientOptions: "host=example.test"),
        ]

        /// ss-libev's ss-server behind `plugin` in wan.
        static func startLibevServer(_ bed: Testbed, plugin: String, options: String, password: String) throws
            -> BackgroundProcess
        {
            let server = try bed.start(
                .wan, name: "ss-server-\(plugin)",
                [
                    "ss-server", "-s", Testbed.wanIPv4, "-p", "\(ProxyChain.serverPort)", "-k", password, "-m",
                    "aes-256-gcm", "--plugin", plugin, "--plugin-opts", options, "-v",
                ])
            try bed.waitUntilListening(.wan, port: ProxyChain.serverPort, for: server)
            return server
        }

        static func redirArguments(password: String, plugin: String, options: String, control: String) -> [String] {
            [
                "-s", Testbed.wanIPv4, "-p", "\(ProxyChain.serverPort)", "-l", "\(ProxyChain.redirPort)", "-b", "::",
                "-k", password, "-m", "aes-256-gcm", "--plugin", plugin, "--plugin-opts", options, "--control",
                control, "-v",
            ]
        }

        /// The member's plugin object from `ss-redir status --json`.
        static func pluginStatus(control: String) throws -> [String: Any] {
            let status = try Command.run([Testbed.ssRedirBinary, "status", "--json", "--control", control])
            let report = try JSONSerialization.jsonObject(with: Data(status.stdout.utf8)) as? [String: Any]
            let members = report?["members"] as? [[String: Any]] ?? []
            return members.first?["plugin"] as? [String: Any] ?? [:]
        }

        static func expectTransfers(_ bed: Testbed, tag: String) throws {
            let download = try bed.download(size: size, tag: tag)
            #expect(download.curl.succeeded, "\(download.curl.summary)\n\(bed.diagnostics)")
            #expect(download.bytes == size)
            #expect(download.sha256 == download.expectedSHA256)
            let upload = try bed.upload(size: size)
            #expect(upload.curl.succeeded, "\(upload.curl.summary)\n\(bed.diagnostics)")
            #expect(upload.sha256 == upload.expectedSHA256)
        }

        @Test("ss-redir with a client plugin carries transfers to ss-libev behind the server plugin", arguments: pairings)
        func libevServer(_ pairing: Pairing) throws {
            try Testbed.with { bed in
                let password = UUID().uuidString
                _ = try bed.startTarget()
                let server = try Self.startLibevServer(
                    bed, plugin: pairing.serverPlugin, options: pairing.serverOptions, password: password)
                let control = bed.path("control.sock")
                let redir = try bed.startSSRedir(
                    Self.redirArguments(
                        password: password, plugin: pairing.clientPlugin, options: pairing.clientOptions,
                        control: control))

                try Self.expectTransfers(bed, tag: pairing.clientPlugin)
                // The public port belongs to the server plugin: only the plugin's framing gets through it.
                let listener = try bed.run(.wan, ["ss", "-Hltnp", "sport = :\(ProxyChain.serverPort)"])
                #expect(listener.stdout.contains(pairing.serverPlugin), "\(listener.stdout)")
                let plugin = try Self.pluginStatus(control: control)
                #expect(plugin["name"] as? String == pairing.clientPlugin, "\(plugin)")
                #expect(plugin["state"] as? String == "running", "\(plugin)")
                #expect((plugin["pid"] as? Int ?? 0) > 0, "\(plugin)")
                #expect(redir.log.contains("plugin \(pairing.clientPlugin) for \(Testbed.wanIPv4) started"))
                #expect(server.isRunning && redir.isRunning, "\(bed.diagnostics)")
            }
        }

        @Test("Our ss-server behind obfs-server serves ss-libev's ss-local and our ss-redir with obfs-local")
        func ourServer() throws {
            try Testbed.with { bed in
                let password = UUID().uuidString
                _ = try bed.startTarget()
                let server = try bed.startOurServer([
                    "-s", Testbed.wanIPv4, "-p", "\(ProxyChain.serverPort)", "-k", password, "-m", "aes-256-gcm",
                    "--plugin", "obfs-server", "--plugin-opts", "obfs=http",
                ])
                #expect(bed.waitForLog(server, "behind plugin obfs-server"), "\(server.logTail())")

                let local = try bed.start(
                    .gw, name: "ss-local-obfs",
                    [
                        "ss-local", "-s", Testbed.wanIPv4, "-p", "\(ProxyChain.serverPort)", "-l", "1090", "-b",
                        "127.0.0.1", "-k", password, "-m", "aes-256-gcm", "--plugin", "obfs-local", "--plugin-opts",
                        "obfs=http;obfs-host=example.test",
                    ])
                try bed.waitUntilListening(.gw, port: 1090, for: local)
                let socks = try bed.socksDownload(
                    proxyPort: 1090, url: "http://\(Testbed.wanIPv4)/blob/\(Self.size)?tag=libev", tag: "libev")
                #expect(socks.curl.succeeded, "\(socks.curl.summary)\n\(bed.diagnostics)")
                #expect(socks.sha256 == socks.expectedSHA256)

                _ = try bed.startSSRedir(
                    Self.redirArguments(
                        password: password, plugin: "obfs-local", options: "obfs=http;obfs-host=example.test",
                        control: bed.path("control.sock")))
                try Self.expectTransfers(bed, tag: "ours")

                // Shutdown stops the plugin too.
                let pluginPID = try bed.run(.wan, ["pgrep", "-x", "obfs-server"]).stdout
                    .split(separator: "\n").compactMap { Int32($0) }
                #expect(pluginPID.count == 1)
                #expect(server.signalAndWait(SIGTERM, timeout: .seconds(8)) != nil, "\(server.logTail())")
                for pid in pluginPID { #expect(kill(pid, 0) != 0, "obfs-server \(pid) outlived ss-server") }
            }
        }

        @Test("A killed plugin is restarted and new connections work again; shutdown stops it")
        func restart() throws {
            try Testbed.with { bed in
                let password = UUID().uuidString
                _ = try bed.startTarget()
                _ = try Self.startLibevServer(bed, plugin: "obfs-server", options: "obfs=http", password: password)
                let control = bed.path("control.sock")
                let redir = try bed.startSSRedir(
                    Self.redirArguments(
                        password: password, plugin: "obfs-local", options: "obfs=http;obfs-host=example.test",
                        control: control))
                let first = try Self.pluginStatus(control: control)
                let firstPID = try #require(first["pid"] as? Int, "\(first)")

                kill(pid_t(firstPID), SIGKILL)
                #expect(bed.waitForLog(redir, "restarted (pid"), "\(redir.logTail())")
                let second = try Self.pluginStatus(control: control)
                let secondPID = try #require(second["pid"] as? Int, "\(second)")
                #expect(secondPID != firstPID)
                #expect(second["restarts"] as? Int == 1, "\(second)")
                #expect(second["state"] as? String == "running", "\(second)")
                #expect((second["last_exit"] as? String)?.contains("signal 9") == true, "\(second)")
                #expect(redir.log.contains("plugin obfs-local for \(Testbed.wanIPv4) pid \(firstPID) killed by signal 9"))

                let download = try bed.download(size: 2 << 20, tag: "after-restart")
                #expect(download.curl.succeeded, "\(download.curl.summary)\n\(bed.diagnostics)")
                #expect(download.sha256 == download.expectedSHA256)

                let table = try Command.run([Testbed.ssRedirBinary, "status", "--control", control])
                #expect(table.stdout.contains("plugin obfs-local"), "\(table.stdout)")
                #expect(table.stdout.contains("1 restart"), "\(table.stdout)")

                #expect(redir.signalAndWait(SIGTERM, timeout: .seconds(8)) != nil, "\(redir.logTail())")
                #expect(kill(pid_t(secondPID), 0) != 0, "obfs-local \(secondPID) outlived ss-redir")
            }
        }

        @Test("With setup --proxy-router the plugin's own connection to the server is not captured; gw and LAN are proxied")
        func proxyRouter() throws {
            try Testbed.with(rules: "none") { bed in
                try bed.addPublicAddresses()
                let password = UUID().uuidString
                let target = try bed.startTarget()
                let server = try bed.start(
                    .wan, name: "ss-server-obfs",
                    [
                        "ss-server", "-s", PublicAddresses.server4, "-p", "\(ProxyChain.serverPort)", "-k", password,
                        "-m", "aes-256-gcm", "--plugin", "obfs-server", "--plugin-opts", "obfs=http", "-v",
                    ])
                try bed.waitUntilListening(.wan, port: ProxyChain.serverPort, for: server)
                let redir = try bed.startSSRedir([
                    "-s", PublicAddresses.server4, "-p", "\(ProxyChain.serverPort)", "-l", "\(ProxyChain.redirPort)",
                    "-b", "::", "-k", password, "-m", "aes-256-gcm", "--plugin", "obfs-local", "--plugin-opts",
                    "obfs=http;obfs-host=example.test", "-v",
                ])
                let lan = try bed.interface(.gw, suffix: "-gwl")
                let setup = try bed.ssRedir([
                    "setup", "-s", PublicAddresses.server4, "-l", "\(ProxyChain.redirPort)", "-b", "::", "--lan-if", lan,
                    "--proxy-router",
                ])
                #expect(setup.succeeded, "\(setup.summary)")

                let gateway = try bed.fetch(PublicAddresses.target4, tag: "gw-plugin", from: .gw)
                #expect(gateway.succeeded, "\(gateway.summary)\n\(bed.diagnostics)")
                let peer = bed.peerSeenByTarget(target, tag: "gw-plugin")
                #expect(peer != nil && peer != "::ffff:10.231.2.1", "target saw \(peer ?? "nothing")")
                #expect(try bed.fetch(PublicAddresses.target4, tag: "lan-plugin").succeeded, "\(bed.diagnostics)")
                #expect(redir.log.contains("-> \(PublicAddresses.target4):80 via"), "\(redir.logTail())")
                // obfs-local's own connection to the server went direct, never back into the relay.
                #expect(
                    !redir.log.contains("-> \(PublicAddresses.server4):\(ProxyChain.serverPort)"), "\(redir.logTail())")
                #expect(try bed.ssRedir(["teardown"]).succeeded)
            }
        }

        @Test("check shows the daemon's plugin state and makes its own test request through a plugin it starts")
        func check() throws {
            try Testbed.with { bed in
                let password = UUID().uuidString
                _ = try bed.startTarget()
                _ = try Self.startLibevServer(bed, plugin: "obfs-server", options: "obfs=http", password: password)
                let socket = bed.path("control.sock")
                let config = try bed.writeFile(
                    "plugin.json",
                    """
                    {"server": "\(Testbed.wanIPv4)", "server_port": \(ProxyChain.serverPort), "password": "\(password)",
                     "method": "aes-256-gcm", "local_port": \(ProxyChain.redirPort), "local_address": "::",
                     "plugin": "obfs-local", "plugin_opts": "obfs=http;obfs-host=example.test",
                     "control_socket": "\(socket)"}
                    """)
                _ = try bed.startSSRedir(["-c", config, "-v"])
                let result = try bed.ssRedir(["check", "-c", config, "--test-target", "\(Testbed.wanIPv4):80"])
                #expect(
                    result.stdout.contains("ok    server \(Testbed.wanIPv4) (\(Testbed.wanIPv4):\(ProxyChain.serverPort)): plugin obfs-local running, pid"),
                    "\(result.stdout)")
                #expect(
                    result.stdout.contains("ok    test request through \(Testbed.wanIPv4):\(ProxyChain.serverPort) to \(Testbed.wanIPv4):80: answered"),
                    "\(result.stdout)\n\(result.stderr)")
            }
        }
    }
}
