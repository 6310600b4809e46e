/// Edits made on a message's octets without parsing it, for relaying: the rest of the message stays byte-exact.
public enum DNSWireEdits {
    /// The message id, or nil when there is no header.
    public static func id(of message: [UInt8]) -> UInt16? {
        guard message.count >= DNSHeader.length else { return nil }
        return UInt16(message[0]) << 8 | UInt16(message[1])
    }

    /// Replaces the id in place; a message shorter than a header is left alone.
    public static func setID(_ id: UInt16, in message: inout [UInt8]) {
        guard message.count >= DNSHeader.length else { return }
        message[0] = UInt8(id >> 8)
        message[1] = UInt8(truncatingIfNeeded: id)
    }

    /// Sets the TC bit (RFC 1035 4.1.1) in place.
    public static func setTruncated(in message: inout [UInt8]) {
        guard message.count >= DNSHeader.length else { return }
        message[2] |= 0x02
    }

    /// A response that fits `limit` octets for a UDP client: the response itself when it fits, else its header
    /// (TC set), question and OPT record with no other records, so the client retries over TCP (RFC 2181 9,
    /// RFC 6891 7). Octets that do not parse are cut to a bare header with TC set. A limit below 512 counts as
    /// 512, which every client accepts (RFC 1035 4.2.1, RFC 6891 6.2.5).
    public static func truncate(_ response: [UInt8], toFit requestedLimit: Int) -> [UInt8] {
        let limit = max(requestedLimit, DNSMessage.classicUDPSize)
        guard response.count > limit else { return response }
        guard let message = try? DNSMessage(parsing: response) else {
            var header = Array(response.prefix(DNSHeader.length))
            guard header.count == DNSHeader.length else { return header }
            for index in 4..<DNSHeader.length { header[index] = 0 }
            setTruncated(in: &header)
            return header
        }
        var cut = DNSMessage(header: message.header, questions: message.questions, edns: message.edns)
        cut.header.isTruncated = true
        if let bytes = try? cut.serialized(), bytes.count <= limit {
            return bytes
        }
        cut.questions = []
        cut.edns = nil
        return (try? cut.serialized()) ?? []
    }
}
