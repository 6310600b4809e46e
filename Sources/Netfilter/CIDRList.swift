/// Bypass and proxy lists: one IPv4 or IPv6 prefix (or `lower-upper` range) per line; `#` starts a comment;
/// blank lines are skipped. Several entries on one line may be separated by spaces or commas.
public enum CIDRList {
    /// `origin` names the file in errors ("hosts-rules/reserved.cidr").
    public static func parse(_ text: String, origin: String) throws(NetfilterError) -> [IPRange] {
        var ranges: [IPRange] = []
        var lineNumber = 0
        for line in text.split(separator: "\n", omittingEmptySubsequences: false) {
            lineNumber += 1
            let content = line.prefix { $0 != "#" }
            for token in content.split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == "," || $0 == "\r" }) {
                guard let range = IPRange(String(token)) else {
                    throw NetfilterError(
                        .invalidInput,
                        "\(origin):\(lineNumber): \"\(token)\" is not an IPv4/IPv6 address, prefix (a.b.c.d/n) or range (a-b)"
                    )
                }
                ranges.append(range)
            }
        }
        return ranges
    }

    public static func load(path: String) throws(NetfilterError) -> [IPRange] {
        guard let text = TextFile.read(path) else {
            throw NetfilterError(.invalidInput, "\(path): cannot read the address list (\(TextFile.lastError))")
        }
        return try parse(text, origin: path)
    }
}
