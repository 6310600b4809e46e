#if canImport(Glibc)
import Glibc
#endif

/// The `bypass4_dns` / `bypass6_dns` timeout sets of the table `ss-redir setup` installed, filled while the daemon
/// runs: the DNS forwarder adds the addresses it answered for bypass domains, each for its answer's TTL, so later
/// connections to them skip the proxy in the kernel. One netlink socket; each `add` is one small batch (no table
/// rebuild). Not thread-safe: use it from one thread or actor at a time.
public final class DNSBypassSets {
    /// TTLs below this are raised to it: the client connects only after the answer reached it, and a TTL of 0 (valid
    /// for that one use, RFC 1035 §3.2.1) would otherwise be gone first; an element timeout of 0 would even mean
    /// "never expires" to the kernel.
    public static let minimumTimeoutSeconds: UInt32 = 60
    /// TTLs above this are lowered to it: RFC 2181 §8 allows up to 2^31 - 1 s, and a day bounds how long an address
    /// that moved to another site (or a full set) keeps going direct.
    public static let maximumTimeoutSeconds: UInt32 = 86_400

    public let family: NftFamily
    public let table: String
    public let connection: NftConnection
    /// Batches take numbers from a range that `NftBatchEncoder.replace` (from 1) and lookups (from 2^31) leave alone.
    private var sequence: UInt32 = 0x4000_0000

    /// Opens its own netlink socket (in the caller's network namespace).
    public convenience init(table: String = "ss_redir", family: NftFamily = .inet) throws(NetfilterError) {
        self.init(connection: try NftConnection(), table: table, family: family)
    }

    /// Over an existing socket. A table made with `ownedBySocket` (run --auto-setup) can only be changed through the
    /// socket that made it (the kernel answers EPERM to any other), so pass that one.
    public init(connection: NftConnection, table: String = "ss_redir", family: NftFamily = .inet) {
        self.connection = connection
        self.table = table
        self.family = family
    }

    /// The timeout an answer with this TTL gets, in seconds.
    public static func timeout(forTTL ttl: UInt32) -> UInt32 {
        min(max(ttl, minimumTimeoutSeconds), maximumTimeoutSeconds)
    }

    /// Whether the table has both sets as timeout sets: setup is in use and `add` can work. Throws when the kernel
    /// cannot be asked (socket failure, no CAP_NET_ADMIN), not when something is missing.
    public func exists() throws(NetfilterError) -> Bool {
        for keyFamily in IPFamily.allCases {
            let name = GatewayRuleset.dnsBypassSet(keyFamily)
            guard let set = try connection.set(family: family, table: table, name: name), set.hasTimeout,
                set.keyLength == keyFamily.byteCount
            else { return false }
        }
        return true
    }

    public struct AddReport: Sendable, Equatable {
        /// Distinct addresses sent per set (an address listed twice counts once, with its longest timeout).
        public var ipv4: Int
        public var ipv6: Int
        /// NEWSETELEM messages in the batch (at most 1,024 elements each).
        public var messages: Int
    }

    /// Adds (or refreshes) the addresses, IPv4 into `bypass4_dns` and IPv6 into `bypass6_dns`, in one transaction:
    /// all of them or, on an error, none. Timeouts are DNS TTLs, clamped by `timeout(forTTL:)`. An address already in
    /// the set gets the new timeout and its countdown restarts (shorter or longer) on kernels with element timeout
    /// updates (commit 4201f3938914, 2024; checked on 6.18); older kernels accept it and keep its old expiry.
    @discardableResult
    public func add(_ addresses: [(IPAddress, timeoutSeconds: UInt32)]) throws(NetfilterError) -> AddReport {
        var longest: [IPAddress: UInt32] = [:]
        for (address, ttl) in addresses {
            longest[address] = max(longest[address] ?? 0, Self.timeout(forTTL: ttl))
        }
        var perFamily: [IPFamily: [NftBatchEncoder.TimedElement]] = [:]
        for (address, seconds) in longest.sorted(by: { $0.key < $1.key }) {
            perFamily[address.family, default: []].append(
                NftBatchEncoder.TimedElement(address: address, timeoutMilliseconds: UInt64(seconds) * 1000))
        }
        let sets = IPFamily.allCases.compactMap { keyFamily in
            perFamily[keyFamily].map { (name: GatewayRuleset.dnsBypassSet(keyFamily), elements: $0) }
        }
        var report = AddReport(ipv4: perFamily[.ipv4]?.count ?? 0, ipv6: perFamily[.ipv6]?.count ?? 0, messages: 0)
        guard !sets.isEmpty else { return report }
        let batch = NftBatchEncoder.addTimedElements(
            family: family, table: table, sets: sets, firstSequence: sequence)
        sequence &+= UInt32(batch.messageCount + 2)
        if sequence < 0x4000_0000 || sequence >= 0x8000_0000 { sequence = 0x4000_0000 }
        report.messages = batch.messageCount
        do {
            try connection.commit(batch)
        } catch {
            throw explain(error, sets: sets.map(\.name))
        }
        return report
    }

    /// The kernel's answer in the words of this job: which part of setup is missing, or who owns the table.
    private func explain(_ failure: NetfilterError, sets: [String]) -> NetfilterError {
        let qualified = "\(family.rawValue) \(table)"
        let prefix = "cannot add DNS bypass addresses"
        switch failure.errno {
        case ENOENT?:
            let installed: InstalledTable?
            do { installed = try connection.table(family: family, name: table) } catch { return failure }
            guard installed != nil else {
                return NetfilterError(
                    .notInstalled,
                    "\(prefix): no table \(qualified) (setup is not in use): run `ss-redir setup` or `ss-redir run --auto-setup` first",
                    errno: ENOENT)
            }
            let missing = sets.filter { name in
                do { return try connection.set(family: family, table: table, name: name) == nil } catch { return false }
            }
            return NetfilterError(
                .notInstalled,
                "\(prefix): table \(qualified) has no set \(missing.first ?? sets.joined(separator: "/")) "
                    + "(installed by an older ss-redir setup): run `ss-redir setup` again",
                errno: ENOENT)
        case EPERM?:
            if let installed = try? connection.table(family: family, name: table), installed.ownedBySocket,
                installed.ownerPortID != connection.portID
            {
                return NetfilterError(
                    .rejected,
                    "\(prefix): table \(qualified) belongs to another netlink socket (made by run --auto-setup): "
                        + "add through the connection that created it",
                    errno: EPERM)
            }
            return NetfilterError(.rejected, "\(prefix): \(failure.message)", errno: EPERM)
        case ENFILE?:
            let full = sets.map { name -> String in
                let installed = try? connection.set(family: family, table: table, name: name)
                let size = installed?.maxElements
                return size.map { "\(name) (size \($0))" } ?? name
            }
            return NetfilterError(
                .rejected,
                "\(prefix): set \(full.joined(separator: " or ")) of table \(qualified) is full; nothing was added, "
                    + "these destinations stay proxied until older addresses expire",
                errno: ENFILE)
        default:
            return NetfilterError(failure.kind, "\(prefix): \(failure.message)", errno: failure.errno)
        }
    }
}
