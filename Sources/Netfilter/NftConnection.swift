import CMnl
import CNftnl

#if canImport(Glibc)
import Glibc
#endif

/// An nf_tables table as the kernel reports it (NFT_MSG_GETTABLE).
public struct InstalledTable: Sendable, Equatable {
    public var comment: String?
    /// NFT_TABLE_F_OWNER: bound to the netlink socket `ownerPortID` and removed when it closes.
    public var ownedBySocket: Bool
    public var ownerPortID: UInt32?
}

/// An nf_tables set as the kernel reports it (NFT_MSG_GETSET), without its elements.
public struct InstalledSet: Sendable, Equatable {
    /// 4 for ipv4_addr, 16 for ipv6_addr.
    public var keyLength: Int
    /// NFT_SET_INTERVAL, NFT_SET_TIMEOUT.
    public var isInterval: Bool
    public var hasTimeout: Bool
    /// The `size` limit, when the set has one.
    public var maxElements: UInt32?
}

/// A NETLINK_NETFILTER socket that looks tables up and commits batches. A table created with
/// `ownedBySocket` lives as long as this object.
public final class NftConnection {
    let socket: NetlinkSocket
    /// Requests outside batches take numbers from a range batches never use, so replies cannot be confused.
    private var querySequence: UInt32 = 0x8000_0000

    /// How long the kernel gets to answer; an nf_tables commit of a large set takes milliseconds.
    static let replyTimeoutMilliseconds: Int32 = 10_000
    /// After the first error, how long to wait for errors about other messages of the same batch.
    static let straggleMilliseconds: Int32 = 200

    public init() throws(NetfilterError) {
        socket = try NetlinkSocket(bus: NETLINK_NETFILTER)
    }

    /// The portid the kernel knows this socket by (an owned table reports it as its owner).
    public var portID: UInt32 { socket.portID }

    /// nil when no such table exists.
    public func table(family: NftFamily, name: String) throws(NetfilterError) -> InstalledTable? {
        try lookUp(NFT_MSG_GETTABLE, family: family, what: "table \(family.rawValue) \(name)") { nlh in
            let object = TableObject(name: name)
            nftnl_table_nlmsg_build_payload(nlh, object.pointer)
        } parse: {
            Self.parseTable(datagram: $0, message: $1)
        }
    }

    /// nil when the table or the set does not exist.
    public func set(family: NftFamily, table: String, name: String) throws(NetfilterError) -> InstalledSet? {
        try lookUp(NFT_MSG_GETSET, family: family, what: "set \(name) of table \(family.rawValue) \(table)") { nlh in
            guard let object = nftnl_set_alloc() else { fatalError("nftnl_set_alloc: out of memory") }
            defer { nftnl_set_free(object) }
            nftnl_set_set_str(object, attribute(NFTNL_SET_TABLE), table)
            nftnl_set_set_str(object, attribute(NFTNL_SET_NAME), name)
            nftnl_set_nlmsg_build_payload(nlh, object)
        } parse: {
            Self.parseSet(datagram: $0, message: $1)
        }
    }

    /// One GET request for a single object; ENOENT (no such object, or no such table) is nil.
    private func lookUp<T>(
        _ type: nf_tables_msg_types, family: NftFamily, what: String,
        build: (UnsafeMutablePointer<nlmsghdr>) -> Void, parse: ([UInt8], Netlink.Message) -> T?
    ) throws(NetfilterError) -> T? {
        querySequence &+= 1
        let sequence = querySequence
        var request = [UInt8](repeating: 0, count: 512)
        let length = request.withUnsafeMutableBytes { raw -> Int in
            let buffer = raw.baseAddress!.assumingMemoryBound(to: CChar.self)
            let nlh = nftnl_nlmsg_build_hdr(
                buffer, UInt16(type.rawValue), family.protocolFamily, UInt16(NLM_F_ACK), sequence)!
            build(nlh)
            return Int(nlh.pointee.nlmsg_len)
        }
        try socket.send(Array(request[0..<length]))

        var found: T?
        while true {
            guard let datagram = try socket.receive(timeoutMilliseconds: Self.replyTimeoutMilliseconds) else {
                throw NetfilterError(.socket, "no answer from nf_tables while looking up \(what)")
            }
            for message in Netlink.messages(in: datagram) where message.sequence == sequence {
                if let reply = Netlink.errorReply(message) {
                    if reply.code == 0 || reply.code == ENOENT { return reply.code == 0 ? found : nil }
                    throw NetfilterError(
                        .rejected,
                        "cannot look up \(what): \(NetfilterError.explain(reply.code))"
                            + (reply.code == EPERM ? "; run as root (CAP_NET_ADMIN)" : ""),
                        errno: reply.code)
                }
                found = parse(datagram, message)
            }
        }
    }

    private static func parseSet(datagram: [UInt8], message: Netlink.Message) -> InstalledSet? {
        var raw = Array(datagram[(message.payload.startIndex - Netlink.headerSize)..<message.payload.endIndex])
        return raw.withUnsafeMutableBytes { buffer -> InstalledSet? in
            let nlh = buffer.baseAddress!.assumingMemoryBound(to: nlmsghdr.self)
            guard let object = nftnl_set_alloc() else { fatalError("nftnl_set_alloc: out of memory") }
            defer { nftnl_set_free(object) }
            guard nftnl_set_nlmsg_parse(nlh, object) >= 0 else { return nil }
            let flags = nftnl_set_get_u32(object, attribute(NFTNL_SET_FLAGS))
            let size =
                nftnl_set_is_set(object, attribute(NFTNL_SET_DESC_SIZE))
                ? nftnl_set_get_u32(object, attribute(NFTNL_SET_DESC_SIZE)) : nil
            return InstalledSet(
                keyLength: Int(nftnl_set_get_u32(object, attribute(NFTNL_SET_KEY_LEN))),
                isInterval: flags & NFT_SET_INTERVAL.rawValue != 0, hasTimeout: flags & NFT_SET_TIMEOUT.rawValue != 0,
                maxElements: size == 0 ? nil : size)
        }
    }

    private static func parseTable(datagram: [UInt8], message: Netlink.Message) -> InstalledTable {
        var raw = Array(datagram[(message.payload.startIndex - Netlink.headerSize)..<message.payload.endIndex])
        return raw.withUnsafeMutableBytes { buffer -> InstalledTable in
            let nlh = buffer.baseAddress!.assumingMemoryBound(to: nlmsghdr.self)
            let table = TableObject(name: "")
            guard nftnl_table_nlmsg_parse(nlh, table.pointer) >= 0 else {
                return InstalledTable(comment: nil, ownedBySocket: false, ownerPortID: nil)
            }
            let flags = nftnl_table_get_u32(table.pointer, attribute(NFTNL_TABLE_FLAGS))
            let owned = flags & NFT_TABLE_F_OWNER.rawValue != 0
            let owner =
                nftnl_table_is_set(table.pointer, attribute(NFTNL_TABLE_OWNER))
                ? nftnl_table_get_u32(table.pointer, attribute(NFTNL_TABLE_OWNER)) : nil
            var comment: String?
            var length: UInt32 = 0
            if let data = nftnl_table_get_data(table.pointer, attribute(NFTNL_TABLE_USERDATA), &length) {
                let udata = Array(UnsafeRawBufferPointer(start: data, count: Int(length)))
                comment = userDataComment(udata)
            }
            return InstalledTable(comment: comment, ownedBySocket: owned, ownerPortID: owned ? owner : nil)
        }
    }

    /// The NFTNL_UDATA_TABLE_COMMENT TLV of a table's user data.
    static func userDataComment(_ udata: [UInt8]) -> String? {
        var offset = 0
        while offset + 2 <= udata.count {
            let type = udata[offset]
            let length = Int(udata[offset + 1])
            guard offset + 2 + length <= udata.count else { return nil }
            if type == UInt8(NFTNL_UDATA_TABLE_COMMENT.rawValue) {
                return String(decoding: udata[(offset + 2)..<(offset + 2 + length)].prefix { $0 != 0 }, as: UTF8.self)
            }
            offset += 2 + length
        }
        return nil
    }

    /// Sends the batch in one datagram and reads one reply per message. Any error means the kernel aborted the
    /// whole transaction; the first error is reported with the object it was about.
    public func commit(_ batch: NftBatch) throws(NetfilterError) {
        socket.reserveReceiveBuffer(bytes: max(1 << 20, batch.messageCount * 2048))
        try socket.send(batch.bytes)
        var pending = Set(batch.entries.map(\.sequence))
        var failures: [Netlink.ErrorReply] = []
        while !pending.isEmpty {
            let wait = failures.isEmpty ? Self.replyTimeoutMilliseconds : Self.straggleMilliseconds
            guard let datagram = try socket.receive(timeoutMilliseconds: wait) else {
                if !failures.isEmpty { break }
                throw NetfilterError(
                    .socket,
                    "nf_tables did not answer \(pending.count) of \(batch.messageCount) messages within \(wait / 1000) s"
                )
            }
            for message in Netlink.messages(in: datagram) {
                // Replies to earlier requests that timed out are not about this batch.
                guard let reply = Netlink.errorReply(message), batch.contains(sequence: reply.requestSequence) else {
                    continue
                }
                pending.remove(reply.requestSequence)
                if reply.code != 0 { failures.append(reply) }
            }
        }
        guard let first = failures.first else { return }
        var text =
            "nf_tables rejected the batch, nothing was changed: \(batch.describe(sequence: first.requestSequence, badAttributeOffset: first.badAttributeOffset)): "
        text += NetfilterError.explain(first.code)
        if let detail = first.text, !detail.isEmpty { text += " (\(detail))" }
        text += Self.hint(first.code)
        if failures.count > 1 { text += " [\(failures.count - 1) more error(s) in the same batch]" }
        throw NetfilterError(.rejected, text, errno: first.code)
    }

    static func hint(_ code: Int32) -> String {
        switch code {
        case EPERM: "; run as root (CAP_NET_ADMIN), or the table belongs to another process (flags owner)"
        case EOPNOTSUPP, ENOENT:
            "; the kernel may lack an nftables module (nft_tproxy, nft_redir, nft_fib_inet, nft_chain_nat)"
        default: ""
        }
    }
}
