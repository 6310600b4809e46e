import Foundation
import Testing

/// ss-redir is also ss-server and ss-local when called by those names (the .deb installs one binary and two
/// links): the link's --help and --version are those of the program it names. Runs the binaries only.
@Suite("One binary, three programs") struct MultiCallTests {
    @Test("A link named ss-server or ss-local to ss-redir runs that program", arguments: ["ss-server", "ss-local"])
    func linkRunsNamedProgram(program: String) throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("ss-multicall-\(UUID())")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let link = directory.appendingPathComponent(program).path
        try FileManager.default.createSymbolicLink(atPath: link, withDestinationPath: Testbed.ssRedirBinary)
        let real = URL(fileURLWithPath: Testbed.ssRedirBinary).deletingLastPathComponent()
            .appendingPathComponent(program).path

        for arguments in [["--help"], ["--version"]] {
            let viaLink = try Command.run([link] + arguments, timeout: .seconds(20))
            let direct = try Command.run([real] + arguments, timeout: .seconds(20))
            #expect(viaLink.succeeded, "\(program) \(arguments): \(viaLink.summary)")
            #expect(viaLink.stdout == direct.stdout, "\(program) \(arguments) via the link: \(viaLink.stdout)")
        }
        let version = try Command.run([link, "--version"], timeout: .seconds(20))
        #expect(version.stdout.hasPrefix("\(program) "), "\(version.stdout)")
        // An unknown flag gets the named program's usage line, not ss-redir's.
        let usage = try Command.run([link, "--bogus-flag"], timeout: .seconds(20))
        #expect(!usage.succeeded && usage.stderr.contains("Usage: \(program)"), "\(usage.summary)")
    }

    /// -f forks, which needs the process to have one thread: the program must start on the main thread whether
    /// it is entered from its own executable or from ss-redir's entry point.
    @Test("ss-server through the link backgrounds with -f and serves")
    func linkBackgrounds() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("ss-multicall-\(UUID())")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let link = directory.appendingPathComponent("ss-server").path
        try FileManager.default.createSymbolicLink(atPath: link, withDestinationPath: Testbed.ssRedirBinary)
        let pidFile = directory.appendingPathComponent("ss-server.pid").path
        let logFile = directory.appendingPathComponent("ss-server.log").path
        let port = Int.random(in: 30000...40000)
        let start = try Command.run(
            [link, "-s", "127.0.0.1", "-p", "\(port)", "-k", "x", "-m", "aes-256-gcm", "-f", pidFile, "--log-file", logFile],
            timeout: .seconds(20))
        #expect(start.succeeded, "\(start.summary)")
        let pid = try #require(Int32(Command.readText(URL(fileURLWithPath: pidFile)).trimmingCharacters(in: .whitespacesAndNewlines)))
        defer { kill(pid, SIGTERM) }
        let log = Command.readText(URL(fileURLWithPath: logFile))
        #expect(log.contains("listening: tcp on 127.0.0.1:\(port)"), "\(log)")
    }
}
