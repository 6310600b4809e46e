import IPAddresses
import NIOCore
import NIOPosix
import Redir
import ShadowsocksProtocol

/// Where a client's target leads: its addresses (resolved if it is a name), the `forbidden_ip` check on each, then
/// a TCP connection tried address by address. Shared by the TCP sessions; the UDP relay uses `addresses`.
struct TargetConnector: Sendable {
    let resolver: any TargetResolving
    let forbidden: ForbiddenAddresses
    /// Bound on resolving a name and on each connect attempt.
    let timeout: TimeAmount
    let noDelay: Bool
    let fastOpen: Bool

    /// Why a target was not reached, in a few words for the log.
    enum Failure: Error, CustomStringConvertible {
        case forbidden(IPAddress)
        case unresolvable(String)
        case unreachable(String)

        var description: String {
            switch self {
            case .forbidden(let address): "refused: \(address) is in forbidden_ip"
            case .unresolvable(let reason): reason
            case .unreachable(let reason): reason
            }
        }
    }

    /// The socket addresses to use for `target`, forbidden ones left out; fails with `.forbidden` when that
    /// leaves none, or `.unresolvable`.
    func addresses(for target: SocksAddress, on eventLoop: EventLoop) -> EventLoopFuture<[SocketAddress]> {
        let port = Int(target.port)
        let forbidden = self.forbidden
        return ipAddresses(for: target, on: eventLoop).flatMapThrowing { candidates in
            let allowed = candidates.filter { !forbidden.contains($0) }
            guard !allowed.isEmpty else { throw Failure.forbidden(candidates[0]) }
            return allowed.map { SocketAddress($0.unmappedIPv4, port: port) }
        }
    }

    private func ipAddresses(for target: SocksAddress, on eventLoop: EventLoop) -> EventLoopFuture<[IPAddress]> {
        if let address = target.ipAddress { return eventLoop.makeSucceededFuture([address]) }
        guard case .domain(let name, _) = target else { return eventLoop.makeSucceededFuture([]) }
        if let literal = IPAddress(name) { return eventLoop.makeSucceededFuture([literal]) }
        let promise = eventLoop.makePromise(of: [IPAddress].self)
        let timeout = self.timeout
        let timer = eventLoop.scheduleTask(in: timeout) {
            promise.fail(
                Failure.unresolvable("cannot resolve \(name): no answer within \(timeout.nanoseconds / 1_000_000_000)s")
            )
        }
        let resolver = self.resolver
        promise.completeWithTask {
            do {
                return try await resolver.addresses(of: name)
            } catch let error as TargetResolutionError {
                throw Failure.unresolvable(error.description)
            } catch {
                throw Failure.unresolvable("cannot resolve \(name): \(error)")
            }
        }
        promise.futureResult.whenComplete { _ in timer.cancel() }
        return promise.futureResult
    }

    /// A connected target channel whose pipeline is the relay's upstream side (a `RelayGlueHandler`).
    func connect(to target: SocksAddress, on eventLoop: EventLoop) -> EventLoopFuture<Channel> {
        addresses(for: target, on: eventLoop).flatMap { addresses in
            self.connect(addresses[...], on: eventLoop, lastError: nil)
        }
    }

    /// Tries each address in turn; the error is the last attempt's.
    private func connect(
        _ addresses: ArraySlice<SocketAddress>, on eventLoop: EventLoop, lastError: Error?
    ) -> EventLoopFuture<Channel> {
        guard let address = addresses.first else {
            let reason = lastError.map { ConnectErrorText.describe($0) } ?? "no address"
            return eventLoop.makeFailedFuture(Failure.unreachable(reason))
        }
        return bootstrap(on: eventLoop).connect(to: address).flatMapError { error in
            self.connect(addresses.dropFirst(), on: eventLoop, lastError: error)
        }
    }

    private func bootstrap(on eventLoop: EventLoop) -> ClientBootstrap {
        var bootstrap = ClientBootstrap(group: eventLoop)
            .channelOption(.allowRemoteHalfClosure, value: true)
            .channelOption(.tcpOption(.tcp_nodelay), value: noDelay ? 1 : 0)
            .connectTimeout(timeout)
            .channelInitializer { channel in
                do {
                    try channel.pipeline.syncOperations.addHandler(RelayGlueHandler(side: .upstream))
                    return channel.eventLoop.makeSucceededVoidFuture()
                } catch {
                    return channel.eventLoop.makeFailedFuture(error)
                }
            }
        if fastOpen {
            // TCP_FASTOPEN_CONNECT (Linux 4.11+): the first write to the target rides on the SYN.
            bootstrap = bootstrap.channelOption(.tcpOption(NIOBSDSocket.Option(rawValue: 30)), value: 1)
        }
        return bootstrap
    }
}
