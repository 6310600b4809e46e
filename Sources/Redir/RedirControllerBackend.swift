import Config
import Controller
import NIOConcurrencyHelpers
import NIOCore
import ServerPool
import ShadowsocksProtocol

/// The running relay as the external controller sees it: the pool as one group, the registry's flows, the
/// bypass rules. Delay tests are real requests through a member, as the health probes make them.
struct RedirControllerBackend: ControllerBackend {
    let pool: ServerPool
    let registry: ConnectionRegistry
    let routes: RouteRules
    let addressBook: ServerAddressBook?
    let mark: UInt32?
    let eventLoop: EventLoop

    var version: String { "ss-redir \(SSRedirVersion.current)" }

    func proxyGroup() -> ProxyGroupView {
        let statuses = pool.statuses()
        let names = ControllerNames.memberNames(statuses.map(\.member))
        let members = zip(statuses, names).map { status, name in
            ProxyMemberView(
                name: name, udp: status.member.udp, up: status.health.up,
                latencyMilliseconds: status.health.latencyMilliseconds)
        }
        let pinned = pool.pinned.flatMap { pinned in statuses.firstIndex { $0.member == pinned }.map { names[$0] } }
        let strategy = pool.strategy
        let type: String
        switch strategy {
        case .failover: type = "Fallback"
        case .leastLatency: type = "URLTest"
        case .roundRobin, .random: type = "LoadBalance"
        }
        // What a new flow would get now (the pin, else the strategy's choice among healthy members).
        let healthy = members.filter(\.up)
        let candidates = healthy.isEmpty ? members : healthy
        let now: String
        if let pinned {
            now = pinned
        } else if strategy == .leastLatency {
            now =
                candidates.min { ($0.latencyMilliseconds ?? .infinity) < ($1.latencyMilliseconds ?? .infinity) }?.name
                ?? ""
        } else {
            now = candidates.first?.name ?? ""
        }
        return ProxyGroupView(name: ControllerNames.pool, type: type, members: members, now: now, pinned: pinned)
    }

    private func member(named name: String) -> ServerMember? {
        let members = pool.members
        return ControllerNames.memberNames(members).firstIndex(of: name).map { members[$0] }
    }

    func pin(member name: String?) -> Bool {
        guard let name else { return pool.pin(nil) }
        guard let member = member(named: name) else { return false }
        return pool.pin(member)
    }

    func delay(member name: String, target: DelayTarget, timeout: TimeAmount) async -> DelayOutcome {
        guard let member = member(named: name) else { return .unknownMember }
        let loop = eventLoop
        let started = NIODeadline.now()
        let (mark, addressBook) = (self.mark, self.addressBook)
        // The probe's bootstrap must be set up on its loop.
        let request = loop.flatSubmit {
            PoolProber.request(
                through: member, target: SocksAddress(host: target.host, port: target.port), targetHost: target.host,
                eventLoop: loop, mark: mark, addressBook: addressBook)
        }
        let outcome = loop.makePromise(of: DelayOutcome.self)
        // Whichever comes first completes the outcome.
        let done = NIOLockedValueBox(false)
        let first: @Sendable () -> Bool = {
            done.withLockedValue { wasDone in
                defer { wasDone = true }
                return !wasDone
            }
        }
        let timer = loop.scheduleTask(in: timeout) {
            if first() { outcome.succeed(.timeout) }
        }
        request.whenComplete { result in
            timer.cancel()
            guard first() else { return }
            switch result {
            case .success:
                let elapsed = NIODeadline.now() - started
                outcome.succeed(.milliseconds(max(1, Int(elapsed.nanoseconds / 1_000_000))))
            case .failure(let error):
                outcome.succeed(.failed(ConnectErrorText.describe(error)))
            }
        }
        return (try? await outcome.futureResult.get()) ?? .timeout
    }

    /// Member names for the flows' chains.
    private var names: [ServerMember: String] {
        let members = pool.members
        return Dictionary(zip(members, ControllerNames.memberNames(members)), uniquingKeysWith: { first, _ in first })
    }

    func flows() async -> [FlowView] {
        await registry.flows(names: names)
    }
    func closeFlow(id: String) -> Bool {
        registry.close(id: id)
    }

    func closeAllFlows() {
        registry.closeAll(associations: true)
    }

    func trafficTotals() async -> (up: UInt64, down: UInt64) {
        await registry.totals(names: names)
    }

    func rules() -> [RuleView] {
        let rules = routes.current
        var views: [RuleView] = []
        let lists = [
            ("bypass list", rules.bypassCounts, ControllerNames.direct),
            ("proxy list", rules.proxyCounts, ControllerNames.pool),
        ]
        for (list, counts, target) in lists {
            if counts.domains > 0 {
                views.append(
                    RuleView(type: "DomainSuffix", payload: "\(list) (domains)", proxy: target, size: counts.domains))
            }
            if counts.addresses > 0 {
                views.append(
                    RuleView(type: "IPCIDR", payload: "\(list) (addresses)", proxy: target, size: counts.addresses))
            }
        }
        views.append(
            RuleView(
                type: "Match", payload: "", proxy: rules.mode == .proxy ? ControllerNames.pool : ControllerNames.direct,
                size: 0))
        return views
    }
}
