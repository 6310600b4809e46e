import Testing

@testable import Config

/// The SOCKS5 front's keys: `socks`, `socks_username`, `socks_password` (and their flags).
@Suite struct SOCKSSettingsTests {
    static let base = #""server": "192.0.2.1", "server_port": 8388, "local_port": 1080, "password": "p""#

    func resolve(_ keys: String) throws -> RedirConfiguration {
        try RedirConfiguration.resolve(try ConfigFile.parse("{\(Self.base), \(keys)}", path: "c.json").settings)
    }

    func error(_ keys: String) -> String? {
        do {
            _ = try resolve(keys)
            return nil
        } catch {
            return (error as? ConfigError)?.message ?? "\(error)"
        }
    }

    @Test func readsTheKeys() throws {
        let configuration = try resolve(
            #""socks": ["127.0.0.1:1081", "[::1]:1082"], "socks_username": "alice", "socks_password": "s3cret""#)
        #expect(configuration.socksListen == [ServerEndpoint(host: "127.0.0.1", port: 1081), ServerEndpoint(host: "::1", port: 1082)])
        #expect(configuration.socksUsername == "alice" && configuration.socksPassword == "s3cret")
        let single = try resolve(#""socks": "0.0.0.0:1081""#)
        #expect(single.socksListen == [ServerEndpoint(host: "0.0.0.0", port: 1081)])
        #expect(single.socksUsername == nil && single.socksPassword == nil)
    }

    @Test func noSocksKeyMeansNoFront() throws {
        #expect(try resolve(#""mode": "tcp_only""#).socksListen.isEmpty)
    }

    @Test func flagsOverrideTheFile() throws {
        var file = try ConfigFile.parse(
            "{\(Self.base), \"socks\": \"127.0.0.1:1\", \"socks_username\": \"a\", \"socks_password\": \"b\"}",
            path: "c.json"
        ).settings
        var flags = FlagSettings()
        flags.set(\.socksPassword, "flag-password", .socksPassword, "--socks-password")
        file = file.overridden(by: flags.settings)
        let configuration = try RedirConfiguration.resolve(file)
        #expect(configuration.socksUsername == "a" && configuration.socksPassword == "flag-password")
    }

    @Test func errorsNameTheKeyAndNeverThePassword() {
        #expect(error(#""socks": "127.0.0.1""#) == "c.json:1: key \"socks\": expected host:port (e.g. 127.0.0.1:1081), got \"127.0.0.1\"")
        #expect(error(#""socks": "127.0.0.1:0""#)?.contains("expected host:port") == true)
        #expect(error(#""socks_password": "hunter2""#)
            == "c.json:1: key \"socks_password\" given without a SOCKS username: add --socks-user or \"socks_username\"")
        #expect(error(#""socks_username": "alice""#)
            == "c.json:1: key \"socks_username\" given without a SOCKS password: add --socks-password or \"socks_password\"")
        let long = String(repeating: "x", count: 256)
        let tooLong = error("\"socks_username\": \"alice\", \"socks_password\": \"\(long)\"")
        #expect(tooLong == "c.json:1: key \"socks_password\": must be 1 to 255 bytes (RFC 1929), got 256")
        #expect(error(#""socks_username": "", "socks_password": "x""#)?.contains("must be 1 to 255 bytes") == true)
        #expect(error(#""socks_username": 5, "socks_password": "x""#) == nil, "numbers are accepted as strings, as for other keys")
    }
}
