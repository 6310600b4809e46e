import Logging

/// Why a datagram was not relayed. Each reason is logged the first time and counted after that.
enum UDPDropReason: String, CaseIterable, Sendable {
    case truncated = "larger than the receive buffer"
    case noOriginalDestination = "no original destination (not TPROXYed?)"
    case destinationIsGateway = "destination is this gateway (would loop)"
    case oversized = "too large for the MTU once encrypted"
    case upstreamBacklog = "upstream socket not ready and its queue is full"
    case upstreamSendRefused = "the kernel refused to send upstream (full send buffer)"
    case sealFailed = "cannot encrypt"
    case unauthenticReply = "reply failed authentication (wrong password/method, or tampered)"
    case foreignReply = "reply from an address that is not the server"
    case replySocketUnavailable = "cannot bind a transparent reply socket"
    case noUDPServer = "no pool member relays UDP (or its address cannot be resolved)"
    case associationEvicted = "association table full: the least recently used association was evicted"
    case socksForeignSource = "SOCKS5 datagram from an address other than the association's client"
    case socksMalformed = "SOCKS5 datagram with a malformed header"
    case socksFragment = "SOCKS5 fragment (FRAG != 0; fragments are not reassembled)"
}

/// Owned by the UDP relay's event loop.
struct UDPDropCounters {
    private(set) var counts: [UDPDropReason: Int] = [:]

    mutating func count(
        _ reason: UDPDropReason, times: Int = 1, logger: Logger, detail: @autoclosure () -> String = ""
    ) {
        guard times > 0 else { return }
        let previous = counts[reason, default: 0]
        counts[reason] = previous + times
        if previous == 0 {
            let suffix = detail().isEmpty ? "" : " (\(detail()))"
            logger.notice("udp: dropped: \(reason.rawValue)\(suffix); further ones are only counted")
        }
    }

    var summary: String {
        UDPDropReason.allCases.compactMap { reason in counts[reason].map { "\(reason): \($0)" } }
            .joined(separator: ", ")
    }
}
