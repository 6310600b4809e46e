#if canImport(Glibc)
import Glibc
#endif

/// A small configuration file re-read only when stat(2) says it changed (device, inode, size or mtime), the way
/// glibc reloads resolv.conf. Reading is plain blocking I/O: these files are local and tiny, read rarely.
struct WatchedFile: Sendable {
    struct Signature: Equatable, Sendable {
        let device: UInt64
        let inode: UInt64
        let size: Int64
        let modifiedSeconds: Int
        let modifiedNanoseconds: Int
    }

    let path: String
    private(set) var signature: Signature?
    private var loaded = false

    init(path: String) { self.path = path }

    /// The file's text when it is new or changed since the last call ("" when it is missing or unreadable),
    /// nil when it is unchanged.
    mutating func textIfChanged() -> String? {
        let current = WatchedFile.signature(of: path)
        guard !loaded || current != signature else { return nil }
        loaded = true
        signature = current
        guard current != nil else { return "" }
        return WatchedFile.read(path) ?? ""
    }

    static func signature(of path: String) -> Signature? {
        var info = stat()
        guard stat(path, &info) == 0 else { return nil }
        return Signature(
            device: UInt64(info.st_dev), inode: UInt64(info.st_ino), size: Int64(info.st_size),
            modifiedSeconds: Int(info.st_mtim.tv_sec), modifiedNanoseconds: Int(info.st_mtim.tv_nsec))
    }

    /// The whole file, retrying EINTR; nil when it cannot be opened or read.
    static func read(_ path: String) -> String? {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 64 * 1024)
        while true {
            let count = chunk.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) }
            if count < 0 {
                if errno == EINTR { continue }
                return nil
            }
            if count == 0 { break }
            bytes += chunk[0..<count]
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}
