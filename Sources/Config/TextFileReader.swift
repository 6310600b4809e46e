#if canImport(Glibc)
import Glibc
#endif

/// Reads a whole (small) text file, for config and server lists. nil if it cannot be read.
package enum TextFileReader {
    static let maximumSize = 16 << 20

    package static func read(_ path: String) -> String? {
        guard let file = fopen(path, "rb") else { return nil }
        defer { fclose(file) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 65536)
        while true {
            let count = chunk.withUnsafeMutableBytes { fread($0.baseAddress, 1, $0.count, file) }
            if count <= 0 { break }
            bytes += chunk[0..<count]
            if bytes.count > maximumSize { return nil }
        }
        if ferror(file) != 0 { return nil }
        return String(decoding: bytes, as: UTF8.self)
    }
}
