import IPAddresses
import NIOPosix
import Resolver

/// Target names through the project's own resolver: /etc/hosts and resolv.conf as glibc reads them, answers
/// cached for their TTL, nothing blocking a thread (the default for ss-server).
public struct StubTargetResolver: TargetResolving {
    let resolver: StubResolver

    public init(resolver: StubResolver) {
        self.resolver = resolver
    }

    public init() {
        var configuration = StubResolver.Configuration()
        configuration.cacheCapacity = 4096
        self.init(resolver: StubResolver(configuration: configuration, eventLoopGroup: MultiThreadedEventLoopGroup.singleton))
    }

    public func addresses(of host: String) async throws -> [IPAddress] {
        do {
            return try await resolver.addresses(for: host)
        } catch let error as DNSResolutionError {
            throw TargetResolutionError(host: host, reason: "\(error)")
        }
    }
}
