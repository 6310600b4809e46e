import IPAddresses
import Resolver

/// Reads CIDR lists, domain lists (v2ray/sing-box prefixes, dnsmasq-china-list lines) and hosts lines, line by
/// line, each problem reported as "FILE:LINE: what; what to do".
enum RuleFileReader {
    static func read(_ text: String, origin: String, format: RuleFileFormat) throws(RulesError) -> [(
        line: Int, entry: RuleEntry
    )] {
        var entries: [(line: Int, entry: RuleEntry)] = []
        var lineNumber = 0
        for rawLine in lines(text) {
            lineNumber += 1
            let content = stripComment(rawLine)
            if content.isEmpty { continue }
            do {
                try readLine(content, format: format) { entries.append((lineNumber, $0)) }
            } catch {
                throw RulesError.line(origin, lineNumber, error.reason)
            }
        }
        return entries
    }

    /// Lines split at LF, a CR before it left for trimming. Scanned as bytes: "\r\n" is one Character, and
    /// Character iteration would cost more than the rest of reading a big list.
    static func lines(_ text: String) -> [Substring] {
        var text = text
        var ends: [Int] = []
        let count = text.withUTF8 { bytes in
            for (offset, byte) in bytes.enumerated() where byte == UInt8(ascii: "\n") { ends.append(offset) }
            return bytes.count
        }
        ends.append(count)
        let utf8 = text.utf8
        var lines: [Substring] = []
        lines.reserveCapacity(ends.count)
        var start = 0
        for end in ends {
            let lower = utf8.index(utf8.startIndex, offsetBy: start)
            let upper = utf8.index(utf8.startIndex, offsetBy: end)
            lines.append(Substring(utf8[lower..<upper]))
            start = end + 1
        }
        return lines
    }

    /// `#` starts a comment at the start of a line or after a blank, so `nftset=/a/4#inet#t#s` and regexes keep
    /// theirs. Leading and trailing blanks (and a CR) are dropped.
    static func stripComment(_ line: Substring) -> Substring {
        let utf8 = line.utf8
        var end = utf8.endIndex
        var previousIsBlank = true
        var index = utf8.startIndex
        while index != utf8.endIndex {
            let byte = utf8[index]
            if byte == UInt8(ascii: "#") && previousIsBlank {
                end = index
                break
            }
            previousIsBlank = isBlank(byte)
            utf8.formIndex(after: &index)
        }
        return trimmed(Substring(utf8[utf8.startIndex..<end]))
    }

    /// Space, tab, CR, VT, FF (isspace(3) minus LF, which ends the line).
    static func isBlank(_ byte: UInt8) -> Bool {
        byte == 0x20 || (0x09...0x0D).contains(byte)
    }

    static func trimmed(_ text: Substring) -> Substring {
        let utf8 = text.utf8
        var start = utf8.startIndex
        var end = utf8.endIndex
        while start != end && isBlank(utf8[start]) { utf8.formIndex(after: &start) }
        while start != end && isBlank(utf8[utf8.index(before: end)]) { utf8.formIndex(before: &end) }
        return Substring(utf8[start..<end])
    }

    static func tokens(_ line: Substring) -> [Substring] {
        line.utf8.split(whereSeparator: isBlank).map { Substring($0) }
    }

    private static func readLine(
        _ line: Substring, format: RuleFileFormat, emit: (RuleEntry) -> Void
    ) throws(LineProblem) {
        let tokens = tokens(line)
        if format == .auto || format == .cidr, let ranges = cidrs(tokens) {
            ranges.forEach { emit(.cidr($0)) }
            return
        }
        if format == .cidr {
            throw LineProblem(
                "\"\(line)\" is not an IPv4/IPv6 address, prefix (a.b.c.d/n) or range (a-b); fix or remove the line")
        }
        if format == .auto || format == .domains, let dnsmasq = try dnsmasqDomains(line) {
            dnsmasq.forEach { emit(.domain(.suffix($0))) }
            return
        }
        if format == .hosts || (format == .auto && tokens.count >= 2 && address(tokens[0]) != nil) {
            try hostsLine(line, tokens: tokens).forEach { emit(.staticHost(name: $0.name, address: $0.address)) }
            return
        }
        if format == .auto || format == .domains {
            // v2ray's domain-list-community tags entries with attributes ("example.com @cn"); they do not change
            // the match, so they are skipped.
            guard tokens.dropFirst().allSatisfy({ $0.hasPrefix("@") }) else {
                throw LineProblem(
                    "\"\(line)\" is not an IP prefix, a domain entry, a hosts line (IP name…) or a dnsmasq server=/…/ line; write one entry per line"
                )
            }
            do {
                emit(.domain(try DomainPattern(listEntry: tokens[0])))
            } catch {
                throw LineProblem(error.reason.contains(";") ? error.reason : error.reason + "; fix or remove the line")
            }
            return
        }
        throw LineProblem("\"\(line)\" is not a hosts line (IP name…); fix or remove the line")
    }

    /// Every token (commas also separate) is an address, prefix or range; nil when any is not.
    private static func cidrs(_ tokens: [Substring]) -> [IPRange]? {
        // Most lines of a domain list hold a letter past "f": skip inet_pton for them.
        guard tokens.allSatisfy({ $0.utf8.allSatisfy(isAddressByte) }) else { return nil }
        var ranges: [IPRange] = []
        for token in tokens {
            for part in token.split(separator: ",") {
                guard let range = IPRange(String(part)) else { return nil }
                ranges.append(range)
            }
        }
        return ranges.isEmpty ? nil : ranges
    }

    private static func isAddressByte(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "a")...UInt8(ascii: "f"),
            UInt8(ascii: "A")...UInt8(ascii: "F"), UInt8(ascii: "."), UInt8(ascii: ":"), UInt8(ascii: "/"),
            UInt8(ascii: "-"), UInt8(ascii: ","):
            true
        default: false
        }
    }

    private static func address(_ token: Substring) -> IPAddress? {
        // hosts(5) allows a scope on link-local IPv6 ("fe80::1%eth0"), as HostsFile does.
        IPAddress(String(token.prefix { $0 != "%" }))
    }

    /// dnsmasq `server=/a.com/b.com/IP` (dnsmasq-china-list), `ipset=/a.com/SET`, `nftset=/a.com/SPEC`: the
    /// domains between the slashes, each meaning the domain and its subdomains (dnsmasq(8)). nil when the line
    /// is not one of these.
    private static func dnsmasqDomains(_ line: Substring) throws(LineProblem) -> [String]? {
        guard let equals = line.utf8.firstIndex(of: UInt8(ascii: "=")),
            ["server", "ipset", "nftset", "local", "address"].contains(line[..<equals])
        else { return nil }
        let key = line[..<equals]
        let value = line[line.index(after: equals)...]
        guard key != "address" && key != "local" else {
            throw LineProblem("dnsmasq \(key)= lines are not read; use a hosts line (IP name) for a static answer")
        }
        guard value.hasPrefix("/") else {
            throw LineProblem("dnsmasq \(key)= without /domain/ sets no domain rule; remove the line")
        }
        let parts = value.dropFirst().split(separator: "/", omittingEmptySubsequences: false)
        // The last part is the server, set or nothing; the ones before it are domains.
        guard parts.count >= 2 else {
            throw LineProblem("\"\(line)\" is missing the closing \"/\"; write \(key)=/example.com/VALUE")
        }
        var domains: [String] = []
        for part in parts.dropLast() {
            let name = DomainName.normalize(part)
            if let problem = DomainName.problem(name) { throw LineProblem(problem + "; fix or remove the line") }
            domains.append(name)
        }
        return domains
    }

    private static func hostsLine(_ line: Substring, tokens: [Substring]) throws(LineProblem) -> [(
        name: String, address: IPAddress
    )] {
        let hosts = HostsFile(parsing: String(line))
        if let problem = hosts.problems.first { throw LineProblem(problem.message + "; write \"IP name…\"") }
        var result: [(name: String, address: IPAddress)] = []
        for entry in hosts.entries {
            for name in entry.names {
                if let problem = DomainName.problem(name) { throw LineProblem(problem + "; fix the host name") }
                result.append((name, entry.address))
            }
        }
        return result
    }
}

/// A line's problem without file and line (the caller adds them).
struct LineProblem: Error {
    let reason: String
    init(_ reason: String) { self.reason = reason }
}
