import Config
import Synchronization

extension ServerPool {
    /// One member's identity in the pool and its traffic counters. The connect path holds this reference instead
    /// of a `ServerMember` value: copying, comparing or hashing that struct (strings, key, plugin) cost a dozen
    /// retains and a field-by-field compare per connection, a reference is one retain and one pointer compare.
    /// A reload keeps the same object for a server that stays, so its flows and counters carry over.
    public final class Member: Sendable {
        public let server: ServerMember
        /// Copied out of `server` so selection reads them without touching the struct's other fields.
        let weight: Int
        let udp: Bool
        // Counters are atomics, not state under the pool's lock: a closing connection updates them from any event
        // loop without the lock, and the pool's lock is left to health and selection.
        let activeConnections = Atomic<Int>(0)
        let totalConnections = Atomic<Int>(0)
        let connectFailures = Atomic<Int>(0)
        let bytesUp = Atomic<UInt64>(0)
        let bytesDown = Atomic<UInt64>(0)
        let udpAssociations = Atomic<Int>(0)

        init(_ server: ServerMember) {
            self.server = server
            self.weight = server.weight
            self.udp = server.udp
        }

        /// A connection through this member closed after relaying `bytesUp`/`bytesDown`. Lock-free: the relay's
        /// close callback captures only this object.
        public func connectionClosed(bytesUp up: UInt64, bytesDown down: UInt64) {
            activeConnections.subtract(1, ordering: .relaxed)
            bytesUp.wrappingAdd(up, ordering: .relaxed)
            bytesDown.wrappingAdd(down, ordering: .relaxed)
        }

        /// A UDP association through this member opened (`delta` 1) or ended (-1).
        public func udpAssociationsChanged(by delta: Int) {
            udpAssociations.wrappingAdd(delta, ordering: .relaxed)
        }

        var counters: Counters {
            Counters(
                activeConnections: activeConnections.load(ordering: .relaxed),
                totalConnections: totalConnections.load(ordering: .relaxed),
                connectFailures: connectFailures.load(ordering: .relaxed),
                bytesUp: bytesUp.load(ordering: .relaxed), bytesDown: bytesDown.load(ordering: .relaxed),
                udpAssociations: udpAssociations.load(ordering: .relaxed))
        }
    }
}
