import Logging
import NIOCore
import ShadowsocksProtocol

/// Why a connection is about to be closed for idleness (a stalled server, or a client gone without a FIN): said by
/// the LAN relay handler when its idle timer fires, right before it closes both sides. (Once a handler of
/// its own, which every event of every connection passed through.)
struct IdleTimeoutNote {
    // The parts, not the line: it is written only when a connection times out, not for each one accepted.
    private let client: ClientName
    private let target: SocksAddress
    private let seconds: Int
    private let logger: Logger

    init(client: ClientName, target: SocksAddress, seconds: Int, logger: Logger) {
        self.client = client
        self.target = target
        self.seconds = seconds
        self.logger = logger
    }

    func say() {
        logger.info("tcp \(client) -> \(target): no data either way for \(seconds)s (timeout); closing both sides")
    }
}
