/// The outcome of a lookup, with the entry that decided it (resolve it with `BypassRules.origin(of:)`).
public enum RuleDecision: Sendable, Hashable {
    case proxy(RuleSource)
    case bypass(RuleSource)

    public init(_ action: RuleAction, _ source: RuleSource) {
        self = action == .proxy ? .proxy(source) : .bypass(source)
    }

    public var action: RuleAction {
        switch self {
        case .proxy: .proxy
        case .bypass: .bypass
        }
    }

    public var source: RuleSource {
        switch self {
        case .proxy(let source), .bypass(let source): source
        }
    }
}
