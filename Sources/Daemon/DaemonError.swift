/// A start-up failure of the process itself (pid file, fork, user switch), as one line for the user.
public struct DaemonError: Error, Sendable, CustomStringConvertible {
    public let message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}
