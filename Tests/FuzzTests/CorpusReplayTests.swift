import Testing

/// Every file under Corpus/ — the seeds and each input that once crashed a parser — replayed through its parser
/// on every run. A new crash found by a long fuzz run is saved here (see docs/reliability.md).
@Suite("Fuzz corpus replay")
struct CorpusReplayTests {
    @Test("Each corpus directory names a parser", arguments: Corpus.parsers)
    func directoryHasATarget(parser: String) {
        #expect(Self.target(parser) != nil, "Corpus/\(parser) has no parser in TextParserTargets or BinaryParserTargets")
    }

    @Test("Every corpus input parses to a value or a typed error", arguments: Corpus.parsers)
    func replay(parser: String) throws {
        let target = try #require(Self.target(parser))
        let inputs = Corpus.inputs(parser)
        #expect(!inputs.isEmpty)
        for input in inputs { _ = target(input.bytes) }
    }

    @Test("Each parser accepts at least one of its seeds (the seeds reach past the first check)")
    func seedsReachTheParser() {
        for parser in Corpus.parsers {
            guard let target = Self.target(parser) else { continue }
            #expect(Corpus.inputs(parser).contains { target($0.bytes) }, "no seed in Corpus/\(parser) is accepted")
        }
    }

    static func target(_ parser: String) -> (@Sendable ([UInt8]) -> Bool)? {
        TextParserTargets.all[parser] ?? BinaryParserTargets.all[parser]
    }
}
