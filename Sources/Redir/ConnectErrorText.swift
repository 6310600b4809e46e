#if canImport(Glibc)
import Glibc
#endif
import NIOCore
import NIOPosix

/// A connect failure in a few words ("Connection refused", "timed out") instead of NIO's nested description.
package enum ConnectErrorText {
    package static func describe(_ error: Error) -> String {
        if let connection = error as? NIOConnectionError {
            if connection.dnsAAAAError != nil && connection.dnsAError != nil && connection.connectionErrors.isEmpty {
                return "cannot resolve \(connection.host)"
            }
            if let first = connection.connectionErrors.first { return describe(first.error) }
        }
        if let io = error as? IOError { return String(cString: strerror(io.errnoCode)) }
        if case ChannelError.connectTimeout = error { return "connect timed out" }
        return "\(error)"
    }
}
