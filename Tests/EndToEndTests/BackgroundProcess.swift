import Foundation

/// A long-running process (server, proxy) inside a namespace, its stdout and stderr in one log file.
final class BackgroundProcess {
    let name: String
    let logURL: URL
    private let process: ChildProcess

    init(name: String, arguments: [String], logURL: URL) throws {
        self.name = name
        self.logURL = logURL
        process = try Command.launch(arguments, stdout: logURL, stderr: logURL)
    }

    var isRunning: Bool { process.isRunning }
    var pid: pid_t { process.pid }
    var log: String { Command.readText(logURL) }

    /// The last lines of the log, for failure messages.
    func logTail(lines: Int = 20) -> String {
        log.split(separator: "\n", omittingEmptySubsequences: false).suffix(lines).joined(separator: "\n")
    }

    /// Sends `signal` and waits up to `timeout` for the exit; nil if it is still running then.
    func signalAndWait(_ signal: Int32, timeout: Duration) -> ChildProcess.Termination? {
        kill(process.pid, signal)
        return process.waitForExit(timeout: timeout) ? process.termination : nil
    }

    /// Stops the process and waits (bounded) until it is gone.
    func stop() {
        process.stop()
    }
}
