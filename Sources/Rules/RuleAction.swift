/// What happens to a connection: relayed through the Shadowsocks server, or connected directly.
public enum RuleAction: Sendable, Hashable, CustomStringConvertible {
    case proxy, bypass

    public var description: String { self == .proxy ? "proxy" : "bypass" }
}
