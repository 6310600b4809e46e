import NIOConcurrencyHelpers
import NIOCore
import Controller

/// The relayed LAN connections that are open: so shutdown can let them finish and then close the rest, and
/// so the controller can list them (`RelayedFlow`) and close one. The lock is taken once when a connection
/// opens and once when it closes, never per relayed chunk.
package final class ConnectionRegistry: Sendable {
    private struct Entry: Sendable {
        let channel: Channel
        let flow: NIOLoopBound<RelayedFlow>
    }

    private struct State {
        var entries: [String: Entry] = [:]
        /// Bytes of the flows that have closed (the open ones are read from their handlers).
        var closedUp: UInt64 = 0
        var closedDown: UInt64 = 0
    }

    private let state = NIOLockedValueBox(State())

    package init() {}

    /// Tracks `channel` until it closes; returns its flow record (to be filled in on the channel's loop).
    @discardableResult
    package func track(_ channel: Channel, inbound: String = "Redir") -> RelayedFlow {
        let flow = RelayedFlow(id: RelayedFlow.makeID(), inbound: inbound, source: channel.remoteAddress)
        let bound = NIOLoopBound(flow, eventLoop: channel.eventLoop)
        let id = flow.id
        state.withLockedValue { $0.entries[id] = Entry(channel: channel, flow: bound) }
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

    package var count: Int { state.withLockedValue { $0.entries.count } }

    /// Every open flow with a destination, read on each event loop (one task per loop, not per flow).
    package func flows() async -> [FlowView] {
        let entries = state.withLockedValue { Array($0.entries.values) }
        var byLoop: [ObjectIdentifier: (EventLoop, [Entry])] = [:]
        for entry in entries {
            let loop = entry.channel.eventLoop
            byLoop[ObjectIdentifier(loop), default: (loop, [])].1.append(entry)
        }
        var views: [FlowView] = []
        for (loop, group) in byLoop.values {
            let read = loop.submit { group.compactMap { $0.flow.value.view } }
            views += (try? await read.get()) ?? []
        }
        return views.sorted { $0.startNanoseconds < $1.startNanoseconds }
    }

    /// Bytes relayed up and down by every flow since start, closed and open.
    package func totals() async -> (up: UInt64, down: UInt64) {
        let (closedUp, closedDown) = state.withLockedValue { ($0.closedUp, $0.closedDown) }
        var up = closedUp
        var down = closedDown
        for flow in await flows() {
            up &+= flow.upload
            down &+= flow.download
        }
        return (up, down)
    }

    package func close(id: String) -> Bool {
        guard let entry = state.withLockedValue({ $0.entries[id] }) else { return false }
        entry.channel.close(promise: nil)
        return true
    }

    package func closeAll() {
        let remaining = state.withLockedValue { $0.entries.values.map(\.channel) }
        for channel in remaining { channel.close(promise: nil) }
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
