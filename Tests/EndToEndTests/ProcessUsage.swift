import Foundation

/// What /proc says about a process under test: CPU time, open descriptors, resident memory.
struct ProcessUsage {
    let pid: pid_t

    /// utime + stime in seconds (/proc/PID/stat fields 14 and 15, in clock ticks).
    var cpuSeconds: Double {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
            let close = stat.lastIndex(of: ")")
        else { return .nan }
        // Fields after the command name start at field 3 (state).
        let fields = stat[stat.index(after: close)...].split(separator: " ")
        guard fields.count > 13, let user = Double(fields[11]), let system = Double(fields[12]) else { return .nan }
        return (user + system) / Double(sysconf(Int32(_SC_CLK_TCK)))
    }

    /// CPU seconds used over `window` of wall time.
    func cpuSeconds(over window: Duration) -> Double {
        let before = cpuSeconds
        Thread.sleep(forTimeInterval: Double(window.components.seconds) + Double(window.components.attoseconds) / 1e18)
        return cpuSeconds - before
    }

    var openDescriptors: Int {
        (try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/fd").count) ?? -1
    }

    /// Resident set in KiB: VmRSS of /proc/PID/status.
    var residentKiB: Int {
        guard let status = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8) else { return -1 }
        let line = status.split(separator: "\n").first { $0.hasPrefix("VmRSS:") }
        return line.flatMap { Int($0.split(separator: " ")[1]) } ?? -1
    }
}

extension Testbed {
    /// Resources/load_client.py in lan, to completion.
    func loadClient(_ arguments: [String], timeout: Duration = .seconds(120)) throws -> Command.Result {
        let script = Testbed.resources.appendingPathComponent("load_client.py").path
        return try run(.lan, ["python3", "-B", script] + arguments, timeout: timeout)
    }

    /// Resources/load_client.py in lan, in the background.
    func startLoadClient(name: String, _ arguments: [String]) throws -> BackgroundProcess {
        let script = Testbed.resources.appendingPathComponent("load_client.py").path
        return try start(.lan, name: name, ["python3", "-B", script] + arguments)
    }

    /// Polls `condition` every 50 ms until it holds or `timeout` passes; returns whether it held.
    func waitFor(_ timeout: Duration, _ condition: () -> Bool) -> Bool {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if condition() { return true }
            Thread.sleep(forTimeInterval: 0.05)
        }
        return condition()
    }
}

extension String {
    func occurrences(of needle: String) -> Int { components(separatedBy: needle).count - 1 }
}
