import IPAddresses

/// The order in which a name and the search list are tried, after glibc's res_search: a name with at least
/// `ndots` dots (or a final dot) is tried as given first; then each search domain (a final dot stops here); then
/// the name as given if not tried yet (`no-tld-query` skips that for single labels). NXDOMAIN, NODATA and
/// SERVFAIL move on to the next candidate; a timeout or an unreachable server ends the search.
enum NameSearch {
    enum Outcome: Sendable, Equatable {
        case found([IPAddress])
        case failed(DNSResolutionError.Kind)
    }

    struct Result: Sendable, Equatable {
        let outcome: Outcome
        /// Every name queried, in order.
        let queried: [DNSName]
    }

    static func run(
        _ text: String, searchDomains: [String], options: ResolvConf.Options,
        attempt: (DNSName) async throws -> Outcome
    ) async throws -> Result {
        let asIs: DNSName
        do {
            asIs = try DNSName(text)
        } catch {
            return Result(outcome: .failed(.invalidName("not a valid host name (\(error.kind))")), queried: [])
        }
        guard !asIs.isRoot else {
            return Result(outcome: .failed(.invalidName("the root is not a host name")), queried: [])
        }
        let dots = text.utf8.filter { $0 == UInt8(ascii: ".") }.count
        let trailingDot = text.hasSuffix(".")
        var queried: [DNSName] = []
        var asIsFailure: DNSResolutionError.Kind? = nil
        var hardFailure: DNSResolutionError.Kind? = nil
        var gotNoData = false
        var serverFailure: DNSResolutionError.Kind? = nil
        var lastFailure: DNSResolutionError.Kind = .nameNotFound

        /// Queries one candidate; true when the search may go on.
        func tryCandidate(_ name: DNSName) async throws -> Outcome? {
            queried.append(name)
            let outcome = try await attempt(name)
            guard case .failed(let kind) = outcome else { return outcome }
            lastFailure = kind
            switch kind {
            case .noAddress: gotNoData = true
            case .nameNotFound: break
            case .serverFailure(.serverFailure): serverFailure = kind
            default: hardFailure = kind
            }
            return nil
        }

        var triedAsIs = false
        if dots >= options.ndots || trailingDot {
            if let found = try await tryCandidate(asIs) { return Result(outcome: found, queried: queried) }
            triedAsIs = true
            asIsFailure = lastFailure
            if trailingDot || hardFailure != nil { return Result(outcome: .failed(lastFailure), queried: queried) }
        }

        var searched = false
        var rootOnList = false
        if !trailingDot {
            for domain in searchDomains where hardFailure == nil {
                searched = true
                let isRoot = domain.isEmpty || domain == "."
                if isRoot { rootOnList = true }
                if rootOnList && triedAsIs { continue }
                let candidate: DNSName
                if isRoot {
                    candidate = asIs
                } else {
                    guard let suffix = try? DNSName(domain), let joined = try? asIs.appending(suffix) else { continue }
                    candidate = joined
                }
                if let found = try await tryCandidate(candidate) { return Result(outcome: found, queried: queried) }
            }
        }

        if hardFailure == nil, dots > 0 || !searched || !options.noTLDQuery, !(triedAsIs || rootOnList) {
            if let found = try await tryCandidate(asIs) { return Result(outcome: found, queried: queried) }
        }

        let failure = hardFailure ?? asIsFailure ?? (gotNoData ? .noAddress : nil) ?? serverFailure ?? lastFailure
        return Result(outcome: .failed(failure), queried: queried)
    }
}
