/// Reading netlink messages and attributes out of raw bytes (netlink(7), rtnetlink(7)): replies, acks,
/// extended-ack TLVs, route dumps, and our own built messages when an error points into them.
enum Netlink {
    static let headerSize = 16
    static let attributeHeaderSize = 4

    /// NLMSG_ERROR, NLMSG_DONE.
    static let errorType: UInt16 = 2
    static let doneType: UInt16 = 3
    /// NLM_F_MULTI in a reply; NLM_F_ACK_TLVS in an error message whose extended-ack TLVs follow.
    static let multiFlag: UInt16 = 0x2
    static let cappedFlag: UInt16 = 0x100
    static let ackTLVsFlag: UInt16 = 0x200
    /// NLMSGERR_ATTR_MSG, NLMSGERR_ATTR_OFFS (linux/netlink.h).
    static let errorAttributeMessage: UInt16 = 1
    static let errorAttributeOffset: UInt16 = 2

    static func align(_ length: Int) -> Int { (length + 3) & ~3 }

    struct Message {
        var type: UInt16
        var flags: UInt16
        var sequence: UInt32
        /// Everything after the 16-byte header.
        var payload: ArraySlice<UInt8>
    }

    /// Splits a datagram into its messages; a truncated tail is dropped.
    static func messages(in bytes: [UInt8]) -> [Message] {
        var result: [Message] = []
        var offset = 0
        while offset + headerSize <= bytes.count {
            let length = Int(u32(bytes, offset))
            guard length >= headerSize, offset + length <= bytes.count else { break }
            result.append(
                Message(
                    type: u16(bytes, offset + 4), flags: u16(bytes, offset + 6), sequence: u32(bytes, offset + 8),
                    payload: bytes[(offset + headerSize)..<(offset + length)]))
            offset += align(length)
        }
        return result
    }

    struct Attribute {
        var type: UInt16
        /// Offset of the attribute header from the start of the buffer it was read from.
        var offset: Int
        var value: ArraySlice<UInt8>
        var isNested: Bool { type & 0x8000 != 0 }
        var kind: UInt16 { type & 0x3fff }
    }

    /// The attributes in `bytes[range]`, in order.
    static func attributes(in bytes: ArraySlice<UInt8>) -> [Attribute] {
        var result: [Attribute] = []
        var offset = bytes.startIndex
        while offset + attributeHeaderSize <= bytes.endIndex {
            let length = Int(u16(bytes, offset))
            guard length >= attributeHeaderSize, offset + length <= bytes.endIndex else { break }
            result.append(
                Attribute(
                    type: u16(bytes, offset + 2), offset: offset,
                    value: bytes[(offset + attributeHeaderSize)..<(offset + length)]))
            offset += align(length)
        }
        return result
    }

    /// An NLMSG_ERROR: `code` 0 is an ack; with NETLINK_EXT_ACK the kernel may add a message and the offset of
    /// the attribute it objects to, counted from the start of the request's netlink header.
    struct ErrorReply {
        var code: Int32
        var requestSequence: UInt32
        var text: String?
        var badAttributeOffset: Int?
    }

    static func errorReply(_ message: Message) -> ErrorReply? {
        let payload = message.payload
        guard message.type == errorType, payload.count >= 4 + headerSize else { return nil }
        let start = payload.startIndex
        let code = Int32(bitPattern: u32(payload, start))
        let requestLength = Int(u32(payload, start + 4))
        let requestSequence = u32(payload, start + 12)
        var reply = ErrorReply(code: -code, requestSequence: requestSequence)
        guard message.flags & ackTLVsFlag != 0 else { return reply }
        // The request is echoed whole unless the reply is capped (NETLINK_CAP_ACK) or an ack.
        let echoed = message.flags & cappedFlag != 0 || code == 0 ? headerSize : requestLength
        let tlvStart = start + 4 + align(echoed)
        guard tlvStart <= payload.endIndex else { return reply }
        for attribute in attributes(in: payload[tlvStart...]) {
            switch attribute.kind {
            case errorAttributeMessage:
                reply.text = String(decoding: attribute.value.prefix { $0 != 0 }, as: UTF8.self)
            case errorAttributeOffset where attribute.value.count >= 4:
                reply.badAttributeOffset = Int(u32(attribute.value, attribute.value.startIndex))
            default:
                break
            }
        }
        return reply
    }

    /// Host byte order (netlink headers and most attributes).
    static func u32<C: RandomAccessCollection<UInt8>>(_ bytes: C, _ offset: C.Index) -> UInt32 where C.Index == Int {
        var value: UInt32 = 0
        withUnsafeMutableBytes(of: &value) { raw in
            for index in 0..<4 { raw[index] = bytes[offset + index] }
        }
        return value
    }

    static func u16<C: RandomAccessCollection<UInt8>>(_ bytes: C, _ offset: C.Index) -> UInt16 where C.Index == Int {
        var value: UInt16 = 0
        withUnsafeMutableBytes(of: &value) { raw in
            for index in 0..<2 { raw[index] = bytes[offset + index] }
        }
        return value
    }

    static func bytes(of value: UInt32) -> [UInt8] {
        withUnsafeBytes(of: value) { Array($0) }
    }

    static func bigEndianBytes(of value: UInt16) -> [UInt8] {
        [UInt8(value >> 8), UInt8(value & 0xff)]
    }
}
