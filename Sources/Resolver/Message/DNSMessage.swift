import NIOCore

/// A whole DNS message (RFC 1035 4.1) with its EDNS OPT record lifted out of the additional section (RFC 6891).
public struct DNSMessage: Hashable, Sendable {
    /// RFC 1035 4.2.1: without EDNS a UDP message is at most 512 octets.
    public static let classicUDPSize = 512
    /// RFC 1035 4.2.2: the TCP length prefix is 16 bits.
    public static let maximumSize = 65535

    public var header: DNSHeader
    public var questions: [DNSQuestion]
    public var answers: [DNSResourceRecord]
    public var authorities: [DNSResourceRecord]
    /// The additional section without the OPT record.
    public var additionals: [DNSResourceRecord]
    public var edns: EDNSRecord?

    public init(
        header: DNSHeader, questions: [DNSQuestion] = [], answers: [DNSResourceRecord] = [],
        authorities: [DNSResourceRecord] = [], additionals: [DNSResourceRecord] = [], edns: EDNSRecord? = nil
    ) {
        self.header = header
        self.questions = questions
        self.answers = answers
        self.authorities = authorities
        self.additionals = additionals
        self.edns = edns
    }

    /// Parses a complete message. Octets after the last record are ignored, as most implementations do.
    public init(parsing bytes: [UInt8]) throws(DNSMessageError) {
        var reader = DNSMessageReader(bytes)
        let id = try reader.readUInt16()
        let flags = try reader.readUInt16()
        let questionCount = Int(try reader.readUInt16())
        let answerCount = Int(try reader.readUInt16())
        let authorityCount = Int(try reader.readUInt16())
        let additionalCount = Int(try reader.readUInt16())
        header = DNSHeader(id: id, flags: flags)

        questions = []
        for _ in 0..<questionCount { questions.append(try reader.readQuestion()) }

        func section(_ count: Int, allowsOPT: Bool, edns: inout EDNSRecord?) throws(DNSMessageError)
            -> [DNSResourceRecord]
        {
            var records: [DNSResourceRecord] = []
            for _ in 0..<count {
                let start = reader.index
                switch try reader.readRecord() {
                case .record(let record): records.append(record)
                case .opt(let opt):
                    guard allowsOPT else { throw DNSMessageError(.misplacedOPT, at: start) }
                    guard edns == nil else { throw DNSMessageError(.multipleOPT, at: start) }
                    edns = opt
                }
            }
            return records
        }
        var edns: EDNSRecord? = nil
        answers = try section(answerCount, allowsOPT: false, edns: &edns)
        authorities = try section(authorityCount, allowsOPT: false, edns: &edns)
        additionals = try section(additionalCount, allowsOPT: true, edns: &edns)
        self.edns = edns
    }

    public init(parsing buffer: ByteBuffer) throws(DNSMessageError) {
        try self.init(parsing: Array(buffer.readableBytesView))
    }

    /// The message's octets; names compressed unless asked not to. Fails only past the 65535-octet limit.
    public func serialized(compressingNames: Bool = true) throws(DNSMessageError) -> [UInt8] {
        let additionalCount = additionals.count + (edns == nil ? 0 : 1)
        for count in [questions.count, answers.count, authorities.count, additionalCount] where count > 0xFFFF {
            throw DNSMessageError(.messageTooLarge(count))
        }
        var writer = DNSMessageWriter(compress: compressingNames)
        writer.writeUInt16(header.id)
        writer.writeUInt16(header.flags)
        writer.writeUInt16(UInt16(questions.count))
        writer.writeUInt16(UInt16(answers.count))
        writer.writeUInt16(UInt16(authorities.count))
        writer.writeUInt16(UInt16(additionalCount))
        for question in questions { writer.writeQuestion(question) }
        for record in answers { writer.writeRecord(record) }
        for record in authorities { writer.writeRecord(record) }
        for record in additionals { writer.writeRecord(record) }
        if let edns { writer.writeOPT(edns) }
        guard !writer.overflowed, writer.bytes.count <= DNSMessage.maximumSize else {
            throw DNSMessageError(.messageTooLarge(writer.bytes.count))
        }
        return writer.bytes
    }

    /// The full 12-bit RCODE: the header's 4 bits plus EDNS's extended 8 (RFC 6891 6.1.3).
    public var responseCode: DNSResponseCode {
        let extended = UInt16(edns?.extendedResponseCode ?? 0) << 4
        return DNSResponseCode(rawValue: extended | header.responseCode.rawValue)
    }
}
