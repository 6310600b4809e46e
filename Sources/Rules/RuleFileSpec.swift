/// One `--rules` argument: a file and the list its entries join.
public struct RuleFileSpec: Sendable, Hashable, CustomStringConvertible {
    public var path: String
    public var list: RuleList
    public var format: RuleFileFormat

    public init(path: String, list: RuleList = .bypass, format: RuleFileFormat = .auto) {
        self.path = path
        self.list = list
        self.format = format
    }

    /// `FILE` or `bypass:FILE` (the bypass list), `proxy:FILE` (the proxy list). A file whose name starts with
    /// one of these prefixes is written `./proxy:…`.
    public init(argument: String) {
        if argument.hasPrefix("proxy:") {
            self.init(path: String(argument.dropFirst("proxy:".count)), list: .proxy)
        } else if argument.hasPrefix("bypass:") {
            self.init(path: String(argument.dropFirst("bypass:".count)), list: .bypass)
        } else {
            self.init(path: argument, list: .bypass)
        }
    }

    public var description: String { list == .proxy ? "proxy:\(path)" : path }
}
