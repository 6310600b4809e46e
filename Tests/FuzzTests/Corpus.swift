import Foundation

/// The seed inputs under Corpus/<parser>/ (read from the source tree via #filePath): the fuzz loops mutate them,
/// and `CorpusReplayTests` runs every file — seeds and saved crash inputs alike — through its parser.
enum Corpus {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Corpus")

    /// Every file of one parser's directory, sorted by name; `.hex` files are decoded (whitespace ignored).
    static func inputs(_ parser: String) -> [(name: String, bytes: [UInt8])] {
        let directory = root.appendingPathComponent(parser)
        let names = (try? FileManager.default.contentsOfDirectory(atPath: directory.path)) ?? []
        return names.sorted().compactMap { name in
            guard let data = FileManager.default.contents(atPath: directory.appendingPathComponent(name).path) else {
                return nil
            }
            let bytes = [UInt8](data)
            return (name, name.hasSuffix(".hex") ? hexDecode(bytes) : bytes)
        }
    }

    static func texts(_ parser: String) -> [String] {
        inputs(parser).map { String(decoding: $0.bytes, as: UTF8.self) }
    }

    static var parsers: [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: root.path)) ?? []).sorted()
    }

    static func hexDecode(_ text: [UInt8]) -> [UInt8] {
        let digits = text.filter { !$0.isWhitespace }
        func nibble(_ c: UInt8) -> UInt8 { c <= 0x39 ? c &- 0x30 : (c | 0x20) &- 0x61 &+ 10 }
        return stride(from: 0, to: digits.count - 1, by: 2).map { nibble(digits[$0]) << 4 | nibble(digits[$0 + 1]) }
    }
}

extension UInt8 {
    fileprivate var isWhitespace: Bool { self == 0x20 || self == 0x0a || self == 0x0d || self == 0x09 }
}
