import Foundation

/// Runs a command to completion with a bounded wait; output goes through files, so nothing can block on a pipe.
enum Command {
    struct Result {
        var status: Int32
        var stdout: String
        var stderr: String
        var elapsed: Duration
        var succeeded: Bool { status == 0 }
        var summary: String { "exit \(status) after \(elapsed)\nstdout: \(stdout)\nstderr: \(stderr)" }
    }

    /// `arguments[0]` is looked up with `Command.tool(_:)` unless it holds a `/`.
    static func run(_ arguments: [String], timeout: Duration = .seconds(30)) throws -> Result {
        let scratch = FileManager.default.temporaryDirectory
            .appendingPathComponent("e2e-cmd-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: scratch, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: scratch) }
        let stdoutURL = scratch.appendingPathComponent("stdout")
        let stderrURL = scratch.appendingPathComponent("stderr")

        let start = ContinuousClock.now
        let process = try launch(arguments, stdout: stdoutURL, stderr: stderrURL)
        if !process.waitForExit(timeout: timeout) {
            process.stop()
            throw TestbedError("timed out after \(timeout): \(arguments.joined(separator: " "))")
        }
        let status: Int32 =
            switch process.termination {
            case .exited(let code): code
            case .signaled(let signal): 128 + signal
            case nil: -1
            }
        return Result(
            status: status,
            stdout: readText(stdoutURL),
            stderr: readText(stderrURL),
            elapsed: start.duration(to: .now)
        )
    }

    static func launch(_ arguments: [String], stdout: URL, stderr: URL) throws -> ChildProcess {
        guard let first = arguments.first else { throw TestbedError("empty command") }
        return try ChildProcess([try tool(first)] + arguments.dropFirst(), stdout: stdout, stderr: stderr)
    }

    /// System directories first, so Debian's tools win over shims earlier in PATH.
    static func tool(_ name: String) throws -> String {
        if name.contains("/") { return name }
        let path = ProcessInfo.processInfo.environment["PATH"] ?? ""
        let directories = ["/usr/sbin", "/usr/bin", "/sbin", "/bin"] + path.split(separator: ":").map(String.init)
        for directory in directories {
            let candidate = "\(directory)/\(name)"
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
        }
        throw TestbedError("\(name) not found in /usr/sbin, /usr/bin, /sbin, /bin or PATH")
    }

    static func readText(_ url: URL) -> String {
        String(decoding: (try? Data(contentsOf: url)) ?? Data(), as: UTF8.self)
    }
}

struct TestbedError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}
