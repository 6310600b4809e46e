import ShadowsocksCrypto
import Testing

@testable import Config

@Suite struct ServerURITests {
    // The examples of SIP002 itself.
    @Test func base64URLUserInfo() throws {
        let spec = try ServerURI.parse("ss://YWVzLTEyOC1nY206dGVzdA@192.168.100.1:8888#Example1", origin: "--server-url")
        #expect(spec.method == "aes-128-gcm")
        #expect(spec.password == "test")
        #expect(spec.host == "192.168.100.1")
        #expect(spec.port == "8888")
        #expect(spec.name == "Example1")
    }

    @Test func percentEncodedUserInfoAndIPv6() throws {
        let spec = try ServerURI.parse(
            "ss://2022-blake3-aes-256-gcm:YctPZ6U7xPPcU%2Bgp3u%2BOXnr4rgH3kQ%3D%3D@[2001:db8::1]:8888/#Example%203",
            origin: "--server-url")
        #expect(spec.method == "2022-blake3-aes-256-gcm")
        #expect(spec.password == "YctPZ6U7xPPcU+gp3u+OXnr4rgH3kQ==")
        #expect(spec.host == "2001:db8::1")
        #expect(spec.name == "Example 3")
    }

    @Test func legacyWholeBase64Form() throws {
        // base64("chacha20-ietf-poly1305:pass@example.com:8388")
        let spec = try ServerURI.parse(
            "ss://Y2hhY2hhMjAtaWV0Zi1wb2x5MTMwNTpwYXNzQGV4YW1wbGUuY29tOjgzODg#old", origin: "x")
        #expect(spec.method == "chacha20-ietf-poly1305")
        #expect(spec.password == "pass")
        #expect(spec.host == "example.com")
        #expect(spec.port == "8388")
    }

    @Test func sip002PluginParameterIsSplitIntoProgramAndOptions() throws {
        // SIP002's own example: the plugin parameter is URL-encoded "obfs-local;obfs=http".
        let spec = try ServerURI.parse(
            "ss://cmM0LW1kNTpwYXNzd2Q@192.168.100.1:8888/?plugin=obfs-local%3Bobfs%3Dhttp#Example2",
            origin: "config.json:3: server_url[0]")
        #expect(spec.plugin == "obfs-local")
        #expect(spec.pluginOptions == "obfs=http")
        #expect(!spec.inheritsPlugin)
        #expect(spec.host == "192.168.100.1" && spec.port == "8888" && spec.name == "Example2")

        let several = try ServerURI.parse(
            "ss://YWVzLTI1Ni1nY206dGVzdA@h.example:443?plugin=v2ray-plugin%3Btls%3Bhost%3Dh.example%3Bpath%3D%2Fws&x=1",
            origin: "u")
        #expect(several.plugin == "v2ray-plugin")
        #expect(several.pluginOptions == "tls;host=h.example;path=/ws")

        let bare = try ServerURI.parse("ss://YWVzLTI1Ni1nY206dGVzdA@h:1/?plugin=obfs-local", origin: "u")
        #expect(bare.plugin == "obfs-local" && bare.pluginOptions == nil)
        let none = try ServerURI.parse("ss://YWVzLTI1Ni1nY206dGVzdA@h:1/?plugin=", origin: "u")
        #expect(none.plugin == nil)
    }

    @Test func sip002PluginNamesFollowSIP003Escapes() {
        #expect(PluginSpec.fromSIP002("obfs-local") == PluginSpec(program: "obfs-local"))
        #expect(PluginSpec.fromSIP002("obfs-local;") == PluginSpec(program: "obfs-local"))
        #expect(PluginSpec.fromSIP002("a\\;b;k=v") == PluginSpec(program: "a;b", options: "k=v"))
        #expect(PluginSpec.fromSIP002("a\\\\;b") == PluginSpec(program: "a\\", options: "b"))
        #expect(PluginSpec.fromSIP002("my\\;plugin;k=v\\;w") == PluginSpec(program: "my;plugin", options: "k=v\\;w"))
        #expect(PluginSpec.fromSIP002("") == nil)
        #expect(PluginSpec.fromSIP002(";obfs=http") == nil)
    }

    @Test func malformedURIsNeverEchoThePassword() {
        for text in ["http://x", "ss://bm90LWJhc2U2NA", "ss://YWVzLTEyOC1nY206dGVzdA@hostonly", "ss://nocolon@h:1"] {
            do {
                _ = try ServerURI.parse(text, origin: "--server-url")
                Issue.record("expected an error for \(text)")
            } catch {
                #expect(!error.message.contains("YWVzLTEyOC1nY206dGVzdA"))
                #expect(error.message.hasPrefix("--server-url: "))
            }
        }
    }

    @Test func sip008Document() throws {
        let text = """
            {
              "version": 1,
              "servers": [
                {"id": "27b8a625-4f4b-4428-9f0f-8a2317db7c79", "remarks": "Name of the server",
                 "server": "example.com", "server_port": 8388, "password": "example", "method": "chacha20-ietf-poly1305",
                 "plugin": "", "plugin_opts": ""},
                {"server": "2001:db8::2", "server_port": "8389", "password": "p2", "method": "aes-256-gcm"}
              ],
              "bytes_used": 274877906944
            }
            """
        let specs = try SIP008Document.parse(text, path: "servers.json")
        #expect(specs.count == 2)
        #expect(specs[0].name == "Name of the server")
        #expect(specs[0].host == "example.com" && specs[0].port == "8388")
        #expect(specs[1].method == "aes-256-gcm" && specs[1].host == "2001:db8::2")
        #expect(specs[1].origin == "servers.json:7: servers[1]")
    }

    @Test func sip008Errors() {
        #expect(throws: ConfigError.self) { try SIP008Document.parse("{\"servers\": 3}", path: "s.json") }
        #expect(throws: ConfigError.self) { try SIP008Document.parse("{\"version\": 2, \"servers\": []}", path: "s.json") }
    }

    @Test func sip008EntriesCarryTheirOwnPlugin() throws {
        let specs = try SIP008Document.parse(
            "{\"servers\": [{\"server\": \"a\", \"plugin\": \"v2ray-plugin\", \"plugin_opts\": \"tls;host=a\"}]}",
            path: "s.json")
        #expect(specs[0].plugin == "v2ray-plugin" && specs[0].pluginOptions == "tls;host=a")
        #expect(!specs[0].inheritsPlugin)
    }
}

@Suite struct PoolConfigTests {
    @Test func membersFromEverySourceInheritTopLevelValues() throws {
        let text = """
            {
              "server": "203.0.113.1", "server_port": 8388, "password": "top", "method": "aes-128-gcm",
              "local_port": 1080,
              "servers": [
                {"server": "203.0.113.2", "name": "second", "weight": 3},
                {"server": "203.0.113.3", "server_port": 9000, "password": "own", "method": "aes-256-gcm", "udp": false}
              ],
              "server_url": "ss://YWVzLTEyOC1nY206dGVzdA@203.0.113.4:8888#fourth",
              "strategy": "least-latency",
              "probe_target": "www.example.com:80",
              "probe_interval": 5
            }
            """
        let configuration = try RedirConfiguration.resolve(ConfigFile.parse(text, path: "pool.json").settings)
        let members = configuration.members
        #expect(members.map(\.endpoint.description) == ["203.0.113.1:8388", "203.0.113.2:8388", "203.0.113.3:9000", "203.0.113.4:8888"])
        #expect(members[1].name == "second" && members[1].weight == 3)
        #expect(members[1].key == MasterKey(method: .aes128GCM, password: "top"))
        #expect(members[2].key == MasterKey(method: .aes256GCM, password: "own") && !members[2].udp)
        #expect(members[3].key == MasterKey(method: .aes128GCM, password: "test") && members[3].name == "fourth")
        #expect(configuration.strategy == .leastLatency)
        #expect(configuration.probeTarget == ServerEndpoint(host: "www.example.com", port: 80))
        #expect(configuration.probeIntervalSeconds == 5)
    }

    @Test func badEntryNamesItsLine() {
        let text = "{\"local_port\": 1, \"password\": \"p\",\n \"servers\": [\n {\"server\": \"a\", \"server_port\": \"x\"}]}"
        do {
            _ = try RedirConfiguration.resolve(ConfigFile.parse(text, path: "pool.json").settings)
            Issue.record("expected an error")
        } catch {
            #expect(error.message == "pool.json:3: servers[0]: expected a port number (1-65535), got \"x\"")
        }
    }

    @Test func unknownStrategyListsTheKnownOnes() {
        let text = #"{"server": "a", "server_port": 1, "local_port": 2, "password": "p", "strategy": "fastest"}"#
        do {
            _ = try RedirConfiguration.resolve(ConfigFile.parse(text, path: "c.json").settings)
            Issue.record("expected an error")
        } catch {
            #expect(error.message.contains("failover, round-robin, least-latency, random"))
        }
    }
}
