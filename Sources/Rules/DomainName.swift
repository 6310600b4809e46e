/// DNS name checks for rule entries. Names compare case-insensitively (RFC 4343); a trailing dot is ignored.
enum DomainName {
    /// RFC 1035 2.3.4: labels of 63 octets or less, names of 255 octets or less on the wire (253 as text).
    static let maximumLabelLength = 63
    static let maximumLength = 253

    /// Lower-cased, trailing dots removed.
    static func normalize<S: StringProtocol>(_ name: S) -> String {
        var text = String(name).lowercased()
        while text.hasSuffix(".") { text.removeLast() }
        return text
    }

    /// Why `name` (already normalized) is not usable as a rule entry, or nil when it is. Letters, digits,
    /// '-' and '_' (service labels, RFC 8552) in non-empty labels; U-labels must be written as xn-- A-labels.
    static func problem(_ name: String) -> String? {
        if name.isEmpty { return "the domain is empty" }
        if name.utf8.count > maximumLength { return "the domain is longer than \(maximumLength) characters (RFC 1035)" }
        for label in name.split(separator: ".", omittingEmptySubsequences: false) {
            if label.isEmpty { return "\"\(name)\" has an empty label (two dots in a row, or a leading dot)" }
            if label.utf8.count > maximumLabelLength {
                return "a label of \"\(name)\" is longer than \(maximumLabelLength) characters (RFC 1035)"
            }
            for byte in label.utf8 where !isNameByte(byte) {
                if byte >= 0x80 { return "\"\(name)\" is not ASCII; write the xn-- (punycode) form" }
                return "\"\(name)\" contains \"\(String(UnicodeScalar(byte)))\", which a domain cannot hold"
            }
        }
        return nil
    }

    static func isNameByte(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
            UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "-"), UInt8(ascii: "_"):
            true
        default: false
        }
    }

    @inline(__always) static func lowercased(_ byte: UInt8) -> UInt8 {
        byte &- UInt8(ascii: "A") < 26 ? byte | 0x20 : byte
    }
}
