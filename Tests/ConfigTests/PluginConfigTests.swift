import Config
import Testing

@Suite struct PluginConfigTests {
    static let pool = """
        {
          "server": "203.0.113.1", "server_port": 8388, "password": "top", "method": "aes-256-gcm",
          "local_port": 1080,
          "plugin": "obfs-local", "plugin_opts": "obfs=http;obfs-host=example.test", "plugin_args": ["-v"],
          "servers": [
            {"server": "203.0.113.2"},
            {"server": "203.0.113.3", "plugin": "ss-v2ray-plugin", "plugin_opts": "host=example.test"},
            {"server": "203.0.113.4", "plugin": ""}
          ],
          "server_url": "ss://YWVzLTI1Ni1nY206dGVzdA@203.0.113.5:8388#plain"
        }
        """

    @Test func topLevelPluginIsInheritedByServerAndEntriesButNotByURIs() throws {
        let members = try RedirConfiguration.resolve(ConfigFile.parse(Self.pool, path: "c.json").settings).members
        let obfs = PluginSpec(program: "obfs-local", options: "obfs=http;obfs-host=example.test", arguments: ["-v"])
        #expect(members.map(\.plugin) == [
            obfs, obfs, PluginSpec(program: "ss-v2ray-plugin", options: "host=example.test"), nil, nil,
        ])
    }

    @Test func flagsOverrideTheFile() throws {
        var settings = try ConfigFile.parse(Self.pool, path: "c.json").settings
        var flags = FlagSettings()
        flags.set(\.plugin, "obfs-local", .plugin, "--plugin")
        flags.set(\.pluginOptions, "obfs=tls", .pluginOptions, "--plugin-opts")
        settings = settings.overridden(by: flags.settings)
        let members = try RedirConfiguration.resolve(settings).members
        #expect(members[0].plugin == PluginSpec(program: "obfs-local", options: "obfs=tls", arguments: ["-v"]))
        #expect(settings.origin(.pluginOptions) == "flag --plugin-opts")
    }

    @Test func pluginKeysAreRealFieldsNotForeignOnes() throws {
        let loaded = try ConfigFile.parse(Self.pool, path: "c.json")
        #expect(loaded.unknownKeys.isEmpty)
        #expect(loaded.settings.plugin == "obfs-local")
        #expect(loaded.settings.pluginArguments == ["-v"])
        #expect(RedirSettings.Field(rawValue: "plugin_opts") == .pluginOptions)
    }

    @Test func wrongTypesNameTheKey() {
        do {
            _ = try ConfigFile.parse("{\n\"plugin_args\": 3}", path: "c.json")
            Issue.record("expected an error")
        } catch {
            #expect(error.message.hasPrefix("c.json:2: key \"plugin_args\""))
        }
    }
}
