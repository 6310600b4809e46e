import ShadowsocksCrypto
import Testing

@testable import Config

@Suite struct ConfigFileTests {
    @Test func readsShadowsocksLibevKeys() throws {
        let text = """
            {
                // comments are allowed, as in shadowsocks-libev
                "server": ["203.0.113.7", "2001:db8::7"],
                "server_port": 8388,
                "local_address": "::",
                "local_port": "1080",
                "password": "barfoo!",
                "method": "aes-256-gcm",
                "timeout": 300,
                "mode": "tcp_only",
                "reuse_port": true,
                "fast_open": false,
                "nofile": 65536,
                "workers": 2
            }
            """
        let loaded = try ConfigFile.parse(text, path: "c.json")
        #expect(loaded.unknownKeys.isEmpty)
        let configuration = try RedirConfiguration.resolve(loaded.settings)
        #expect(configuration.servers.map(\.description) == ["203.0.113.7:8388", "[2001:db8::7]:8388"])
        #expect(configuration.listenAddresses == ["::"])
        #expect(configuration.localPort == 1080)
        #expect(configuration.members[0].key.method == .aes256GCM)
        #expect(configuration.timeoutSeconds == 300)
        #expect(configuration.reusePort)
        #expect(!configuration.fastOpen)
        #expect(configuration.nofile == 65536)
    }

    @Test func flagsOverrideTheFile() throws {
        var file = try ConfigFile.parse(
            #"{"server": "a.example", "server_port": 1, "local_port": 2, "password": "p"}"#, path: "c.json"
        ).settings
        var flags = RedirSettings()
        flags.serverPort = "8388"
        flags.origins[.serverPort] = "flag -p"
        file = file.overridden(by: flags)
        let configuration = try RedirConfiguration.resolve(file)
        #expect(configuration.servers == [ServerEndpoint(host: "a.example", port: 8388)])
        #expect(configuration.timeoutSeconds == 60)
        #expect(configuration.members[0].key.method == .chacha20IETFPoly1305)
        #expect(configuration.listenAddresses == ["127.0.0.1"])
    }

    @Test func badValueNamesFileLineAndKey() throws {
        let text = "{\n  \"server\": \"x\",\n  \"server_port\": \"eighty\"\n}"
        let settings = try ConfigFile.parse(text, path: "/etc/ss.json").settings
        #expect(throws: ConfigError.self) { try RedirConfiguration.resolve(settings) }
        do {
            _ = try RedirConfiguration.resolve(settings)
        } catch {
            #expect(error.message == #"/etc/ss.json:3: key "server_port": expected a port number (1-65535), got "eighty""#)
        }
    }

    @Test func syntaxErrorNamesTheLine() {
        do {
            _ = try ConfigFile.parse("{\n\"server\": \"x\"\n\"server_port\": 1}", path: "c.json")
            Issue.record("expected a syntax error")
        } catch {
            #expect(error.message.hasPrefix("c.json:3: invalid JSON"))
        }
    }

    @Test func wrongTypeIsReported() {
        do {
            _ = try ConfigFile.parse(#"{"server": {"a": 1}}"#, path: "c.json")
            Issue.record("expected a type error")
        } catch {
            #expect(error.message.contains("expected a string or an array of strings, found an object"))
        }
    }

    @Test func unknownMethodListsSupportedOnes() throws {
        var settings = RedirSettings()
        settings.servers = ["s"]
        settings.serverPort = "1"
        settings.localPort = "2"
        settings.password = "p"
        settings.method = "rot13"
        settings.origins[.method] = "flag -m"
        do {
            _ = try RedirConfiguration.resolve(settings)
            Issue.record("expected an error")
        } catch {
            #expect(error.message == "flag -m: unknown method \"rot13\"; supported: aes-128-gcm, aes-192-gcm, aes-256-gcm, chacha20-ietf-poly1305, 2022-blake3-aes-128-gcm, 2022-blake3-aes-256-gcm, 2022-blake3-chacha20-poly1305; legacy stream ciphers (insecure): aes-128-cfb, aes-192-cfb, aes-256-cfb, aes-128-ctr, aes-192-ctr, aes-256-ctr, chacha20-ietf, chacha20, rc4-md5")
        }
    }

    @Test func base64KeyMustFitTheMethod() throws {
        var settings = RedirSettings()
        settings.servers = ["s"]
        settings.serverPort = "1"
        settings.localPort = "2"
        settings.method = "aes-128-gcm"
        settings.key = "AAECAwQFBgcICQoLDA0ODw=="  // 16 bytes
        #expect(try RedirConfiguration.resolve(settings).members[0].key.bytes == Array(0..<16))
        settings.method = "aes-256-gcm"
        #expect(throws: ConfigError.self) { try RedirConfiguration.resolve(settings) }
    }

    // SIP022: -k and --key both carry base64(PSK); its length must be the method's key size.
    @Test func sip022KeysAreBase64PSKs() throws {
        var settings = RedirSettings()
        settings.servers = ["s"]
        settings.serverPort = "1"
        settings.localPort = "2"
        settings.method = "2022-blake3-aes-128-gcm"
        settings.password = "AAECAwQFBgcICQoLDA0ODw=="  // 16 bytes
        #expect(try RedirConfiguration.resolve(settings).members[0].key.bytes == Array(0..<16))
        settings.password = nil
        settings.key = "AAECAwQFBgcICQoLDA0ODw=="
        #expect(try RedirConfiguration.resolve(settings).members[0].key.bytes == Array(0..<16))
        settings.method = "2022-blake3-aes-256-gcm"
        do {
            _ = try RedirConfiguration.resolve(settings)
            Issue.record("a 16-byte PSK for a 32-byte method must be refused")
        } catch {
            #expect(
                error.message.hasSuffix(
                    "2022-blake3-aes-256-gcm needs a 32-byte key, the base64 decodes to 16 bytes (generate one with: openssl rand -base64 32)"
                ))
        }
        settings.key = nil
        settings.password = "not a key!"
        do {
            _ = try RedirConfiguration.resolve(settings)
            Issue.record("a password that is not base64 must be refused for a 2022 method")
        } catch {
            #expect(error.message.contains("2022-blake3-aes-256-gcm needs a base64 32-byte key"))
        }
    }

    // SIP023: `iPSK:uPSK` (identity keys first, the user's key last), AES 2022 methods only, client side only.
    @Test func sip023IdentityKeysBeforeTheUserKey() throws {
        var settings = RedirSettings()
        settings.servers = ["s"]
        settings.serverPort = "1"
        settings.localPort = "2"
        settings.method = "2022-blake3-aes-128-gcm"
        settings.password = "AAECAwQFBgcICQoLDA0ODw==:ZGVmZ2hpamtsbW5vcHFycw=="
        let key = try RedirConfiguration.resolve(settings).members[0].key
        #expect(key.identityKeys == [Array(0..<16)])
        #expect(key.bytes == Array(100..<116))
        settings.password = "AAECAwQFBgcICQoLDA0ODw==:AAECAwQFBgcICQoLDA0O"
        do {
            _ = try RedirConfiguration.resolve(settings)
            Issue.record("a short user key must be refused")
        } catch {
            #expect(error.message.contains("needs a 16-byte key (the user key, last of 2), the base64 decodes to 15 bytes"))
        }
        settings.method = "2022-blake3-chacha20-poly1305"
        settings.password = Array(repeating: "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=", count: 2).joined(separator: ":")
        do {
            _ = try RedirConfiguration.resolve(settings)
            Issue.record("identity keys must be refused for chacha20")
        } catch {
            #expect(error.message.contains("has no identity headers"))
        }
        #expect(throws: ConfigError.self) {
            try PreSharedKey.parse(
                "AAECAwQFBgcICQoLDA0ODw==:ZGVmZ2hpamtsbW5vcHFycw==", method: .blake3AES128GCM, origin: "flag -k",
                server: true)
        }
    }

    @Test func missingPieceSaysWhatToPass() {
        #expect(throws: ConfigError.self) { try RedirConfiguration.resolve(RedirSettings()) }
        do {
            _ = try RedirConfiguration.resolve(RedirSettings())
        } catch {
            #expect(error.message.contains("pass -s ADDRESS"))
        }
    }

    @Test func unknownKeysAreReportedWithTheirLine() throws {
        let loaded = try ConfigFile.parse("{\n\"sever\": \"typo\"}", path: "c.json")
        #expect(loaded.unknownKeys == ["c.json:2: sever"])
    }

    @Test func jsonEscapesAndNesting() throws {
        let node = try JSONDocument.parse(#"{"a": "x\"y\u00e9\n", "b": [1, -2.5e3, true, null]}"#)
        guard case .object(let members) = node.value, case .string(let text) = members[0].node.value else {
            Issue.record("not an object")
            return
        }
        #expect(text == "x\"yé\n")
        #expect(throws: JSONSyntaxError.self) { try JSONDocument.parse(String(repeating: "[", count: 100)) }
        #expect(throws: JSONSyntaxError.self) { try JSONDocument.parse("{\"a\": 1} trailing") }
        #expect(throws: JSONSyntaxError.self) { try JSONDocument.parse("\"unterminated") }
    }
}
