import Foundation
import Testing

/// The binary's own contract with a user who mistypes: one line on stderr, exit code 2, nothing started.
/// No network, so these run without root.
@Suite("Command line") struct CommandLineTests {
    func runRedir(_ arguments: [String]) throws -> Command.Result {
        try Command.run([Testbed.ssRedirBinary] + arguments, timeout: .seconds(20))
    }

    @Test("A bad flag value exits 2 with one line naming the flag")
    func badFlag() throws {
        let result = try runRedir(["-s", "192.0.2.1", "-p", "99999", "-l", "1080", "-k", "x"])
        #expect(result.status == 2)
        #expect(result.stderr == "ss-redir: flag -p: expected a port number (1-65535), got \"99999\"\n")
    }

    @Test("An unknown method lists the supported ones")
    func unknownMethod() throws {
        let result = try runRedir(["-s", "192.0.2.1", "-p", "8388", "-l", "1080", "-k", "x", "-m", "rc5"])
        #expect(result.status == 2)
        #expect(result.stderr.contains("aes-128-gcm, aes-192-gcm, aes-256-gcm, chacha20-ietf-poly1305"))
    }

    @Test("A bad config file names file, line and key")
    func badConfigFile() throws {
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("ssredir-\(UUID().uuidString).json")
        try Data("{\n  \"server\": \"192.0.2.1\",\n  \"server_port\": true\n}\n".utf8).write(to: file)
        defer { try? FileManager.default.removeItem(at: file) }
        let result = try runRedir(["-c", file.path])
        #expect(result.status == 2)
        #expect(result.stderr == "ss-redir: \(file.path):3: key \"server_port\": expected a port number, found a boolean\n")
    }

    @Test("--help lists the ss-libev flags")
    func help() throws {
        let result = try runRedir(["run", "--help"])
        #expect(result.status == 0)
        for flag in ["-s", "-p", "-l", "-b", "-k", "--key", "-m", "-c", "-t", "-u", "-U", "-v", "-n", "--reuse-port",
                     "--no-delay", "--fast-open"] {
            #expect(result.stdout.contains("  \(flag)"), "missing \(flag)")
        }
    }
}
