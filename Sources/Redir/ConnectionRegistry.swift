import Config
import Controller
import Logging
import NIOConcurrencyHelpers
import NIOCore
import ShadowsocksProtocol

/// The relayed LAN connections that are open: so shutdown can let them finish and then close the rest, and
/// so the controller can list them (`RelayedFlow`) and close one. The lock is taken once when a connection
/// opens and once when it closes, never per relayed chunk.
package final class ConnectionRegistry: Sendable {
    private struct Entry: Sendable {
        let eventLoop: EventLoop
        let flow: NIOLoopBound<RelayedFlow>
        let close: @Sendable () -> Void
    }

    private struct State {
        /// TCP connections (what shutdown drains and status counts).
        var entries: [UInt64: Entry] = [:]
        /// UDP associations, listed for the controller only (the UDP front ends them itself).
        var associations: [UInt64: Entry] = [:]
        var lastSerial: UInt64 = 0
        /// Bytes of the flows that have closed (the open ones are read from their handlers).
        var closedUp: UInt64 = 0
        var closedDown: UInt64 = 0
    }

    private let state = NIOLockedValueBox(State())
    /// Open TCP connections per LAN host, counted only with `--max-connections-per-client`.
    private let perClient = NIOLockedValueBox(ClientCounts())
    private struct ClientCounts {
        var open: [[UInt8]: Int] = [:]
        /// Hosts refused since they were last down to half their limit (one log line each: a host churning at
        /// the limit does not log once per freed slot).
        var refused: Set<[UInt8]> = []
    }
    /// The last listing: however many dashboards poll, the relay loops are asked at most every `snapshotAge`.
    private let lastSnapshot = NIOLockedValueBox<(at: NIODeadline, views: [FlowView])?>(nil)
    static let snapshotAge: TimeAmount = .milliseconds(250)

    package init() {}

    /// Tracks `channel` until it closes; returns its flow record (to be filled in on the channel's loop).
    @discardableResult
    package func track(_ channel: Channel, inbound: String = "Redir") -> RelayedFlow {
        let flow = RelayedFlow(inbound: inbound, source: channel.remoteAddress)
        let bound = NIOLoopBound(flow, eventLoop: channel.eventLoop)
        let entry = Entry(eventLoop: channel.eventLoop, flow: bound, close: { channel.close(promise: nil) })
        let id = state.withLockedValue { state in
            state.lastSerial &+= 1
            state.entries[state.lastSerial] = entry
            return state.lastSerial
        }
        flow.serial = id
        channel.closeFuture.whenComplete { [state] _ in
            let (up, down) = bound.value.bytes
            state.withLockedValue {
                $0.entries.removeValue(forKey: id)
                $0.closedUp &+= up
                $0.closedDown &+= down
            }
        }
        return flow
    }

    /// Counts `channel` against its host's `limit` until it closes. Not admitted: the host has `limit` open;
    /// `firstRefusal` is true once per stretch at the limit (until the host is down to half), for one log line.
    package func admit(_ channel: Channel, limit: Int) -> (admitted: Bool, firstRefusal: Bool) {
        guard let host = channel.remoteAddress?.normalizedIPBytes else { return (true, false) }
        let result = perClient.withLockedValue { counts -> (Bool, Bool) in
            let open = counts.open[host, default: 0]
            guard open < limit else { return (false, counts.refused.insert(host).inserted) }
            counts.open[host] = open + 1
            return (true, false)
        }
        if result.0 {
            channel.closeFuture.whenComplete { [perClient] _ in
                perClient.withLockedValue { counts in
                    let left = counts.open[host, default: 1] - 1
                    counts.open[host] = left > 0 ? left : nil
                    if left <= limit / 2 { counts.refused.remove(host) }
                }
            }
        }
        return result
    }

    /// `admit` with the configured limit (nil: none) and the one warning a refused host gets; false: close it.
    package func admit(_ channel: Channel, limit: Int?, logger: Logger, listener: String) -> Bool {
        guard let limit else { return true }
        let (admitted, firstRefusal) = admit(channel, limit: limit)
        if firstRefusal {
            let host = channel.remoteAddress?.ipAddress.map(RelayedFlow.unmapped) ?? "?"
            logger.warning(
                "\(listener): \(host) has \(limit) connections open (--max-connections-per-client); closing its new ones until some end"
            )
        }
        return admitted
    }

    /// A UDP association (created on `eventLoop`); `close` ends it there when the controller asks. Listed once
    /// it has a destination (a SOCKS5 association: from its first datagram).
    func trackAssociation(
        source: SocketAddress, destination: SocksAddress?, inbound: String = "TProxy", eventLoop: EventLoop,
        close: @escaping @Sendable () -> Void
    ) -> RelayedFlow {
        let flow = RelayedFlow(network: "udp", inbound: inbound, source: source)
        flow.destination = destination
        let entry = Entry(eventLoop: eventLoop, flow: NIOLoopBound(flow, eventLoop: eventLoop), close: close)
        flow.serial = state.withLockedValue { state in
            state.lastSerial &+= 1
            state.associations[state.lastSerial] = entry
            return state.lastSerial
        }
        return flow
    }

    /// The association ended; its datagram totals join the closed ones.
    func untrackAssociation(_ flow: RelayedFlow) {
        let (up, down) = flow.datagramBytes
        state.withLockedValue {
            $0.associations.removeValue(forKey: flow.serial)
            $0.closedUp &+= up
            $0.closedDown &+= down
        }
    }

    package var count: Int { state.withLockedValue { $0.entries.count } }

    /// Every open flow with a destination, read on each event loop (one task per loop, not per flow).
    package func flows(names: [ServerMember: String] = [:]) async -> [FlowView] {
        if let last = lastSnapshot.withLockedValue({ $0 }), NIODeadline.now() - last.at < Self.snapshotAge {
            return last.views
        }
        let entries = state.withLockedValue { Array($0.entries.values) + Array($0.associations.values) }
        var byLoop: [ObjectIdentifier: (EventLoop, [Entry])] = [:]
        for entry in entries {
            let loop = entry.eventLoop
            byLoop[ObjectIdentifier(loop), default: (loop, [])].1.append(entry)
        }
        var views: [FlowView] = []
        for (loop, group) in byLoop.values {
            let read = loop.submit { group.compactMap { $0.flow.value.view(names: names) } }
            views += (try? await read.get()) ?? []
        }
        views.sort { $0.startNanoseconds < $1.startNanoseconds }
        let snapshot = (at: NIODeadline.now(), views: views)
        lastSnapshot.withLockedValue { $0 = snapshot }
        return views
    }

    /// Bytes relayed up and down by every flow since start, closed and open.
    package func totals(names: [ServerMember: String] = [:]) async -> (up: UInt64, down: UInt64) {
        let views = await flows(names: names)
        // The closed totals and the open set in one look: a flow that closed since the (maybe cached) listing
        // counts once, in the closed totals.
        let (closedUp, closedDown, open) = state.withLockedValue {
            ($0.closedUp, $0.closedDown, Set($0.entries.keys).union($0.associations.keys))
        }
        let openIDs = Set(open.map(RelayedFlow.idText))
        var up = closedUp
        var down = closedDown
        for flow in views where openIDs.contains(flow.id) {
            up &+= flow.upload
            down &+= flow.download
        }
        return (up, down)
    }

    package func close(id: String) -> Bool {
        guard let serial = RelayedFlow.serial(fromID: id),
            let entry = state.withLockedValue({ $0.entries[serial] ?? $0.associations[serial] })
        else { return false }
        entry.close()
        lastSnapshot.withLockedValue { $0 = nil }
        return true
    }

    /// Closes every TCP connection and, with `associations`, every UDP association too (the controller's DELETE).
    package func closeAll(associations: Bool = false) {
        let remaining = state.withLockedValue { state in
            Array(state.entries.values) + (associations ? Array(state.associations.values) : [])
        }
        for entry in remaining { entry.close() }
        lastSnapshot.withLockedValue { $0 = nil }
    }

    /// Waits up to `grace` for open connections to finish, then closes whatever is left.
    package func drain(grace: TimeAmount) async {
        let deadline = NIODeadline.now() + grace
        while count > 0 && NIODeadline.now() < deadline {
            try? await Task.sleep(nanoseconds: 50_000_000)
        }
        closeAll()
    }
}
