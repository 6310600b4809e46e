import IPAddresses
import NIOCore

extension StubResolver {
    /// One candidate name: A and AAAA (together, or one after the other with `single-request`; no AAAA with
    /// `no-aaaa`), combined. Found when either has addresses; otherwise the most telling failure.
    func addresses(of name: DNSName, servers: [SocketAddress], options: ResolvConf.Options) async throws
        -> NameSearch.Outcome
    {
        let outcomes: [NameSearch.Outcome]
        if options.noAAAA {
            outcomes = [try await lookup(name, .a, servers: servers, options: options)]
        } else if options.singleRequest || options.singleRequestReopen {
            let v4 = try await lookup(name, .a, servers: servers, options: options)
            outcomes = [v4, try await lookup(name, .aaaa, servers: servers, options: options)]
        } else {
            async let v4 = lookup(name, .a, servers: servers, options: options)
            async let v6 = lookup(name, .aaaa, servers: servers, options: options)
            outcomes = [try await v4, try await v6]
        }
        var found: [IPAddress] = []
        var failures: [DNSResolutionError.Kind] = []
        for outcome in outcomes {
            switch outcome {
            case .found(let addresses): found += addresses
            case .failed(let kind): failures.append(kind)
            }
        }
        if !found.isEmpty { return .found(found) }
        // A timeout or a broken server says more than NXDOMAIN, and NXDOMAIN more than NODATA.
        let rank: (DNSResolutionError.Kind) -> Int = {
            switch $0 {
            case .noAddress: 0
            case .nameNotFound: 1
            case .serverFailure: 2
            case .badResponse, .unreachable, .invalidName: 3
            case .timedOut: 4
            }
        }
        return .failed(failures.max { rank($0) < rank($1) } ?? .noAddress)
    }

    /// One (name, type) through the cache; concurrent callers share one query.
    func lookup(_ name: DNSName, _ type: DNSRecordType, servers: [SocketAddress], options: ResolvConf.Options)
        async throws -> NameSearch.Outcome
    {
        let key = DNSCache.Key(name: name, type: type)
        switch cache.withLockedValue({ $0.answer(for: key, now: .now()) }) {
        case .addresses(let addresses): return .found(addresses)
        case .nameError: return .failed(.nameNotFound)
        case .noData: return .failed(.noAddress)
        case nil: break
        }
        return try await inFlight.join(key) {
            await self.query(key, servers: servers, options: options)
        }
    }

    /// Asks the nameservers, reads the reply (following CNAMEs from the question) and caches what it says.
    private func query(_ key: DNSCache.Key, servers: [SocketAddress], options: ResolvConf.Options) async
        -> NameSearch.Outcome
    {
        var message = DNSMessage.query(
            id: UInt16.random(in: 0...UInt16.max), name: key.name, type: key.type,
            udpPayloadSize: options.edns0 ? DNSMessage.recommendedUDPPayloadSize : nil)
        message.header.authenticData = options.trustAD
        let reply: NameserverReply
        do {
            let bytes = try message.serialized()
            reply = try await exchanger(servers: servers, options: options).run(bytes, matching: message)
        } catch let failure as NameserverExchange.Failure {
            return .failed(failure.kind)
        } catch {
            return .failed(.unreachable("\(error)"))
        }
        let response = reply.message
        let now = NIODeadline.now()
        switch response.responseCode {
        case .noError:
            let (addresses, ttl) = StubResolver.addresses(in: response, for: key)
            if !addresses.isEmpty {
                store(.addresses(addresses), key, ttl: min(ttl, configuration.maximumTTL), now: now)
                return .found(addresses)
            }
            if let ttl = response.negativeTTL {
                store(.noData, key, ttl: min(ttl, configuration.maximumNegativeTTL), now: now)
            }
            return .failed(.noAddress)
        case .nameError:
            if let ttl = response.negativeTTL {
                store(.nameError, key, ttl: min(ttl, configuration.maximumNegativeTTL), now: now)
            }
            return .failed(.nameNotFound)
        default:
            return .failed(.serverFailure(response.responseCode))
        }
    }

    private func store(_ answer: DNSCache.Answer, _ key: DNSCache.Key, ttl: UInt32, now: NIODeadline) {
        cache.withLockedValue { $0.store(answer, for: key, ttl: ttl, now: now) }
    }

    /// The addresses for `key` at the end of its CNAME chain in the answer section, and the smallest TTL along
    /// the way (the chain's records included, RFC 2181 5.2 / 10.1).
    static func addresses(in response: DNSMessage, for key: DNSCache.Key) -> ([IPAddress], UInt32) {
        /// A chain longer than this is a loop or an abuse; resolvers use similar bounds (BIND: 16).
        let maximumChain = 16
        var owner = key.name
        var ttl = UInt32.max
        for _ in 0..<maximumChain {
            guard
                let alias = response.answers.first(where: {
                    if case .cname = $0.data { return $0.name == owner } else { return false }
                }), case .cname(let target) = alias.data
            else { break }
            ttl = min(ttl, alias.effectiveTTL)
            owner = target
        }
        var addresses: [IPAddress] = []
        for record in response.answers where record.name == owner && record.type == key.type {
            guard case .address(let address) = record.data, !addresses.contains(address) else { continue }
            addresses.append(address)
            ttl = min(ttl, record.effectiveTTL)
        }
        return (addresses, addresses.isEmpty ? 0 : ttl)
    }
}
