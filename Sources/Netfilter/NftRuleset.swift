/// An nftables table as a value: what `setup` installs, what `--dry-run` prints and what goes into the netlink
/// batch. Only the handful of expressions a transparent gateway needs are modelled; each renders to nft text
/// (`NftTextRenderer`) and lowers to the kernel's expressions (`NftBatchEncoder`) the way `nft` itself does.
public struct NftTable: Sendable, Equatable {
    public var family: NftFamily
    public var name: String
    /// Stored in the kernel (table user data, shown by `nft list`); `setup` marks its tables with it.
    public var comment: String?
    /// NFT_TABLE_F_OWNER (kernel 5.12): the table lives only as long as the netlink socket that created it.
    public var ownedBySocket: Bool
    public var sets: [NftSet]
    public var chains: [NftChain]

    public init(
        family: NftFamily = .inet, name: String, comment: String? = nil, ownedBySocket: Bool = false,
        sets: [NftSet] = [], chains: [NftChain] = []
    ) {
        self.family = family
        self.name = name
        self.comment = comment
        self.ownedBySocket = ownedBySocket
        self.sets = sets
        self.chains = chains
    }

    public var ruleCount: Int { chains.reduce(0) { $0 + $1.rules.count } }
}

public enum NftFamily: String, Sendable, Equatable {
    case inet, ip, ip6

    /// NFPROTO_INET, NFPROTO_IPV4, NFPROTO_IPV6 (linux/netfilter.h).
    var protocolFamily: UInt16 {
        switch self {
        case .inet: 1
        case .ip: 2
        case .ip6: 10
        }
    }
}

/// A named set of IPv4 or IPv6 addresses: an interval set filled by the table's batch
/// (`type ipv4_addr; flags interval`), or a timeout set filled at run time (`flags timeout; size N`).
public struct NftSet: Sendable, Equatable {
    public enum Kind: Sendable, Equatable {
        /// `flags interval`: the `ranges` go into the batch that creates the table.
        case interval
        /// `flags timeout`, `size maxElements`: starts empty; single addresses are added later, each with its own
        /// timeout (`DNSBypassSets`). The kernel refuses elements beyond `maxElements` (ENFILE).
        case timeout(maxElements: UInt32)
    }

    public var name: String
    public var keyFamily: IPFamily
    public var kind: Kind
    /// Interval sets only (a timeout set is created empty; ranges given to one are ignored). Sorted, disjoint, not adjacent: build them with
    /// `AddressIntervals`. Sent as given.
    public var ranges: [IPRange]
    /// Printed above the set in nft text only.
    public var note: String?

    public init(name: String, keyFamily: IPFamily, ranges: [IPRange], note: String? = nil) {
        self.name = name
        self.keyFamily = keyFamily
        self.kind = .interval
        self.ranges = ranges
        self.note = note
    }

    public init(name: String, intervals: AddressIntervals, note: String? = nil) {
        self.init(name: name, keyFamily: intervals.family, ranges: intervals.ranges, note: note)
    }

    /// An empty set whose elements expire on their own.
    public static func timeout(name: String, keyFamily: IPFamily, maxElements: UInt32, note: String? = nil) -> NftSet {
        var set = NftSet(name: name, keyFamily: keyFamily, ranges: [], note: note)
        set.kind = .timeout(maxElements: maxElements)
        return set
    }
}

public struct NftChain: Sendable, Equatable {
    public var name: String
    /// nil for a regular chain (reached by `jump`).
    public var base: NftBaseChain?
    public var rules: [NftRule]
    /// Printed above the chain in nft text only.
    public var note: String?

    public init(name: String, base: NftBaseChain? = nil, rules: [NftRule] = [], note: String? = nil) {
        self.name = name
        self.base = base
        self.rules = rules
        self.note = note
    }
}

public struct NftBaseChain: Sendable, Equatable {
    public enum ChainType: String, Sendable { case filter, nat, route }

    public enum Hook: String, Sendable {
        case prerouting, input, forward, output, postrouting

        /// NF_INET_PRE_ROUTING ... NF_INET_POST_ROUTING (linux/netfilter.h).
        var number: UInt32 {
            switch self {
            case .prerouting: 0
            case .input: 1
            case .forward: 2
            case .output: 3
            case .postrouting: 4
            }
        }
    }

    public var type: ChainType
    public var hook: Hook
    public var priority: Int32
    public var policy: NftVerdict

    /// nft's standard priorities (nft(8), "CHAIN PRIORITIES"): tproxy works only at mangle in prerouting,
    /// redirect belongs at dstnat.
    public static let manglePriority: Int32 = -150
    public static let dstnatPriority: Int32 = -100

    public init(type: ChainType, hook: Hook, priority: Int32, policy: NftVerdict = .accept) {
        self.type = type
        self.hook = hook
        self.priority = priority
        self.policy = policy
    }
}

/// `matches`, then `statements`, then an optional verdict, like nft's own rule syntax.
public struct NftRule: Sendable, Equatable {
    public var matches: [NftMatch]
    public var statements: [NftStatement]
    public var verdict: NftVerdict?
    /// Printed as a `#` line above the rule in nft text only.
    public var note: String?

    public init(
        _ matches: [NftMatch], _ statements: [NftStatement] = [], verdict: NftVerdict? = nil, note: String? = nil
    ) {
        self.matches = matches
        self.statements = statements
        self.verdict = verdict
        self.note = note
    }
}

public enum NftMatch: Sendable, Equatable {
    /// `iifname "br-lan"`; a trailing `*` matches a prefix (`"ppp*"`).
    case inputInterface(String, negated: Bool = false)
    /// `meta l4proto tcp`
    case transportProtocol(NftTransportProtocol)
    /// `udp dport 53` (implies the protocol).
    case destinationPort(NftTransportProtocol, UInt16)
    /// `meta mark 0x1`
    case mark(UInt32, negated: Bool = false)
    /// `meta mark & MASK == VALUE`: only the bits of the mask count (other tools own the rest).
    case markBits(UInt32, mask: UInt32, negated: Bool = false)
    /// `ct direction reply`
    case conntrackReplyDirection
    /// `fib daddr type local`: addressed to this host.
    case destinationIsLocal
    /// `fib daddr . iif oif exists`: the destination is reached through the interface the packet came in on
    /// (LAN-to-LAN, e.g. bridged frames that br_netfilter shows to the IP hooks).
    case destinationOnInputInterface
    /// `ip daddr @set` / `ip6 daddr != @set`
    case destinationInSet(IPFamily, set: String, negated: Bool = false)
}

public enum NftTransportProtocol: String, Sendable, Equatable {
    case tcp, udp

    /// IPPROTO_TCP, IPPROTO_UDP.
    var number: UInt8 { self == .tcp ? 6 : 17 }
}

public enum NftStatement: Sendable, Equatable {
    /// `redirect to :PORT`: destination NAT to the incoming interface's primary address (nat chains).
    case redirect(port: UInt16)
    /// `tproxy to :PORT`: hand the packet to a transparent socket on this port (prerouting at mangle).
    case tproxy(port: UInt16)
    /// `meta mark set 0x1`
    case setMark(UInt32)
    /// `meta mark set meta mark & ~MASK | VALUE`: sets the bits of the mask and keeps every other bit.
    case setMarkBits(UInt32, mask: UInt32)
}

public enum NftVerdict: Sendable, Equatable {
    case accept, drop, `return`
    case jump(String)
    case goto(String)
}
