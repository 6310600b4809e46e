import Foundation

let isRoot = getuid() == 0

enum Repository {
    static let root = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    static let golden = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Golden")

    static func read(_ relativePath: String) throws -> String {
        try String(contentsOf: root.appendingPathComponent(relativePath), encoding: .utf8)
    }
}

/// Runs a tool to completion (bounded) and returns its exit status and output.
enum Shell {
    struct Result {
        var status: Int32
        var stdout: String
        var stderr: String
        var summary: String { "exit \(status)\nstdout: \(stdout)\nstderr: \(stderr)" }
    }

    static func run(_ arguments: [String], input: String? = nil, timeout: TimeInterval = 30) throws -> Result {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: try path(of: arguments[0]))
        process.arguments = Array(arguments.dropFirst())
        let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("nft-test-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: scratch, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: scratch) }
        let out = scratch.appendingPathComponent("out")
        let err = scratch.appendingPathComponent("err")
        _ = FileManager.default.createFile(atPath: out.path, contents: nil)
        _ = FileManager.default.createFile(atPath: err.path, contents: nil)
        process.standardOutput = try FileHandle(forWritingTo: out)
        process.standardError = try FileHandle(forWritingTo: err)
        if let input {
            let file = scratch.appendingPathComponent("in")
            try input.write(to: file, atomically: true, encoding: .utf8)
            process.standardInput = try FileHandle(forReadingFrom: file)
        } else {
            process.standardInput = FileHandle.nullDevice
        }
        try process.run()
        let deadline = Date().addingTimeInterval(timeout)
        while process.isRunning && Date() < deadline { Thread.sleep(forTimeInterval: 0.01) }
        if process.isRunning {
            process.terminate()
            process.waitUntilExit()
            throw ShellError("timed out after \(timeout) s: \(arguments.joined(separator: " "))")
        }
        return Result(
            status: process.terminationStatus,
            stdout: (try? String(contentsOf: out, encoding: .utf8)) ?? "",
            stderr: (try? String(contentsOf: err, encoding: .utf8)) ?? "")
    }

    static func path(of tool: String) throws -> String {
        if tool.contains("/") { return tool }
        for directory in ["/usr/sbin", "/usr/bin", "/sbin", "/bin"]
        where FileManager.default.isExecutableFile(atPath: "\(directory)/\(tool)") {
            return "\(directory)/\(tool)"
        }
        throw ShellError("\(tool) not found")
    }
}

struct ShellError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

/// A throwaway network namespace (`ip netns add`), removed by `with` whatever happens. `enter` runs a closure
/// on a fresh thread that has joined the namespace (setns changes only the calling thread), so netlink sockets
/// it opens talk to that namespace's nftables and routing, never the host's.
final class NetworkNamespace: Sendable {
    let name: String

    private init(name: String) { self.name = name }

    static func with<T>(_ body: (NetworkNamespace) throws -> T) throws -> T {
        _ = removedStale
        let name = "ssn\(String(getpid(), radix: 36))_\(UUID().uuidString.prefix(6).lowercased())"
        let added = try Shell.run(["ip", "netns", "add", name])
        guard added.status == 0 else { throw ShellError("ip netns add \(name): \(added.summary)") }
        defer { _ = try? Shell.run(["ip", "netns", "del", name]) }
        _ = try Shell.run(["ip", "-n", name, "link", "set", "lo", "up"])
        return try body(NetworkNamespace(name: name))
    }

    /// Once per run: deletes namespaces of earlier runs whose process is gone (killed before their cleanup ran).
    private static let removedStale: Void = {
        guard let list = try? Shell.run(["ip", "netns", "list"]) else { return }
        for line in list.stdout.split(separator: "\n") {
            let name = String(line.split(separator: " ").first ?? "")
            guard name.hasPrefix("ssn"), let underscore = name.firstIndex(of: "_"),
                let pid = pid_t(name[name.index(name.startIndex, offsetBy: 3)..<underscore], radix: 36),
                kill(pid, 0) != 0, errno == ESRCH
            else { continue }
            _ = try? Shell.run(["ip", "netns", "del", name])
        }
    }()

    /// `nft ARGS` inside the namespace.
    func nft(_ arguments: [String], input: String? = nil) throws -> Shell.Result {
        try Shell.run(["ip", "netns", "exec", name, "nft"] + arguments, input: input)
    }

    func enter<T: Sendable>(_ body: @escaping @Sendable () throws -> T) throws -> T {
        let box = ResultBox<T>()
        let namespacePath = "/run/netns/\(name)"
        let thread = Thread {
            defer { box.done.signal() }
            let fd = open(namespacePath, O_RDONLY)
            guard fd >= 0, let setns = NetworkNamespace.setns, setns(fd, 0x4000_0000) == 0 else {  // CLONE_NEWNET
                box.result = .failure(ShellError("setns into \(namespacePath) failed: errno \(errno)"))
                return
            }
            close(fd)
            box.result = Result { try body() }
        }
        thread.start()
        box.done.wait()
        return try box.result!.get()
    }

    /// glibc's setns, looked up at run time (Swift's Glibc module does not import this GNU extension).
    private typealias SetNamespace = @convention(c) (Int32, Int32) -> Int32
    private static let setns: SetNamespace? = dlsym(nil, "setns").map { unsafeBitCast($0, to: SetNamespace.self) }
}

private final class ResultBox<T>: @unchecked Sendable {
    var result: Result<T, any Error>?
    let done = DispatchSemaphore(value: 0)
}
