/// DNS name checks for rule entries. Names compare case-insensitively (RFC 4343); a trailing dot is ignored.
enum DomainName {
    /// RFC 1035 2.3.4: labels of 63 octets or less, names of 255 octets or less on the wire (253 as text).
    static let maximumLabelLength = 63
    static let maximumLength = 253

    /// Lower-cased, trailing dots removed.
    static func normalize(_ name: Substring) -> String {
        let utf8 = name.utf8
        var end = utf8.endIndex
        while end > utf8.startIndex, utf8[utf8.index(before: end)] == UInt8(ascii: ".") { utf8.formIndex(before: &end) }
        let kept = name[..<end]
        // The common case, already lower-case ASCII, skips lowercased()'s copy.
        if kept.utf8.allSatisfy({ $0 < 0x80 && $0 &- UInt8(ascii: "A") >= 26 }) { return String(kept) }
        return kept.lowercased()
    }

    static func normalize(_ name: String) -> String { normalize(Substring(name)) }

    static func normalize(_ bytes: UnsafeBufferPointer<UInt8>) -> String {
        var end = bytes.count
        while end > 0 && bytes[end - 1] == UInt8(ascii: ".") { end -= 1 }
        let kept = UnsafeBufferPointer(rebasing: bytes[0..<end])
        if kept.allSatisfy({ $0 < 0x80 && $0 &- UInt8(ascii: "A") >= 26 }) {
            return String(decoding: kept, as: UTF8.self)
        }
        return String(decoding: kept, as: UTF8.self).lowercased()
    }

    /// Why `name` (already normalized) is not usable as a rule entry, or nil when it is. Letters, digits,
    /// '-' and '_' (service labels, RFC 8552) in non-empty labels; U-labels must be written as xn-- A-labels.
    static func problem(_ name: String) -> String? {
        let utf8 = name.utf8
        if utf8.isEmpty { return "the domain is empty" }
        if utf8.count > maximumLength { return "the domain is longer than \(maximumLength) characters (RFC 1035)" }
        var labelLength = 0
        for byte in utf8 {
            if byte == UInt8(ascii: ".") {
                if labelLength == 0 { return "\"\(name)\" has an empty label (two dots in a row, or a leading dot)" }
                labelLength = 0
                continue
            }
            guard isNameByte(byte) else {
                if byte >= 0x80 { return "\"\(name)\" is not ASCII; write the xn-- (punycode) form" }
                return "\"\(name)\" contains \"\(String(UnicodeScalar(byte)))\", which a domain cannot hold"
            }
            labelLength += 1
            if labelLength > maximumLabelLength {
                return "a label of \"\(name)\" is longer than \(maximumLabelLength) characters (RFC 1035)"
            }
        }
        if labelLength == 0 { return "\"\(name)\" has an empty label (two dots in a row, or a leading dot)" }
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

    /// Whether `text` could be an IPv4 or IPv6 literal: names never hold ':' and never end in a digit (their
    /// last label is a TLD). Saves an inet_pton per name lookup.
    static func mayBeAddressLiteral(_ text: String) -> Bool {
        guard let last = text.utf8.last else { return false }
        return (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(last) || text.utf8.contains(UInt8(ascii: ":"))
    }
}
