import Foundation
import IPAddresses
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import Testing

@testable import Resolver

/// The resolver against the scripted loopback server: transport, retry and cache behaviour.
@Suite(.timeLimit(.minutes(1))) struct StubResolverTests {
    let group = TestGroup.shared

    func resolver(
        _ fixture: ResolverFixture, port: Int, _ adjust: (inout StubResolver.Configuration) -> Void = { _ in }
    ) -> StubResolver {
        var configuration = fixture.configuration(port: port)
        configuration.reloadCheckInterval = .zero
        adjust(&configuration)
        return StubResolver(configuration: configuration, eventLoopGroup: group)
    }

    func addresses(_ texts: String...) -> [IPAddress] { texts.map { IPAddress($0)! } }

    func expectFailure(
        _ kind: DNSResolutionError.Kind, _ body: () async throws -> Void,
        sourceLocation: SourceLocation = #_sourceLocation
    ) async -> DNSResolutionError? {
        do {
            try await body()
            Issue.record("expected \(kind)", sourceLocation: sourceLocation)
        } catch let error as DNSResolutionError {
            #expect(error.kind == kind, sourceLocation: sourceLocation)
            return error
        } catch {
            Issue.record("unexpected \(error)", sourceLocation: sourceLocation)
        }
        return nil
    }

    @Test func literalsAndHostsNeverQuery() async throws {
        let server = try await TestDNSServer.start(group: group, script: TestDNSServer.answering(["192.0.2.99"]))
        defer { Task { await server.stop() } }
        let fixture = try ResolverFixture(
            resolvConf: "nameserver 127.0.0.1\n", hosts: "192.0.2.9 myhost alias\n2001:db8::9 myhost\n")
        defer { fixture.remove() }
        let resolver = resolver(fixture, port: server.port)
        #expect(try await resolver.addresses(for: "192.0.2.1") == addresses("192.0.2.1"))
        #expect(try await resolver.addresses(for: "::1") == addresses("::1"))
        #expect(try await resolver.addresses(for: "[2001:db8::1]") == addresses("2001:db8::1"))
        #expect(try await resolver.addresses(for: "MyHost.") == addresses("192.0.2.9", "2001:db8::9"))
        #expect(try await resolver.addresses(for: " alias ") == addresses("192.0.2.9"))
        #expect(server.received.isEmpty)
        _ = await expectFailure(.invalidName("not an IP address and not a host name")) {
            _ = try await resolver.addresses(for: "fe80::1%eth0")
        }
    }

    @Test func queriesAAndAAAATogether() async throws {
        let server = try await TestDNSServer.start(
            group: group, script: TestDNSServer.answering(["2001:db8::5", "192.0.2.5"]))
        defer { Task { await server.stop() } }
        let fixture = try ResolverFixture(resolvConf: "nameserver 127.0.0.1\n")
        defer { fixture.remove() }
        let resolver = resolver(fixture, port: server.port)
        #expect(try await resolver.addresses(for: "dual.test") == addresses("192.0.2.5", "2001:db8::5"))
        #expect(server.count("dual.test", .a) == 1 && server.count("dual.test", .aaaa) == 1)
        // Without `options edns0` the queries carry no OPT record, as glibc's.
        #expect(server.received.allSatisfy { $0.edns == nil })
    }

    @Test func optionsNoAAAAAndEDNS0() async throws {
        let server = try await TestDNSServer.start(
            group: group, script: TestDNSServer.answering(["2001:db8::5", "192.0.2.5"]))
        defer { Task { await server.stop() } }
        let fixture = try ResolverFixture(resolvConf: "nameserver 127.0.0.1\noptions no-aaaa edns0\n")
        defer { fixture.remove() }
        let resolver = resolver(fixture, port: server.port)
        #expect(try await resolver.addresses(for: "dual.test") == addresses("192.0.2.5"))
        #expect(server.count("dual.test", .aaaa) == 0)
        #expect(server.received.first?.edns?.udpPayloadSize == DNSMessage.recommendedUDPPayloadSize)
    }

    @Test func truncatedUDPReplyFallsBackToTCP() async throws {
        let server = try await TestDNSServer.start(group: group) { query, transport in
            var full = DNSMessage.answer(to: query, addresses: [IPAddress("192.0.2.6")!], ttl: 60)
            guard transport == .udp else { return [.message(full)] }
            full.answers = []
            full.header.isTruncated = true
            return [.message(full)]
        }
        defer { Task { await server.stop() } }
        let fixture = try ResolverFixture(resolvConf: "nameserver 127.0.0.1\noptions no-aaaa\n")
        defer { fixture.remove() }
        let resolver = resolver(fixture, port: server.port)
        #expect(try await resolver.addresses(for: "big.test") == addresses("192.0.2.6"))
        #expect(server.count("big.test", .a, over: .udp) == 1)
        #expect(server.count("big.test", .a, over: .tcp) == 1)
    }

    @Test func useVCGoesStraightToTCP() async throws {
        let server = try await TestDNSServer.start(group: group, script: TestDNSServer.answering(["192.0.2.8"]))
        defer { Task { await server.stop() } }
        let fixture = try ResolverFixture(resolvConf: "nameserver 127.0.0.1\noptions use-vc no-aaaa\n")
        defer { fixture.remove() }
        let resolver = resolver(fixture, port: server.port)
        #expect(try await resolver.addresses(for: "tcp.test") == addresses("192.0.2.8"))
        #expect(server.received.map(\.transport) == [.tcp])
    }

    @Test func silentServerTimesOutAfterEveryAttempt() async throws {
        let server = try await TestDNSServer.start(group: group) { _, _ in [] }
        defer { Task { await server.stop() } }
        let fixture = try ResolverFixture(resolvConf: "nameserver 127.0.0.1\noptions timeout:1 attempts:2 no-aaaa\n")
        defer { fixture.remove() }
        let resolver = resolver(fixture, port: server.port)
        let clock = ContinuousClock()
        let started = clock.now
        let error = await expectFailure(.timedOut(timeoutSeconds: 1, attempts: 2)) {
            _ = try await resolver.addresses(for: "silent.test.")
        }
        let elapsed = clock.now - started
        // Both attempts waited their timeout (a lower bound only: a loaded machine may take longer).
        #expect(elapsed >= .milliseconds(1900), "\(elapsed)")
        // The server's loop may record the second query a moment after the resolver gave up (a loaded machine).
        for _ in 0..<40 where server.count("silent.test", .a) < 2 { try await Task.sleep(for: .milliseconds(50)) }
        #expect(server.count("silent.test", .a) == 2)
        #expect(error?.servers == [server.address])
        #expect(
            error?.description
                == "cannot resolve \"silent.test.\" (tried silent.test): no reply from 127.0.0.1:\(server.port) "
                + "(timeout 1 s, 2 attempts); check the nameservers in resolv.conf and that UDP/TCP port 53 "
                + "is reachable"
        )
    }

    @Test func nextServerAfterATimeoutOrSERVFAIL() async throws {
        let first = try await TestDNSServer.start(group: group) { query, _ in
            query.questions[0].name == (try! DNSName("fail.test"))
                ? [.message(DNSMessage.errorResponse(to: query, code: .serverFailure))] : []
        }
        defer { Task { await first.stop() } }
        let second = try await TestDNSServer.start(
            host: "127.0.0.2", port: first.port, group: group, script: TestDNSServer.answering(["192.0.2.10"]))
        defer { Task { await second.stop() } }
        let fixture = try ResolverFixture(
            resolvConf: "nameserver 127.0.0.1\nnameserver 127.0.0.2\noptions timeout:1 attempts:1 no-aaaa\n")
        defer { fixture.remove() }
        let resolver = resolver(fixture, port: first.port)
        let clock = ContinuousClock()
        let started = clock.now
        #expect(try await resolver.addresses(for: "slow.test") == addresses("192.0.2.10"))
        #expect(clock.now - started >= .milliseconds(900))
        #expect(try await resolver.addresses(for: "fail.test") == addresses("192.0.2.10"))
        #expect(first.count("fail.test", .a) == 1 && second.count("fail.test", .a) == 1)
    }

    @Test func everyServerFailingIsReported() async throws {
        let server = try await TestDNSServer.start(group: group) { query, _ in
            [.message(DNSMessage.errorResponse(to: query, code: .serverFailure))]
        }
        defer { Task { await server.stop() } }
        let fixture = try ResolverFixture(resolvConf: "nameserver 127.0.0.1\noptions attempts:2 no-aaaa\n")
        defer { fixture.remove() }
        let resolver = resolver(fixture, port: server.port)
        let error = await expectFailure(.serverFailure(.serverFailure)) {
            _ = try await resolver.addresses(for: "broken.test.")
        }
        #expect(error?.description.hasSuffix("127.0.0.1:\(server.port) answered SERVFAIL") == true)
        #expect(server.count("broken.test", .a) == 2)
        // SERVFAIL is not cached.
        _ = try? await resolver.addresses(for: "broken.test.")
        #expect(server.count("broken.test", .a) == 4)
    }

    @Test func refusedPortFailsFastAsUnreachable() async throws {
        // Bind and close a UDP socket to find a port where nothing listens.
        let probe = try await DatagramBootstrap(group: group).bind(host: "127.0.0.1", port: 0).get()
        let port = probe.localAddress!.port!
        try await probe.close()
        // A 30 s timeout: "fast" means it did not wait for it (no wall-time bound tighter than that).
        let fixture = try ResolverFixture(resolvConf: "nameserver 127.0.0.1\noptions timeout:30 no-aaaa\n")
        defer { fixture.remove() }
        let resolver = resolver(fixture, port: port)
        let clock = ContinuousClock()
        let started = clock.now
        _ = await expectFailure(.unreachable("Connection refused")) {
            _ = try await resolver.addresses(for: "nobody.test.")
        }
        #expect(clock.now - started < .seconds(25))
    }

    @Test func spoofedRepliesAreIgnored() async throws {
        let server = try await TestDNSServer.start(group: group) { query, _ in
            var wrongID = DNSMessage.answer(to: query, addresses: [IPAddress("198.51.100.1")!], ttl: 60)
            wrongID.header.id &+= 1
            var wrongQuestion = DNSMessage.answer(to: query, addresses: [IPAddress("198.51.100.2")!], ttl: 60)
            wrongQuestion.questions[0].name = try! DNSName("evil.test")
            var notAResponse = DNSMessage.answer(to: query, addresses: [IPAddress("198.51.100.3")!], ttl: 60)
            notAResponse.header.isResponse = false
            let real = DNSMessage.answer(to: query, addresses: [IPAddress("192.0.2.11")!], ttl: 60)
            return [
                .message(wrongID), .message(wrongQuestion), .message(notAResponse), .raw([1, 2, 3]),
                .message(real),
            ]
        }
        defer { Task { await server.stop() } }
        let fixture = try ResolverFixture(resolvConf: "nameserver 127.0.0.1\noptions no-aaaa\n")
        defer { fixture.remove() }
        let resolver = resolver(fixture, port: server.port)
        #expect(try await resolver.addresses(for: "target.test") == addresses("192.0.2.11"))
    }

    @Test func positiveAndNegativeAnswersAreCached() async throws {
        let soa = DNSStartOfAuthority(
            primaryServer: try DNSName("ns.test"), responsibleMailbox: try DNSName("hostmaster.test"), serial: 1,
            refresh: 1, retry: 1, expire: 1, minimum: 30)
        let server = try await TestDNSServer.start(group: group) { query, _ in
            switch query.questions[0].name.description {
            case "cached.test":
                return [.message(DNSMessage.answer(to: query, addresses: [IPAddress("192.0.2.12")!], ttl: 60))]
            case "zero.test":
                return [.message(DNSMessage.answer(to: query, addresses: [IPAddress("192.0.2.13")!], ttl: 0))]
            case "missing.test":
                var reply = DNSMessage.errorResponse(to: query, code: .nameError)
                reply.authorities = [DNSResourceRecord(name: try! DNSName("test"), ttl: 60, data: .soa(soa))]
                return [.message(reply)]
            default:
                return [.message(DNSMessage.errorResponse(to: query, code: .nameError))]
            }
        }
        defer { Task { await server.stop() } }
        let fixture = try ResolverFixture(resolvConf: "nameserver 127.0.0.1\noptions no-aaaa\n")
        defer { fixture.remove() }
        let resolver = resolver(fixture, port: server.port)
        for _ in 0..<3 {
            #expect(try await resolver.addresses(for: "cached.test") == addresses("192.0.2.12"))
            #expect(try await resolver.addresses(for: "zero.test") == addresses("192.0.2.13"))
            _ = await expectFailure(.nameNotFound) { _ = try await resolver.addresses(for: "missing.test.") }
            _ = await expectFailure(.nameNotFound) { _ = try await resolver.addresses(for: "nosoa.test.") }
        }
        #expect(server.count("cached.test", .a) == 1)
        #expect(server.count("zero.test", .a) == 3)
        #expect(server.count("missing.test", .a) == 1)
        #expect(server.count("nosoa.test", .a) == 3)
        let statistics = resolver.cacheStatistics
        #expect(statistics.hits == 4 && statistics.misses == 8 && statistics.entries == 2)
        resolver.removeAllCachedAnswers()
        #expect(try await resolver.addresses(for: "cached.test") == addresses("192.0.2.12"))
        #expect(server.count("cached.test", .a) == 2)
    }

    @Test func concurrentLookupsShareOneQuery() async throws {
        let server = try await TestDNSServer.start(group: group, script: TestDNSServer.answering(["192.0.2.14"]))
        defer { Task { await server.stop() } }
        let fixture = try ResolverFixture(resolvConf: "nameserver 127.0.0.1\noptions no-aaaa\n")
        defer { fixture.remove() }
        let resolver = resolver(fixture, port: server.port)
        try await withThrowingTaskGroup(of: [IPAddress].self) { group in
            for _ in 0..<50 { group.addTask { try await resolver.addresses(for: "popular.test") } }
            for try await result in group { #expect(result == addresses("192.0.2.14")) }
        }
        #expect(server.count("popular.test", .a) == 1)
    }

    @Test func cancelledCallersStopWaitingAtOnce() async throws {
        let server = try await TestDNSServer.start(group: group) { _, _ in [] }
        defer { Task { await server.stop() } }
        // A 30 s timeout: cancelled callers must return long before it (no tighter wall-time bound).
        let fixture = try ResolverFixture(resolvConf: "nameserver 127.0.0.1\noptions timeout:30 no-aaaa\n")
        defer { fixture.remove() }
        let resolver = resolver(fixture, port: server.port)
        let clock = ContinuousClock()
        let started = clock.now
        let lookup = Task { try await resolver.addresses(for: "hang.test") }
        let relay = Task {
            try await resolver.exchange(
                try DNSMessage.query(id: 1, name: try DNSName("hang2.test"), type: .a).serialized())
        }
        try await Task.sleep(for: .milliseconds(200))
        lookup.cancel()
        relay.cancel()
        await #expect(throws: CancellationError.self) { _ = try await lookup.value }
        await #expect(throws: CancellationError.self) { _ = try await relay.value }
        #expect(clock.now - started < .seconds(25))
    }

    @Test func followsCNAMEChains() async throws {
        let server = try await TestDNSServer.start(group: group) { query, _ in
            var reply = DNSMessage.response(to: query, code: .noError)
            let name = query.questions[0].name
            reply.answers = [
                DNSResourceRecord(
                    name: try! DNSName("other.test"), ttl: 60, data: .address(IPAddress("198.51.100.9")!)),
                DNSResourceRecord(name: name, ttl: 60, data: .cname(try! DNSName("mid.test"))),
                DNSResourceRecord(name: try! DNSName("mid.test"), ttl: 60, data: .cname(try! DNSName("end.test"))),
                DNSResourceRecord(name: try! DNSName("end.test"), ttl: 60, data: .address(IPAddress("192.0.2.15")!)),
            ]
            return [.message(reply)]
        }
        defer { Task { await server.stop() } }
        let fixture = try ResolverFixture(resolvConf: "nameserver 127.0.0.1\noptions no-aaaa\n")
        defer { fixture.remove() }
        let resolver = resolver(fixture, port: server.port)
        #expect(try await resolver.addresses(for: "alias.test") == addresses("192.0.2.15"))
    }

    @Test func searchListWithNdots() async throws {
        let server = try await TestDNSServer.start(group: group) { query, _ in
            query.questions[0].name.description == "box.lan.test"
                ? [.message(DNSMessage.answer(to: query, addresses: [IPAddress("192.0.2.16")!], ttl: 60))]
                : [.message(DNSMessage.errorResponse(to: query, code: .nameError))]
        }
        defer { Task { await server.stop() } }
        let fixture = try ResolverFixture(
            resolvConf: "nameserver 127.0.0.1\nsearch other.test lan.test\noptions no-aaaa\n")
        defer { fixture.remove() }
        let resolver = resolver(fixture, port: server.port)
        #expect(try await resolver.addresses(for: "box") == addresses("192.0.2.16"))
        #expect(server.received.map(\.question.name.description) == ["box.other.test", "box.lan.test"])
        let error = await expectFailure(.nameNotFound) { _ = try await resolver.addresses(for: "nothing") }
        #expect(error?.queriedNames == ["nothing.other.test", "nothing.lan.test", "nothing"])
    }

    @Test func rotateSpreadsQueriesOverServers() async throws {
        let first = try await TestDNSServer.start(group: group, script: TestDNSServer.answering(["192.0.2.17"]))
        defer { Task { await first.stop() } }
        let second = try await TestDNSServer.start(
            host: "127.0.0.2", port: first.port, group: group, script: TestDNSServer.answering(["192.0.2.17"]))
        defer { Task { await second.stop() } }
        let fixture = try ResolverFixture(
            resolvConf: "nameserver 127.0.0.1\nnameserver 127.0.0.2\noptions rotate no-aaaa\n")
        defer { fixture.remove() }
        let resolver = resolver(fixture, port: first.port)
        for index in 0..<6 { _ = try await resolver.addresses(for: "r\(index).test") }
        #expect(first.received.count == 3 && second.received.count == 3)
        // Without rotate the first server takes everything.
        try fixture.write(resolvConf: "nameserver 127.0.0.1\nnameserver 127.0.0.2\noptions no-aaaa\n#changed\n")
        for index in 0..<4 { _ = try await resolver.addresses(for: "s\(index).test") }
        #expect(first.received.count == 7 && second.received.count == 3)
    }

    @Test func exchangeRelaysRawRepliesUnderTheClientsID() async throws {
        let server = try await TestDNSServer.start(group: group, script: TestDNSServer.answering(["192.0.2.18"]))
        defer { Task { await server.stop() } }
        let fixture = try ResolverFixture(resolvConf: "nameserver 192.0.2.1\n")
        defer { fixture.remove() }
        let resolver = resolver(fixture, port: server.port)
        var query = DNSMessage.query(id: 0xBEEF, name: try DNSName("Relay.Test"), type: .a)
        query.edns?.options = [EDNSRecord.Option(code: 10, data: [1, 2, 3, 4, 5, 6, 7, 8])]
        let reply = try await resolver.exchange(try query.serialized(), servers: [server.address])
        let message = try DNSMessage(parsing: reply)
        #expect(message.header.id == 0xBEEF)
        #expect(message.isResponse(to: query))
        #expect(message.answers.map(\.data) == [.address(IPAddress("192.0.2.18")!)])
        // The server saw our random id, and the query otherwise untouched (EDNS option included).
        #expect(server.received.count == 1)
        #expect(server.received[0].edns?.options == query.edns?.options)
        let buffer = try await resolver.exchange(ByteBuffer(bytes: try query.serialized()), servers: [server.address])
        #expect(Array(buffer.readableBytesView).prefix(2) == [0xBE, 0xEF])

        await #expect(throws: DNSMessageError(.notAQuery)) {
            _ = try await resolver.exchange(try message.serialized(), servers: [server.address])
        }
        await #expect(throws: DNSMessageError.self) {
            _ = try await resolver.exchange([0xBE, 0xEF, 1], servers: [server.address])
        }
    }

    @Test func exchangeReturnsTheLastRejectionAndThrowsOnSilence() async throws {
        let server = try await TestDNSServer.start(group: group) { query, _ in
            query.questions[0].name.description == "quiet.test"
                ? [] : [.message(DNSMessage.errorResponse(to: query, code: .refused))]
        }
        defer { Task { await server.stop() } }
        let fixture = try ResolverFixture(resolvConf: "nameserver 127.0.0.1\noptions timeout:1 attempts:1\n")
        defer { fixture.remove() }
        let resolver = resolver(fixture, port: server.port)
        let refused = try await resolver.exchange(
            try DNSMessage.query(id: 7, name: try DNSName("no.test"), type: .a).serialized())
        #expect(try DNSMessage(parsing: refused).responseCode == .refused)
        #expect(DNSWireEdits.id(of: refused) == 7)
        _ = await expectFailure(.timedOut(timeoutSeconds: 1, attempts: 1)) {
            _ = try await resolver.exchange(
                try DNSMessage.query(id: 8, name: try DNSName("quiet.test"), type: .a).serialized())
        }
    }

    @Test(.enabled(if: getuid() == 0, "SO_MARK needs CAP_NET_ADMIN"))
    func socketMarkIsAppliedToQuerySockets() async throws {
        let server = try await TestDNSServer.start(group: group, script: TestDNSServer.answering(["192.0.2.19"]))
        defer { Task { await server.stop() } }
        let fixture = try ResolverFixture(resolvConf: "nameserver 127.0.0.1\noptions no-aaaa\n")
        defer { fixture.remove() }
        let marked = resolver(fixture, port: server.port) { $0.socketMark = 0xFFFF_FF01 }
        #expect(try await marked.addresses(for: "marked.test") == addresses("192.0.2.19"))
        let tcp = resolver(fixture, port: server.port) { $0.socketMark = 0x1 }
        try fixture.write(resolvConf: "nameserver 127.0.0.1\noptions no-aaaa use-vc\n")
        #expect(try await tcp.addresses(for: "marked-tcp.test") == addresses("192.0.2.19"))
        #expect(server.count("marked-tcp.test", .a, over: .tcp) == 1)
    }
}
