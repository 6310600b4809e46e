import Foundation
import SeededRandom
import Testing

/// SplitMix64: deterministic, so every CI run replays the same inputs and a failure names its seed.
struct FuzzRandom: RandomNumberGenerator {
    private var generator: SplitMix64

    init(seed: UInt64) { generator = SplitMix64(seed: seed) }

    mutating func next() -> UInt64 { generator.next() }

    mutating func below(_ bound: Int) -> Int { bound <= 1 ? 0 : Int(next() % UInt64(bound)) }

    mutating func byte() -> UInt8 { UInt8(truncatingIfNeeded: next()) }

    mutating func bytes(_ count: Int) -> [UInt8] { (0..<count).map { _ in byte() } }

    mutating func chance(_ numerator: Int, in denominator: Int) -> Bool { below(denominator) < numerator }
}

/// How many inputs each fuzz test runs. CI runs the defaults (the whole fuzz target stays well under a minute in a
/// debug build); `FUZZ_ITERATIONS=N` runs N per test for a long run, `FUZZ_SEED=S` moves every seed by S.
enum FuzzBudget {
    static func iterations(_ ciDefault: Int) -> Int {
        if let text = ProcessInfo.processInfo.environment["FUZZ_ITERATIONS"], let count = Int(text), count > 0 {
            return count
        }
        return ciDefault
    }

    /// A hung parser fails the suite within a minute in CI; long runs get room for their counts.
    static var timeLimit: TimeLimitTrait.Duration {
        ProcessInfo.processInfo.environment["FUZZ_ITERATIONS"] == nil ? .minutes(1) : .minutes(600)
    }

    static func seed(_ base: UInt64) -> UInt64 {
        guard let text = ProcessInfo.processInfo.environment["FUZZ_SEED"], let offset = UInt64(text) else { return base }
        return base &+ offset &* 0x1000_0001
    }
}

/// Byte-level mutations in the style of libFuzzer's default mutators: flip, set, insert, erase, duplicate a
/// range, splice in an "interesting" integer, truncate.
enum Mutator {
    static let interesting: [UInt8] = [0x00, 0x01, 0x03, 0x04, 0x7F, 0x80, 0xFE, 0xFF, 0x3F, 0x40, 0xC0]

    static func mutate(_ bytes: inout [UInt8], _ random: inout FuzzRandom, rounds: Int? = nil) {
        let count = rounds ?? 1 + random.below(4)
        for _ in 0..<count { mutateOnce(&bytes, &random) }
    }

    private static func mutateOnce(_ bytes: inout [UInt8], _ random: inout FuzzRandom) {
        if bytes.isEmpty {
            bytes = random.bytes(1 + random.below(8))
            return
        }
        let at = random.below(bytes.count)
        switch random.below(9) {
        case 0: bytes[at] ^= 1 << UInt8(random.below(8))
        case 1: bytes[at] = random.byte()
        case 2: bytes[at] = interesting[random.below(interesting.count)]
        case 3: bytes.insert(contentsOf: random.bytes(1 + random.below(8)), at: at)
        case 4: bytes.removeSubrange(at..<min(bytes.count, at + 1 + random.below(8)))
        case 5:
            let end = min(bytes.count, at + 1 + random.below(16))
            bytes.insert(contentsOf: Array(bytes[at..<end]), at: random.below(bytes.count))
        case 6:
            // A big-endian 16-bit length at a random spot: lengths are what wire parsers trust most.
            let value = [UInt16(0), 1, 0x3FFF, 0x4000, 0xFFFF, UInt16(truncatingIfNeeded: bytes.count)][random.below(6)]
            bytes[at] = UInt8(value >> 8)
            if at + 1 < bytes.count { bytes[at + 1] = UInt8(value & 0xFF) }
        case 7: bytes.removeLast(random.below(bytes.count) + 1)
        default: bytes.append(contentsOf: random.bytes(1 + random.below(32)))
        }
    }

    /// Text mutations for line/JSON/URI parsers: byte mutations plus splices of tokens those grammars care about.
    static func mutateText(_ text: String, _ random: inout FuzzRandom, tokens: [String]) -> String {
        var bytes = Array(text.utf8)
        for _ in 0..<(1 + random.below(3)) {
            if random.chance(1, in: 2), !tokens.isEmpty {
                let token = Array(tokens[random.below(tokens.count)].utf8)
                bytes.insert(contentsOf: token, at: random.below(bytes.count + 1))
            } else {
                mutateOnce(&bytes, &random)
            }
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}

/// Cuts `bytes` into random pieces, one-byte pieces included, to drip-feed incremental parsers.
func randomSplits(_ bytes: [UInt8], _ random: inout FuzzRandom) -> [[UInt8]] {
    var pieces: [[UInt8]] = []
    var index = 0
    let oneByte = random.chance(1, in: 4)
    while index < bytes.count {
        let length = oneByte ? 1 : 1 + random.below(max(1, bytes.count / 3))
        let end = min(bytes.count, index + length)
        pieces.append(Array(bytes[index..<end]))
        index = end
    }
    return pieces
}

/// Counts of what a fuzz loop saw: both outcomes must be common, or the inputs are not reaching the parser.
struct FuzzTally: CustomStringConvertible {
    var accepted = 0
    var rejected = 0
    var total: Int { accepted + rejected }
    var description: String { "\(total) inputs: \(accepted) accepted, \(rejected) rejected" }
}
