import Config
import Netfilter

#if canImport(Glibc)
import Glibc
#endif

/// The prerouting and input filter chains of tables ss-redir does not own (fw4, Docker, a user's own), as
/// `nft -j list ruleset` prints them, and a walk of a NEW packet from the LAN through them: what our rules
/// deliver locally (redirected TCP, tproxied UDP/TCP) must be accepted by every one of them.
struct ForeignInputChains {
    struct Rule {
        var handle: String
        var comment: String?
        var matches: [JSONNode]
        var verdict: Verdict?
    }

    enum Verdict: Equatable {
        case accept, drop, `return`
        case jump(String), goto(String)
    }

    struct Chain {
        var family: String
        var table: String
        var name: String
        /// Base chains only: hook, priority and policy.
        var hook: String?
        var policyDrops = false
        var rules: [Rule] = []

        var label: String { "table \(family) \(table) chain \(name)" }
    }

    /// A NEW packet as the filter hooks see it after our rules took it.
    struct Probe {
        var interface: String?
        var proto: String
        var nfproto: String
        /// nil: any port (tproxy keeps the original destination port).
        var port: Int?
        /// Redirected TCP carries `ct status dnat`.
        var redirected: Bool

        var text: String {
            let port = port.map { " port \($0)" } ?? ""
            return "new \(nfproto) \(proto)\(port) from \(interface ?? "the LAN")\(redirected ? " (redirected)" : " (tproxied)")"
        }
    }

    struct Drop {
        var chain: Chain
        /// nil: the chain's policy.
        var rule: Rule?
    }

    var chains: [Chain] = []

    /// nil with the reason when `nft` is missing or its output cannot be read.
    static func load(excludingTable ours: String) -> (chains: ForeignInputChains?, problem: String?) {
        guard let text = runNFT() else { return (nil, "cannot run `nft -j list ruleset` (is nft installed?)") }
        guard let root = try? JSONDocument.parse(text), let items = root["nftables"]?.array else {
            return (nil, "cannot read the output of `nft -j list ruleset`")
        }
        var result = ForeignInputChains()
        var owned: Set<String> = []
        for item in items {
            if let table = item["table"], let family = table["family"]?.string, let name = table["name"]?.string {
                if name == ours || GatewayRuleset.isOwned(comment: table["comment"]?.string) {
                    owned.insert("\(family) \(name)")
                }
            }
            if let chain = item["chain"], let family = chain["family"]?.string, let table = chain["table"]?.string,
                let name = chain["name"]?.string, ["ip", "ip6", "inet"].contains(family)
            {
                let hook = chain["hook"]?.string
                let type = chain["type"]?.string
                var entry = Chain(family: family, table: table, name: name)
                if type == "filter", hook == "input" || hook == "prerouting" {
                    entry.hook = hook
                    entry.policyDrops = chain["policy"]?.string == "drop"
                }
                result.chains.append(entry)
            }
            if let rule = item["rule"], let family = rule["family"]?.string, let table = rule["table"]?.string,
                let chainName = rule["chain"]?.string, let expressions = rule["expr"]?.array,
                let index = result.chains.lastIndex(where: {
                    $0.family == family && $0.table == table && $0.name == chainName
                })
            {
                var parsed = Rule(
                    handle: rule["handle"]?.scalar ?? "?", comment: rule["comment"]?.string, matches: [], verdict: nil)
                for expression in expressions {
                    if expression["match"] != nil {
                        parsed.matches.append(expression)
                    } else if expression["accept"] != nil {
                        parsed.verdict = .accept
                    } else if expression["drop"] != nil || expression["reject"] != nil {
                        parsed.verdict = .drop
                    } else if expression["return"] != nil {
                        parsed.verdict = .return
                    } else if let target = expression["jump"]?["target"]?.string {
                        parsed.verdict = .jump(target)
                    } else if let target = expression["goto"]?["target"]?.string {
                        parsed.verdict = .goto(target)
                    }
                }
                result.chains[index].rules.append(parsed)
            }
        }
        result.chains.removeAll { owned.contains("\($0.family) \($0.table)") }
        return (result, nil)
    }

    /// Where the packet is dropped, in any base chain; empty when every one lets it through.
    func drops(_ probe: Probe) -> [Drop] {
        var found: [Drop] = []
        for chain in chains where chain.hook != nil && applies(chain.family, probe) {
            switch walk(chain, probe, depth: 0) {
            case .accepted: continue
            case .dropped(let drop): found.append(drop)
            case .fellThrough:
                if chain.policyDrops { found.append(Drop(chain: chain, rule: nil)) }
            }
        }
        return found
    }

    private enum Outcome {
        case accepted, fellThrough
        case dropped(Drop)
    }

    private func applies(_ family: String, _ probe: Probe) -> Bool {
        family == "inet" || (family == "ip" && probe.nfproto == "ipv4") || (family == "ip6" && probe.nfproto == "ipv6")
    }

    private func walk(_ chain: Chain, _ probe: Probe, depth: Int) -> Outcome {
        guard depth < 16 else { return .fellThrough }
        for rule in chain.rules {
            let matched = rule.matches.map { Self.evaluate($0, probe) }
            if matched.contains(false) { continue }
            let certain = !matched.contains(nil)
            switch rule.verdict {
            case .accept?:
                // A rule we cannot evaluate fully is given the benefit of the doubt: report only sure drops.
                return .accepted
            case .drop?:
                if certain { return .dropped(Drop(chain: chain, rule: rule)) }
            case .return?:
                if certain { return .fellThrough }
            case .jump(let target)?, .goto(let target)?:
                guard let next = chains.first(where: { $0.family == chain.family && $0.table == chain.table && $0.name == target })
                else { continue }
                switch walk(next, probe, depth: depth + 1) {
                case .accepted: return .accepted
                case .dropped(let drop): return .dropped(drop)
                case .fellThrough:
                    if case .goto = rule.verdict!, certain { return .fellThrough }
                }
            case nil:
                continue
            }
        }
        return .fellThrough
    }

    /// true / false when the match is understood, nil when it is not (or depends on what we do not know).
    static func evaluate(_ expression: JSONNode, _ probe: Probe) -> Bool? {
        guard let match = expression["match"], let left = match["left"], let right = match["right"] else { return nil }
        let op = match["op"]?.string ?? "=="
        let negated = op == "!="
        func result(_ value: Bool?) -> Bool? { value.map { negated ? !$0 : $0 } }
        if let key = left["meta"]?["key"]?.string {
            switch key {
            case "iifname", "iif":
                guard let interface = probe.interface else { return nil }
                return result(Self.values(right).contains { Self.interfaceMatches($0, interface) })
            case "l4proto":
                return result(Self.values(right).contains(probe.proto))
            case "nfproto":
                return result(Self.values(right).contains(probe.nfproto))
            default:
                return nil
            }
        }
        if let key = left["ct"]?["key"]?.string {
            let values = Self.values(right)
            switch key {
            case "state": return result(values.contains("new"))
            case "status": return values == ["dnat"] ? result(probe.redirected) : nil
            default: return nil
            }
        }
        if let payload = left["payload"], let field = payload["field"]?.string {
            let proto = payload["protocol"]?.string
            if let proto, ["tcp", "udp"].contains(proto), proto != probe.proto { return false }
            guard field == "dport", proto == "tcp" || proto == "udp" || proto == "th" else { return nil }
            guard let port = probe.port else { return nil }
            return result(Self.portMatches(right, port))
        }
        return nil
    }

    private static func values(_ node: JSONNode) -> [String] {
        if let single = node.scalar { return [single] }
        if let list = node.array ?? node["set"]?.array { return list.compactMap(\.scalar) }
        return []
    }

    private static func interfaceMatches(_ pattern: String, _ name: String) -> Bool {
        pattern.hasSuffix("*") ? name.hasPrefix(pattern.dropLast()) : pattern == name
    }

    private static func portMatches(_ node: JSONNode, _ port: Int) -> Bool? {
        if let value = node.scalar.flatMap({ Int($0) }) { return value == port }
        if let range = node["range"]?.array, range.count == 2, let low = range[0].scalar.flatMap({ Int($0) }),
            let high = range[1].scalar.flatMap({ Int($0) })
        {
            return (low...high).contains(port)
        }
        if let list = node["set"]?.array {
            var unknown = false
            for element in list {
                switch portMatches(element, port) {
                case true?: return true
                case nil: unknown = true
                case false?: break
                }
            }
            return unknown ? nil : false
        }
        return nil
    }

    private static func runNFT() -> String? {
        guard let pipe = popen("nft -j list ruleset 2>/dev/null", "r") else { return nil }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 1 << 16)
        while true {
            let count = chunk.withUnsafeMutableBytes { fread($0.baseAddress, 1, $0.count, pipe) }
            if count <= 0 { break }
            bytes += chunk[0..<count]
            if bytes.count > 64 << 20 { break }
        }
        guard pclose(pipe) == 0, !bytes.isEmpty else { return nil }
        return String(decoding: bytes, as: UTF8.self)
    }
}

extension JSONNode {
    subscript(key: String) -> JSONNode? {
        guard case .object(let fields) = value else { return nil }
        return fields.first { $0.key == key }?.node
    }

    var string: String? {
        if case .string(let text) = value { return text }
        return nil
    }

    /// A string or a number, as text.
    var scalar: String? {
        switch value {
        case .string(let text), .number(let text): text
        default: nil
        }
    }

    var array: [JSONNode]? {
        if case .array(let items) = value { return items }
        return nil
    }
}
