import Foundation

/// Runs a command-line tool (openssl, python3) with `input` on stdin and returns its stdout, for cross-checks
/// against implementations other than ours. Returns nil if the tool is missing or exits non-zero.
enum ExternalTool {
    static func run(_ arguments: [String], input: [UInt8] = [], environment: [String: String]? = nil) -> [UInt8]? {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = arguments
        if let environment { process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 } }
        let stdin = Pipe(), stdout = Pipe()
        process.standardInput = stdin
        process.standardOutput = stdout
        process.standardError = FileHandle.nullDevice
        do { try process.run() } catch { return nil }
        // Write on another thread so a tool that streams output cannot deadlock against a full stdin pipe.
        let writer = Thread {
            stdin.fileHandleForWriting.write(Data(input))
            try? stdin.fileHandleForWriting.close()
        }
        writer.start()
        let output = stdout.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else { return nil }
        return Array(output)
    }

    static func hexString(_ bytes: [UInt8]) -> String {
        bytes.map { String(format: "%02x", $0) }.joined()
    }

    /// True when `python3` can load libsodium (Debian: libsodium23, a dependency of shadowsocks-libev).
    static let hasLibsodium: Bool =
        run(["python3", "-c", "import ctypes; ctypes.CDLL('libsodium.so.23')"]) != nil

    static let hasOpenSSLCLI: Bool = run(["openssl", "version"]) != nil
}
