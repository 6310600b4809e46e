/// A parsed JSON value that remembers the line it started on, so config errors can say "file:line".
/// Accepts `//` and `/* */` comments, as shadowsocks-libev's config reader does.
public struct JSONNode: Sendable {
    public enum Value: Sendable {
        case string(String)
        case number(String)  // kept as written; the config layer decides integer or not
        case bool(Bool)
        case null
        case array([JSONNode])
        case object([(key: String, node: JSONNode)])
    }

    public let value: Value
    public let line: Int

    public var typeName: String {
        switch value {
        case .string: "a string"
        case .number: "a number"
        case .bool: "a boolean"
        case .null: "null"
        case .array: "an array"
        case .object: "an object"
        }
    }
}

public struct JSONSyntaxError: Error, Sendable {
    public let line: Int
    public let message: String
}

/// A small recursive-descent JSON reader (RFC 8259) with a nesting limit, for config files.
public struct JSONDocument {
    private let bytes: [UInt8]
    private var index = 0
    private var line = 1
    private static let maximumDepth = 64

    public static func parse(_ text: String) throws(JSONSyntaxError) -> JSONNode {
        var reader = JSONDocument(bytes: Array(text.utf8))
        let node = try reader.parseValue(depth: 0)
        try reader.skipSpaceAndComments()
        guard reader.index == reader.bytes.count else { throw reader.error("unexpected text after the JSON value") }
        return node
    }

    private init(bytes: [UInt8]) { self.bytes = bytes }

    private func error(_ message: String) -> JSONSyntaxError { JSONSyntaxError(line: line, message: message) }

    private var current: UInt8? { index < bytes.count ? bytes[index] : nil }

    private mutating func advance() {
        if bytes[index] == UInt8(ascii: "\n") { line += 1 }
        index += 1
    }

    private mutating func skipSpaceAndComments() throws(JSONSyntaxError) {
        while let byte = current {
            switch byte {
            case UInt8(ascii: " "), UInt8(ascii: "\t"), UInt8(ascii: "\n"), UInt8(ascii: "\r"):
                advance()
            case UInt8(ascii: "/") where index + 1 < bytes.count && bytes[index + 1] == UInt8(ascii: "/"):
                while let c = current, c != UInt8(ascii: "\n") { advance() }
            case UInt8(ascii: "/") where index + 1 < bytes.count && bytes[index + 1] == UInt8(ascii: "*"):
                advance()
                advance()
                while true {
                    guard let c = current else { throw error("unterminated /* comment") }
                    if c == UInt8(ascii: "*"), index + 1 < bytes.count, bytes[index + 1] == UInt8(ascii: "/") {
                        advance()
                        advance()
                        break
                    }
                    advance()
                }
            default:
                return
            }
        }
    }

    private mutating func parseValue(depth: Int) throws(JSONSyntaxError) -> JSONNode {
        guard depth < Self.maximumDepth else { throw error("nesting deeper than \(Self.maximumDepth)") }
        try skipSpaceAndComments()
        let startLine = line
        guard let byte = current else { throw error("unexpected end of file, expected a value") }
        switch byte {
        case UInt8(ascii: "{"):
            advance()
            var members: [(key: String, node: JSONNode)] = []
            try skipSpaceAndComments()
            if current == UInt8(ascii: "}") {
                advance()
                return JSONNode(value: .object(members), line: startLine)
            }
            while true {
                try skipSpaceAndComments()
                guard current == UInt8(ascii: "\"") else { throw error("expected a quoted key") }
                let key = try parseString()
                try skipSpaceAndComments()
                guard current == UInt8(ascii: ":") else { throw error("expected ':' after key \"\(key)\"") }
                advance()
                members.append((key, try parseValue(depth: depth + 1)))
                try skipSpaceAndComments()
                if current == UInt8(ascii: ",") {
                    advance()
                    try skipSpaceAndComments()
                    if current == UInt8(ascii: "}") { break }  // tolerate a trailing comma
                    continue
                }
                guard current == UInt8(ascii: "}") else { throw error("expected ',' or '}' in object") }
                break
            }
            advance()
            return JSONNode(value: .object(members), line: startLine)
        case UInt8(ascii: "["):
            advance()
            var elements: [JSONNode] = []
            try skipSpaceAndComments()
            if current == UInt8(ascii: "]") {
                advance()
                return JSONNode(value: .array(elements), line: startLine)
            }
            while true {
                elements.append(try parseValue(depth: depth + 1))
                try skipSpaceAndComments()
                if current == UInt8(ascii: ",") {
                    advance()
                    try skipSpaceAndComments()
                    if current == UInt8(ascii: "]") { break }
                    continue
                }
                guard current == UInt8(ascii: "]") else { throw error("expected ',' or ']' in array") }
                break
            }
            advance()
            return JSONNode(value: .array(elements), line: startLine)
        case UInt8(ascii: "\""):
            return JSONNode(value: .string(try parseString()), line: startLine)
        case UInt8(ascii: "t"), UInt8(ascii: "f"), UInt8(ascii: "n"):
            for (word, value) in [("true", JSONNode.Value.bool(true)), ("false", .bool(false)), ("null", .null)]
            where bytes[index...].starts(with: word.utf8) {
                index += word.utf8.count
                return JSONNode(value: value, line: startLine)
            }
            throw error("unexpected word; expected true, false or null")
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"):
            let start = index
            while let c = current, (c >= UInt8(ascii: "0") && c <= UInt8(ascii: "9")) || "+-.eE".utf8.contains(c) {
                advance()
            }
            return JSONNode(value: .number(String(decoding: bytes[start..<index], as: UTF8.self)), line: startLine)
        default:
            throw error("unexpected character '\(Character(Unicode.Scalar(byte)))'")
        }
    }

    private mutating func parseString() throws(JSONSyntaxError) -> String {
        advance()  // opening quote
        var scalars = String.UnicodeScalarView()
        var raw: [UInt8] = []
        func flush() {
            scalars.append(contentsOf: String(decoding: raw, as: UTF8.self).unicodeScalars)
            raw.removeAll()
        }
        while true {
            guard let byte = current else { throw error("unterminated string") }
            if byte == UInt8(ascii: "\"") {
                advance()
                break
            }
            if byte == UInt8(ascii: "\n") { throw error("newline inside a string") }
            if byte != UInt8(ascii: "\\") {
                raw.append(byte)
                advance()
                continue
            }
            advance()
            guard let escape = current else { throw error("unterminated string") }
            advance()
            switch escape {
            case UInt8(ascii: "\""): raw.append(UInt8(ascii: "\""))
            case UInt8(ascii: "\\"): raw.append(UInt8(ascii: "\\"))
            case UInt8(ascii: "/"): raw.append(UInt8(ascii: "/"))
            case UInt8(ascii: "b"): raw.append(8)
            case UInt8(ascii: "f"): raw.append(12)
            case UInt8(ascii: "n"): raw.append(10)
            case UInt8(ascii: "r"): raw.append(13)
            case UInt8(ascii: "t"): raw.append(9)
            case UInt8(ascii: "u"):
                guard index + 4 <= bytes.count,
                    let code = UInt32(String(decoding: bytes[index..<index + 4], as: UTF8.self), radix: 16)
                else { throw error("bad \\u escape") }
                index += 4
                flush()
                scalars.append(Unicode.Scalar(code) ?? "\u{FFFD}")
            default:
                throw error("bad escape '\\\(Character(Unicode.Scalar(escape)))'")
            }
        }
        flush()
        return String(scalars)
    }
}
