import Foundation

/// A dnsmasq on 127.0.0.1 for the duration of a test, authoritative for `example.test` (so negative answers carry
/// an SOA) with `--log-queries` on stderr, which is how tests count the queries that reached it.
final class Dnsmasq {
    static let executable = "/usr/sbin/dnsmasq"
    static var isInstalled: Bool { FileManager.default.isExecutableFile(atPath: executable) }

    let port: Int
    private let process: SpawnedProcess
    private let directory: URL
    private var logURL: URL { directory.appendingPathComponent("log") }

    /// Starts dnsmasq with the zone's records (`--host-record=...`, `--cname=...`) and waits until it answers.
    init(records: [String]) throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("dnsmasq-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        var lastError = "dnsmasq did not start"
        for _ in 0..<5 {
            let port = Int.random(in: 20000...60000)
            let log = directory.appendingPathComponent("log")
            _ = FileManager.default.createFile(atPath: log.path, contents: nil)
            let arguments =
                [
                    Dnsmasq.executable, "--no-daemon", "--conf-file=/dev/null", "--no-resolv", "--no-hosts",
                    "--port=\(port)", "--listen-address=127.0.0.1", "--bind-interfaces",
                    "--pid-file=\(directory.appendingPathComponent("pid").path)", "--log-queries", "--log-facility=-",
                    "--local-ttl=300", "--auth-server=ns.example.test,127.0.0.1", "--auth-zone=example.test",
                    "--auth-ttl=300", "--auth-soa=7,hostmaster.example.test,1200,180,1209600",
                ] + records
            let process = try SpawnedProcess(arguments, output: log)
            if Dnsmasq.waitForStart(process: process, log: log) {
                self.port = port
                self.process = process
                return
            }
            process.stop()
            lastError = (try? String(contentsOf: directory.appendingPathComponent("log"), encoding: .utf8)) ?? lastError
        }
        try? FileManager.default.removeItem(at: directory)
        throw DnsmasqError(message: lastError)
    }

    struct DnsmasqError: Error, CustomStringConvertible {
        let message: String
        var description: String { message }
    }

    private static func waitForStart(process: SpawnedProcess, log: URL) -> Bool {
        for _ in 0..<100 {
            guard process.isRunning else { return false }
            if let text = try? String(contentsOf: log, encoding: .utf8), text.contains("cleared cache") { return true }
            usleep(20_000)
        }
        return false
    }

    /// Queries dnsmasq logged for `name` and `type` ("A", "AAAA"), as an authoritative server logs them
    /// ("auth[A] name from ..."); waits briefly for the log to catch up with at least `atLeast` of them.
    func queries(_ name: String, _ type: String, atLeast: Int = 0) -> Int {
        var count = 0
        for _ in 0..<50 {
            let text = (try? String(contentsOf: logURL, encoding: .utf8)) ?? ""
            count = text.split(separator: "\n").filter { $0.contains("auth[\(type)] \(name) from") }.count
            if count >= atLeast { break }
            usleep(10_000)
        }
        return count
    }

    var logText: String { (try? String(contentsOf: logURL, encoding: .utf8)) ?? "" }

    func stop() {
        process.stop()
        try? FileManager.default.removeItem(at: directory)
    }

    deinit { stop() }
}
