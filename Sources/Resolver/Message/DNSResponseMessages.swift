import IPAddresses

extension DNSMessage {
    /// A response to `query` that echoes its id, opcode, RD and CD and its question, with RA set and `code`. The
    /// OPT record is echoed (with our payload size) when the query had one, as RFC 6891 7 asks of responders.
    public static func response(
        to query: DNSMessage, code: DNSResponseCode, answers: [DNSResourceRecord] = [],
        authorities: [DNSResourceRecord] = [], isAuthoritative: Bool = false
    ) -> DNSMessage {
        let header = DNSHeader(
            id: query.header.id, isResponse: true, opcode: query.header.opcode, isAuthoritative: isAuthoritative,
            recursionDesired: query.header.recursionDesired, recursionAvailable: true,
            checkingDisabled: query.header.checkingDisabled,
            responseCode: DNSResponseCode(rawValue: code.rawValue & 0x0F))
        let edns = query.edns.map { _ in
            EDNSRecord(udpPayloadSize: recommendedUDPPayloadSize, extendedResponseCode: UInt8(code.rawValue >> 4))
        }
        return DNSMessage(
            header: header, questions: query.questions, answers: answers, authorities: authorities, edns: edns)
    }

    /// SERVFAIL, REFUSED, NXDOMAIN or any other code, no records.
    public static func errorResponse(to query: DNSMessage, code: DNSResponseCode) -> DNSMessage {
        response(to: query, code: code)
    }

    /// A FORMERR header for octets that did not parse as a query, or nil when not even the 12-octet header
    /// is there (RFC 1035 4.1.1: a server may then stay silent).
    public static func formatErrorResponse(toUnparsable query: [UInt8]) -> [UInt8]? {
        guard query.count >= DNSHeader.length, query[2] & 0x80 == 0 else { return nil }
        let request = DNSHeader(id: UInt16(query[0]) << 8 | UInt16(query[1]), flags: UInt16(query[2]) << 8)
        let header = DNSHeader(
            id: request.id, isResponse: true, opcode: request.opcode, recursionDesired: request.recursionDesired,
            recursionAvailable: true, responseCode: .formatError)
        return try? DNSMessage(header: header).serialized()
    }

    /// An authoritative answer built from static addresses (hosts entries): the addresses of the queried family
    /// (both for ANY), or NODATA when there are none of that family. `ttl` 0 is dnsmasq's default for hosts.
    public static func answer(to query: DNSMessage, addresses: [IPAddress], ttl: UInt32 = 0) -> DNSMessage {
        guard let question = query.questions.first else { return response(to: query, code: .formatError) }
        let wanted: (IPAddress) -> Bool =
            switch question.type {
            case .a: { $0.family == .ipv4 }
            case .aaaa: { $0.family == .ipv6 }
            case .any: { _ in true }
            default: { _ in false }
            }
        let records = addresses.filter(wanted).map {
            DNSResourceRecord(name: question.name, recordClass: question.questionClass, ttl: ttl, data: .address($0))
        }
        return response(to: query, code: .noError, answers: records, isAuthoritative: true)
    }
}
