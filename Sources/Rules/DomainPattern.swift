/// One domain rule, as v2ray/sing-box domain lists spell them (`domain:`, `full:`, `keyword:`, `regexp:`),
/// plus `endsWith`, the exact meaning of an ss-libev ACL regex like `a\.b$`. Names are normalized (lower-case,
/// no trailing dot) when the pattern is made.
public enum DomainPattern: Sendable, Hashable, CustomStringConvertible {
    /// The name and every name under it: `example.com` matches `example.com` and `a.example.com`.
    case suffix(String)
    /// Only this name.
    case full(String)
    /// Any name containing the text (a scan over the keyword list).
    case keyword(String)
    /// Any name whose text ends with this string, label-aligned or not: `a.b` matches `a.b` and `xa.b`.
    case endsWith(String)
    /// Any name the regular expression matches somewhere (unanchored, case-insensitive; a scan).
    case regexp(DomainRegex)

    public var description: String {
        switch self {
        case .suffix(let name): "domain:\(name)"
        case .full(let name): "full:\(name)"
        case .keyword(let text): "keyword:\(text)"
        case .endsWith(let text): "endsWith:\(text)"
        case .regexp(let regex): "regexp:\(regex.pattern)"
        }
    }

    /// A domain-list entry: `example.com` or `domain:example.com` (suffix), `full:`, `keyword:`, `regexp:`.
    /// A leading dot (`.example.com`) is also read as a suffix. Throws the reason, for a file:line message.
    public init(listEntry text: Substring) throws(DomainPatternError) {
        var text = text
        let result = text.withUTF8 { bytes in
            Result { () throws(DomainPatternError) in try Self(listEntryBytes: bytes) }
        }
        self = try result.get()
    }

    init(listEntryBytes bytes: UnsafeBufferPointer<UInt8>) throws(DomainPatternError) {
        guard let colon = bytes.firstIndex(of: UInt8(ascii: ":")) else {
            if RuleLines.hasPrefix(bytes, "*.") {
                let rest = RuleLines.string(UnsafeBufferPointer(rebasing: bytes[2...]))
                throw DomainPatternError("wildcards are not supported; write \(rest) for it and its subdomains")
            }
            let start = bytes.first == UInt8(ascii: ".") ? 1 : 0
            self = .suffix(try Self.name(UnsafeBufferPointer(rebasing: bytes[start...])))
            return
        }
        let prefix = RuleLines.string(UnsafeBufferPointer(rebasing: bytes[..<colon]))
        let value = UnsafeBufferPointer(rebasing: bytes[(colon + 1)...])
        switch prefix.lowercased() {
        case "domain": self = .suffix(try Self.name(value))
        case "full": self = .full(try Self.name(value))
        case "keyword":
            guard !value.isEmpty else { throw DomainPatternError("keyword: needs a text after the colon") }
            self = .keyword(RuleLines.string(value).lowercased())
        case "regexp": self = .regexp(try DomainRegex(RuleLines.string(value)))
        case "include":
            throw DomainPatternError("include: is not supported; append the included list's lines instead")
        default:
            throw DomainPatternError("unknown prefix \"\(prefix):\"; use domain:, full:, keyword: or regexp:")
        }
    }

    private static func name(_ bytes: UnsafeBufferPointer<UInt8>) throws(DomainPatternError) -> String {
        let name = DomainName.normalize(bytes)
        if let problem = DomainName.problem(name) { throw DomainPatternError(problem) }
        return name
    }
}

/// Why an entry is not a usable domain pattern (no file or line; the reader adds them).
public struct DomainPatternError: Error, Sendable, Equatable, CustomStringConvertible {
    public let reason: String
    init(_ reason: String) { self.reason = reason }
    public var description: String { reason }
}
