import Logging
import NIOCore
import Netfilter

/// Notices when the capture rules `ss-redir setup` installed vanish under the running daemon (a firewall reload,
/// `nft flush ruleset`) and when they return: LAN traffic then stops reaching ss-redir, which it could not see
/// otherwise. Watches only a table that existed when the daemon started (rules made by hand are not ours to
/// judge); one log line per change.
enum CaptureRulesWatcher {
    static let interval: TimeAmount = .seconds(5)

    /// nil when there is nothing to watch (no such table at start, or no netlink access).
    static func start(table: String, on eventLoop: EventLoop, logger: Logger) -> RepeatedTask? {
        guard (try? NftConnection().table(family: .inet, name: table)) != nil else {
            logger.debug("rules: no table inet \(table) at start; not watching capture rules")
            return nil
        }
        // Touched only by the repeated task, on `eventLoop`: one netlink socket kept, opened again after an error.
        let state = NIOLoopBoundBox.makeBoxSendingValue(
            (connection: NftConnection?.none, present: true), eventLoop: eventLoop)
        return eventLoop.scheduleRepeatedTask(initialDelay: interval, delay: interval) { _ in
            // One small netlink query every few seconds; a failed query says nothing either way.
            let now: Bool
            do {
                let connection = try state.value.connection ?? NftConnection()
                state.value.connection = connection
                now = try connection.table(family: .inet, name: table) != nil
            } catch {
                state.value.connection = nil
                return
            }
            guard state.value.present != now else { return }
            state.value.present = now
            if now {
                logger.notice("rules: table inet \(table) is back; LAN traffic reaches ss-redir again")
            } else {
                logger.warning(
                    "rules: table inet \(table) is gone (a firewall reload or flush?): LAN traffic no longer reaches ss-redir; run `ss-redir setup` again")
            }
        }
    }
}
