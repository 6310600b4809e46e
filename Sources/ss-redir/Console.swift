#if canImport(Glibc)
import Glibc
#endif

/// One-line messages on stderr for the setup commands (stdout carries the result, e.g. the dry-run script).
enum Console {
    static func error(_ message: String) { write("ss-redir: \(message)\n") }

    static func warn(_ message: String) { write("ss-redir: warning: \(message)\n") }

    static func milliseconds(_ duration: Duration) -> String {
        let (seconds, attoseconds) = duration.components
        let total = Double(seconds) * 1000 + Double(attoseconds) / 1e15
        return String(Int(total.rounded()))
    }

    private static func write(_ text: String) {
        let bytes = Array(text.utf8)
        _ = bytes.withUnsafeBytes { Glibc.write(STDERR_FILENO, $0.baseAddress, $0.count) }
    }
}
