import Testing

@testable import Config

@Suite struct FirewallConfigurationTests {
    @Test func readsTheRelayKeysAndTheSetupKeys() throws {
        let text = """
            {
                "server": ["203.0.113.7", "ss.example"],
                "server_port": 8388,
                "password": "unused by setup",
                "local_address": "::",
                "local_port": 1080,
                "mode": "tcp_and_udp",
                "tcp_tproxy": true,
                "outbound_fwmark": "0x80",
                "bypass_files": ["china.cidr", "/etc/ss-redir/lan.cidr"],
                "proxy_files": "gfw.cidr",
                "lan_interfaces": ["br-lan", "wlan*"]
            }
            """
        let loaded = try ConfigFile.parse(text, path: "/etc/ss-redir/config.json")
        #expect(loaded.unknownKeys.isEmpty)
        let configuration = try FirewallConfiguration.resolve(loaded.settings, configDirectory: "/etc/ss-redir")
        #expect(configuration.servers == ["203.0.113.7", "ss.example"])
        #expect(configuration.localPort == 1080)
        #expect(configuration.relaysTCP && configuration.relaysUDP)
        #expect(configuration.tcpTproxy)
        #expect(configuration.outboundFwmark == 0x80)
        #expect(configuration.bypassFiles == ["/etc/ss-redir/china.cidr", "/etc/ss-redir/lan.cidr"])
        #expect(configuration.proxyFiles == ["/etc/ss-redir/gfw.cidr"])
        #expect(configuration.lanInterfaces == ["br-lan", "wlan*"])
    }

    @Test func flagsOverrideAndStayRelativeToTheWorkingDirectory() throws {
        var settings = try ConfigFile.parse(
            #"{"server": "192.0.2.1", "local_port": 1080, "bypass_files": ["a.cidr"]}"#, path: "c.json"
        ).settings
        var flags = RedirSettings()
        flags.bypassFiles = ["b.cidr"]
        flags.origins[.bypassFiles] = "flag --bypass-file"
        settings = settings.overridden(by: flags)
        let configuration = try FirewallConfiguration.resolve(settings, configDirectory: "/etc")
        #expect(configuration.bypassFiles == ["b.cidr"])
        #expect(configuration.outboundFwmark == FirewallMarks.relayOutboundMark)
        #expect(configuration.mode == .tcpOnly)
        #expect(configuration.listenAddresses == ["127.0.0.1"])
    }

    @Test func needsServersAndALocalPortButNoPassword() throws {
        var settings = RedirSettings()
        settings.localPort = "1080"
        #expect { try FirewallConfiguration.resolve(settings) } throws: { error in
            (error as? ConfigError)?.message.hasPrefix("no server given") == true
        }
        settings.servers = ["192.0.2.1"]
        #expect(try FirewallConfiguration.resolve(settings).localPort == 1080)
        settings.localPort = nil
        #expect(throws: ConfigError.self) { try FirewallConfiguration.resolve(settings) }
    }

    @Test func badInterfaceNameNamesTheKey() throws {
        let settings = try ConfigFile.parse(
            "{\n\"server\": \"192.0.2.1\", \"local_port\": 1080,\n\"lan_interfaces\": [\"br lan\"]\n}", path: "c.json"
        ).settings
        #expect { try FirewallConfiguration.resolve(settings) } throws: { error in
            (error as? ConfigError)?.message.hasPrefix(
                #"c.json:3: key "lan_interfaces": "br lan" is not an interface name"#) == true
        }
        #expect(FirewallConfiguration.isInterfaceName("eth0"))
        #expect(FirewallConfiguration.isInterfaceName("ppp*"))
        #expect(!FirewallConfiguration.isInterfaceName("*"))
        #expect(!FirewallConfiguration.isInterfaceName("a-very-long-interface"))
        #expect(!FirewallConfiguration.isInterfaceName("e*th"))
        #expect(!FirewallConfiguration.isInterfaceName("eth\"0"))
    }
}
