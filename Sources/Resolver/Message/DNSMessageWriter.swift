/// Builds a message's octets, optionally compressing names (RFC 1035 4.1.4): a repeated suffix becomes a pointer
/// to its first occurrence, when that occurrence lies within the 14-bit pointer range.
struct DNSMessageWriter {
    private(set) var bytes: [UInt8] = []
    /// A length field (RDLENGTH, option length) that could not hold its value; the message must be refused.
    private(set) var overflowed = false
    private let compress: Bool
    /// Case-folded wire suffix -> offset of its first occurrence.
    private var suffixOffsets: [[UInt8]: Int] = [:]

    init(compress: Bool) {
        self.compress = compress
        bytes.reserveCapacity(512)
    }

    mutating func writeUInt8(_ value: UInt8) { bytes.append(value) }

    mutating func writeUInt16(_ value: UInt16) {
        bytes.append(UInt8(value >> 8))
        bytes.append(UInt8(truncatingIfNeeded: value))
    }

    mutating func writeUInt32(_ value: UInt32) {
        for shift in stride(from: 24, through: 0, by: -8) { bytes.append(UInt8(truncatingIfNeeded: value >> shift)) }
    }

    mutating func writeBytes(_ value: [UInt8]) { bytes += value }

    mutating func writeName(_ name: DNSName) {
        let wire = name.wire
        var labelStarts: [Int] = []
        var index = 0
        var pointer: Int? = nil
        while index < wire.count {
            if compress, let offset = suffixOffsets[DNSMessageWriter.folded(wire[index...])] {
                pointer = offset
                break
            }
            labelStarts.append(index)
            index += 1 + Int(wire[index])
        }
        let base = bytes.count
        if compress {
            for start in labelStarts where base + start < 0x4000 {
                suffixOffsets[DNSMessageWriter.folded(wire[start...])] = base + start
            }
        }
        bytes += wire[..<index]
        if let pointer {
            writeUInt16(0xC000 | UInt16(pointer))
        } else {
            bytes.append(0)
        }
    }

    mutating func writeQuestion(_ question: DNSQuestion) {
        writeName(question.name)
        writeUInt16(question.type.rawValue)
        writeUInt16(question.questionClass.rawValue)
    }

    mutating func writeRecord(_ record: DNSResourceRecord) {
        writeName(record.name)
        writeUInt16(record.type.rawValue)
        writeUInt16(record.recordClass.rawValue)
        writeUInt32(record.ttl)
        let lengthAt = bytes.count
        writeUInt16(0)
        switch record.data {
        case .address(let address): writeBytes(address.bytes)
        case .cname(let name), .ns(let name), .ptr(let name): writeName(name)
        case .mx(let preference, let exchange):
            writeUInt16(preference)
            writeName(exchange)
        case .soa(let soa):
            writeName(soa.primaryServer)
            writeName(soa.responsibleMailbox)
            for value in [soa.serial, soa.refresh, soa.retry, soa.expire, soa.minimum] { writeUInt32(value) }
        case .other(_, let data): writeBytes(data)
        }
        patchLength(at: lengthAt)
    }

    mutating func writeOPT(_ edns: EDNSRecord) {
        writeUInt8(0)
        writeUInt16(DNSRecordType.opt.rawValue)
        writeUInt16(edns.udpPayloadSize)
        writeUInt32(edns.ttlField)
        let lengthAt = bytes.count
        writeUInt16(0)
        for option in edns.options {
            writeUInt16(option.code)
            if option.data.count > 0xFFFF { overflowed = true }
            writeUInt16(UInt16(truncatingIfNeeded: option.data.count))
            writeBytes(option.data)
        }
        patchLength(at: lengthAt)
    }

    /// RDLENGTH is written after the data.
    private mutating func patchLength(at offset: Int) {
        if bytes.count - offset - 2 > 0xFFFF { overflowed = true }
        let length = UInt16(truncatingIfNeeded: min(bytes.count - offset - 2, 0xFFFF))
        bytes[offset] = UInt8(length >> 8)
        bytes[offset + 1] = UInt8(truncatingIfNeeded: length)
    }

    private static func folded(_ suffix: ArraySlice<UInt8>) -> [UInt8] { suffix.map(DNSName.fold) }
}
