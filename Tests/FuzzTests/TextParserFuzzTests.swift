import Foundation
import Testing

/// Config JSON (ss-redir and ss-server), SIP002 URIs, SIP008 documents, rule files, ACLs, resolv.conf, hosts and
/// DNS messages: seeded mutations of the corpus seeds, plus splices of their lines, through each parser. The
/// property is no trap and no hang (each input well under a second); both outcomes must be common.
@Suite("Fuzz: config, URI, rule and resolver parsers", .timeLimit(FuzzBudget.timeLimit))
struct TextParserFuzzTests {
    static let tokens = [
        "{", "}", "[", "]", ":", ",", "\"", "\\u", "\\ud800", "//", "/*", "*/", "null", "true", "1e999", "-0",
        "ss://", "@", "#", "%", "%zz", "?plugin=", ";", "=", "[::", "]:", ":65536", "\n", "\r\n", "\t", " ",
        "0.0.0.0/0", "::/0", "/33", "/129", "-", "||", "@@", "^", "/(", ")/", "(^|\\.)", "$", "server=/", "/",
        "[proxy_all]", "[bypass_list]", "[outbound_block_list]", "nameserver ", "options ndots:", "search ",
        "\u{FEFF}", "\u{0}", "\u{FFFD}", "é", String(repeating: "a", count: 300),
    ]

    static let parsers = ["config-json", "server-config", "sip002", "sip008", "rules", "acl", "resolv-conf", "hosts"]

    /// The slowest single parse a fuzz input may take: far above any real parse, far below a hang.
    static let perInputBound: Duration = .seconds(2)

    @Test("Mutated and spliced corpus seeds", arguments: parsers)
    func mutatedSeeds(parser: String) throws {
        let target = try #require(TextParserTargets.all[parser])
        let seeds = Corpus.texts(parser)
        try #require(!seeds.isEmpty, "no seeds in Corpus/\(parser)")
        var random = FuzzRandom(seed: FuzzBudget.seed(UInt64(parser.utf8.reduce(0) { $0 &* 31 &+ Int($1) })))
        var tally = FuzzTally()
        var slowest: Duration = .zero
        let clock = ContinuousClock()
        for round in 0..<FuzzBudget.iterations(2_000) {
            var text = seeds[random.below(seeds.count)]
            if round % 4 == 3 {
                // Splice: lines of two seeds interleaved, the grammar's pieces in unexpected places.
                let other = seeds[random.below(seeds.count)].split(separator: "\n", omittingEmptySubsequences: false)
                var lines = text.split(separator: "\n", omittingEmptySubsequences: false)
                lines.insert(other[random.below(other.count)], at: random.below(lines.count + 1))
                text = lines.joined(separator: "\n")
            }
            text = Mutator.mutateText(text, &random, tokens: Self.tokens)
            let bytes = Array(text.utf8)
            var accepted = false
            let elapsed = clock.measure { accepted = target(bytes) }
            slowest = max(slowest, elapsed)
            if accepted { tally.accepted += 1 } else { tally.rejected += 1 }
        }
        #expect(slowest < Self.perInputBound, "slowest input took \(slowest)")
        #expect(tally.rejected > 0, "\(tally)")
        FuzzReport.record("\(parser) parser", tally)
    }

    @Test("Random bytes and random token soup")
    func randomInput() throws {
        var random = FuzzRandom(seed: FuzzBudget.seed(0x7E47_0001))
        var tally = FuzzTally()
        for round in 0..<FuzzBudget.iterations(1_000) {
            let bytes: [UInt8] =
                round % 2 == 0
                ? random.bytes(random.below(400))
                : Array((0..<random.below(30)).map { _ in Self.tokens[random.below(Self.tokens.count)] }.joined().utf8)
            for parser in Self.parsers + ["dns"] {
                if TextParserTargets.all[parser]!(bytes) { tally.accepted += 1 } else { tally.rejected += 1 }
            }
        }
        FuzzReport.record("all text parsers, random bytes and token soup", tally)
    }

    @Test("DNS messages: mutated corpus seeds")
    func dnsSeeds() {
        let seeds = Corpus.inputs("dns").map(\.bytes)
        var random = FuzzRandom(seed: FuzzBudget.seed(0xD45_0001))
        var tally = FuzzTally()
        for _ in 0..<FuzzBudget.iterations(3_000) {
            var bytes = seeds[random.below(seeds.count)]
            Mutator.mutate(&bytes, &random)
            if TextParserTargets.dns(bytes) { tally.accepted += 1 } else { tally.rejected += 1 }
        }
        #expect(tally.accepted > 0 && tally.rejected > 0, "\(tally)")
        FuzzReport.record("DNS message codec (corpus mutations; ResolverTests keeps its own 20,000)", tally)
    }
}
