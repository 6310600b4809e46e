import Testing

/// The address codec and the SOCKS5 readers from mutated corpus seeds (SOCKS5Tests keeps its own random and
/// state-machine runs; this adds the seeds and the re-encoding property).
@Suite("Fuzz: address codec and SOCKS5 readers", .timeLimit(FuzzBudget.timeLimit))
struct BinaryParserFuzzTests {
    @Test("Mutated corpus seeds", arguments: ["address", "socks5-request", "socks5-udp"])
    func mutatedSeeds(parser: String) throws {
        let target = try #require(BinaryParserTargets.all[parser])
        let seeds = Corpus.inputs(parser).map(\.bytes)
        try #require(!seeds.isEmpty)
        var random = FuzzRandom(seed: FuzzBudget.seed(0xB1_0000 &+ UInt64(parser.utf8.count)))
        var tally = FuzzTally()
        for _ in 0..<FuzzBudget.iterations(5_000) {
            var bytes = seeds[random.below(seeds.count)]
            Mutator.mutate(&bytes, &random)
            if target(bytes) { tally.accepted += 1 } else { tally.rejected += 1 }
        }
        #expect(tally.accepted > tally.total / 20 && tally.rejected > tally.total / 20, "\(tally)")
        FuzzReport.record("\(parser) reader", tally)
    }
}
