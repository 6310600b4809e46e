import Config
import Testing

@testable import ShadowsocksServer

@Suite struct ServerPluginConfigTests {
    func resolve(_ text: String, flags: ServerSettings = ServerSettings()) throws -> ServerConfiguration {
        try ServerConfiguration.resolve(ServerConfigFile.parse(text, path: "s.json").settings.overridden(by: flags))
    }

    @Test func pluginKeysAndFlags() throws {
        let text = #"{"server_port": 8388, "password": "p", "plugin": "obfs-server", "plugin_opts": "obfs=http", "plugin_args": "-v"}"#
        #expect(try ServerConfigFile.parse(text, path: "s.json").unknownKeys.isEmpty)
        #expect(try resolve(text).plugin == PluginSpec(program: "obfs-server", options: "obfs=http", arguments: ["-v"]))
        var flags = ServerSettings()
        flags.set(\.pluginOptions, "obfs=tls", .pluginOptions, origin: "flag --plugin-opts")
        #expect(try resolve(text, flags: flags).plugin?.options == "obfs=tls")
        #expect(try resolve(#"{"server_port": 8388, "password": "p", "plugin": ""}"#).plugin == nil)
    }

    @Test func aPluginServesOnePortAndOnlyTCP() {
        let ports = #"{"port_password": {"8388": "a", "8389": "b"}, "plugin": "obfs-server"}"#
        do {
            _ = try resolve(ports)
            Issue.record("expected an error")
        } catch {
            #expect("\(error)".contains("a plugin serves one port"))
        }
        do {
            _ = try resolve(#"{"server_port": 1, "password": "p", "mode": "udp_only", "plugin": "obfs-server"}"#)
            Issue.record("expected an error")
        } catch {
            #expect("\(error)".contains("TCP only"))
        }
    }
}
