/// A domain name as labels of raw octets. Compares and hashes case-insensitively (RFC 4343) but keeps the case it
/// was given, so a name read from a query is written back exactly as the client sent it.
public struct DNSName: Hashable, Sendable, CustomStringConvertible {
    /// RFC 1035 2.3.4: 63 octets per label, 255 octets per name on the wire (length octets and root included).
    public static let maximumLabelLength = 63
    public static let maximumWireLength = 255

    public static let root = DNSName(uncheckedWire: [])

    /// Length-prefixed labels without the terminating root octet.
    let wire: [UInt8]

    init(uncheckedWire: [UInt8]) { self.wire = uncheckedWire }

    public init(labels: [[UInt8]]) throws(DNSMessageError) {
        var wire: [UInt8] = []
        for label in labels {
            guard !label.isEmpty else { throw DNSMessageError(.invalidName("empty label")) }
            guard label.count <= DNSName.maximumLabelLength else {
                throw DNSMessageError(.labelTooLong(label.count))
            }
            wire.append(UInt8(label.count))
            wire += label
        }
        guard wire.count + 1 <= DNSName.maximumWireLength else { throw DNSMessageError(.nameTooLong) }
        self.wire = wire
    }

    /// Presentation text: dot-separated labels, an optional final dot, `\.` and `\DDD` escapes (RFC 1035 5.1).
    /// "." is the root; an empty name or an empty label is an error.
    public init(_ text: String) throws(DNSMessageError) {
        let bytes = Array(text.utf8)
        guard !bytes.isEmpty else { throw DNSMessageError(.invalidName(text)) }
        if bytes == [UInt8(ascii: ".")] {
            self = .root
            return
        }
        var labels: [[UInt8]] = []
        var label: [UInt8] = []
        var index = 0
        while index < bytes.count {
            let byte = bytes[index]
            index += 1
            switch byte {
            case UInt8(ascii: "."):
                guard !label.isEmpty else { throw DNSMessageError(.invalidName(text)) }
                labels.append(label)
                label = []
            case UInt8(ascii: "\\"):
                guard index < bytes.count else { throw DNSMessageError(.invalidName(text)) }
                if let value = DNSName.decimalEscape(bytes, at: index) {
                    label.append(value)
                    index += 3
                } else if DNSName.isDigit(bytes[index]) {
                    throw DNSMessageError(.invalidName(text))
                } else {
                    label.append(bytes[index])
                    index += 1
                }
            default:
                label.append(byte)
            }
        }
        if !label.isEmpty { labels.append(label) }
        try self.init(labels: labels)
    }

    public var labels: [[UInt8]] {
        var result: [[UInt8]] = []
        var index = 0
        while index < wire.count {
            let length = Int(wire[index])
            result.append(Array(wire[(index + 1)..<(index + 1 + length)]))
            index += 1 + length
        }
        return result
    }

    public var labelCount: Int { labels.count }
    public var isRoot: Bool { wire.isEmpty }
    /// Octets on the wire, uncompressed, including the root octet.
    public var wireLength: Int { wire.count + 1 }

    /// `self` followed by `suffix` ("www" + "example.com"); fails when the result exceeds 255 octets.
    public func appending(_ suffix: DNSName) throws(DNSMessageError) -> DNSName {
        guard wire.count + suffix.wire.count + 1 <= DNSName.maximumWireLength else {
            throw DNSMessageError(.nameTooLong)
        }
        return DNSName(uncheckedWire: wire + suffix.wire)
    }

    /// True when `self` is `other` or lies below it ("a.example.com" under "example.com"; everything under root).
    public func isSubdomain(of other: DNSName) -> Bool {
        guard other.wire.count <= wire.count else { return false }
        // Walk label boundaries: a suffix must start on one to be a whole-label match.
        var index = 0
        while wire.count - index > other.wire.count {
            index += 1 + Int(wire[index])
        }
        return wire.count - index == other.wire.count
            && DNSName.equalFolded(wire[index...], other.wire[...])
    }

    public static func == (lhs: DNSName, rhs: DNSName) -> Bool {
        lhs.wire.count == rhs.wire.count && equalFolded(lhs.wire[...], rhs.wire[...])
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(wire.count)
        for byte in wire { hasher.combine(DNSName.fold(byte)) }
    }

    /// Labels joined by dots, no final dot ("." for the root); dots, backslashes and unprintable octets escaped.
    public var description: String {
        guard !wire.isEmpty else { return "." }
        var text = ""
        for (position, label) in labels.enumerated() {
            if position > 0 { text += "." }
            for byte in label {
                switch byte {
                case UInt8(ascii: "."), UInt8(ascii: "\\"):
                    text += "\\" + String(UnicodeScalar(byte))
                case 0x21...0x7E:
                    text += String(UnicodeScalar(byte))
                default:
                    let digits = String(byte)
                    text += "\\" + String(repeating: "0", count: 3 - digits.count) + digits
                }
            }
        }
        return text
    }

    /// Length octets are below 64, so folding the whole wire form only ever touches label octets.
    static func fold(_ byte: UInt8) -> UInt8 {
        (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains(byte) ? byte | 0x20 : byte
    }

    static func equalFolded(_ lhs: ArraySlice<UInt8>, _ rhs: ArraySlice<UInt8>) -> Bool {
        guard lhs.count == rhs.count else { return false }
        return zip(lhs, rhs).allSatisfy { fold($0) == fold($1) }
    }

    private static func isDigit(_ byte: UInt8) -> Bool { (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) }

    /// `\DDD`: exactly three decimal digits, at most 255.
    private static func decimalEscape(_ bytes: [UInt8], at index: Int) -> UInt8? {
        guard index + 3 <= bytes.count, bytes[index..<(index + 3)].allSatisfy(isDigit) else { return nil }
        let value = bytes[index..<(index + 3)].reduce(0) { $0 * 10 + Int($1 - UInt8(ascii: "0")) }
        return value <= 255 ? UInt8(value) : nil
    }
}
