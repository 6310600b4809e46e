import Config
import Foundation
import Testing

/// docs/config.md is the reference a router admin reads: every JSON key the config file accepts must be in it.
@Suite("Config reference") struct ConfigReferenceTests {
    static let reference = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("docs/config.md")

    @Test("Every JSON key ss-redir reads is documented in docs/config.md")
    func everyKeyDocumented() throws {
        let text = try String(contentsOf: Self.reference, encoding: .utf8)
        let missing = RedirSettings.Field.allCases.map(\.rawValue).filter { !text.contains("`\($0)`") }
        #expect(missing.isEmpty, "keys missing from docs/config.md: \(missing.joined(separator: ", "))")
    }
}
