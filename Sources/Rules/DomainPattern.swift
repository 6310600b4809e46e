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
        if let colon = text.utf8.firstIndex(of: UInt8(ascii: ":")) {
            let value = text[text.index(after: colon)...]
            switch text[..<colon].lowercased() {
            case "domain": self = .suffix(try Self.name(value))
            case "full": self = .full(try Self.name(value))
            case "keyword":
                guard !value.isEmpty else { throw DomainPatternError("keyword: needs a text after the colon") }
                self = .keyword(value.lowercased())
            case "regexp": self = .regexp(try DomainRegex(String(value)))
            case "include":
                throw DomainPatternError("include: is not supported; append the included list's lines instead")
            default:
                throw DomainPatternError(
                    "unknown prefix \"\(text[..<colon]):\"; use domain:, full:, keyword: or regexp:")
            }
        } else if text.hasPrefix("*.") {
            throw DomainPatternError("wildcards are not supported; write \(text.dropFirst(2)) for it and its subdomains")
        } else {
            self = .suffix(try Self.name(text.hasPrefix(".") ? text.dropFirst() : text))
        }
    }

    private static func name(_ text: Substring) throws(DomainPatternError) -> String {
        let name = DomainName.normalize(text)
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
