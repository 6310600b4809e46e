import NIOCore

/// A name that could not be resolved, as one line: which name (and the names the search list produced), which
/// servers were asked, and what happened.
public struct DNSResolutionError: Error, Sendable, Hashable, CustomStringConvertible {
    public enum Kind: Sendable, Hashable {
        /// No server replied in time on any try (`options timeout:` seconds, `attempts:` rounds).
        case timedOut(timeoutSeconds: Int, attempts: Int)
        /// NXDOMAIN: the name does not exist.
        case nameNotFound
        /// The name exists but has no A/AAAA record (NODATA).
        case noAddress
        /// Every server answered with this failure code (SERVFAIL, REFUSED, NOTIMP, FORMERR...).
        case serverFailure(DNSResponseCode)
        /// The servers could not be reached (connection refused, network unreachable...).
        case unreachable(String)
        /// Replies that did not parse or did not match over TCP.
        case badResponse(String)
        /// The text is not something we can look up.
        case invalidName(String)
    }

    public let name: String
    /// Fully qualified names queried, in order, when they differ from `name` (search list).
    public let queriedNames: [String]
    public let servers: [SocketAddress]
    public let kind: Kind

    public init(name: String, queriedNames: [String] = [], servers: [SocketAddress], kind: Kind) {
        self.name = name
        self.queriedNames = queriedNames
        self.servers = servers
        self.kind = kind
    }

    public var description: String {
        let tried =
            queriedNames.isEmpty || queriedNames == [name] ? "" : " (tried \(queriedNames.joined(separator: ", ")))"
        let from = servers.map(DNSResolutionError.text(of:)).joined(separator: ", ")
        let what: String =
            switch kind {
            case .timedOut(let timeout, let attempts):
                "no reply from \(from) (timeout \(timeout) s, \(attempts) attempt\(attempts == 1 ? "" : "s")); "
                    + "check the nameservers in resolv.conf and that UDP/TCP port 53 is reachable"
            case .nameNotFound: "name does not exist (NXDOMAIN from \(from))"
            case .noAddress: "name has no A/AAAA address (NODATA from \(from))"
            case .serverFailure(let code): "\(from) answered \(code)"
            case .unreachable(let reason): "cannot reach \(from): \(reason)"
            case .badResponse(let reason): "bad reply from \(from): \(reason)"
            case .invalidName(let reason): reason
            }
        return "cannot resolve \"\(name)\"\(tried): \(what)"
    }

    /// "192.0.2.1:53", "[2001:db8::1]:53".
    static func text(of address: SocketAddress) -> String {
        guard let ip = address.ipAddress, let port = address.port else { return "\(address)" }
        return address.protocol == .inet6 ? "[\(ip)]:\(port)" : "\(ip):\(port)"
    }
}
