import IPAddresses
import Resolver

/// Reads CIDR lists, domain lists (v2ray/sing-box prefixes, dnsmasq-china-list lines) and hosts lines, line by
/// line, each problem reported as "FILE:LINE: what; what to do".
enum RuleFileReader {
    static func read(_ text: String, origin: String, format: RuleFileFormat) throws(RulesError) -> [(
        line: Int, entry: RuleEntry
    )] {
        var entries: [(line: Int, entry: RuleEntry)] = []
        let failure = RuleLines.forEach(in: text, comments: .atWordStart) { (lineNumber, line) throws(LineProblem) in
            try readLine(line, format: format) { entries.append((lineNumber, $0)) }
        }
        if let failure { throw RulesError.line(origin, failure.line, failure.problem.reason) }
        return entries
    }

    private static func readLine(
        _ line: UnsafeBufferPointer<UInt8>, format: RuleFileFormat, emit: (RuleEntry) -> Void
    ) throws(LineProblem) {
        let tokens = RuleLines.tokens(line)
        if format == .auto || format == .cidr, let ranges = cidrs(tokens) {
            ranges.forEach { emit(.cidr($0)) }
            return
        }
        let text = { RuleLines.string(line) }
        if format == .cidr {
            throw LineProblem(
                "\"\(text())\" is not an IPv4/IPv6 address, prefix (a.b.c.d/n) or range (a-b); fix or remove the line")
        }
        if format == .auto || format == .domains, let dnsmasq = try dnsmasqDomains(line) {
            dnsmasq.forEach { emit(.domain(.suffix($0))) }
            return
        }
        if format == .hosts || (format == .auto && tokens.count >= 2 && address(tokens[0]) != nil) {
            try hostsLine(text()).forEach { emit(.staticHost(name: $0.name, address: $0.address)) }
            return
        }
        if format == .auto || format == .domains {
            // v2ray's domain-list-community tags entries with attributes ("example.com @cn"); they do not change
            // the match, so they are skipped.
            guard tokens.dropFirst().allSatisfy({ $0.first == UInt8(ascii: "@") }) else {
                throw LineProblem(
                    "\"\(text())\" is not an IP prefix, a domain entry, a hosts line (IP name…) or a dnsmasq server=/…/ line; write one entry per line"
                )
            }
            do {
                emit(.domain(try DomainPattern(listEntryBytes: tokens[0])))
            } catch {
                throw LineProblem(error.reason.contains(";") ? error.reason : error.reason + "; fix or remove the line")
            }
            return
        }
        throw LineProblem("\"\(text())\" is not a hosts line (IP name…); fix or remove the line")
    }

    /// Every token (commas also separate) is an address, prefix or range; nil when any is not.
    private static func cidrs(_ tokens: [UnsafeBufferPointer<UInt8>]) -> [IPRange]? {
        // Lines of a domain list nearly always hold a letter past "f": no inet_pton for them.
        guard tokens.allSatisfy(RuleLines.isAddressText) else { return nil }
        var ranges: [IPRange] = []
        for token in tokens {
            for part in RuleLines.split(token, where: { $0 == UInt8(ascii: ",") }) {
                guard let range = IPRange(RuleLines.string(part)) else { return nil }
                ranges.append(range)
            }
        }
        return ranges.isEmpty ? nil : ranges
    }

    private static func address(_ token: UnsafeBufferPointer<UInt8>) -> IPAddress? {
        // hosts(5) allows a scope on link-local IPv6 ("fe80::1%eth0"), as HostsFile does.
        let beforeScope = token.firstIndex(of: UInt8(ascii: "%")) ?? token.count
        let text = UnsafeBufferPointer(rebasing: token[0..<beforeScope])
        guard RuleLines.isAddressText(text) else { return nil }
        return IPAddress(RuleLines.string(text))
    }

    /// dnsmasq `server=/a.com/b.com/IP` (dnsmasq-china-list), `ipset=/a.com/SET`, `nftset=/a.com/SPEC`: the
    /// domains between the slashes, each meaning the domain and its subdomains (dnsmasq(8)). nil when the line
    /// is not one of these.
    private static func dnsmasqDomains(_ line: UnsafeBufferPointer<UInt8>) throws(LineProblem) -> [String]? {
        let key: String
        if RuleLines.hasPrefix(line, "server=") {
            key = "server"
        } else if RuleLines.hasPrefix(line, "ipset=") {
            key = "ipset"
        } else if RuleLines.hasPrefix(line, "nftset=") {
            key = "nftset"
        } else if RuleLines.hasPrefix(line, "address=") || RuleLines.hasPrefix(line, "local=") {
            let name = RuleLines.hasPrefix(line, "local=") ? "local" : "address"
            throw LineProblem("dnsmasq \(name)= lines are not read; use a hosts line (IP name) for a static answer")
        } else {
            return nil
        }
        let value = UnsafeBufferPointer(rebasing: line[(key.utf8.count + 1)...])
        guard value.first == UInt8(ascii: "/") else {
            throw LineProblem("dnsmasq \(key)= without /domain/ sets no domain rule; remove the line")
        }
        let parts = RuleLines.split(
            UnsafeBufferPointer(rebasing: value[1...]), omittingEmpty: false, where: { $0 == UInt8(ascii: "/") })
        // The last part is the server, set or nothing; the ones before it are domains.
        guard parts.count >= 2 else {
            throw LineProblem(
                "\"\(RuleLines.string(line))\" is missing the closing \"/\"; write \(key)=/example.com/VALUE")
        }
        var domains: [String] = []
        for part in parts.dropLast() {
            let name = DomainName.normalize(part)
            if let problem = DomainName.problem(name) { throw LineProblem(problem + "; fix or remove the line") }
            domains.append(name)
        }
        return domains
    }

    private static func hostsLine(_ line: String) throws(LineProblem) -> [(name: String, address: IPAddress)] {
        let hosts = HostsFile(parsing: line)
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
