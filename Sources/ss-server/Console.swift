#if canImport(Glibc)
import Glibc
#endif

/// One-line messages on stderr before logging is useful (configuration errors).
enum Console {
    static func error(_ message: String) { write("ss-server: \(message)\n") }

    private static func write(_ text: String) {
        let bytes = Array(text.utf8)
        _ = bytes.withUnsafeBytes { Glibc.write(STDERR_FILENO, $0.baseAddress, $0.count) }
    }
}
