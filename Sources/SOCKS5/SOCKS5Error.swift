/// A SOCKS5 exchange that cannot go on: malformed bytes, a client we cannot serve, failed authentication.
/// Every failure in this module is one of these; nothing here traps on input.
public struct SOCKS5Error: Error, Hashable, Sendable, CustomStringConvertible {
    public enum Kind: Hashable, Sendable {
        /// VER other than 5 in a greeting, request or UDP-less exchange (RFC 1928 section 3).
        case unsupportedVersion(UInt8)
        /// NMETHODS of 0: the greeting carries 1 to 255 methods (RFC 1928 section 3).
        case noMethods
        /// None of the client's methods is one the server accepts; the server answered X'FF'.
        case noAcceptableMethod(offered: [UInt8])
        /// The username/password subnegotiation's VER other than 1 (RFC 1929 section 2).
        case unsupportedSubnegotiationVersion(UInt8)
        /// ULEN or PLEN of 0: both are 1 to 255 (RFC 1929 section 2).
        case emptyCredential
        /// The username or password did not match the configured credentials.
        case authenticationFailed
        /// A RSV field that is not zero (RFC 1928 sections 4 and 7).
        case nonZeroReserved
        /// ATYP other than 1, 3, 4 (RFC 1928 section 5).
        case unknownAddressType(UInt8)
        /// A domain name of length 0 (RFC 1928 section 5: the first octet is the name's length).
        case emptyDomain
        /// A domain name that is not valid UTF-8 (it could not be sent on as the same bytes).
        case invalidDomain
        /// A command the server does not carry out (BIND, or an unknown CMD).
        case commandNotSupported(UInt8)
        /// A UDP datagram too short for its own header (RFC 1928 section 7).
        case truncatedDatagram
    }

    public let kind: Kind

    public init(_ kind: Kind) { self.kind = kind }

    public var description: String {
        switch kind {
        case .unsupportedVersion(let version): "unsupported SOCKS version \(version) (only SOCKS5 is served)"
        case .noMethods: "greeting offers no authentication method"
        case .noAcceptableMethod(let offered):
            "no acceptable authentication method among the client's [\(offered.map { "0x" + String($0, radix: 16) }.joined(separator: ", "))]"
        case .unsupportedSubnegotiationVersion(let version):
            "unsupported username/password subnegotiation version \(version) (RFC 1929 says 1)"
        case .emptyCredential: "empty username or password (RFC 1929 requires 1 to 255 bytes)"
        case .authenticationFailed: "wrong username or password"
        case .nonZeroReserved: "reserved field is not zero"
        case .unknownAddressType(let type): "unknown address type 0x\(String(type, radix: 16))"
        case .emptyDomain: "empty domain name"
        case .invalidDomain: "domain name is not valid UTF-8"
        case .commandNotSupported(let command): "command 0x\(String(command, radix: 16)) not supported"
        case .truncatedDatagram: "UDP datagram shorter than its SOCKS header"
        }
    }
}
