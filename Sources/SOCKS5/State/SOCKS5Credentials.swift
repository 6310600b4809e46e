/// The username and password a server requires (RFC 1929). `description` never shows the password.
public struct SOCKS5Credentials: Sendable, CustomStringConvertible {
    public let username: [UInt8]
    public let password: [UInt8]

    /// Each must be 1 to 255 bytes of UTF-8 (RFC 1929 section 2); the configuration checks that first.
    public init?(username: String, password: String) {
        let username = Array(username.utf8), password = Array(password.utf8)
        guard (1...255).contains(username.count), (1...255).contains(password.count) else { return nil }
        self.username = username
        self.password = password
    }

    /// Compares in time that does not depend on where the bytes differ, so a wrong guess leaks nothing.
    public func matches(_ request: SOCKS5UsernamePasswordRequest) -> Bool {
        // Both compared in full, whatever the first says.
        let usernameMatches = Self.equalInConstantTime(username, request.username)
        let passwordMatches = Self.equalInConstantTime(password, request.password)
        return usernameMatches && passwordMatches
    }

    static func equalInConstantTime(_ lhs: [UInt8], _ rhs: [UInt8]) -> Bool {
        var difference = lhs.count ^ rhs.count
        for index in 0..<max(lhs.count, rhs.count) {
            let left = index < lhs.count ? lhs[index] : 0
            let right = index < rhs.count ? rhs[index] : 0
            difference |= Int(left ^ right)
        }
        return difference == 0
    }

    public var description: String { "username \"\(String(decoding: username, as: UTF8.self))\" with a password" }
}

