/// The lines of a rule file as UTF-8 bytes: comment removed, blanks trimmed, empty lines skipped. Scanned as
/// bytes because Character iteration (grapheme breaking; "\r\n" is one Character) would cost more than the rest
/// of reading a 100,000-line list.
enum RuleLines {
    enum CommentStyle {
        /// `#` anywhere (ss-libev's strchr, hosts(5)).
        case anywhere
        /// `#` at the start of a line or after a blank, so `nftset=/a/4#inet#t#s` and regexes keep theirs.
        case atWordStart
    }

    /// Calls `body` with each non-empty line and its 1-based number; stops at the first problem and returns it.
    static func forEach(
        in text: String, comments: CommentStyle,
        _ body: (Int, UnsafeBufferPointer<UInt8>) throws(LineProblem) -> Void
    ) -> (line: Int, problem: LineProblem)? {
        var text = text
        return text.withUTF8 { bytes -> (line: Int, problem: LineProblem)? in
            var lineNumber = 0
            var start = 0
            while start <= bytes.count {
                var end = start
                while end < bytes.count && bytes[end] != UInt8(ascii: "\n") { end += 1 }
                lineNumber += 1
                let content = trimmed(withoutComment(UnsafeBufferPointer(rebasing: bytes[start..<end]), comments))
                if !content.isEmpty {
                    do throws(LineProblem) {
                        try body(lineNumber, content)
                    } catch {
                        return (lineNumber, error)
                    }
                }
                start = end + 1
            }
            return nil
        }
    }

    private static func withoutComment(_ line: UnsafeBufferPointer<UInt8>, _ style: CommentStyle)
        -> UnsafeBufferPointer<UInt8>
    {
        var previousIsBlank = true
        for index in 0..<line.count {
            if line[index] == UInt8(ascii: "#") && (style == .anywhere || previousIsBlank) {
                return UnsafeBufferPointer(rebasing: line[0..<index])
            }
            previousIsBlank = isBlank(line[index])
        }
        return line
    }

    /// Space, tab, CR, VT, FF (isspace(3) but LF, which ends the line).
    static func isBlank(_ byte: UInt8) -> Bool {
        byte == 0x20 || (0x09...0x0D).contains(byte)
    }

    static func trimmed(_ bytes: UnsafeBufferPointer<UInt8>) -> UnsafeBufferPointer<UInt8> {
        var start = 0
        var end = bytes.count
        while start < end && isBlank(bytes[start]) { start += 1 }
        while end > start && isBlank(bytes[end - 1]) { end -= 1 }
        return UnsafeBufferPointer(rebasing: bytes[start..<end])
    }

    /// Blank-separated tokens.
    static func tokens(_ line: UnsafeBufferPointer<UInt8>) -> [UnsafeBufferPointer<UInt8>] {
        split(line) { isBlank($0) }
    }

    static func split(
        _ bytes: UnsafeBufferPointer<UInt8>, omittingEmpty: Bool = true, where isSeparator: (UInt8) -> Bool
    )
        -> [UnsafeBufferPointer<UInt8>]
    {
        var parts: [UnsafeBufferPointer<UInt8>] = []
        var start = 0
        for index in 0...bytes.count where index == bytes.count || isSeparator(bytes[index]) {
            if !omittingEmpty || index > start { parts.append(UnsafeBufferPointer(rebasing: bytes[start..<index])) }
            start = index + 1
        }
        return parts
    }

    static func string(_ bytes: UnsafeBufferPointer<UInt8>) -> String { String(decoding: bytes, as: UTF8.self) }

    static func hasPrefix(_ bytes: UnsafeBufferPointer<UInt8>, _ prefix: StaticString) -> Bool {
        guard bytes.count >= prefix.utf8CodeUnitCount else { return false }
        let prefixBytes = UnsafeBufferPointer(start: prefix.utf8Start, count: prefix.utf8CodeUnitCount)
        return zip(bytes, prefixBytes).allSatisfy { $0 == $1 }
    }

    /// Bytes that can appear in an IP address, prefix, range or comma list: a cheap filter before inet_pton.
    static func isAddressText(_ bytes: UnsafeBufferPointer<UInt8>) -> Bool {
        bytes.allSatisfy { byte in
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "a")...UInt8(ascii: "f"),
                UInt8(ascii: "A")...UInt8(ascii: "F"), UInt8(ascii: "."), UInt8(ascii: ":"), UInt8(ascii: "/"),
                UInt8(ascii: "-"), UInt8(ascii: ","):
                true
            default: false
            }
        }
    }
}

/// A line's problem without file and line (the caller adds them).
struct LineProblem: Error {
    let reason: String
    init(_ reason: String) { self.reason = reason }
}
