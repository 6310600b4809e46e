extension DNSMessage {
    /// DNS Flag Day 2020's recommended EDNS UDP size: fits a 1280-octet IPv6 MTU without fragmentation.
    public static let recommendedUDPPayloadSize: UInt16 = 1232

    /// A standard query for one name and type (RFC 1035 4.1.1), recursion desired, with an OPT record advertising
    /// `udpPayloadSize` unless it is nil (then no EDNS, and answers are limited to 512 octets over UDP).
    public static func query(
        id: UInt16, name: DNSName, type: DNSRecordType, questionClass: DNSClass = .internet,
        recursionDesired: Bool = true, udpPayloadSize: UInt16? = recommendedUDPPayloadSize, dnssecOK: Bool = false
    ) -> DNSMessage {
        DNSMessage(
            header: DNSHeader(id: id, recursionDesired: recursionDesired),
            questions: [DNSQuestion(name: name, type: type, questionClass: questionClass)],
            edns: udpPayloadSize.map { EDNSRecord(udpPayloadSize: $0, dnssecOK: dnssecOK) })
    }

    /// The single question of a standard query; anything else (a response, another opcode, zero or several
    /// questions) is `.notAQuery`. Forwarders and caches key on this question.
    public func queryQuestion() throws(DNSMessageError) -> DNSQuestion {
        guard !header.isResponse, header.opcode == .query, questions.count == 1 else {
            throw DNSMessageError(.notAQuery)
        }
        return questions[0]
    }

    /// True when `self` answers `query`: same id, QR set, same opcode and the same questions (names compared
    /// case-insensitively). A stub accepts nothing else, which makes blind spoofing need the id and the port.
    public func isResponse(to query: DNSMessage) -> Bool {
        header.isResponse && header.id == query.header.id && header.opcode == query.header.opcode
            && questions == query.questions
    }
}
