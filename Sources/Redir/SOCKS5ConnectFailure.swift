#if canImport(Glibc)
import Glibc
#endif
import NIOCore
import NIOPosix
import SOCKS5

extension SOCKS5ReplyCode {
    /// The REP for a CONNECT whose upstream could not be reached (RFC 1928 section 6), from the last connect
    /// error: refused X'05', unreachable or timed out X'03'/X'04', anything else (or no error) X'01'.
    init(connectError error: Error?) {
        guard let error else {
            self = .generalFailure
            return
        }
        if let connection = error as? NIOConnectionError {
            if let first = connection.connectionErrors.first {
                self.init(connectError: first.error)
            } else {
                self = connection.dnsAError != nil || connection.dnsAAAAError != nil ? .hostUnreachable : .generalFailure
            }
            return
        }
        if case ChannelError.connectTimeout = error {
            self = .hostUnreachable
            return
        }
        guard let io = error as? IOError else {
            self = .generalFailure
            return
        }
        switch io.errnoCode {
        case ECONNREFUSED: self = .connectionRefused
        case ENETUNREACH: self = .networkUnreachable
        case EHOSTUNREACH, ETIMEDOUT: self = .hostUnreachable
        default: self = .generalFailure
        }
    }
}
