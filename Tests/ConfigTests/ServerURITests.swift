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

    @Test func pluginIsRejectedClearly() {
        do {
            _ = try ServerURI.parse(
                "ss://cmM0LW1kNTpwYXNzd2Q@192.168.100.1:8888/?plugin=obfs-local%3Bobfs%3Dhttp#Example2",
                origin: "config.json:3: server_url[0]")
            Issue.record("expected an error")
        } catch {
            #expect(error.message.contains("SIP003 plugin \"obfs-local\""))
            #expect(error.message.hasPrefix("config.json:3: server_url[0]"))
        }
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
        #expect(throws: ConfigError.self) {
            try SIP008Document.parse("{\"servers\": [{\"server\": \"a\", \"plugin\": \"v2ray-plugin\"}]}", path: "s.json")
        }
    }
}
