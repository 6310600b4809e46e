import Foundation
import Testing

@testable import Config

@Suite struct ConfigFilePermissionsTests {
    func warning(mode: Int) throws -> String? {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("perm-\(UUID().uuidString).json").path
        #expect(FileManager.default.createFile(atPath: path, contents: Data("{}".utf8)))
        defer { try? FileManager.default.removeItem(atPath: path) }
        try FileManager.default.setAttributes([.posixPermissions: mode], ofItemAtPath: path)
        return ConfigFilePermissions.warning(path: path).map { $0.replacingOccurrences(of: path, with: "FILE") }
    }

    @Test func ownerOnlyIsQuiet() throws {
        #expect(try warning(mode: 0o600) == nil)
        #expect(try warning(mode: 0o400) == nil)
        #expect(try warning(mode: 0o700) == nil)
    }

    @Test func groupOrWorldReadableWarnsWithTheFix() throws {
        #expect(
            try warning(mode: 0o640)
                == "config file FILE is readable by its group (mode 640) and holds passwords/keys; run: chmod 600 FILE")
        #expect(
            try warning(mode: 0o644)
                == "config file FILE is readable by every local user (mode 644) and holds passwords/keys; run: chmod 600 FILE")
    }

    @Test func aMissingFileIsLeftToTheLoader() {
        #expect(ConfigFilePermissions.warning(path: "/nonexistent/ss-redir.json") == nil)
    }
}
