import IPAddresses
import Rules
import SeededRandom

#if canImport(Glibc)
    import Glibc
#endif

// Load and lookup costs of the rule tries on deterministic synthetic lists (issue 5): 100,000 domain entries and
// 10,000 CIDR entries (IPv4 and IPv6) as rule-file text, then 1M mixed hit/miss lookups of each kind.
// Run: swift run -c release rules-benchmark
// With `--acl FILE` and/or `--rules [proxy:|bypass:]FILE` arguments it times loading those files instead.

/// Synthetic rule lists and queries.
struct Workload {
    static let domainCount = 100_000
    static let cidrCount = 10_000
    static let lookupCount = 1_000_000
    static let keywordCount = 20

    private var random = SplitMix64(seed: 2024)  // every run measures the same lists and queries
    private let tlds = ["com", "net", "org", "cn", "io", "de", "jp", "uk", "info", "xyz"]
    private let alphabet = Array("abcdefghijklmnopqrstuvwxyz0123456789".utf8)

    var domains: [String] = []
    var domainText = ""
    var cidrs: [IPRange] = []
    var cidrText = ""

    mutating func label(_ length: ClosedRange<Int>) -> String {
        let count = Int.random(in: length, using: &random)
        return String(decoding: (0..<count).map { _ in alphabet.randomElement(using: &random)! }, as: UTF8.self)
    }

    /// 90% plain (suffix) entries, 10% full: names, and `keywordCount` keywords (scanned on every miss).
    mutating func makeDomains() {
        for index in 0..<Self.domainCount {
            let middle = index % 4 == 0 ? label(2...6) + "." : ""
            let name = label(4...12) + "." + middle + tlds[index % tlds.count]
            domains.append(name)
            if index < Self.keywordCount {
                domainText += "keyword:\(label(8...10))\n"
            } else if index % 10 == 0 {
                domainText += "full:www.\(name)\n"
            } else {
                domainText += "\(name)\n"
            }
        }
    }

    /// 70% IPv4 prefixes /8–/24, 30% IPv6 /16–/64; every 50th entry an `a-b` range.
    mutating func makeCIDRs() {
        for index in 0..<Self.cidrCount {
            let family: IPFamily = index % 10 < 7 ? .ipv4 : .ipv6
            let address = IPAddress(family: family, value: UInt128.random(in: 0...family.maxValue, using: &random))
            let range: IPRange
            if index % 50 == 0 {
                let upper = min(address.value + UInt128.random(in: 1...100_000, using: &random), family.maxValue)
                range = IPRange(family: family, lower: address.value, upper: upper)
            } else {
                let length =
                    family == .ipv4 ? Int.random(in: 8...24, using: &random) : Int.random(in: 16...64, using: &random)
                range = IPRange(prefix: address, length: length)
            }
            cidrs.append(range)
            cidrText += "\(range)\n"
        }
    }

    /// Half the queries come from the lists (hits), half are random (almost all misses).
    mutating func makeQueries() -> (addresses: [IPAddress], names: [String]) {
        var addresses: [IPAddress] = []
        var names: [String] = []
        for index in 0..<Self.lookupCount {
            if index % 2 == 0 {
                let range = cidrs[Int.random(in: 0..<cidrs.count, using: &random)]
                let value = UInt128.random(in: range.lower...range.upper, using: &random)
                addresses.append(IPAddress(family: range.family, value: value))
                let listed = domains[Int.random(in: Self.keywordCount..<domains.count, using: &random)]
                names.append(index % 4 == 0 ? listed : label(3...8) + "." + listed)
            } else {
                let family: IPFamily = index % 3 == 0 ? .ipv6 : .ipv4
                addresses.append(
                    IPAddress(family: family, value: UInt128.random(in: 0...family.maxValue, using: &random)))
                names.append(label(3...8) + "." + label(4...12) + "." + tlds.randomElement(using: &random)!)
            }
        }
        return (addresses, names)
    }
}

func now() -> Double {
    var time = timespec()
    clock_gettime(CLOCK_MONOTONIC, &time)
    return Double(time.tv_sec) * 1e9 + Double(time.tv_nsec)
}

/// Milliseconds spent in `body`: the best of `runs` (the machine is shared; the minimum is the least disturbed).
func measure(runs: Int = 3, _ body: () throws -> Void) rethrows -> Double {
    var best = Double.infinity
    for _ in 0..<runs {
        let start = now()
        try body()
        best = min(best, (now() - start) / 1e6)
    }
    return best
}

/// Resident set size from /proc/self/statm (second field, in pages).
func residentKiB() -> Int {
    guard let file = fopen("/proc/self/statm", "r") else { return 0 }
    defer { fclose(file) }
    var buffer = [CChar](repeating: 0, count: 128)
    guard fgets(&buffer, Int32(buffer.count), file) != nil else { return 0 }
    let text = String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    let fields = text.split(separator: " ")
    guard fields.count >= 2, let pages = Int(fields[1]) else { return 0 }
    return pages * sysconf(Int32(_SC_PAGESIZE)) / 1024
}

func fixed(_ value: Double) -> String {
    let tenths = Int((value * 10).rounded())
    return "\(tenths / 10).\(tenths % 10)"
}

func row(_ label: String, _ value: String, _ note: String = "") {
    func padded(_ text: String, _ width: Int) -> String {
        text + String(repeating: " ", count: max(1, width - text.count))
    }
    print(padded(label, 42) + padded(value, 14) + note)
}

func run() throws {
    var workload = Workload()
    workload.makeDomains()
    workload.makeCIDRs()
    let domainText = workload.domainText
    let cidrText = workload.cidrText
    print(
        "rules-benchmark: \(Workload.domainCount) domain entries (\(domainText.utf8.count >> 10) KiB), "
            + "\(Workload.cidrCount) CIDR entries (\(cidrText.utf8.count >> 10) KiB), \(Workload.lookupCount) queries each"
    )

    func load() throws -> BypassRules {
        var builder = RuleSetBuilder()
        builder.addBuiltinLists()
        try builder.addRules(domainText, origin: "domains.txt", list: .bypass)
        try builder.addRules(cidrText, origin: "cidr.txt", list: .proxy)
        return builder.build()
    }
    // Memory first, before other builds leave freed pages in the process.
    let residentBefore = residentKiB()
    let rules = try load()
    let residentGrowth = residentKiB() - residentBefore

    let domainMs = try measure {
        var builder = RuleSetBuilder()
        try builder.addRules(domainText, origin: "domains.txt", list: .bypass)
        _ = builder.build()
    }
    let cidrMs = try measure {
        var builder = RuleSetBuilder()
        try builder.addRules(cidrText, origin: "cidr.txt", list: .bypass)
        _ = builder.build()
    }
    let bothMs = try measure { _ = try load() }

    let (addresses, names) = workload.makeQueries()
    var listed = 0
    let addressNs =
        measure {
            listed = 0
            for address in addresses where !rules.decide(address: address).source.isDefaultAction { listed += 1 }
        } * 1e6 / Double(addresses.count)
    var matched = 0
    let domainNs =
        measure {
            matched = 0
            for name in names where rules.decide(domain: name) != nil { matched += 1 }
        } * 1e6 / Double(names.count)

    print("")
    row("step (best of 3 runs)", "result", "note")
    row(
        "parse+build \(Workload.domainCount) domain entries", fixed(domainMs) + " ms",
        "\(rules.domainCount - 10) patterns kept")
    row("parse+build \(Workload.cidrCount) CIDR entries", fixed(cidrMs) + " ms")
    row(
        "parse+build both + built-in lists", fixed(bothMs) + " ms",
        "RSS +\(residentGrowth >> 10) MiB after the first load")
    row(
        "decide(address:), \(Workload.lookupCount / 1000)k mixed", fixed(addressNs) + " ns/op",
        "\(listed * 100 / addresses.count)% on a list")
    row(
        "decide(domain:), \(Workload.lookupCount / 1000)k mixed", fixed(domainNs) + " ns/op",
        "\(matched * 100 / names.count)% matched; \(Workload.keywordCount) keywords scanned per miss")
}

/// `--acl FILE`, `--rules SPEC` (repeatable): time `BypassRules.load` on real files.
func loadFiles(_ arguments: [String]) throws {
    var acl: String?
    var specs: [RuleFileSpec] = []
    var index = 0
    while index + 1 < arguments.count {
        switch arguments[index] {
        case "--acl": acl = arguments[index + 1]
        case "--rules": specs.append(RuleFileSpec(argument: arguments[index + 1]))
        default:
            print("usage: rules-benchmark [--acl FILE] [--rules [proxy:|bypass:]FILE]...")
            exit(2)
        }
        index += 2
    }
    var rules = BypassRules()
    let ms = try measure { rules = try BypassRules.load(acl: acl, ruleFiles: specs, includeReserved: true) }
    print(
        "load (best of 3): \(fixed(ms)) ms; \(rules.cidrCount) address entries, \(rules.domainCount) domain entries, "
            + "\(rules.outboundBlockCount) outbound block entries, \(rules.staticHosts.count) static host names, "
            + "mode \(rules.mode)")
}

do {
    let arguments = Array(CommandLine.arguments.dropFirst())
    if arguments.isEmpty { try run() } else { try loadFiles(arguments) }
} catch {
    print("rules-benchmark: \(error)")
    exit(1)
}
