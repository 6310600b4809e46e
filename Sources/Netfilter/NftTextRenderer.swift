/// Renders a table as an `nft -f` script: what `setup --dry-run` prints and what the `nftables/` templates are.
/// Loading the script has the same effect as the netlink batch `NftBatchEncoder` builds from the same value: the
/// first two commands make sure the table exists and delete it, so the block after them replaces it atomically.
public enum NftTextRenderer {
    /// `header` lines become `#` comments at the top; `notes` of sets, chains and rules become `#` comments too.
    public static func render(_ table: NftTable, header: [String] = []) -> String {
        var out = "#!/usr/sbin/nft -f\n"
        for line in header { out += comment(line, indent: "") }
        let qualified = "\(table.family.rawValue) \(table.name)"
        out +=
            "\n# Create the table if it is missing, then delete it: the block below replaces it in one transaction.\n"
        out += "table \(qualified)\ndelete table \(qualified)\n\n"
        out += "table \(qualified) {\n"
        if let text = table.comment { out += "\tcomment \(quoted(text))\n" }
        if table.ownedBySocket { out += "\tflags owner\n" }
        for set in table.sets {
            out += "\n"
            if let note = set.note { out += comment(note, indent: "\t") }
            out += "\tset \(set.name) {\n"
            out += "\t\ttype \(set.keyFamily == .ipv4 ? "ipv4_addr" : "ipv6_addr")\n"
            switch set.kind {
            case .interval:
                out += "\t\tflags interval\n"
            case .timeout(let maxElements):
                // The order `nft list` prints them in.
                out += "\t\tsize \(maxElements)\n"
                out += "\t\tflags timeout\n"
            }
            if set.kind == .interval && !set.ranges.isEmpty {
                out += "\t\telements = {\n"
                for (index, range) in set.ranges.enumerated() {
                    out += "\t\t\t\(range)\(index == set.ranges.count - 1 ? "" : ",")\n"
                }
                out += "\t\t}\n"
            }
            out += "\t}\n"
        }
        for chain in table.chains {
            out += "\n"
            if let note = chain.note { out += comment(note, indent: "\t") }
            out += "\tchain \(chain.name) {\n"
            if let base = chain.base {
                out += "\t\ttype \(base.type.rawValue) hook \(base.hook.rawValue) priority \(priority(base)); "
                out += "policy \(verdict(base.policy));\n"
            }
            for rule in chain.rules {
                if let note = rule.note { out += comment(note, indent: "\t\t") }
                out += "\t\t\(render(rule))\n"
            }
            out += "\t}\n"
        }
        out += "}\n"
        return out
    }

    /// One rule in nft syntax, e.g. `ip daddr @bypass4 return`.
    public static func render(_ rule: NftRule) -> String {
        var words = rule.matches.map(render)
        words += rule.statements.map(render)
        if let final = rule.verdict { words.append(verdict(final)) }
        return words.joined(separator: " ")
    }

    static func render(_ match: NftMatch) -> String {
        switch match {
        case .inputInterface(let name, let negated):
            "iifname \(negated ? "!= " : "")\(quoted(name))"
        case .transportProtocol(let proto):
            "meta l4proto \(proto.rawValue)"
        case .destinationPort(let proto, let port):
            "\(proto.rawValue) dport \(port)"
        case .mark(let value, let negated):
            "meta mark \(negated ? "!= " : "")\(hex(value))"
        case .markBits(let value, let mask, let negated):
            "meta mark & \(hex8(mask)) \(negated ? "!=" : "==") \(hex8(value))"
        case .conntrackReplyDirection:
            "ct direction reply"
        case .destinationIsLocal:
            "fib daddr type local"
        case .destinationOnInputInterface:
            "fib daddr . iif oif exists"
        case .destinationInSet(let family, let set, let negated):
            "\(family == .ipv4 ? "ip" : "ip6") daddr \(negated ? "!= " : "")@\(set)"
        }
    }

    static func render(_ statement: NftStatement) -> String {
        switch statement {
        case .redirect(let port): "redirect to :\(port)"
        case .tproxy(let port): "tproxy to :\(port)"
        case .setMark(let value): "meta mark set \(hex(value))"
        case .setMarkBits(let value, let mask): "meta mark set meta mark & \(hex8(~mask)) | \(hex8(value))"
        }
    }

    static func verdict(_ verdict: NftVerdict) -> String {
        switch verdict {
        case .accept: "accept"
        case .drop: "drop"
        case .return: "return"
        case .jump(let chain): "jump \(chain)"
        case .goto(let chain): "goto \(chain)"
        }
    }

    static func hex(_ value: UInt32) -> String { "0x" + String(value, radix: 16) }

    /// Eight digits, as nft prints masks.
    static func hex8(_ value: UInt32) -> String {
        let digits = String(value, radix: 16)
        return "0x" + String(repeating: "0", count: 8 - digits.count) + digits
    }

    /// The names nft itself prints for the standard priorities.
    private static func priority(_ base: NftBaseChain) -> String {
        switch (base.priority, base.hook) {
        case (NftBaseChain.manglePriority, _): "mangle"
        case (NftBaseChain.dstnatPriority, .prerouting): "dstnat"
        default: String(base.priority)
        }
    }

    private static func quoted(_ text: String) -> String { "\"\(text)\"" }

    private static func comment(_ text: String, indent: String) -> String {
        text.split(separator: "\n", omittingEmptySubsequences: false)
            .map { $0.isEmpty ? "\(indent)#\n" : "\(indent)# \($0)\n" }.joined()
    }
}
