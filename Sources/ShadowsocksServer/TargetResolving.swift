import IPAddresses

/// Turns a target's domain name into addresses. The server checks every address against `forbidden_ip` before
/// it connects, so resolution happens here and not inside the connect.
public protocol TargetResolving: Sendable {
    /// The addresses of `host`, in the order to try them; throws when there are none.
    func addresses(of host: String) async throws -> [IPAddress]
}

/// The name could not be resolved (a one-line reason for the log).
public struct TargetResolutionError: Error, Sendable, CustomStringConvertible {
    public let host: String
    public let reason: String

    public init(host: String, reason: String) {
        self.host = host
        self.reason = reason
    }

    public var description: String { "cannot resolve \(host): \(reason)" }
}
