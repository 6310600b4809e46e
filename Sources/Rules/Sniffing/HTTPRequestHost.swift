import IPAddresses

/// The host an HTTP/1.x request is for, read from the first bytes a client sends: the Host header (RFC 9112
/// 3.2), or the authority of an absolute-form target (`GET http://host/ …`, which takes precedence, RFC 9112
/// 3.2.2) or of a CONNECT (authority-form). The port is stripped; an IPv6 literal comes back without brackets.
/// Only the first `maximumLength` bytes are looked at.
public enum HTTPRequestHost {
    /// RFC 9112 3: recipients should accept request lines of at least 8000 octets; 8 KiB bounds the whole head
    /// read before the Host header.
    public static let maximumLength = 8 << 10
    /// Longer than any registered method (IANA HTTP Method Registry; the longest has 17 characters).
    static let maximumMethodLength = 24

    private static let lf = UInt8(ascii: "\n")
    private static let cr = UInt8(ascii: "\r")
    private static let space = UInt8(ascii: " ")
    private static let tab = UInt8(ascii: "\t")

    public static func host<Bytes: Collection>(in bytes: Bytes) -> SniffResult where Bytes.Element == UInt8 {
        if let result = bytes.withContiguousStorageIfAvailable({ host(in: UnsafeRawBufferPointer($0)) }) {
            return result
        }
        return Array(bytes).withUnsafeBytes { host(in: $0) }
    }

    public static func host(in all: UnsafeRawBufferPointer) -> SniffResult {
        let bytes = UnsafeRawBufferPointer(rebasing: all.prefix(maximumLength))
        // Running out of bytes means "more" until the bound is reached, then "give up".
        let incomplete: SniffResult = all.count >= maximumLength ? .notThisProtocol : .needMoreData
        var index = 0

        // request-line = method SP request-target SP HTTP-version (RFC 9112 3)
        while index < bytes.count && isTokenByte(bytes[index]) {
            index += 1
            if index > maximumMethodLength { return .notThisProtocol }
        }
        guard index < bytes.count else { return incomplete }
        guard index > 0, bytes[index] == space else { return .notThisProtocol }
        let method = bytes[0..<index]
        index += 1
        let targetStart = index
        while index < bytes.count && bytes[index] != space {
            guard (0x21...0x7E).contains(bytes[index]) else { return .notThisProtocol }
            index += 1
        }
        guard index < bytes.count else { return incomplete }
        guard index > targetStart else { return .notThisProtocol }
        let target = bytes[targetStart..<index]
        index += 1
        for expected in "HTTP/1.".utf8 {
            guard index < bytes.count else { return incomplete }
            guard bytes[index] == expected else { return .notThisProtocol }
            index += 1
        }
        guard index < bytes.count else { return incomplete }
        guard (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(bytes[index]) else { return .notThisProtocol }
        index += 1
        switch lineEnd(bytes, at: index) {
        case .incomplete: return incomplete
        case .invalid: return .notThisProtocol
        case .next(let next): index = next
        }

        if method.elementsEqual("CONNECT".utf8) { return hostResult(authority: target) }
        if let authority = absoluteFormAuthority(target) { return hostResult(authority: authority) }

        // field-line = field-name ":" OWS field-value OWS (RFC 9112 5)
        while true {
            guard let newline = bytes[index...].firstIndex(of: lf) else { return incomplete }
            var lineEnd = newline
            if lineEnd > index && bytes[lineEnd - 1] == cr { lineEnd -= 1 }
            let line = bytes[index..<lineEnd]
            // End of the head without a Host header (HTTP/1.0 may omit it).
            if line.isEmpty { return .notThisProtocol }
            // RFC 9112 5.2: obsolete line folding is rejected.
            guard let colon = line.firstIndex(of: UInt8(ascii: ":")), colon > line.startIndex,
                line[line.startIndex..<colon].allSatisfy(isTokenByte)
            else { return .notThisProtocol }
            if equalsIgnoringCase(line[line.startIndex..<colon], "host") {
                return hostResult(authority: trimmedOWS(line[(colon + 1)...]))
            }
            index = newline + 1
        }
    }

    private enum LineEnd { case incomplete, invalid, next(Int) }

    /// CRLF, or a bare LF (RFC 9112 2.2 lets a recipient accept it).
    private static func lineEnd(_ bytes: UnsafeRawBufferPointer, at index: Int) -> LineEnd {
        guard index < bytes.count else { return .incomplete }
        if bytes[index] == lf { return .next(index + 1) }
        guard bytes[index] == cr else { return .invalid }
        guard index + 1 < bytes.count else { return .incomplete }
        return bytes[index + 1] == lf ? .next(index + 2) : .invalid
    }

    /// `http://authority/path` or `https://…` (scheme case-insensitive): the authority.
    private static func absoluteFormAuthority(_ target: UnsafeRawBufferPointer.SubSequence)
        -> UnsafeRawBufferPointer.SubSequence?
    {
        for scheme in ["http://", "https://"] where target.count >= scheme.utf8.count {
            let schemeEnd = target.startIndex + scheme.utf8.count
            guard equalsIgnoringCase(target[target.startIndex..<schemeEnd], scheme) else { continue }
            let rest = target[schemeEnd...]
            let end =
                rest.firstIndex { $0 == UInt8(ascii: "/") || $0 == UInt8(ascii: "?") || $0 == UInt8(ascii: "#") }
                ?? rest.endIndex
            return rest[rest.startIndex..<end]
        }
        return nil
    }

    /// uri-host [":" port] (RFC 3986 3.2), userinfo dropped; a name, IPv4 or bracketed IPv6 literal.
    private static func hostResult(authority raw: UnsafeRawBufferPointer.SubSequence) -> SniffResult {
        var authority = raw
        if let at = authority.lastIndex(of: UInt8(ascii: "@")) { authority = authority[(at + 1)...] }
        guard let first = authority.first else { return .notThisProtocol }
        let host: UnsafeRawBufferPointer.SubSequence
        let afterHost: UnsafeRawBufferPointer.SubSequence
        if first == UInt8(ascii: "[") {
            guard let close = authority.firstIndex(of: UInt8(ascii: "]")) else { return .notThisProtocol }
            host = authority[(authority.startIndex + 1)..<close]
            afterHost = authority[(close + 1)...]
            let text = String(decoding: host, as: UTF8.self)
            guard let address = IPAddress(text), address.family == .ipv6 else { return .notThisProtocol }
        } else {
            let colon = authority.firstIndex(of: UInt8(ascii: ":")) ?? authority.endIndex
            host = authority[authority.startIndex..<colon]
            afterHost = authority[colon...]
            let text = String(decoding: host, as: UTF8.self)
            guard DomainName.problem(DomainName.normalize(text)) == nil else { return .notThisProtocol }
        }
        if let colon = afterHost.first {
            guard colon == UInt8(ascii: ":"),
                afterHost.dropFirst().allSatisfy({ (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0) })
            else { return .notThisProtocol }
        }
        return .found(String(decoding: host, as: UTF8.self))
    }

    /// tchar (RFC 9110 5.6.2).
    private static func isTokenByte(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
            UInt8(ascii: "0")...UInt8(ascii: "9"):
            true
        default: "!#$%&'*+-.^_`|~".utf8.contains(byte)
        }
    }

    private static func trimmedOWS(_ text: UnsafeRawBufferPointer.SubSequence) -> UnsafeRawBufferPointer.SubSequence {
        var result = text
        while let first = result.first, first == space || first == tab { result = result.dropFirst() }
        while let last = result.last, last == space || last == tab { result = result.dropLast() }
        return result
    }

    private static func equalsIgnoringCase(_ bytes: UnsafeRawBufferPointer.SubSequence, _ text: String) -> Bool {
        bytes.count == text.utf8.count && zip(bytes, text.utf8).allSatisfy { DomainName.lowercased($0) == $1 }
    }
}
