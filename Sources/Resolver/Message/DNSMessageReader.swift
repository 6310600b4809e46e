import IPAddresses

/// Reads one whole DNS message from its octets. Every read is bounds-checked and every failure is a
/// `DNSMessageError` carrying the offset; nothing here can trap or loop on hostile input.
struct DNSMessageReader {
    /// A 255-octet name has at most 127 labels, so a name that needs more hops than that is hostile.
    static let maximumPointerHops = 127

    let bytes: [UInt8]
    private(set) var index: Int = 0

    init(_ bytes: [UInt8]) { self.bytes = bytes }

    var remaining: Int { bytes.count - index }

    mutating func readUInt8() throws(DNSMessageError) -> UInt8 {
        guard index < bytes.count else { throw DNSMessageError(.truncated, at: index) }
        defer { index += 1 }
        return bytes[index]
    }

    mutating func readUInt16() throws(DNSMessageError) -> UInt16 {
        guard index + 2 <= bytes.count else { throw DNSMessageError(.truncated, at: index) }
        defer { index += 2 }
        return UInt16(bytes[index]) << 8 | UInt16(bytes[index + 1])
    }

    mutating func readUInt32() throws(DNSMessageError) -> UInt32 {
        guard index + 4 <= bytes.count else { throw DNSMessageError(.truncated, at: index) }
        defer { index += 4 }
        return bytes[index..<(index + 4)].reduce(0) { $0 << 8 | UInt32($1) }
    }

    mutating func readBytes(_ count: Int) throws(DNSMessageError) -> [UInt8] {
        guard count >= 0, index + count <= bytes.count else { throw DNSMessageError(.truncated, at: index) }
        defer { index += count }
        return Array(bytes[index..<(index + count)])
    }

    /// A possibly compressed name (RFC 1035 4.1.4). A pointer must land before the run of labels it ends, so
    /// each hop moves strictly backwards and the walk always ends; a pointer that does not is a typed error.
    mutating func readName() throws(DNSMessageError) -> DNSName {
        var wire: [UInt8] = []
        var position = index
        var runStart = index
        var resumeAt: Int? = nil
        var hops = 0
        while true {
            guard position < bytes.count else { throw DNSMessageError(.truncated, at: position) }
            let length = bytes[position]
            switch length & 0xC0 {
            case 0x00:
                if length == 0 {
                    index = resumeAt ?? position + 1
                    return DNSName(uncheckedWire: wire)
                }
                let labelLength = Int(length)
                guard position + 1 + labelLength <= bytes.count else {
                    throw DNSMessageError(.truncated, at: position)
                }
                // The label, its length octet and the final root octet must all fit in 255.
                guard wire.count + 1 + labelLength + 1 <= DNSName.maximumWireLength else {
                    throw DNSMessageError(.nameTooLong, at: position)
                }
                wire += bytes[position..<(position + 1 + labelLength)]
                position += 1 + labelLength
            case 0xC0:
                guard position + 2 <= bytes.count else { throw DNSMessageError(.truncated, at: position) }
                let target = Int(length & 0x3F) << 8 | Int(bytes[position + 1])
                if target > position { throw DNSMessageError(.forwardPointer(target: target), at: position) }
                if target >= runStart { throw DNSMessageError(.pointerLoop(target: target), at: position) }
                hops += 1
                guard hops <= DNSMessageReader.maximumPointerHops else {
                    throw DNSMessageError(.tooManyPointers, at: position)
                }
                if resumeAt == nil { resumeAt = position + 2 }
                position = target
                runStart = target
            default:
                throw DNSMessageError(.reservedLabelType(length & 0xC0), at: position)
            }
        }
    }

    mutating func readQuestion() throws(DNSMessageError) -> DNSQuestion {
        let name = try readName()
        let type = DNSRecordType(rawValue: try readUInt16())
        let questionClass = DNSClass(rawValue: try readUInt16())
        return DNSQuestion(name: name, type: type, questionClass: questionClass)
    }

    enum Record {
        case record(DNSResourceRecord)
        case opt(EDNSRecord)
    }

    /// One RR; OPT comes back separately so the message can check where it appeared.
    mutating func readRecord() throws(DNSMessageError) -> Record {
        let start = index
        let name = try readName()
        let type = DNSRecordType(rawValue: try readUInt16())
        let rawClass = try readUInt16()
        let ttl = try readUInt32()
        let length = Int(try readUInt16())
        let dataStart = index
        let dataEnd = dataStart + length
        guard dataEnd <= bytes.count else { throw DNSMessageError(.truncated, at: dataStart) }
        defer { index = dataEnd }

        if type == .opt {
            guard name.isRoot else { throw DNSMessageError(.misplacedOPT, at: start) }
            var options: [EDNSRecord.Option] = []
            while index < dataEnd {
                guard dataEnd - index >= 4 else { throw DNSMessageError(.malformedEDNSOption, at: index) }
                let code = try readUInt16()
                let optionLength = Int(try readUInt16())
                guard optionLength <= dataEnd - index else {
                    throw DNSMessageError(.malformedEDNSOption, at: index)
                }
                options.append(EDNSRecord.Option(code: code, data: try readBytes(optionLength)))
            }
            return .opt(
                EDNSRecord(
                    udpPayloadSize: rawClass, extendedResponseCode: UInt8(ttl >> 24),
                    version: UInt8(truncatingIfNeeded: ttl >> 16), dnssecOK: ttl & 0x8000 != 0,
                    reservedFlags: UInt16(ttl & 0x7FFF), options: options))
        }

        let recordClass = DNSClass(rawValue: rawClass)
        let malformed = DNSMessageError(.badRecordData(type: type, length: length), at: dataStart)
        let data: DNSRecordData
        switch type {
        case .a where recordClass == .internet, .aaaa where recordClass == .internet:
            let family: IPFamily = type == .a ? .ipv4 : .ipv6
            guard length == family.byteCount else { throw malformed }
            data = .address(IPAddress(family: family, bytes: try readBytes(length)))
        case .cname, .ns, .ptr:
            let target = try readName()
            guard index == dataEnd else { throw malformed }
            data = type == .cname ? .cname(target) : (type == .ns ? .ns(target) : .ptr(target))
        case .mx:
            guard length >= 3 else { throw malformed }
            let preference = try readUInt16()
            let exchange = try readName()
            guard index == dataEnd else { throw malformed }
            data = .mx(preference: preference, exchange: exchange)
        case .soa:
            let primary = try readName()
            let mailbox = try readName()
            guard dataEnd - index == 20 else { throw malformed }
            data = .soa(
                DNSStartOfAuthority(
                    primaryServer: primary, responsibleMailbox: mailbox, serial: try readUInt32(),
                    refresh: try readUInt32(), retry: try readUInt32(), expire: try readUInt32(),
                    minimum: try readUInt32()))
        default:
            data = .other(type: type, bytes: try readBytes(length))
        }
        return .record(DNSResourceRecord(name: name, recordClass: recordClass, ttl: ttl, data: data))
    }
}
