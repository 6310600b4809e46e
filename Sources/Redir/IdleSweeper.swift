import NIOConcurrencyHelpers
import NIOCore

/// The idle clocks of one event loop's relayed connections, kept by one task that wakes every `tick` while any
/// connection is tracked, instead of a scheduled task per connection. NIO cancels a scheduled task by a linear
/// search of its loop's timer heap, so with a task per open connection every new connection (its connect
/// timeout) and every close paid for all the others (docs/performance.md, "idle ones held open").
///
/// A connection is closed once it has seen no byte for at least its timeout, and at most one tick longer: the hot
/// path only sets a flag, and each sweep counts the ticks since the flag was last seen set. Loop-bound: every
/// call is made on `eventLoop`.
final class IdleSweeper: @unchecked Sendable {
    /// The sweep interval: a 1-second timeout closes a connection after 1 to 1.25 s of silence.
    static let tick = TimeAmount.milliseconds(250)

    let eventLoop: EventLoop
    private var tracked: [RelayGlueHandler] = []
    private var sweep: Scheduled<Void>?

    init(eventLoop: EventLoop) {
        self.eventLoop = eventLoop
    }

    /// How many ticks without activity make `timeout`: never fewer than the timeout, rounded up.
    static func ticks(for timeout: TimeAmount) -> Int {
        max(1, Int((timeout.nanoseconds + tick.nanoseconds - 1) / tick.nanoseconds))
    }

    var count: Int { tracked.count }

    /// Starts `handler`'s idle clock (it counts from the next sweep).
    func track(_ handler: RelayGlueHandler) {
        eventLoop.assertInEventLoop()
        guard handler.idleSlot < 0 else { return }
        handler.idleSlot = tracked.count
        handler.idleTicks = 0
        handler.sawActivity = true
        tracked.append(handler)
        if sweep == nil { scheduleSweep() }
    }

    /// Stops `handler`'s idle clock (O(1): the last tracked handler takes its slot).
    func untrack(_ handler: RelayGlueHandler) {
        eventLoop.assertInEventLoop()
        let slot = handler.idleSlot
        guard slot >= 0, slot < tracked.count, tracked[slot] === handler else { return }
        let last = tracked.removeLast()
        if slot < tracked.count {
            tracked[slot] = last
            last.idleSlot = slot
        }
        handler.idleSlot = -1
    }

    private func scheduleSweep() {
        sweep = eventLoop.assumeIsolated().scheduleTask(in: Self.tick) { [self] in
            sweep = nil
            sweepOnce()
            if !tracked.isEmpty { scheduleSweep() }
        }
    }

    /// One tick: every tracked connection that read nothing since the last tick is a tick idler; those idle for
    /// their whole timeout are closed (after the scan: closing one changes the list).
    func sweepOnce() {
        var expired: [RelayGlueHandler] = []
        for handler in tracked {
            if handler.sawActivity {
                handler.sawActivity = false
                handler.idleTicks = 0
            } else {
                handler.idleTicks += 1
                if handler.idleTicks >= handler.idleTicksAllowed { expired.append(handler) }
            }
        }
        for handler in expired {
            untrack(handler)
            handler.idleTimedOut()
        }
    }
}

/// One `IdleSweeper` per event loop, made on first use; a front shares it among its connections.
package final class IdleSweepers: Sendable {
    private let sweepers = NIOLockedValueBox<[ObjectIdentifier: IdleSweeper]>([:])

    package init() {}

    func sweeper(for eventLoop: EventLoop) -> IdleSweeper {
        sweepers.withLockedValue { sweepers in
            let key = ObjectIdentifier(eventLoop)
            if let sweeper = sweepers[key] { return sweeper }
            let sweeper = IdleSweeper(eventLoop: eventLoop)
            sweepers[key] = sweeper
            return sweeper
        }
    }
}
