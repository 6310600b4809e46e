import IPAddresses
import Testing

@testable import Resolver

@Suite struct DNSMessageCodecTests {
    /// RFC 1035 4.1 by hand: id 0x1234, RD, one question example.com IN A, no EDNS.
    static let plainQuery = hex("1234 0100 0001 0000 0000 0000 076578616d706c6503636f6d00 0001 0001")

    /// www.example.com A -> CNAME web.example.com (RDATA compressed to "web" + pointer to offset 16), then
    /// web.example.com A 192.0.2.1 owned by a pointer into the CNAME RDATA (offset 45).
    static let compressedResponse = hex(
        """
        1234 8180 0001 0002 0000 0000
        03777777 076578616d706c65 03636f6d 00 0001 0001
        c00c 0005 0001 00000e10 0006 03776562 c010
        c02d 0001 0001 0000003c 0004 c0000201
        """)

    /// dig 9.18's query for www.example.test AAAA (RD, AD, EDNS 1232 with a cookie option) and dnsmasq 2.90's
    /// authoritative reply, captured on loopback.
    static let digQuery = hex(
        "3c330120000100000000000103777777076578616d706c65047465737400001c000100002904d000000000000c000a000838c0"
            + "89420d5d4c80")
    static let dnsmasqAAAAResponse = hex(
        "3c338500000100020001000103777777076578616d706c65047465737400001c0001c00c000500010000012c001304686f7374"
            + "076578616d706c65047465737400c02e001c00010000012c001020010db8000000000000000000000008076578616d706c"
            + "65047465737400000200010000012c0011026e73076578616d706c6504746573740000002904d0000000000000")
    /// dnsmasq's NXDOMAIN for missing.example.test A: SOA in the authority section, MINIMUM 300.
    static let dnsmasqNXDOMAINResponse = hex(
        "745e85030001000000010001076d697373696e67076578616d706c6504746573740000010001076578616d706c650474657374"
            + "00000600010000012c003e026e73076578616d706c650474657374000a686f73746d6173746572076578616d706c650474"
            + "6573740000000007000004b0000000b4001275000000012c00002904d0000000000000")

    @Test func buildsAndParsesPlainQuery() throws {
        let query = DNSMessage.query(id: 0x1234, name: try DNSName("example.com"), type: .a, udpPayloadSize: nil)
        #expect(try query.serialized() == Self.plainQuery)
        let parsed = try DNSMessage(parsing: Self.plainQuery)
        #expect(parsed == query)
        #expect(parsed.header.recursionDesired && !parsed.header.isResponse)
        #expect(try parsed.queryQuestion() == DNSQuestion(name: try DNSName("example.com"), type: .a))
    }

    @Test func parsesCompressedResponse() throws {
        let message = try DNSMessage(parsing: Self.compressedResponse)
        #expect(message.header.id == 0x1234)
        #expect(message.header.isResponse && message.header.recursionDesired && message.header.recursionAvailable)
        #expect(message.responseCode == .noError)
        #expect(message.questions == [DNSQuestion(name: try DNSName("www.example.com"), type: .a)])
        #expect(
            message.answers == [
                DNSResourceRecord(
                    name: try DNSName("www.example.com"), ttl: 3600, data: .cname(try DNSName("web.example.com"))),
                DNSResourceRecord(
                    name: try DNSName("web.example.com"), ttl: 60, data: .address(IPAddress("192.0.2.1")!)),
            ])
        #expect(message.edns == nil)
    }

    @Test func compressesLikeTheHandBuiltMessage() throws {
        let message = try DNSMessage(parsing: Self.compressedResponse)
        #expect(try message.serialized() == Self.compressedResponse)
        let uncompressed = try message.serialized(compressingNames: false)
        #expect(uncompressed.count == Self.compressedResponse.count + 15 + 11 + 15)
        #expect(try DNSMessage(parsing: uncompressed) == message)
    }

    @Test func parsesDnsmasqReplyWithPointerIntoRecordData() throws {
        let message = try DNSMessage(parsing: Self.dnsmasqAAAAResponse)
        #expect(message.header.id == 0x3c33)
        #expect(message.header.isAuthoritative && message.header.recursionDesired)
        #expect(!message.header.recursionAvailable && !message.header.isTruncated)
        #expect(message.questions == [DNSQuestion(name: try DNSName("www.example.test"), type: .aaaa)])
        #expect(
            message.answers == [
                DNSResourceRecord(
                    name: try DNSName("www.example.test"), ttl: 300, data: .cname(try DNSName("host.example.test"))),
                DNSResourceRecord(
                    name: try DNSName("host.example.test"), ttl: 300, data: .address(IPAddress("2001:db8::8")!)),
            ])
        #expect(
            message.authorities == [
                DNSResourceRecord(
                    name: try DNSName("example.test"), ttl: 300, data: .ns(try DNSName("ns.example.test")))
            ])
        #expect(message.additionals.isEmpty)
        #expect(message.edns == EDNSRecord(udpPayloadSize: 1232))
        #expect(message.minimumTTL == 300)
        #expect(try DNSMessage(parsing: try message.serialized()) == message)
    }

    @Test func digQueryRoundTripsByteForByte() throws {
        let query = try DNSMessage(parsing: Self.digQuery)
        #expect(query.header.authenticData && query.header.recursionDesired)
        #expect(query.edns?.udpPayloadSize == 1232)
        #expect(query.edns?.options == [EDNSRecord.Option(code: 10, data: hex("38c089420d5d4c80"))])
        #expect(try query.serialized() == Self.digQuery)
    }

    @Test func readsSOAFromNegativeAnswer() throws {
        let message = try DNSMessage(parsing: Self.dnsmasqNXDOMAINResponse)
        #expect(message.responseCode == .nameError)
        let soa = DNSStartOfAuthority(
            primaryServer: try DNSName("ns.example.test"), responsibleMailbox: try DNSName("hostmaster.example.test"),
            serial: 7, refresh: 1200, retry: 180, expire: 1_209_600, minimum: 300)
        #expect(
            message.authorities == [DNSResourceRecord(name: try DNSName("example.test"), ttl: 300, data: .soa(soa))])
        #expect(message.negativeTTL == 300)
        #expect(message.minimumTTL == 300)
    }

    @Test func keepsUnknownRecordDataRawAndClassSpecificDataUndecoded() throws {
        var message = DNSMessage(header: DNSHeader(id: 7, isResponse: true))
        let name = try DNSName("x.test")
        message.answers = [
            DNSResourceRecord(name: name, ttl: 5, data: .other(type: .txt, bytes: [3, 0x61, 0x62, 0x63])),
            DNSResourceRecord(name: name, recordClass: .chaos, ttl: 5, data: .other(type: .a, bytes: [1, 2])),
            DNSResourceRecord(name: name, ttl: 5, data: .mx(preference: 10, exchange: try DNSName("mail.x.test"))),
            DNSResourceRecord(name: name, ttl: 5, data: .ptr(try DNSName("p.x.test"))),
        ]
        message.additionals = [DNSResourceRecord(name: name, ttl: 1, data: .address(IPAddress("192.0.2.3")!))]
        message.edns = EDNSRecord(
            udpPayloadSize: 4096, extendedResponseCode: 1, version: 0, dnssecOK: true, reservedFlags: 0x0101,
            options: [EDNSRecord.Option(code: 65001, data: [])])
        let bytes = try message.serialized()
        let parsed = try DNSMessage(parsing: bytes)
        #expect(parsed == message)
        #expect(parsed.responseCode == DNSResponseCode(rawValue: 16))
        #expect(parsed.responseCode == .badVersion)
    }

    @Test func headerFlagsRoundTrip() {
        for flags in [UInt16(0x0000), 0x8180, 0x8583, 0x0120, 0xFFFF, 0x7A5F] {
            let header = DNSHeader(id: 1, flags: flags)
            #expect(header.flags == flags)
        }
    }

    @Test func refusesToBuildOversizedMessages() throws {
        var message = DNSMessage(header: DNSHeader(id: 1))
        message.answers = [
            DNSResourceRecord(
                name: .root, ttl: 0, data: .other(type: .txt, bytes: [UInt8](repeating: 0, count: 70_000)))
        ]
        #expect(throws: DNSMessageError.self) { try message.serialized() }
    }
}
