import IPAddresses

/// hosts(5) text: `address name [aliases...]` per line, `#` to the end of a line is a comment. Used for
/// /etc/hosts by the resolver and for hosts-format rule files (static answers) by the rules.
public struct HostsFile: Sendable, Equatable {
    public struct Entry: Sendable, Equatable {
        public let address: IPAddress
        /// Lower-cased, without a trailing dot.
        public let names: [String]
        /// 1-based line in the text, for messages.
        public let line: Int
    }

    /// A line that could not be used; hosts(5) readers skip such lines, so these are warnings, not errors.
    public struct Problem: Sendable, Equatable, CustomStringConvertible {
        public let line: Int
        public let message: String
        public var description: String { "line \(line): \(message)" }
    }

    public let entries: [Entry]
    public let problems: [Problem]

    /// Parses `text`; unusable lines are collected in `problems` (glibc skips them too).
    public init(parsing text: String) {
        var entries: [Entry] = []
        var problems: [Problem] = []
        var lineNumber = 0
        // "\r\n" is one Character in Swift: splitting on "\n" alone would merge a CRLF file into one line.
        for rawLine in text.split(omittingEmptySubsequences: false, whereSeparator: \.isNewline) {
            lineNumber += 1
            let content = rawLine.prefix { $0 != "#" }
            let fields = content.split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == "\r" })
            guard let first = fields.first else { continue }
            // glibc accepts a scope suffix on link-local IPv6 ("fe80::1%eth0"); we cannot route by it, so drop it.
            let addressText = first.split(separator: "%", maxSplits: 1).first.map(String.init) ?? ""
            guard let address = IPAddress(addressText) else {
                problems.append(Problem(line: lineNumber, message: "\"\(first)\" is not an IPv4 or IPv6 address"))
                continue
            }
            let names = fields.dropFirst().map { HostsFile.normalize(String($0)) }.filter { !$0.isEmpty }
            guard !names.isEmpty else {
                problems.append(Problem(line: lineNumber, message: "address \(first) has no host name"))
                continue
            }
            entries.append(Entry(address: address, names: names, line: lineNumber))
        }
        self.entries = entries
        self.problems = problems
    }

    /// Every address for `name` in file order (case-insensitive, a trailing dot ignored).
    public func addresses(for name: String) -> [IPAddress] {
        let wanted = HostsFile.normalize(name)
        return entries.filter { $0.names.contains(wanted) }.map(\.address)
    }

    /// DNS names compare case-insensitively (RFC 4343); "Example.COM." and "example.com" are one name.
    public static func normalize(_ name: String) -> String {
        var lowered = name.lowercased()
        while lowered.hasSuffix(".") { lowered.removeLast() }
        return lowered
    }
}
