/// A compiled, case-insensitive domain regular expression (Swift Regex, no Foundation), compared by source.
/// A class so `DomainPattern` and the rule entries holding it keep a fixed layout (Regex's is resilient, which
/// made every copy of an entry a runtime call while loading big lists).
public final class DomainRegex: @unchecked Sendable, Hashable {
    // @unchecked: immutable; Regex's only lazy state (the lowered program) is published with an atomic
    // compare-and-swap in _StringProcessing, and `init` forces it before the value is shared.
    let regex: Regex<AnyRegexOutput>
    public let pattern: String

    public init(_ pattern: String) throws(DomainPatternError) {
        guard !pattern.isEmpty else { throw DomainPatternError("the regular expression is empty") }
        do {
            regex = try Regex(pattern).ignoresCase()
        } catch {
            throw DomainPatternError("\"\(pattern)\" is not a valid regular expression (\(error))")
        }
        self.pattern = pattern
        _ = "".contains(regex)
    }

    /// Unanchored search, as PCRE's pcre_exec (ss-libev) and Go's MatchString (v2ray) do.
    public func matches(_ name: String) -> Bool { name.contains(regex) }

    public static func == (lhs: DomainRegex, rhs: DomainRegex) -> Bool { lhs.pattern == rhs.pattern }
    public func hash(into hasher: inout Hasher) { hasher.combine(pattern) }
}
