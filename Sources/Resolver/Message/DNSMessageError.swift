/// A DNS message that cannot be parsed or built. Every wire-format failure in this module is one of these;
/// `offset` is where in the message the problem was found (nil when it is not about a position).
public struct DNSMessageError: Error, Hashable, Sendable, CustomStringConvertible {
    public enum Kind: Hashable, Sendable {
        /// The message ended inside a header, name, question or record.
        case truncated
        /// RFC 1035 2.3.4: a label is at most 63 octets.
        case labelTooLong(Int)
        /// RFC 1035 2.3.4: a name is at most 255 octets on the wire.
        case nameTooLong
        /// RFC 1035 4.1.4: label types 01 and 10 (0x40, 0x80) are reserved (RFC 6891 retired extended labels).
        case reservedLabelType(UInt8)
        /// A compression pointer to its own position or later: the name would never end.
        case forwardPointer(target: Int)
        /// A compression pointer back into the name being read: following it would loop.
        case pointerLoop(target: Int)
        /// More compression hops than a 255-octet name can need.
        case tooManyPointers
        /// RDATA whose length does not fit its type (A is 4 octets, AAAA 16, a name must end at RDATA's end).
        case badRecordData(type: DNSRecordType, length: Int)
        /// RFC 6891 6.1.1: at most one OPT record, only in the additional section, owned by the root.
        case misplacedOPT
        case multipleOPT
        /// RFC 6891 6.1.2: an EDNS option running past the OPT RDATA.
        case malformedEDNSOption
        /// A name given as text that is not a domain name (empty label, bad escape).
        case invalidName(String)
        /// RFC 1035 4.2.2: a message is at most 65535 octets (the TCP length prefix).
        case messageTooLarge(Int)
        /// A helper needed a query (QR=0, one question) and got something else.
        case notAQuery
    }

    public let kind: Kind
    public let offset: Int?

    public init(_ kind: Kind, at offset: Int? = nil) {
        self.kind = kind
        self.offset = offset
    }

    public var description: String {
        let what: String =
            switch kind {
            case .truncated: "message ends early"
            case .labelTooLong(let length): "label of \(length) octets exceeds the 63-octet limit (RFC 1035 2.3.4)"
            case .nameTooLong: "name exceeds 255 octets (RFC 1035 2.3.4)"
            case .reservedLabelType(let byte): "reserved label type 0x\(String(byte, radix: 16))"
            case .forwardPointer(let target): "compression pointer to offset \(target) does not point backwards"
            case .pointerLoop(let target): "compression pointer to offset \(target) loops back into the same name"
            case .tooManyPointers: "too many compression pointers in one name"
            case .badRecordData(let type, let length): "\(type) record data of \(length) octets is malformed"
            case .misplacedOPT: "OPT record outside the additional section or not owned by the root"
            case .multipleOPT: "more than one OPT record (RFC 6891 6.1.1)"
            case .malformedEDNSOption: "EDNS option runs past the OPT record data"
            case .invalidName(let text): "\"\(text)\" is not a valid domain name"
            case .messageTooLarge(let size): "message of \(size) octets exceeds 65535"
            case .notAQuery: "not a DNS query with exactly one question"
            }
        guard let offset else { return "malformed DNS message: \(what)" }
        return "malformed DNS message at offset \(offset): \(what)"
    }
}
