import NIOCore

/// RFC 1929 section 2: VER(1) ULEN(1) UNAME(1 to 255) PLEN(1 to 255) PASSWD. Bytes, not strings: the RFC
/// gives no encoding, and the comparison is byte for byte.
public struct SOCKS5UsernamePasswordRequest: Hashable, Sendable, CustomStringConvertible {
    public var username: [UInt8]
    public var password: [UInt8]

    public init(username: [UInt8], password: [UInt8]) {
        self.username = username
        self.password = password
    }

    /// Never shows the password.
    public var description: String {
        "username \"\(String(decoding: username, as: UTF8.self))\", password (\(password.count) bytes)"
    }
}

extension ByteBuffer {
    /// Nil (reader index unchanged) until the whole request is here.
    public mutating func readSOCKS5UsernamePasswordRequest() throws(SOCKS5Error) -> SOCKS5UsernamePasswordRequest? {
        let start = readerIndex
        guard let version: UInt8 = getInteger(at: start) else { return nil }
        guard version == SOCKS5Wire.usernamePasswordVersion else {
            throw SOCKS5Error(.unsupportedSubnegotiationVersion(version))
        }
        guard let usernameLength: UInt8 = getInteger(at: start + 1) else { return nil }
        guard usernameLength > 0 else { throw SOCKS5Error(.emptyCredential) }
        let passwordLengthAt = start + 2 + Int(usernameLength)
        guard let passwordLength: UInt8 = getInteger(at: passwordLengthAt) else { return nil }
        guard passwordLength > 0 else { throw SOCKS5Error(.emptyCredential) }
        guard let username = getBytes(at: start + 2, length: Int(usernameLength)),
            let password = getBytes(at: passwordLengthAt + 1, length: Int(passwordLength))
        else { return nil }
        moveReaderIndex(to: passwordLengthAt + 1 + Int(passwordLength))
        return SOCKS5UsernamePasswordRequest(username: username, password: password)
    }

    /// Writes the request; username and password must each be 1 to 255 bytes.
    @discardableResult
    public mutating func writeSOCKS5UsernamePasswordRequest(_ request: SOCKS5UsernamePasswordRequest) -> Int {
        precondition((1...255).contains(request.username.count) && (1...255).contains(request.password.count))
        return writeInteger(SOCKS5Wire.usernamePasswordVersion) + writeInteger(UInt8(request.username.count))
            + writeBytes(request.username) + writeInteger(UInt8(request.password.count)) + writeBytes(request.password)
    }
}
