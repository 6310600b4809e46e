import IPAddresses
import Logging
import NIOConcurrencyHelpers
import NIOCore
import Netfilter

/// Addresses the forwarder answered for bypassed names, put into setup's `bypass4_dns`/`bypass6_dns` sets so the
/// kernel lets later connections to them go direct without reaching ss-redir. Without setup's table (plain
/// iptables, or rules made by hand) the decision stays in ss-redir's own rules and this does nothing.
final class KernelBypassSets: @unchecked Sendable {
    private let lock = NIOLock()
    private var sets: DNSBypassSets?
    private var nextCheck = NIODeadline.uptimeNanoseconds(0)
    private var warned = false
    private let makeSets: () throws -> DNSBypassSets
    private let logger: Logger
    static let recheckInterval: TimeAmount = .seconds(30)

    /// `connection`: the netlink socket that owns an --auto-setup table (only it may change that table).
    init(connection: NftConnection? = nil, logger: Logger) {
        self.logger = logger
        if let connection {
            makeSets = { DNSBypassSets(connection: connection) }
        } else {
            makeSets = { try DNSBypassSets() }
        }
    }

    func add(_ addresses: [IPAddress], ttlSeconds: UInt32, name: String) {
        guard !addresses.isEmpty else { return }
        let timeout = DNSBypassSets.timeout(forTTL: ttlSeconds)
        lock.withLock {
            let now = NIODeadline.now()
            if sets == nil {
                guard now >= nextCheck else { return }
                nextCheck = now + Self.recheckInterval
                do {
                    let candidate = try makeSets()
                    guard try candidate.exists() else {
                        note("no table inet ss_redir with bypass4_dns/bypass6_dns (ss-redir setup not in use): bypassed names are decided in ss-redir only")
                        return
                    }
                    sets = candidate
                    logger.notice("dns: adding the addresses of bypassed names to the kernel sets bypass4_dns/bypass6_dns")
                } catch {
                    note("cannot reach the kernel bypass sets: \(error)")
                    return
                }
            }
            do {
                try sets?.add(addresses.map { ($0, timeoutSeconds: timeout) })
                logger.debug("dns: \(name): \(addresses.count) address(es) in the kernel bypass sets for \(timeout)s")
            } catch {
                // The table went away (teardown, another setup): look for it again later.
                sets = nil
                nextCheck = now + Self.recheckInterval
                note("cannot add to the kernel bypass sets: \(error)")
            }
        }
    }

    private func note(_ message: String) {
        if !warned {
            warned = true
            logger.notice("dns: \(message)")
        } else {
            logger.debug("dns: \(message)")
        }
    }
}

/// The netlink socket of an --auto-setup table, handed to the DNS forwarder. Used from one place at a time:
/// the forwarder (under `KernelBypassSets`' lock) while running, the table's removal after it stopped.
public final class OwnedTableConnection: @unchecked Sendable {
    let connection: NftConnection
    public init(_ connection: NftConnection) { self.connection = connection }
}
