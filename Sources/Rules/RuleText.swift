#if canImport(Glibc)
    import Glibc
#endif

/// Whole-file reads of rule files without Foundation (the daemon stays small).
enum RuleText {
    /// chnroute is ~100 KiB and a full dnsmasq-china-list ~4 MiB; 64 MiB leaves room and bounds memory.
    static let maximumSize = 64 << 20

    static func read(_ path: String, purpose: String) throws(RulesError) -> String {
        guard let file = fopen(path, "rb") else {
            throw RulesError(.unreadableFile, "\(path): cannot open the \(purpose) (\(errorText())); check the path")
        }
        defer { fclose(file) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 1 << 16)
        while true {
            let count = chunk.withUnsafeMutableBytes { fread($0.baseAddress, 1, $0.count, file) }
            if count <= 0 { break }
            bytes += chunk[0..<count]
            if bytes.count > maximumSize {
                throw RulesError(
                    .unreadableFile, "\(path): the \(purpose) is larger than \(maximumSize >> 20) MiB; split or trim it"
                )
            }
        }
        if ferror(file) != 0 {
            throw RulesError(.unreadableFile, "\(path): cannot read the \(purpose) (\(errorText())); check the file")
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    private static func errorText() -> String { String(cString: strerror(errno)) }
}
