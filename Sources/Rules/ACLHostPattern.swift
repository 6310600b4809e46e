/// ss-libev ACL host lines are PCRE patterns searched (unanchored) in the host name. The shapes that are plain
/// literals become trie entries with the same meaning, so a gfwlist-sized ACL costs a trie walk, not thousands of
/// regex runs; anything else stays a regular expression.
enum ACLHostPattern {
    /// `(^|\.)a\.b$` → suffix a.b; `^a\.b$` → full a.b; `a\.b$` → endsWith a.b (any name whose text ends so);
    /// `a\.b` → keyword a.b (any name containing it); otherwise the regex itself.
    static func pattern(for regex: String) throws(DomainPatternError) -> DomainPattern {
        var body = Substring(regex)
        enum Start { case none, caret, labelBoundary }
        var start = Start.none
        // Spellings of "at the start or after a dot" seen in ss-libev, gfwlist2acl and hand-written ACLs.
        for prefix in ["(^|\\.)", "(?:^|\\.)", "^(.*\\.)?", "^(?:.*\\.)?", "(^|.*\\.)", "(?:^|.*\\.)"]
        where body.hasPrefix(prefix) {
            body = body.dropFirst(prefix.count)
            start = .labelBoundary
            break
        }
        if start == .none && body.hasPrefix("^") {
            body = body.dropFirst()
            start = .caret
        }
        var anchoredAtEnd = false
        if body.hasSuffix("$") && !body.hasSuffix("\\$") {
            body = body.dropLast()
            anchoredAtEnd = true
        }
        guard let literal = literalText(body), !literal.isEmpty else { return .regexp(try DomainRegex(regex)) }
        switch (start, anchoredAtEnd) {
        case (.labelBoundary, true) where DomainName.problem(literal) == nil: return .suffix(literal)
        case (.caret, true) where DomainName.problem(literal) == nil: return .full(literal)
        case (.none, true): return .endsWith(literal)
        case (.none, false): return .keyword(literal)
        default: return .regexp(try DomainRegex(regex))
        }
    }

    /// The text a regex body matches when it is only name characters and escaped dots/hyphens; nil otherwise.
    private static func literalText(_ body: Substring) -> String? {
        var text: [UInt8] = []
        var escaped = false
        for byte in body.utf8 {
            if escaped {
                guard byte == UInt8(ascii: ".") || byte == UInt8(ascii: "-") else { return nil }
                text.append(byte)
                escaped = false
            } else if byte == UInt8(ascii: "\\") {
                escaped = true
            } else if DomainName.isNameByte(byte) {
                text.append(DomainName.lowercased(byte))
            } else {
                return nil
            }
        }
        return escaped ? nil : String(decoding: text, as: UTF8.self)
    }
}
