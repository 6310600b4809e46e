import NIOCore

/// The client's first message: VER(5) NMETHODS(1) METHODS(1 to 255) (RFC 1928 section 3).
public struct SOCKS5ClientGreeting: Hashable, Sendable {
    public var methods: [SOCKS5AuthenticationMethod]

    public init(methods: [SOCKS5AuthenticationMethod]) { self.methods = methods }
}

extension ByteBuffer {
    /// Nil (reader index unchanged) until the whole greeting is here.
    public mutating func readSOCKS5ClientGreeting() throws(SOCKS5Error) -> SOCKS5ClientGreeting? {
        let start = readerIndex
        guard let version: UInt8 = getInteger(at: start) else { return nil }
        guard version == SOCKS5Wire.version else { throw SOCKS5Error(.unsupportedVersion(version)) }
        guard let count: UInt8 = getInteger(at: start + 1) else { return nil }
        guard count > 0 else { throw SOCKS5Error(.noMethods) }
        guard let methods = getBytes(at: start + 2, length: Int(count)) else { return nil }
        moveReaderIndex(forwardBy: 2 + Int(count))
        return SOCKS5ClientGreeting(methods: methods.map(SOCKS5AuthenticationMethod.init(rawValue:)))
    }

    /// Writes a greeting; `methods` must hold 1 to 255 entries.
    @discardableResult
    public mutating func writeSOCKS5ClientGreeting(_ greeting: SOCKS5ClientGreeting) -> Int {
        precondition((1...255).contains(greeting.methods.count), "NMETHODS is 1 to 255")
        return writeInteger(SOCKS5Wire.version) + writeInteger(UInt8(greeting.methods.count))
            + writeBytes(greeting.methods.map(\.rawValue))
    }
}
