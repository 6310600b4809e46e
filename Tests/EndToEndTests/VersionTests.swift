import Foundation
import Testing

/// `--version` of the three programs: "NAME VERSION (commit C, Swift S)", VERSION being SSRedirVersion.current
/// (the version `make deb` gives the package; scripts/test-deb.sh checks the packaged binaries say it, with a
/// real commit). Runs the binaries only (no root, no network).
@Suite("Version") struct VersionTests {
    /// SSRedirVersion.current, read from the source the way scripts/build-deb.sh reads it.
    static func sourceVersion() throws -> String {
        let source = try String(
            contentsOf: Testbed.repoRoot.appendingPathComponent("Sources/Redir/SSRedirVersion.swift"), encoding: .utf8)
        let line = try #require(source.split(separator: "\n").first { $0.contains("static let current = \"") })
        return String(try #require(line.split(separator: "\"").dropFirst().first))
    }

    @Test(
        "ss-redir, ss-server and ss-local --version print the version, the commit and the Swift version",
        arguments: ["ss-redir", "ss-server", "ss-local"])
    func versionLine(program: String) throws {
        let version = try Self.sourceVersion()
        let binary = URL(fileURLWithPath: Testbed.ssRedirBinary).deletingLastPathComponent()
            .appendingPathComponent(program).path
        let result = try Command.run([binary, "--version"], timeout: .seconds(20))
        #expect(result.succeeded, "\(result.summary)")
        let line = result.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        let prefix = "\(program) \(version) (commit "
        #expect(line.hasPrefix(prefix), "\(line)")
        let details = line.dropFirst(prefix.count).dropLast()  // "C, Swift S"
        let parts = details.split(separator: ",", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
        #expect(parts.count == 2 && !parts[0].isEmpty, "\(line)")
        #expect(line.hasSuffix(")") && parts.last?.hasPrefix("Swift 6.") == true, "\(line)")
    }

    @Test("ss-redir's subcommands take --version too (run is the default subcommand)")
    func subcommandVersion() throws {
        let expected = try Command.run([Testbed.ssRedirBinary, "--version"], timeout: .seconds(20)).stdout
        for subcommand in ["run", "setup"] {
            let result = try Command.run([Testbed.ssRedirBinary, subcommand, "--version"], timeout: .seconds(20))
            #expect(result.succeeded && result.stdout == expected, "\(subcommand): \(result.summary)")
        }
    }
}
