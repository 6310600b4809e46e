import Foundation
import Testing

/// docs/config.md must name every flag the binaries' --help lists, so the reference cannot fall behind.
/// Runs the binaries only (no root, no network).
@Suite("Flags reference") struct HelpReferenceTests {
    static let reference = Testbed.repoRoot.appendingPathComponent("docs/config.md")

    /// "-s, --server <server>" → ["-s", "--server"], "--reuse-port/--no-reuse-port" → both; only option lines
    /// (indented, starting with "-").
    static func flags(inHelp help: String) -> Set<String> {
        var flags: Set<String> = []
        for line in help.split(separator: "\n") {
            let trimmed = line.drop { $0 == " " }
            guard line.hasPrefix("  -") else { continue }
            for word in trimmed.prefix(while: { $0 != "<" }).split(whereSeparator: { $0 == " " || $0 == "," || $0 == "/" }) {
                guard word.hasPrefix("-"), word != "-h", word != "--help", word != "--version" else { continue }
                flags.insert(String(word))
            }
        }
        return flags
    }

    @Test("Every flag of ss-redir's commands, ss-server and ss-local is documented in docs/config.md")
    func everyFlagDocumented() throws {
        let text = try String(contentsOf: Self.reference, encoding: .utf8)
        let binaryDirectory = URL(fileURLWithPath: Testbed.ssRedirBinary).deletingLastPathComponent()
        let commands: [[String]] = [
            [Testbed.ssRedirBinary, "run"], [Testbed.ssRedirBinary, "setup"], [Testbed.ssRedirBinary, "teardown"],
            [Testbed.ssRedirBinary, "status"], [Testbed.ssRedirBinary, "reload"], [Testbed.ssRedirBinary, "check"],
            [binaryDirectory.appendingPathComponent("ss-server").path],
            [binaryDirectory.appendingPathComponent("ss-local").path],
        ]
        var missing: [String] = []
        for command in commands {
            let help = try Command.run(command + ["--help"], timeout: .seconds(20))
            #expect(help.succeeded, "\(command) --help: \(help.summary)")
            let name = command.map { URL(fileURLWithPath: $0).lastPathComponent }.joined(separator: " ")
            for flag in Self.flags(inHelp: help.stdout).sorted() where !text.contains("`\(flag)") {
                missing.append("\(name) \(flag)")
            }
        }
        #expect(missing.isEmpty, "flags missing from docs/config.md: \(missing.joined(separator: ", "))")
    }

    @Test("Every flag of the binaries' --help is in their man pages (docs/man, `make man` regenerates them)")
    func everyFlagInManPages() throws {
        let binaryDirectory = URL(fileURLWithPath: Testbed.ssRedirBinary).deletingLastPathComponent()
        let commands: [(page: String, command: [String])] = [
            ("ss-redir", [Testbed.ssRedirBinary, "run"]), ("ss-redir", [Testbed.ssRedirBinary, "setup"]),
            ("ss-redir", [Testbed.ssRedirBinary, "check"]), ("ss-redir", [Testbed.ssRedirBinary, "status"]),
            ("ss-server", [binaryDirectory.appendingPathComponent("ss-server").path]),
            ("ss-local", [binaryDirectory.appendingPathComponent("ss-local").path]),
        ]
        var missing: [String] = []
        for (page, command) in commands {
            let man = try String(
                contentsOf: Testbed.repoRoot.appendingPathComponent("docs/man/\(page).1"), encoding: .utf8)
            let help = try Command.run(command + ["--help"], timeout: .seconds(20))
            for flag in Self.flags(inHelp: help.stdout).sorted() {
                // mdoc spells "-s, --server" as "Fl s , -server".
                let bare = String(flag.dropFirst())
                if !man.contains("Fl \(bare) ") && !man.contains("Fl \(bare)\n") && !man.contains(", \(bare) ")
                    && !man.contains(", \(bare)\n")
                {
                    missing.append("\(page): \(flag)")
                }
            }
        }
        #expect(missing.isEmpty, "flags missing from the man pages (run make man): \(missing.joined(separator: ", "))")
    }
}
