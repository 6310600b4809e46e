/// A configuration problem, worded for the user as one line: where, what is wrong, what to do.
public struct ConfigError: Error, Sendable, CustomStringConvertible {
    public let message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}
