import IPAddresses
import Testing

@testable import Resolver

@Suite struct NameSearchTests {
    let found = NameSearch.Outcome.found([IPAddress("192.0.2.1")!])

    /// Runs the search against a table of answers (anything not in it is NXDOMAIN).
    func search(
        _ name: String, domains: [String] = ["a.test", "b.test"], ndots: Int = 1, noTLDQuery: Bool = false,
        answers: [String: NameSearch.Outcome] = [:]
    ) async throws -> NameSearch.Result {
        var options = ResolvConf.Options()
        options.ndots = ndots
        options.noTLDQuery = noTLDQuery
        return try await NameSearch.run(name, searchDomains: domains, options: options) { candidate in
            answers[candidate.description] ?? .failed(.nameNotFound)
        }
    }

    func names(_ result: NameSearch.Result) -> [String] { result.queried.map(\.description) }

    @Test func shortNameTriesSearchListThenAsIs() async throws {
        let result = try await search("host")
        #expect(names(result) == ["host.a.test", "host.b.test", "host"])
        #expect(result.outcome == .failed(.nameNotFound))
    }

    @Test func nameWithEnoughDotsTriesAsIsFirst() async throws {
        let result = try await search("www.example")
        #expect(names(result) == ["www.example", "www.example.a.test", "www.example.b.test"])
    }

    @Test func ndotsMovesTheAsIsTryToTheEnd() async throws {
        let result = try await search("www.example", ndots: 2)
        #expect(names(result) == ["www.example.a.test", "www.example.b.test", "www.example"])
    }

    @Test func finalDotMeansOnlyAsIs() async throws {
        #expect(names(try await search("host.")) == ["host"])
        #expect(names(try await search("www.example.", ndots: 5)) == ["www.example"])
    }

    @Test func stopsAtTheFirstAnswer() async throws {
        let result = try await search("host", answers: ["host.b.test": found])
        #expect(names(result) == ["host.a.test", "host.b.test"])
        #expect(result.outcome == found)
    }

    @Test func timeoutEndsTheSearch() async throws {
        let timeout = DNSResolutionError.Kind.timedOut(timeoutSeconds: 1, attempts: 1)
        let result = try await search("host", answers: ["host.a.test": .failed(timeout), "host": found])
        #expect(names(result) == ["host.a.test"])
        #expect(result.outcome == .failed(timeout))
    }

    @Test func servfailMovesOnAndNoDataIsReportedOverNXDOMAIN() async throws {
        let result = try await search(
            "host",
            answers: ["host.a.test": .failed(.serverFailure(.serverFailure)), "host.b.test": .failed(.noAddress)])
        #expect(names(result) == ["host.a.test", "host.b.test", "host"])
        #expect(result.outcome == .failed(.noAddress))
        let servfail = try await search("host", answers: ["host.b.test": .failed(.serverFailure(.serverFailure))])
        #expect(servfail.outcome == .failed(.serverFailure(.serverFailure)))
        // REFUSED is not SERVFAIL: glibc gives up there.
        let refused = try await search("host", answers: ["host.a.test": .failed(.serverFailure(.refused))])
        #expect(names(refused) == ["host.a.test"])
    }

    @Test func asIsErrorWinsWhenTriedFirst() async throws {
        let result = try await search(
            "www.example", answers: ["www.example.a.test": .failed(.noAddress)])
        #expect(result.outcome == .failed(.nameNotFound))
    }

    @Test func noTLDQuerySkipsSingleLabelAsIs() async throws {
        #expect(names(try await search("host", noTLDQuery: true)) == ["host.a.test", "host.b.test"])
        #expect(names(try await search("host", domains: [], noTLDQuery: true)) == ["host"])
    }

    @Test func rootInTheSearchListStandsForAsIs() async throws {
        // As in glibc: the root entry queries the name as is, in its place, and the final as-is try is skipped.
        #expect(
            names(try await search("host", domains: ["a.test", ".", "b.test"])) == [
                "host.a.test", "host", "host.b.test",
            ])
        #expect(names(try await search("www.example", domains: [".", "a.test"])) == ["www.example"])
    }

    @Test func noSearchListMeansAsIsOnly() async throws {
        #expect(names(try await search("host", domains: [])) == ["host"])
    }

    @Test func invalidNamesAreNotQueried() async throws {
        let long = String(repeating: "a", count: 64)
        for name in [long, "a..b", "."] {
            let result = try await search(name)
            #expect(result.queried.isEmpty)
            guard case .failed(.invalidName) = result.outcome else {
                Issue.record("\(name): \(result.outcome)")
                continue
            }
        }
        // A search domain that would make the name too long is skipped.
        let result = try await search("host", domains: [String(repeating: "b.", count: 126) + "c", "a.test"])
        #expect(names(result) == ["host.a.test", "host"])
    }
}
