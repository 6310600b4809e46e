#if canImport(Glibc)
    import Glibc
#endif

/// `--external-ui DIR` served under /ui/: plain files, no listing, nothing outside DIR (no "..", no hidden
/// files), at most `maximumSize` bytes each.
package struct StaticFiles: Sendable {
    let root: String
    static let maximumSize = 32 << 20

    package init(root: String) {
        self.root = root.hasSuffix("/") && root.count > 1 ? String(root.dropLast()) : root
    }

    package enum Outcome: Equatable {
        case file(contentType: String, bytes: [UInt8])
        case notFound
        case tooLarge
    }

    /// `segments`: the path below /ui, percent-decoded.
    package func lookup(_ segments: [String]) -> Outcome {
        for segment in segments {
            if segment.hasPrefix(".") || segment.contains("/") || segment.contains("\0") { return .notFound }
        }
        var path = ([root] + segments).joined(separator: "/")
        if isDirectory(path) { path += "/index.html" }
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return .notFound }
        defer { close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0, (info.st_mode & S_IFMT) == S_IFREG else { return .notFound }
        guard info.st_size <= Self.maximumSize else { return .tooLarge }
        var bytes = [UInt8](repeating: 0, count: Int(info.st_size))
        var filled = 0
        while filled < bytes.count {
            let count = bytes.withUnsafeMutableBytes { read(fd, $0.baseAddress! + filled, $0.count - filled) }
            if count < 0 && errno == EINTR { continue }
            guard count > 0 else { break }
            filled += count
        }
        return .file(contentType: Self.contentType(path), bytes: Array(bytes[..<filled]))
    }

    private func isDirectory(_ path: String) -> Bool {
        var info = stat()
        return stat(path, &info) == 0 && (info.st_mode & S_IFMT) == S_IFDIR
    }

    static func contentType(_ path: String) -> String {
        let name = path.split(separator: "/").last ?? ""
        let suffix = name.split(separator: ".").last.map { $0.lowercased() } ?? ""
        switch suffix {
        case "html", "htm": return "text/html; charset=utf-8"
        case "js", "mjs": return "text/javascript; charset=utf-8"
        case "css": return "text/css; charset=utf-8"
        case "json", "map": return "application/json"
        case "webmanifest": return "application/manifest+json"
        case "svg": return "image/svg+xml"
        case "png": return "image/png"
        case "jpg", "jpeg": return "image/jpeg"
        case "ico": return "image/x-icon"
        case "woff2": return "font/woff2"
        case "woff": return "font/woff"
        case "ttf": return "font/ttf"
        case "txt": return "text/plain; charset=utf-8"
        case "wasm": return "application/wasm"
        default: return "application/octet-stream"
        }
    }
}
