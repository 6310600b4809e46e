import IPAddresses

/// A shadowsocks-libev ACL file (`--acl FILE`), read as src/acl.c's init_acl reads it:
/// - `#` anywhere starts a comment; blank lines are skipped; lines are trimmed.
/// - `[proxy_all]`/`[accept_all]` and `[bypass_all]`/`[reject_all]` set the mode (the default action for
///   addresses on no list); the last one in the file wins; the default is proxy_all. They do not change which
///   list the following lines go to.
/// - `[bypass_list]`/`[black_list]`, `[proxy_list]`/`[white_list]`, `[outbound_block_list]` choose the list
///   for the following lines; lines before any list header go to the bypass list.
/// - A line that is an IPv4/IPv6 address or prefix goes to the list's address set; anything else is a host
///   regular expression (PCRE there, Swift Regex here), searched unanchored in the host name.
/// Differences, all on input ss-libev mishandles: an unknown `[section]`, a bad prefix length or a regex that
/// does not compile is an error here (ss-libev reads the first as a regex, masks the second, skips the third);
/// lines over 255 bytes are read (ss-libev drops them); `a-b` ranges are accepted; host matching is
/// case-insensitive (DNS names are, RFC 4343; PCRE there is case-sensitive).
struct ACLFile: Sendable {
    var mode: RuleAction = .proxy
    /// The line of the last mode header, if any.
    var modeLine: Int?
    var entries: [(list: RuleList, line: Int, entry: RuleEntry)] = []

    init(parsing text: String, origin: String) throws(RulesError) {
        var list = RuleList.bypass
        var mode = RuleAction.proxy
        var modeLine: Int?
        var entries: [(list: RuleList, line: Int, entry: RuleEntry)] = []
        let failure = RuleLines.forEach(in: text, comments: .anywhere) { (lineNumber, bytes) throws(LineProblem) in
            let line = RuleLines.string(bytes)
            switch line {
            case "[outbound_block_list]": list = .outboundBlock
            case "[black_list]", "[bypass_list]": list = .bypass
            case "[white_list]", "[proxy_list]": list = .proxy
            case "[reject_all]", "[bypass_all]":
                mode = .bypass
                modeLine = lineNumber
            case "[accept_all]", "[proxy_all]":
                mode = .proxy
                modeLine = lineNumber
            default:
                if line.hasPrefix("[") && line.hasSuffix("]") && !line.dropFirst().contains("[") {
                    throw LineProblem(
                        "unknown section \"\(line)\"; use [proxy_all], [bypass_all], [bypass_list], [proxy_list] or [outbound_block_list]"
                    )
                }
                entries.append((list, lineNumber, try Self.entry(line, isAddressText: RuleLines.isAddressText(bytes))))
            }
        }
        if let failure { throw RulesError.line(origin, failure.line, failure.problem.reason) }
        self.mode = mode
        self.modeLine = modeLine
        self.entries = entries
    }

    private static func entry(_ text: String, isAddressText: Bool) throws(LineProblem) -> RuleEntry {
        if isAddressText, let range = IPRange(text) { return .cidr(range) }
        // acl.c splits at the last '/' and asks whether the left part is an address.
        if let slash = text.lastIndex(of: "/"), IPAddress(String(text[..<slash])) != nil {
            throw LineProblem(
                "\"\(text)\" has a bad prefix length; write ADDRESS/N with N at most 32 (IPv4) or 128 (IPv6)")
        }
        do {
            return .domain(try ACLHostPattern.pattern(for: text))
        } catch {
            throw LineProblem(error.reason + "; fix the pattern or remove the line")
        }
    }
}
