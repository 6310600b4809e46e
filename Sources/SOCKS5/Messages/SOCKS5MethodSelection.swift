import NIOCore

/// The server's choice of method: VER(5) METHOD(1) (RFC 1928 section 3).
public struct SOCKS5MethodSelection: Hashable, Sendable {
    public var method: SOCKS5AuthenticationMethod

    public init(method: SOCKS5AuthenticationMethod) { self.method = method }
}

extension ByteBuffer {
    /// Nil (reader index unchanged) until both bytes are here.
    public mutating func readSOCKS5MethodSelection() throws(SOCKS5Error) -> SOCKS5MethodSelection? {
        guard let version: UInt8 = getInteger(at: readerIndex) else { return nil }
        guard version == SOCKS5Wire.version else { throw SOCKS5Error(.unsupportedVersion(version)) }
        guard let method: UInt8 = getInteger(at: readerIndex + 1) else { return nil }
        moveReaderIndex(forwardBy: 2)
        return SOCKS5MethodSelection(method: SOCKS5AuthenticationMethod(rawValue: method))
    }

    @discardableResult
    public mutating func writeSOCKS5MethodSelection(_ selection: SOCKS5MethodSelection) -> Int {
        writeInteger(SOCKS5Wire.version) + writeInteger(selection.method.rawValue)
    }
}
