import Foundation
import IPAddresses
import Testing

@testable import Resolver

/// The resolver against a real dnsmasq on loopback; dnsmasq's --log-queries shows what reached it.
@Suite(.enabled(if: Dnsmasq.isInstalled, "dnsmasq is not installed"), .timeLimit(.minutes(1)))
struct StubResolverDnsmasqTests {
    static let records = [
        "--host-record=host.example.test,192.0.2.8,2001:db8::8", "--cname=www.example.test,host.example.test",
        "--host-record=v4only.example.test,192.0.2.9", "--host-record=box.lan.example.test,192.0.2.10",
    ]

    func resolver(_ dnsmasq: Dnsmasq, _ fixture: ResolverFixture) -> StubResolver {
        StubResolver(configuration: fixture.configuration(port: dnsmasq.port), eventLoopGroup: TestGroup.shared)
    }

    @Test func resolvesAAndAAAAThroughCNAMEAndCachesThem() async throws {
        let dnsmasq = try Dnsmasq(records: Self.records)
        defer { dnsmasq.stop() }
        let fixture = try ResolverFixture(resolvConf: "nameserver 127.0.0.1\n")
        defer { fixture.remove() }
        let resolver = resolver(dnsmasq, fixture)
        let expected = [IPAddress("192.0.2.8")!, IPAddress("2001:db8::8")!]
        #expect(try await resolver.addresses(for: "host.example.test") == expected)
        #expect(try await resolver.addresses(for: "WWW.example.test") == expected)
        #expect(try await resolver.addresses(for: "host.example.test") == expected)
        #expect(try await resolver.addresses(for: "www.example.test.") == expected)
        #expect(dnsmasq.queries("host.example.test", "A", atLeast: 1) == 1)
        #expect(dnsmasq.queries("host.example.test", "AAAA", atLeast: 1) == 1)
        #expect(dnsmasq.queries("WWW.example.test", "A", atLeast: 1) == 1)
        #expect(dnsmasq.queries("www.example.test", "A") == 0)
        #expect(resolver.cacheStatistics.hits == 4)
    }

    @Test func nodataForOneFamilyStillGivesTheOther() async throws {
        let dnsmasq = try Dnsmasq(records: Self.records)
        defer { dnsmasq.stop() }
        let fixture = try ResolverFixture(resolvConf: "nameserver 127.0.0.1\n")
        defer { fixture.remove() }
        let resolver = resolver(dnsmasq, fixture)
        #expect(try await resolver.addresses(for: "v4only.example.test") == [IPAddress("192.0.2.9")!])
        // The AAAA NODATA carried dnsmasq's SOA, so it is cached too.
        #expect(try await resolver.addresses(for: "v4only.example.test") == [IPAddress("192.0.2.9")!])
        #expect(dnsmasq.queries("v4only.example.test", "AAAA", atLeast: 1) == 1)
    }

    @Test func nxdomainIsCachedFromTheSOA() async throws {
        let dnsmasq = try Dnsmasq(records: Self.records)
        defer { dnsmasq.stop() }
        let fixture = try ResolverFixture(resolvConf: "nameserver 127.0.0.1\n")
        defer { fixture.remove() }
        let resolver = resolver(dnsmasq, fixture)
        for _ in 0..<3 {
            do {
                _ = try await resolver.addresses(for: "missing.example.test")
                Issue.record("resolved a missing name")
            } catch let error as DNSResolutionError {
                #expect(error.kind == .nameNotFound)
                #expect(error.description.contains("NXDOMAIN from 127.0.0.1:\(dnsmasq.port)"))
            }
        }
        #expect(dnsmasq.queries("missing.example.test", "A", atLeast: 1) == 1)
        #expect(dnsmasq.queries("missing.example.test", "AAAA", atLeast: 1) == 1)
    }

    @Test func searchListAndNdotsOrder() async throws {
        let dnsmasq = try Dnsmasq(records: Self.records)
        defer { dnsmasq.stop() }
        let fixture = try ResolverFixture(
            resolvConf: "nameserver 127.0.0.1\nsearch nowhere.example.test lan.example.test\noptions ndots:3\n")
        defer { fixture.remove() }
        let resolver = resolver(dnsmasq, fixture)
        #expect(try await resolver.addresses(for: "box") == [IPAddress("192.0.2.10")!])
        #expect(dnsmasq.queries("box.nowhere.example.test", "A", atLeast: 1) == 1)
        #expect(dnsmasq.queries("box.lan.example.test", "A", atLeast: 1) == 1)
        #expect(dnsmasq.queries("box", "A") == 0)
        // Two dots are below ndots:3, so the search list comes first; the name as given is found last.
        #expect(
            try await resolver.addresses(for: "host.example.test") == [
                IPAddress("192.0.2.8")!, IPAddress("2001:db8::8")!,
            ])
        #expect(dnsmasq.queries("host.example.test", "A", atLeast: 1) == 1)
        let log = dnsmasq.logText
        let order = [
            "host.example.test.nowhere.example.test", "host.example.test.lan.example.test", "host.example.test from",
        ]
        .map { log.range(of: "auth[A] " + $0)?.lowerBound }
        #expect(order.allSatisfy { $0 != nil }, "\(log)")
        #expect(order.compactMap { $0 } == order.compactMap { $0 }.sorted())
    }

    @Test func outOfZoneIsRefusedAndReported() async throws {
        let dnsmasq = try Dnsmasq(records: Self.records)
        defer { dnsmasq.stop() }
        let fixture = try ResolverFixture(resolvConf: "nameserver 127.0.0.1\noptions attempts:1\n")
        defer { fixture.remove() }
        let resolver = resolver(dnsmasq, fixture)
        do {
            _ = try await resolver.addresses(for: "elsewhere.invalid.")
            Issue.record("resolved an out-of-zone name")
        } catch let error as DNSResolutionError {
            #expect(error.kind == .serverFailure(.refused))
            #expect(
                error.description
                    == "cannot resolve \"elsewhere.invalid.\" (tried elsewhere.invalid): "
                    + "127.0.0.1:\(dnsmasq.port) answered REFUSED"
            )
        }
    }

    @Test func exchangeRelaysDnsmasqReplies() async throws {
        let dnsmasq = try Dnsmasq(records: Self.records)
        defer { dnsmasq.stop() }
        let fixture = try ResolverFixture(resolvConf: "nameserver 127.0.0.1\n")
        defer { fixture.remove() }
        let resolver = resolver(dnsmasq, fixture)
        let query = DNSMessage.query(id: 0x0102, name: try DNSName("www.example.test"), type: .aaaa)
        let reply = try DNSMessage(parsing: try await resolver.exchange(try query.serialized()))
        #expect(reply.header.id == 0x0102 && reply.isResponse(to: query))
        #expect(
            reply.answers.map(\.data) == [
                .cname(try DNSName("host.example.test")), .address(IPAddress("2001:db8::8")!),
            ])
    }
}
