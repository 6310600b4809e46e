import Foundation

let isRoot = getuid() == 0

/// Three namespaces from scripts/netns-testbed.sh (lan -> gw -> wan) plus the processes started in them.
/// `Testbed.with { bed in ... }` always stops the processes and removes the namespaces, even when the body fails.
final class Testbed {
    /// `lan2` exists only with `lan: .bridge`: a second host on the gw's bridge `br-lan`.
    enum Namespace: String { case lan, gw, wan, lan2 }
    /// The LAN side: one veth, or a bridge `br-lan` with two hosts and br_netfilter on (netns-testbed.sh LAN=).
    enum LAN: String { case veth, bridge }

    static let lanIPv4 = "10.231.1.2"
    static let gwLANIPv4 = "10.231.1.1"
    static let wanIPv4 = "10.231.2.2"
    static let lanIPv6 = "fd31:1::2"
    static let lan2IPv4 = "10.231.1.3"
    static let lan2IPv6 = "fd31:1::3"
    static let wanIPv6 = "fd31:2::2"

    static let repoRoot = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    static let resources = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("Resources")
    private static let script = repoRoot.appendingPathComponent("scripts/netns-testbed.sh").path

    /// The binary under test: env SS_REDIR_BIN (relative paths from the repo root), else .build/debug/ss-redir.
    static var ssRedirBinary: String {
        let configured = ProcessInfo.processInfo.environment["SS_REDIR_BIN"] ?? ".build/debug/ss-redir"
        return configured.hasPrefix("/") ? configured : repoRoot.appendingPathComponent(configured).path
    }

    let prefix: String
    let workDir: URL
    private(set) var processes: [BackgroundProcess] = []

    private init(prefix: String, workDir: URL) {
        self.prefix = prefix
        self.workDir = workDir
    }

    /// `rules`: the gw's capture rules, as `scripts/netns-testbed.sh` takes them in RULES (redirect, tproxy-udp,
    /// tproxy, none).
    /// `fw4`: an OpenWrt-fw4-like `table inet fw4` in gw too (netns-testbed.sh FW4=1).
    static func with<T>(
        rules: String = "redirect", lan: LAN = .veth, fw4: Bool = false, _ body: (Testbed) throws -> T
    ) throws -> T {
        let bed = try up(rules: rules, lan: lan, fw4: fw4)
        defer { bed.down() }
        do {
            return try body(bed)
        } catch {
            FileHandle.standardError.write(Data("\(error)\n\(bed.diagnostics)\n".utf8))
            throw error
        }
    }

    /// Prefix `sst<pid>_<random>` (base 36): short enough for interface names, and it names the run that owns it.
    private static func up(rules: String, lan: LAN, fw4: Bool) throws -> Testbed {
        guard FileManager.default.isExecutableFile(atPath: ssRedirBinary) else {
            throw TestbedError("no ss-redir at \(ssRedirBinary): run `swift build` or set SS_REDIR_BIN")
        }
        _ = removedStaleTestbeds
        var lastFailure = ""
        for _ in 0..<3 {
            let prefix = "sst\(String(getpid(), radix: 36))_\(String(Int.random(in: 36..<1296), radix: 36))"
            let result = try Command.run(["env", "RULES=\(rules)", "LAN=\(lan.rawValue)", "FW4=\(fw4 ? 1 : 0)", "bash", script, "up", prefix])
            if result.succeeded {
                let workDir = FileManager.default.temporaryDirectory.appendingPathComponent("e2e-\(prefix)")
                try FileManager.default.createDirectory(at: workDir, withIntermediateDirectories: true)
                return Testbed(prefix: prefix, workDir: workDir)
            }
            lastFailure = result.summary
        }
        throw TestbedError("netns-testbed.sh up failed: \(lastFailure)")
    }

    /// Once per run: takes down testbeds left by earlier runs that were killed before their cleanup ran.
    private static let removedStaleTestbeds: Void = {
        guard let list = try? Command.run(["ip", "netns", "list"]) else { return }
        let stale = Set(
            list.stdout.split(separator: "\n").compactMap { line -> String? in
                let name = line.split(separator: " ").first.map(String.init) ?? ""
                guard name.hasPrefix("sst"), let dash = name.lastIndex(of: "-"),
                    let underscore = name.firstIndex(of: "_"),
                    let pid = pid_t(name[name.index(name.startIndex, offsetBy: 3)..<underscore], radix: 36),
                    kill(pid, 0) != 0, errno == ESRCH
                else { return nil }
                return String(name[..<dash])
            })
        for prefix in stale { _ = try? Command.run(["bash", script, "down", prefix]) }
    }()

    private func down() {
        for process in processes.reversed() { process.stop() }
        _ = try? Command.run(["bash", Self.script, "down", prefix])
        try? FileManager.default.removeItem(at: workDir)
    }

    func name(_ namespace: Namespace) -> String { "\(prefix)-\(namespace.rawValue)" }

    func path(_ file: String) -> String { workDir.appendingPathComponent(file).path }

    private func inNamespace(_ namespace: Namespace, _ arguments: [String]) throws -> [String] {
        guard let first = arguments.first else { throw TestbedError("empty command") }
        return ["ip", "netns", "exec", name(namespace), try Command.tool(first)] + arguments.dropFirst()
    }

    /// Runs a command to completion inside a namespace.
    func run(_ namespace: Namespace, _ arguments: [String], timeout: Duration = .seconds(30)) throws -> Command.Result {
        try Command.run(inNamespace(namespace, arguments), timeout: timeout)
    }

    /// Starts a process inside a namespace; `down` stops it.
    func start(_ namespace: Namespace, name: String, _ arguments: [String]) throws -> BackgroundProcess {
        let logURL = workDir.appendingPathComponent("\(processes.count)-\(name).log")
        let process = try BackgroundProcess(name: name, arguments: inNamespace(namespace, arguments), logURL: logURL)
        processes.append(process)
        return process
    }

    /// Polls `ss` until something listens on the TCP (or, with `udp`, UDP) port; fails early if `process` exits.
    func waitUntilListening(
        _ namespace: Namespace, port: Int, for process: BackgroundProcess, udp: Bool = false,
        timeout: Duration = .seconds(10)
    ) throws {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            guard process.isRunning else {
                throw TestbedError("\(process.name) exited before listening on :\(port)\n\(process.logTail())")
            }
            let listening = try run(
                namespace, ["ss", udp ? "-Hlun" : "-Hltn", "sport = :\(port)"], timeout: .seconds(5))
            if !listening.stdout.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty { return }
            Thread.sleep(forTimeInterval: 0.05)
        }
        throw TestbedError("\(process.name) not listening on :\(port) after \(timeout)\n\(process.logTail())")
    }

    /// The last log lines of every process started, for failure messages.
    var diagnostics: String {
        processes.map { "--- \($0.name) (\($0.isRunning ? "running" : "exited")):\n\($0.logTail())" }
            .joined(separator: "\n")
    }
}
