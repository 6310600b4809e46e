#if canImport(Glibc)
import Glibc
#endif

/// Whole-file reads without Foundation (the daemon stays small).
enum TextFile {
    /// nil when the file cannot be opened or read; `lastError` then says why.
    static func read(_ path: String, limit: Int = 64 << 20) -> String? {
        guard let file = fopen(path, "rb") else { return nil }
        defer { fclose(file) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 1 << 16)
        while true {
            let count = chunk.withUnsafeMutableBytes { fread($0.baseAddress, 1, $0.count, file) }
            if count <= 0 { break }
            bytes += chunk[0..<count]
            if bytes.count > limit { return nil }
        }
        if ferror(file) != 0 { return nil }
        return String(decoding: bytes, as: UTF8.self)
    }

    static var lastError: String { String(cString: strerror(errno)) }
}
