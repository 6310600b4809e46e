import Config
import IPAddresses
import ShadowsocksCrypto
import Testing

@testable import ShadowsocksServer

@Suite struct ServerConfigurationTests {
    func load(_ text: String) throws -> ServerConfigFile.Loaded {
        try ServerConfigFile.parse(text, path: "/etc/ss/server.json")
    }

    func resolve(_ text: String, flags: ServerSettings = ServerSettings()) throws -> ServerConfiguration {
        try ServerConfiguration.resolve(load(text).settings.overridden(by: flags))
    }

    /// The message of the ConfigError that `body` throws.
    func message(_ body: () throws -> Void) -> String {
        do {
            try body()
            return "(no error)"
        } catch {
            return "\(error)"
        }
    }

    @Test func sip022PasswordsAreBase64PSKs() throws {
        let psk = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8="  // 00..1f
        var flags = ServerSettings()
        flags.set(\.serverPort, "8388", .serverPort, origin: "flag -p")
        flags.set(\.password, psk, .password, origin: "flag -k")
        flags.set(\.method, "2022-blake3-aes-256-gcm", .method, origin: "flag -m")
        #expect(try ServerConfiguration.resolve(flags).ports[0].key.bytes == Array(0..<32))
        flags.set(\.password, "AAEC", .password, origin: "flag -k")
        #expect(
            message { _ = try ServerConfiguration.resolve(flags) }
                == "flag -k: 2022-blake3-aes-256-gcm needs a 32-byte key, the base64 decodes to 3 bytes (generate one with: openssl rand -base64 32)"
        )
        let configuration = try resolve(
            #"{"method": "2022-blake3-chacha20-poly1305", "port_password": {"9000": "\#(psk)"}}"#)
        #expect(configuration.ports[0].key.bytes == Array(0..<32))
    }

    @Test func flagsAloneGetSsLibevDefaults() throws {
        var flags = ServerSettings()
        flags.set(\.serverPort, "8388", .serverPort, origin: "flag -p")
        flags.set(\.password, "pw", .password, origin: "flag -k")
        let configuration = try ServerConfiguration.resolve(flags)
        #expect(configuration.listenAddresses == ["0.0.0.0", "::"])
        #expect(!configuration.listenAddressesGiven)
        #expect(
            configuration.ports == [.init(port: 8388, key: MasterKey(method: .chacha20IETFPoly1305, password: "pw"))])
        #expect(configuration.timeoutSeconds == 60 && configuration.headerTimeoutSeconds == 10)
        #expect(configuration.mode == .tcpOnly && configuration.relaysTCP && !configuration.relaysUDP)
        #expect(configuration.forbidden == .default)
        #expect(configuration.noDelay && !configuration.fastOpen && !configuration.reusePort)
        #expect(configuration.maxConnections == nil)
    }

    @Test func ssLibevKeys() throws {
        let configuration = try resolve(
            """
            {
                "server": ["::1", "127.0.0.1"], "server_port": 8388, "password": "pw", "method": "aes-128-gcm",
                "timeout": 5, "mode": "tcp_and_udp", "fast_open": true, "reuse_port": true, "no_delay": false,
                "nofile": 4096, "max_connections": 100,
                "local_address": "127.0.0.1", "local_port": 1080
            }
            """)
        #expect(configuration.listenAddresses == ["::1", "127.0.0.1"] && configuration.listensOnIPv4)
        #expect(configuration.ports.map(\.key) == [MasterKey(method: .aes128GCM, password: "pw")])
        #expect(configuration.timeoutSeconds == 5 && configuration.headerTimeoutSeconds == 5)
        #expect(configuration.relaysTCP && configuration.relaysUDP)
        #expect(configuration.fastOpen && configuration.reusePort && !configuration.noDelay)
        #expect(configuration.nofile == 4096 && configuration.maxConnections == 100)
    }

    @Test func portPasswordGivesEachPortItsOwnKey() throws {
        let configuration = try resolve(
            """
            {
                "server": "0.0.0.0",
                "port_password": {"8381": "pw1", "8382": "pw2"},
                "method": "aes-256-gcm"
            }
            """)
        #expect(configuration.ports.map(\.port) == [8381, 8382])
        #expect(
            configuration.ports.map(\.key) == [
                MasterKey(method: .aes256GCM, password: "pw1"), MasterKey(method: .aes256GCM, password: "pw2"),
            ])
        #expect(configuration.warnings.isEmpty)
    }

    @Test func portPasswordOverridesServerPortAndPasswordWithAWarning() throws {
        var flags = ServerSettings()
        flags.set(\.password, "from-flag", .password, origin: "flag -k")
        let configuration = try resolve(
            """
            {"server_port": 8388, "port_password": {"8381": "pw1"}}
            """, flags: flags)
        #expect(configuration.ports.map(\.port) == [8381])
        #expect(configuration.warnings.count == 1)
        let warning = configuration.warnings.first ?? ""
        #expect(warning.contains("/etc/ss/server.json:1: key \"port_password\""))
        #expect(warning.contains("flag -k") && warning.contains("key \"server_port\""))
        #expect(!warning.contains("from-flag") && !warning.contains("pw1"), "never echo passwords")
    }

    @Test func portPasswordErrorsSayFileAndLine() throws {
        #expect(
            message {
                _ = try resolve(
                    """
                    {
                      "port_password": {
                        "8381": "pw1",
                        "8382": 42
                      }
                    }
                    """)
            } == "/etc/ss/server.json:4: port_password \"8382\": expected the password as a string, found a number")
        #expect(
            message { _ = try resolve("{\n\"port_password\": {\n\"80a\": \"pw\"}}") }
                == "/etc/ss/server.json:3: port_password \"80a\": expected a port number (1-65535), got \"80a\"")
        #expect(
            message { _ = try resolve("{\"port_password\": {\"8381\": \"a\",\n \"08381\": \"b\"}}") }
                == "/etc/ss/server.json:2: port_password \"08381\": port 8381 is already given at /etc/ss/server.json:1: port_password \"8381\""
        )
        #expect(
            message { _ = try resolve("{\"port_password\": [\"8381\"]}") }
                == "/etc/ss/server.json:1: key \"port_password\": expected an object of \"port\": \"password\" pairs, found an array"
        )
    }

    @Test func forbiddenIPAsCommaListOrArray() throws {
        let list = try resolve(
            """
            {"server_port": 1, "password": "p", "forbidden_ip": "10.0.0.0/8, 192.168.1.1 ,fd00::/8"}
            """)
        #expect(list.forbidden.ranges.map(\.description) == ["10.0.0.0/8", "192.168.1.1", "fd00::/8"])
        let array = try resolve(
            """
            {"server_port": 1, "password": "p", "forbidden_ip": ["127.0.0.0/8", "::1/128,169.254.0.0/16"]}
            """)
        #expect(array.forbidden.ranges.map(\.description) == ["127.0.0.0/8", "::1", "169.254.0.0/16"])
        let none = try resolve(#"{"server_port": 1, "password": "p", "forbidden_ip": ""}"#)
        #expect(none.forbidden == .none)
    }

    @Test func forbiddenIPErrorsSayFileAndLine() {
        #expect(
            message {
                _ = try resolve(
                    "{\"server_port\": 1, \"password\": \"p\",\n\"forbidden_ip\": \"10.0.0.0/8,10.0.0.300\"}")
            }
                == "/etc/ss/server.json:2: key \"forbidden_ip\": \"10.0.0.300\" is not an IP address or CIDR prefix (e.g. 127.0.0.0/8, ::1/128, 10.0.0.1)"
        )
        #expect(
            message { _ = try resolve("{\"server_port\": 1, \"password\": \"p\",\n\n\"forbidden_ip\": 7}") }
                == "/etc/ss/server.json:3: key \"forbidden_ip\": expected a string or an array of strings, found a number"
        )
        var flags = ServerSettings()
        flags.set(\.forbiddenIP, ["::1/129"], .forbiddenIP, origin: "flag --forbidden-ip")
        #expect(
            message { _ = try resolve("{\"server_port\": 1, \"password\": \"p\"}", flags: flags) }
                .hasPrefix("flag --forbidden-ip: \"::1/129\" is not"))
    }

    @Test func defaultForbiddenCoversEveryWayToLoopback() throws {
        let forbidden = ForbiddenAddresses.default
        for text in ["127.0.0.1", "127.255.0.9", "::1", "::ffff:127.0.0.1", "0.0.0.0", "::"] {
            #expect(forbidden.contains(try #require(IPAddress(text))), "\(text)")
        }
        for text in ["10.0.0.1", "::2", "::ffff:10.0.0.1", "128.0.0.1", "2001:db8::1"] {
            #expect(!forbidden.contains(try #require(IPAddress(text))), "\(text)")
        }
        #expect(!ForbiddenAddresses.none.contains(try #require(IPAddress("127.0.0.1"))))
    }

    @Test func otherErrorsAreOneClearLine() {
        #expect(
            message { _ = try resolve(#"{"password": "p"}"#) }.hasPrefix("no server port given: pass -p PORT"))
        #expect(
            message { _ = try resolve(#"{"server_port": 8388}"#) }.hasPrefix("no password given: pass -k PASSWORD"))
        #expect(
            message { _ = try resolve("{\"server_port\": 8388, \"password\": \"p\",\n\"server\": [\"example.com\"]}") }
                .hasPrefix("/etc/ss/server.json:2: key \"server\": \"example.com\" is not an IP address"))
        #expect(
            message { _ = try resolve("{\"server_port\": 8388, \"password\": \"p\", \"mode\": \"both\"}") }
                == "/etc/ss/server.json:1: key \"mode\": unknown mode \"both\"; expected one of tcp_only, tcp_and_udp, udp_only"
        )
        #expect(
            message { _ = try resolve("{\"server_port\": 8388, \"key\": \"AAAA\"}") }
                == "/etc/ss/server.json:1: key \"key\": chacha20-ietf-poly1305 needs a 32-byte key, the base64 decodes to 3 bytes"
        )
        #expect(
            message { _ = try resolve("{\"server_port\": 8388, \"password\": \"p\", \"method\": \"rot13\"}") }
                .hasPrefix("/etc/ss/server.json:1: key \"method\": unknown method \"rot13\"; supported:"))
        #expect(message { _ = try resolve("{\n\"server_port\": ") }.hasPrefix("/etc/ss/server.json:2: invalid JSON"))
    }

    @Test func bracketedIPv6AndDuplicatesInServer() throws {
        let configuration = try resolve(#"{"server": ["[::]", "::", "0.0.0.0"], "server_port": 1, "password": "p"}"#)
        #expect(configuration.listenAddresses == ["::", "0.0.0.0"])
    }

    @Test func keyGivesTheRawMasterKey() throws {
        let raw = (0..<32).map { UInt8($0) }
        let base64 = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8="
        let configuration = try resolve("{\"server_port\": 8388, \"key\": \"\(base64)\", \"password\": \"ignored\"}")
        #expect(configuration.ports[0].key == (try MasterKey(method: .chacha20IETFPoly1305, rawKey: raw)))
    }

    @Test func flagsOverrideTheFileAndNameThemselvesInErrors() throws {
        var flags = ServerSettings()
        flags.set(\.serverPort, "99999", .serverPort, origin: "flag -p")
        #expect(
            message { _ = try resolve(#"{"server_port": 8388, "password": "p"}"#, flags: flags) }
                == "flag -p: expected a port number (1-65535), got \"99999\"")
        flags.set(\.serverPort, "8389", .serverPort, origin: "flag -p")
        #expect(try resolve(#"{"server_port": 8388, "password": "p"}"#, flags: flags).ports.map(\.port) == [8389])
    }

    @Test func unknownKeysAreReportedWithTheirLineButClientKeysAreNot() throws {
        let loaded = try load(
            """
            {
              "server_port": 8388,
              "local_port": 1080,
              "servers": [],
              "pasword": "typo"
            }
            """)
        #expect(loaded.unknownKeys == ["/etc/ss/server.json:5: pasword"])
    }
}
