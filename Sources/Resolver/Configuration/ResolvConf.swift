import IPAddresses

/// resolv.conf(5) as glibc reads it: `nameserver`, `search`/`domain` (the last one wins), `options`, comments
/// with `#` or `;` in the first column, unknown keywords and options ignored; `LOCALDOMAIN` replaces the search
/// list and `RES_OPTIONS` amends the options. Differences from glibc are listed in docs/dns.md.
public struct ResolvConf: Sendable, Equatable {
    /// MAXNS in <resolv.h>: glibc uses the first three nameservers.
    public static let maximumNameservers = 3
    /// glibc's fallback when no nameserver line is usable: the local machine.
    public static let defaultNameserver = IPAddress(family: .ipv4, value: 0x7F00_0001)

    public struct Options: Sendable, Equatable {
        /// Caps glibc applies silently: RES_MAXNDOTS, RES_MAXRETRANS, RES_MAXRETRY.
        public static let maximumNdots = 15
        public static let maximumTimeout = 30
        public static let maximumAttempts = 5

        /// Names with at least this many dots are tried as given before the search list.
        public var ndots = 1
        /// Seconds to wait for one server on one try (RES_TIMEOUT 5); at least 1 is used.
        public var timeout = 5
        /// Rounds over all servers (RES_DFLRETRY 2); at least 1 is used.
        public var attempts = 2
        public var rotate = false
        public var edns0 = false
        /// A and AAAA one after the other instead of together.
        public var singleRequest = false
        public var singleRequestReopen = false
        public var noTLDQuery = false
        public var useVC = false
        public var noAAAA = false
        public var trustAD = false
        public var noReload = false

        public init() {}

        /// Applies an `options` line or `RES_OPTIONS`: blank-separated words, prefix-matched like glibc's
        /// res_setoptions (so "single-request-reopen" is checked before "single-request"); numbers read like atoi.
        public mutating func apply(_ text: Substring) {
            for word in text.split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == "\r" || $0 == "\n" }) {
                if let value = Options.number(after: "ndots:", in: word) {
                    ndots = min(value, Options.maximumNdots)
                } else if let value = Options.number(after: "timeout:", in: word) {
                    timeout = min(value, Options.maximumTimeout)
                } else if let value = Options.number(after: "attempts:", in: word) {
                    attempts = min(value, Options.maximumAttempts)
                } else if word.hasPrefix("rotate") {
                    rotate = true
                } else if word.hasPrefix("edns0") {
                    edns0 = true
                } else if word.hasPrefix("single-request-reopen") {
                    singleRequestReopen = true
                } else if word.hasPrefix("single-request") {
                    singleRequest = true
                } else if word.hasPrefix("no_tld_query") || word.hasPrefix("no-tld-query") {
                    noTLDQuery = true
                } else if word.hasPrefix("use-vc") {
                    useVC = true
                } else if word.hasPrefix("no-aaaa") {
                    noAAAA = true
                } else if word.hasPrefix("trust-ad") {
                    trustAD = true
                } else if word.hasPrefix("no-reload") {
                    noReload = true
                }
            }
        }

        /// atoi(3) of what follows `prefix`: optional sign, leading digits, 0 when there are none; negatives
        /// become 0 (glibc would store them in unsigned bit-fields).
        private static func number(after prefix: String, in word: Substring) -> Int? {
            guard word.hasPrefix(prefix) else { return nil }
            var rest = word.dropFirst(prefix.count)
            var negative = false
            if let sign = rest.first, sign == "-" || sign == "+" {
                negative = sign == "-"
                rest = rest.dropFirst()
            }
            var value = 0
            for character in rest {
                guard let digit = character.wholeNumberValue, character.isASCII else { break }
                value = min(value * 10 + digit, 1_000_000)
            }
            return negative ? 0 : value
        }
    }

    /// A line that was not used, for `check`-style reports; glibc skips these silently.
    public struct Problem: Sendable, Equatable, CustomStringConvertible {
        public let line: Int
        public let message: String
        public var description: String { "line \(line): \(message)" }
    }

    /// At most three, in file order; `defaultNameserver` when the file names none.
    public var nameservers: [IPAddress]
    /// Domains appended to short names, in order; text as written (a final dot is allowed).
    public var searchDomains: [String]
    public var options: Options
    public var problems: [Problem]

    public init(
        nameservers: [IPAddress] = [ResolvConf.defaultNameserver], searchDomains: [String] = [],
        options: Options = Options()
    ) {
        self.nameservers = nameservers
        self.searchDomains = searchDomains
        self.options = options
        self.problems = []
    }

    /// Parses resolv.conf text (pass "" for a missing file, as glibc treats both alike). `environment` supplies
    /// `LOCALDOMAIN` and `RES_OPTIONS`; `hostname` (gethostname(2)) gives the default search domain.
    public init(parsing text: String, environment: [String: String] = [:], hostname: String? = nil) {
        var nameservers: [IPAddress] = []
        var searchDomains: [String] = []
        var options = Options()
        var problems: [Problem] = []
        let localDomain = environment["LOCALDOMAIN"]
        if let localDomain {
            searchDomains = ResolvConf.words(localDomain[...])
        }
        var lineNumber = 0
        // "\r\n" is one Character in Swift, so split on any newline, not on "\n".
        for line in text.split(omittingEmptySubsequences: false, whereSeparator: \.isNewline) {
            lineNumber += 1
            guard let first = line.first, first != "#", first != ";" else { continue }
            if let rest = ResolvConf.value(of: "nameserver", in: line) {
                guard let token = ResolvConf.words(rest).first else { continue }
                guard let address = ResolvConf.nameserverAddress(token) else {
                    problems.append(Problem(line: lineNumber, message: "\"\(token)\" is not an IP address"))
                    continue
                }
                guard nameservers.count < ResolvConf.maximumNameservers else {
                    problems.append(
                        Problem(
                            line: lineNumber,
                            message: "nameserver \(token) ignored: only the first 3 are used (MAXNS)"))
                    continue
                }
                nameservers.append(address)
            } else if let rest = ResolvConf.value(of: "search", in: line) {
                let domains = ResolvConf.words(rest)
                guard localDomain == nil, !domains.isEmpty else { continue }
                searchDomains = domains
            } else if let rest = ResolvConf.value(of: "domain", in: line) {
                guard localDomain == nil, let domain = ResolvConf.words(rest).first else { continue }
                searchDomains = [domain]
            } else if let rest = ResolvConf.value(of: "options", in: line) {
                options.apply(rest)
            }
        }
        if nameservers.isEmpty { nameservers = [ResolvConf.defaultNameserver] }
        if searchDomains.isEmpty, localDomain == nil, let hostname, let dot = hostname.firstIndex(of: ".") {
            let domain = String(hostname[hostname.index(after: dot)...])
            if !domain.isEmpty { searchDomains = [domain] }
        }
        if let resOptions = environment["RES_OPTIONS"] { options.apply(resOptions[...]) }
        self.nameservers = nameservers
        self.searchDomains = searchDomains
        self.options = options
        self.problems = problems
    }

    /// The text after `keyword` when the line starts with it followed by a blank (glibc's MATCH macro).
    private static func value(of keyword: String, in line: Substring) -> Substring? {
        guard line.hasPrefix(keyword) else { return nil }
        let rest = line.dropFirst(keyword.count)
        guard let separator = rest.first, separator == " " || separator == "\t" else { return nil }
        return rest
    }

    private static func words(_ text: Substring) -> [String] {
        text.split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == "\r" }).map(String.init)
    }

    /// IPv4 dotted quad, or IPv6 with an optional `%scope` that is dropped (we cannot route by it).
    private static func nameserverAddress(_ token: String) -> IPAddress? {
        guard token.contains(":") else { return IPAddress(token) }
        return IPAddress(String(token.prefix { $0 != "%" }))
    }
}
