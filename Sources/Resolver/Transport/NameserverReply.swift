import NIOCore
import NIOPosix

#if canImport(Glibc)
import Glibc
#endif

/// A reply that matched our query: the octets as received and their parse.
struct NameserverReply: Sendable {
    let bytes: [UInt8]
    let message: DNSMessage
}

/// Why one try against one server produced no reply.
enum TransportFailure: Error, Sendable, Equatable {
    case timedOut
    case unreachable(String)
    case badResponse(String)

    /// NIO's socket errors as a short phrase ("connection refused"); cancellation passes through unchanged.
    static func mapping(_ error: any Error) -> any Error {
        if error is CancellationError || error is TransportFailure { return error }
        if let ioError = error as? IOError {
            return TransportFailure.unreachable(String(cString: strerror(ioError.errnoCode)))
        }
        if case .connectTimeout? = error as? ChannelError { return TransportFailure.timedOut }
        return TransportFailure.unreachable("\(error)")
    }
}

/// How the resolver's own sockets are set up.
struct SocketSettings: Sendable {
    /// SO_MARK (SOL_SOCKET, 36): lets the gateway's firewall rules recognise and skip our queries.
    var mark: UInt32?

    func apply(to bootstrap: DatagramBootstrap) -> DatagramBootstrap {
        guard let mark else { return bootstrap }
        return bootstrap.channelOption(SocketSettings.markOption, value: SocketSettings.optionValue(mark))
    }

    func apply(to bootstrap: ClientBootstrap) -> ClientBootstrap {
        guard let mark else { return bootstrap }
        return bootstrap.channelOption(SocketSettings.markOption, value: SocketSettings.optionValue(mark))
    }

    private static let markOption = ChannelOptions.socketOption(NIOBSDSocket.Option(rawValue: SO_MARK))

    /// The mark's 32 bits whatever width NIO's option value has (Int on glibc, CInt on musl).
    private static func optionValue(_ mark: UInt32) -> SocketOptionValue {
        SocketOptionValue(truncatingIfNeeded: Int32(bitPattern: mark))
    }
}
