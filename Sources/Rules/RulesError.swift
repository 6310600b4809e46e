/// A rule-file problem worded for the user as one line: "FILE:LINE: what is wrong; what to do".
public struct RulesError: Error, Sendable, Equatable, CustomStringConvertible {
    public enum Kind: Sendable, Equatable {
        /// The file could not be opened or read, or is larger than `RuleText.maximumSize`.
        case unreadableFile
        /// A line that no reader accepts; the message names file and line.
        case invalidLine
    }

    public let kind: Kind
    public let message: String

    public init(_ kind: Kind, _ message: String) {
        self.kind = kind
        self.message = message
    }

    static func line(_ origin: String, _ line: Int, _ message: String) -> RulesError {
        RulesError(.invalidLine, "\(origin):\(line): \(message)")
    }

    public var description: String { message }
}
