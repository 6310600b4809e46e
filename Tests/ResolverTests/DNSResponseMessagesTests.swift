import IPAddresses
import Testing

@testable import Resolver

@Suite struct DNSResponseMessagesTests {
    let query: DNSMessage = {
        var query = DNSMessage.query(id: 0x4242, name: try! DNSName("Host.Example"), type: .a)
        query.header.checkingDisabled = true
        return query
    }()

    @Test func errorResponsesEchoTheQuery() throws {
        for code in [DNSResponseCode.serverFailure, .refused, .nameError] {
            let response = DNSMessage.errorResponse(to: query, code: code)
            #expect(response.header.id == 0x4242)
            #expect(response.header.isResponse && response.header.recursionDesired)
            #expect(response.header.recursionAvailable && response.header.checkingDisabled)
            #expect(response.responseCode == code)
            #expect(response.questions == query.questions)
            #expect(response.answers.isEmpty)
            #expect(response.edns?.udpPayloadSize == DNSMessage.recommendedUDPPayloadSize)
            #expect(response.isResponse(to: query))
            #expect(try DNSMessage(parsing: try response.serialized()) == response)
        }
        var plain = query
        plain.edns = nil
        #expect(DNSMessage.errorResponse(to: plain, code: .serverFailure).edns == nil)
    }

    @Test func extendedCodesGoIntoTheOPTRecord() {
        let response = DNSMessage.errorResponse(to: query, code: .badVersion)
        #expect(response.header.responseCode == .noError)
        #expect(response.edns?.extendedResponseCode == 1)
        #expect(response.responseCode == .badVersion)
    }

    @Test func staticAnswersKeepTheQueriedFamily() throws {
        let addresses = ["192.0.2.1", "2001:db8::1", "192.0.2.2"].map { IPAddress($0)! }
        let v4 = DNSMessage.answer(to: query, addresses: addresses, ttl: 30)
        #expect(v4.header.isAuthoritative && v4.responseCode == .noError)
        #expect(v4.answers.map(\.data) == [.address(addresses[0]), .address(addresses[2])])
        #expect(v4.answers.allSatisfy { $0.name == query.questions[0].name && $0.ttl == 30 })
        // The owner keeps the client's spelling (0x20 case randomisation survives).
        #expect(v4.answers[0].name.description == "Host.Example")

        var aaaaQuery = query
        aaaaQuery.questions[0].type = .aaaa
        #expect(DNSMessage.answer(to: aaaaQuery, addresses: addresses).answers.map(\.data) == [.address(addresses[1])])

        var mxQuery = query
        mxQuery.questions[0].type = .mx
        let noData = DNSMessage.answer(to: mxQuery, addresses: addresses)
        #expect(noData.responseCode == .noError && noData.answers.isEmpty)
    }

    @Test func formatErrorForUnparsableQueries() throws {
        let garbage = hex("beef 0100 0001 0000 0000 0000 ff")
        let reply = try #require(DNSMessage.formatErrorResponse(toUnparsable: garbage))
        let message = try DNSMessage(parsing: reply)
        #expect(message.header.id == 0xBEEF && message.header.isResponse && message.header.recursionDesired)
        #expect(message.responseCode == .formatError && message.questions.isEmpty)
        #expect(DNSMessage.formatErrorResponse(toUnparsable: [1, 2, 3]) == nil)
        // Never answer a response: that is how reflection loops start.
        #expect(DNSMessage.formatErrorResponse(toUnparsable: hex("beef 8100 0000 0000 0000 0000")) == nil)
    }

    @Test func rawEditsTouchOnlyTheirBits() throws {
        var bytes = try query.serialized()
        let original = bytes
        DNSWireEdits.setID(0x0102, in: &bytes)
        #expect(DNSWireEdits.id(of: bytes) == 0x0102)
        DNSWireEdits.setTruncated(in: &bytes)
        #expect(Array(bytes[4...]) == Array(original[4...]))
        let parsed = try DNSMessage(parsing: bytes)
        #expect(parsed.header.isTruncated && parsed.header.checkingDisabled && parsed.header.recursionDesired)
        var short: [UInt8] = [1, 2]
        DNSWireEdits.setID(7, in: &short)
        DNSWireEdits.setTruncated(in: &short)
        #expect(short == [1, 2])
        #expect(DNSWireEdits.id(of: short) == nil)
    }

    @Test func truncationForUDPClients() throws {
        let many = (1...100).map { IPAddress(family: .ipv4, value: 0xC000_0200 + UInt128($0)) }
        let big = try DNSMessage.answer(to: query, addresses: many, ttl: 60).serialized()
        #expect(big.count > 1232)
        #expect(DNSWireEdits.truncate(big, toFit: 4096) == big)
        // Below 512 the classic limit applies.
        #expect(DNSWireEdits.truncate(Array(big.prefix(300)), toFit: 100).count == 300)
        let cut = DNSWireEdits.truncate(big, toFit: 512)
        #expect(cut.count <= 512)
        let message = try DNSMessage(parsing: cut)
        #expect(message.header.isTruncated && message.header.id == 0x4242)
        #expect(message.questions == query.questions && message.answers.isEmpty)
        #expect(message.edns != nil)
        #expect(message.minimumTTL == nil)
        // Unparsable octets are cut to a bare header with TC.
        let bare = DNSWireEdits.truncate(Array(big.prefix(600)), toFit: 512)
        #expect(bare.count == 12 && bare[2] & 0x02 != 0 && bare[0...1] == big[0...1])
    }

    @Test func cacheLifetimes() throws {
        let name = try DNSName("a.test")
        var response = DNSMessage.response(to: query, code: .noError)
        response.answers = [
            DNSResourceRecord(name: name, ttl: 300, data: .cname(try DNSName("b.test"))),
            DNSResourceRecord(name: try DNSName("b.test"), ttl: 60, data: .address(IPAddress("192.0.2.1")!)),
        ]
        #expect(response.minimumTTL == 60)
        response.answers[1].ttl = 0x8000_0001  // RFC 2181 8: treated as zero
        #expect(response.minimumTTL == 0)

        let soa = DNSStartOfAuthority(
            primaryServer: name, responsibleMailbox: name, serial: 1, refresh: 2, retry: 3, expire: 4, minimum: 30)
        var negative = DNSMessage.response(to: query, code: .nameError)
        #expect(negative.minimumTTL == nil)
        negative.authorities = [DNSResourceRecord(name: name, ttl: 100, data: .soa(soa))]
        #expect(negative.minimumTTL == 30)
        negative.authorities[0].ttl = 10
        #expect(negative.minimumTTL == 10)
        var noData = DNSMessage.response(to: query, code: .noError)
        noData.authorities = negative.authorities
        #expect(noData.minimumTTL == 10)
        var failure = DNSMessage.response(to: query, code: .serverFailure)
        failure.authorities = negative.authorities
        #expect(failure.minimumTTL == nil)
    }

    @Test func matchingRepliesToQueries() throws {
        var reply = DNSMessage.answer(to: query, addresses: [IPAddress("192.0.2.1")!])
        #expect(reply.isResponse(to: query))
        reply.questions[0].name = try DNSName("HOST.example")
        #expect(reply.isResponse(to: query))
        reply.header.id ^= 1
        #expect(!reply.isResponse(to: query))
        reply.header.id ^= 1
        reply.questions[0].type = .aaaa
        #expect(!reply.isResponse(to: query))
        reply.questions = []
        #expect(!reply.isResponse(to: query))
        #expect(!query.isResponse(to: query))
        #expect(throws: DNSMessageError(.notAQuery)) { try reply.queryQuestion() }
    }
}
