/// Prints one line per fuzz test (what ran, how much was accepted): the figures docs/reliability.md quotes.
enum FuzzReport {
    static func record(_ name: String, _ tally: FuzzTally) {
        print("fuzz: \(name): \(tally)")
    }
}
