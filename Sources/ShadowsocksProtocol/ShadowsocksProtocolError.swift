/// A malformed or unauthentic byte stream. Every wire-format failure in this module is one of these.
public struct ShadowsocksProtocolError: Error, Hashable, Sendable, CustomStringConvertible {
    public enum Kind: Hashable, Sendable {
        /// A tag did not verify: wrong key, or bytes changed on the way.
        case authenticationFailed
        /// SIP004: a chunk's payload length is at most 0x3FFF.
        case chunkTooLarge(Int)
        /// The stream or packet ended in the middle of a salt/IV, a length, a payload or the target address.
        case truncated
        /// SOCKS5 ATYP (RFC 1928 section 5) other than 1, 3, 4.
        case unknownAddressType(UInt8)
        /// A domain name of length zero.
        case emptyDomain
        /// A salt or IV the server's replay filter has seen before.
        case replayedSalt
    }

    public let kind: Kind

    public init(_ kind: Kind) { self.kind = kind }

    public var description: String {
        switch kind {
        case .authenticationFailed: "authentication failed (wrong password/method, or data tampered with)"
        case .chunkTooLarge(let length): "chunk length \(length) exceeds the AEAD maximum 16383"
        case .truncated: "data ended early (inside a salt/IV, an AEAD chunk or an address)"
        case .unknownAddressType(let type): "unknown address type 0x\(String(type, radix: 16))"
        case .emptyDomain: "empty domain name in address"
        case .replayedSalt: "salt/IV seen before (a replayed stream or packet)"
        }
    }
}
