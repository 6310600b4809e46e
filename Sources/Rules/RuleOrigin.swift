/// Which list a rule entry was put in: ss-libev's bypass (black) list, proxy (white) list, or the server-side
/// outbound block list.
public enum RuleList: Sendable, Hashable, CustomStringConvertible {
    case bypass, proxy, outboundBlock

    public var description: String {
        switch self {
        case .bypass: "bypass list"
        case .proxy: "proxy list"
        case .outboundBlock: "outbound block list"
        }
    }
}

/// Where a rule entry came from, for logs and status: "FILE:LINE".
public struct RuleOrigin: Sendable, Hashable, CustomStringConvertible {
    public let file: String
    public let line: Int
    public let list: RuleList

    public var description: String { "\(file):\(line)" }
}

/// A cheap handle on the entry that produced a decision: an index into the rule set's origin table.
public struct RuleSource: Sendable, Hashable {
    let index: UInt32

    /// No entry matched: the default action (ACL mode) decided.
    public static let defaultAction = RuleSource(index: .max)

    public var isDefaultAction: Bool { index == .max }
}

/// The file:line of every entry, kept apart from the tries so a trie value is one 32-bit index.
struct RuleOriginTable: Sendable {
    private var files: [String] = []
    private var fileIndexes: [String: UInt32] = [:]
    /// Entries come file by file: remembering the last file skips hashing its name for every entry.
    private var lastFile: (name: String, index: UInt32)?
    // fileIndex << 34 | list << 32 | line: one word per entry.
    private var packed: [UInt64] = []

    var count: Int { packed.count }

    mutating func add(file: String, line: Int, list: RuleList) -> UInt32 {
        let fileIndex: UInt32
        if let lastFile, lastFile.name == file {
            fileIndex = lastFile.index
        } else if let known = fileIndexes[file] {
            fileIndex = known
        } else {
            fileIndex = UInt32(files.count)
            files.append(file)
            fileIndexes[file] = fileIndex
        }
        lastFile = (file, fileIndex)
        let listBits: UInt64 =
            switch list {
            case .bypass: 0
            case .proxy: 1
            case .outboundBlock: 2
            }
        packed.append(UInt64(fileIndex) << 34 | listBits << 32 | UInt64(UInt32(clamping: line)))
        return UInt32(packed.count - 1)
    }

    func origin(_ index: UInt32) -> RuleOrigin? {
        guard Int(index) < packed.count else { return nil }
        let word = packed[Int(index)]
        let list: RuleList =
            switch (word >> 32) & 3 {
            case 0: .bypass
            case 1: .proxy
            default: .outboundBlock
            }
        return RuleOrigin(file: files[Int(word >> 34)], line: Int(word & 0xFFFF_FFFF), list: list)
    }
}
