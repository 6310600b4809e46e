import NIOCore

/// RFC 1929 section 2: VER(1) STATUS(1); X'00' is success, anything else failure (the server then closes).
public struct SOCKS5UsernamePasswordReply: Hashable, Sendable {
    public var status: UInt8

    public init(status: UInt8) { self.status = status }

    public var succeeded: Bool { status == 0 }

    public static let success = SOCKS5UsernamePasswordReply(status: 0x00)
    public static let failure = SOCKS5UsernamePasswordReply(status: 0x01)
}

extension ByteBuffer {
    /// Nil (reader index unchanged) until both bytes are here.
    public mutating func readSOCKS5UsernamePasswordReply() throws(SOCKS5Error) -> SOCKS5UsernamePasswordReply? {
        guard let version: UInt8 = getInteger(at: readerIndex) else { return nil }
        guard version == SOCKS5Wire.usernamePasswordVersion else {
            throw SOCKS5Error(.unsupportedSubnegotiationVersion(version))
        }
        guard let status: UInt8 = getInteger(at: readerIndex + 1) else { return nil }
        moveReaderIndex(forwardBy: 2)
        return SOCKS5UsernamePasswordReply(status: status)
    }

    @discardableResult
    public mutating func writeSOCKS5UsernamePasswordReply(_ reply: SOCKS5UsernamePasswordReply) -> Int {
        writeInteger(SOCKS5Wire.usernamePasswordVersion) + writeInteger(reply.status)
    }
}
