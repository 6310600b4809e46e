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
        /// A domain name that is not UTF-8: it could not be relayed as the bytes the client sent.
        case invalidDomain
        /// A salt or IV the server's replay filter has seen before.
        case replayedSalt
        /// SIP022: a header timestamp more than 30 s away from our clock (treated as a replay).
        case staleTimestamp
        /// SIP022: an authentic header of the other direction's type (a reflected stream).
        case wrongHeaderType(UInt8)
        /// SIP022: a response header that names another request salt.
        case responseSaltMismatch
        /// SIP022: a variable-length header whose address or padding does not fit it, or that has neither
        /// padding nor payload.
        case malformedHeader
        /// SIP022: a response was to be written before the request header had been read (a caller's bug).
        case responseBeforeRequest
        /// SIP022 UDP: a packet id already seen, or too old for the session's sliding window.
        case replayedPacket
        /// SIP022 UDP: a server packet for another client session, or from one server session too many.
        case unknownSession
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
        case .invalidDomain: "domain name in address is not valid UTF-8"
        case .replayedSalt: "salt/IV seen before (a replayed stream or packet)"
        case .staleTimestamp: "header timestamp more than 30 s off (a replay, or a clock out of sync)"
        case .wrongHeaderType(let type): "header type \(type) where the other direction's type was expected"
        case .responseSaltMismatch: "response header names another request salt"
        case .malformedHeader: "malformed Shadowsocks 2022 request header (address/padding/payload)"
        case .responseBeforeRequest: "response written before the request header was read"
        case .replayedPacket: "UDP packet id seen before or outside the replay window"
        case .unknownSession: "UDP packet for an unknown or foreign session"
        }
    }
}
