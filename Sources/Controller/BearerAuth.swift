import NIOHTTP1

/// The Clash API's authentication: `Authorization: Bearer SECRET`, or `?token=SECRET` on a WebSocket upgrade
/// (browsers cannot set headers there). No secret configured: everything is allowed (loopback only, see Config).
package struct BearerAuth: Sendable {
    let secret: [UInt8]?

    package init(secret: String?) {
        self.secret = secret.map { Array($0.utf8) }
    }

    package func allows(_ head: HTTPRequestHead, query: [String: String], isUpgrade: Bool) -> Bool {
        guard let secret else { return true }
        if let header = head.headers.first(name: "Authorization") {
            let bearer = "Bearer "
            if header.hasPrefix(bearer), Self.constantTimeEqual(Array(header.utf8.dropFirst(bearer.utf8.count)), secret)
            {
                return true
            }
        }
        if isUpgrade, let token = query["token"] {
            return Self.constantTimeEqual(Array(token.utf8), secret)
        }
        return false
    }

    /// Compares without an early exit, so response time does not tell how much of a guess was right.
    static func constantTimeEqual(_ lhs: [UInt8], _ rhs: [UInt8]) -> Bool {
        // A length difference is its own bit: folded into a byte, lengths 256 apart (zero-padded) would match.
        var difference: UInt8 = lhs.count == rhs.count ? 0 : 1
        for index in 0..<max(lhs.count, rhs.count) {
            let left = index < lhs.count ? lhs[index] : 0
            let right = index < rhs.count ? rhs[index] : 0
            difference |= left ^ right
        }
        return difference == 0
    }
}
