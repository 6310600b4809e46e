import NIOConcurrencyHelpers
import NIOCore

/// The relayed LAN connections that are open, so shutdown can let them finish and then close the rest.
package final class ConnectionRegistry: Sendable {
    private let channels = NIOLockedValueBox<[ObjectIdentifier: Channel]>([:])

    package init() {}

    package func track(_ channel: Channel) {
        let id = ObjectIdentifier(channel)
        channels.withLockedValue { $0[id] = channel }
        channel.closeFuture.whenComplete { [channels] _ in
            _ = channels.withLockedValue { $0.removeValue(forKey: id) }
        }
    }

    package var count: Int { channels.withLockedValue { $0.count } }

    /// Waits up to `grace` for open connections to finish, then closes whatever is left.
    package func drain(grace: TimeAmount) async {
        let deadline = NIODeadline.now() + grace
        while count > 0 && NIODeadline.now() < deadline {
            try? await Task.sleep(nanoseconds: 50_000_000)
        }
        let remaining = channels.withLockedValue { Array($0.values) }
        for channel in remaining { channel.close(promise: nil) }
    }
}
