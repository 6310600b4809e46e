import ShadowsocksCrypto

/// SIP002 `ss://` URIs: `ss://USERINFO@HOST:PORT[/][?plugin=NAME;OPTIONS][#NAME]` (the plugin parameter URL-encoded), where USERINFO is
/// base64url("method:password") without padding, or percent-encoded "method:password" (the SIP022 form).
/// The legacy form `ss://BASE64(method:password@host:port)[#NAME]` is accepted too.
public enum ServerURI {
    public static func parse(_ text: String, origin: String) throws(ConfigError) -> ServerSpec {
        func fail(_ what: String) -> ConfigError {
            ConfigError("\(origin): \(what) in \"\(redacted(text))\"; expected ss://BASE64(method:password)@host:port#name (SIP002)")
        }
        guard text.hasPrefix("ss://") else { throw fail("not an ss:// URI") }
        var rest = Substring(text.dropFirst("ss://".count))
        var spec = ServerSpec(origin: origin)
        spec.inheritsPlugin = false
        if let hash = rest.firstIndex(of: "#") {
            spec.name = percentDecoded(rest[rest.index(after: hash)...])
            rest = rest[..<hash]
        }
        var query: Substring = ""
        if let question = rest.firstIndex(of: "?") {
            query = rest[rest.index(after: question)...]
            rest = rest[..<question]
        }
        if rest.hasSuffix("/") { rest = rest.dropLast() }
        for parameter in query.split(separator: "&") {
            let pair = parameter.split(separator: "=", maxSplits: 1)
            if pair.first == "plugin", pair.count == 2, let plugin = PluginSpec.fromSIP002(percentDecoded(pair[1])) {
                spec.plugin = plugin.program
                spec.pluginOptions = plugin.options
            }
        }
        let userInfo: String
        let hostPort: Substring
        if let at = rest.lastIndex(of: "@") {
            let rawUser = rest[..<at]
            hostPort = rest[rest.index(after: at)...]
            if let decoded = base64Decoded(rawUser), decoded.contains(":") {
                userInfo = decoded
            } else {
                userInfo = percentDecoded(rawUser)
            }
        } else {
            // Legacy: the whole "method:password@host:port" is base64.
            guard let decoded = base64Decoded(rest), let at = decoded.lastIndex(of: "@") else {
                throw fail("no user info")
            }
            userInfo = String(decoded[..<at])
            hostPort = Substring(decoded[decoded.index(after: at)...])
        }
        guard let colon = userInfo.firstIndex(of: ":") else { throw fail("user info is not method:password") }
        spec.method = String(userInfo[..<colon])
        spec.password = String(userInfo[userInfo.index(after: colon)...])
        guard let (host, port) = splitHostPort(hostPort) else { throw fail("no host:port") }
        spec.host = host
        spec.port = port
        return spec
    }

    /// "host:port" or "[v6]:port".
    static func splitHostPort(_ text: Substring) -> (String, String)? {
        if text.hasPrefix("[") {
            guard let close = text.firstIndex(of: "]") else { return nil }
            let host = text[text.index(after: text.startIndex)..<close]
            let after = text[text.index(after: close)...]
            guard after.hasPrefix(":"), after.count > 1 else { return nil }
            return (String(host), String(after.dropFirst()))
        }
        guard let colon = text.lastIndex(of: ":"), colon != text.startIndex else { return nil }
        let port = text[text.index(after: colon)...]
        guard !port.isEmpty else { return nil }
        return (String(text[..<colon]), String(port))
    }

    static func base64Decoded(_ text: Substring) -> String? {
        Base64Key.decode(String(text)).flatMap { String(validating: $0, as: UTF8.self) }
    }

    static func percentDecoded(_ text: Substring) -> String {
        var bytes: [UInt8] = []
        var index = text.utf8.startIndex
        let utf8 = text.utf8
        while index < utf8.endIndex {
            let byte = utf8[index]
            if byte == UInt8(ascii: "%"),
                let high = utf8.index(index, offsetBy: 1, limitedBy: utf8.endIndex), high < utf8.endIndex,
                let low = utf8.index(index, offsetBy: 2, limitedBy: utf8.endIndex), low < utf8.endIndex,
                let value = UInt8(String(decoding: [utf8[high], utf8[low]], as: UTF8.self), radix: 16)
            {
                bytes.append(value)
                index = utf8.index(after: low)
            } else {
                bytes.append(byte)
                index = utf8.index(after: index)
            }
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// The URI with its user info hidden, so an error line never shows a password.
    static func redacted(_ text: String) -> String {
        guard let at = text.lastIndex(of: "@") else { return "ss://…" }
        return "ss://…" + text[at...]
    }
}
