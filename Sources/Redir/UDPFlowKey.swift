import CShadowsocksLinux

/// A TPROXYed flow (LAN source, original destination) as plain words, hashed without building socket addresses:
/// the receiver thread looks one up per datagram. Packed by the C shim from the normalized addresses.
struct UDPFlowKey: Hashable, Sendable {
    let words: (UInt64, UInt64, UInt64, UInt64, UInt64)

    init(_ datagram: c_ss_datagram) {
        words = datagram.flow
    }

    static func == (lhs: UDPFlowKey, rhs: UDPFlowKey) -> Bool {
        lhs.words.0 == rhs.words.0 && lhs.words.1 == rhs.words.1 && lhs.words.2 == rhs.words.2
            && lhs.words.3 == rhs.words.3 && lhs.words.4 == rhs.words.4
    }

    func hash(into hasher: inout Hasher) {
        hasher.combine(words.0)
        hasher.combine(words.1)
        hasher.combine(words.2)
        hasher.combine(words.3)
        hasher.combine(words.4)
    }
}
