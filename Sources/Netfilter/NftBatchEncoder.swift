import CNftnl

#if canImport(Glibc)
import Glibc
#endif

/// A netlink batch (NFNL_MSG_BATCH_BEGIN ... END) for nf_tables: the kernel applies all of it or none of it.
/// Each message remembers the object it creates so an error from the kernel can name that object.
public struct NftBatch: Sendable {
    struct Entry: Sendable {
        var sequence: UInt32
        /// "set bypass4", "rule 3 of chain lan_nat (ip daddr @bypass4 return)".
        var object: String
        var start: Int
        var length: Int
        /// For element messages: the elements in the order they were added, and the ranges they stand for.
        var elements: ArraySlice<IntervalElement>?
        var ranges: [IPRange] = []

        /// "element 10.0.0.0 of 10.0.0.0/8", worded only when an error needs it.
        func label(ofElement index: Int) -> String? {
            guard let elements, index < elements.count else { return nil }
            let element = elements[elements.startIndex + index]
            if let rangeIndex = element.rangeIndex, ranges[rangeIndex] == IPRange(single: element.key) {
                return "element \(element.key)"
            }
            let range = element.rangeIndex.map { ranges[$0].description } ?? "the gap below the first range"
            return "element \(element.key)\(element.isEnd ? " (interval end)" : "") of \(range)"
        }
    }

    public internal(set) var bytes: [UInt8] = []
    var entries: [Entry] = []
    var beginSequence: UInt32 = 0
    var endSequence: UInt32 = 0

    /// Messages between BEGIN and END; each gets exactly one reply because each asks for an ack.
    public var messageCount: Int { entries.count }

    func entry(sequence: UInt32) -> Entry? { entries.first { $0.sequence == sequence } }

    /// Whether a reply with this sequence number answers a message of this batch (BEGIN and END included).
    func contains(sequence: UInt32) -> Bool {
        sequence == beginSequence || sequence == endSequence || entry(sequence: sequence) != nil
    }

    /// The object a failed message was about, narrowed to the element when the kernel's extended ack points
    /// into an element list (nf_tables marks the element's attribute as the bad one).
    func describe(sequence: UInt32, badAttributeOffset: Int?) -> String {
        if sequence == beginSequence || sequence == endSequence { return "the batch itself" }
        guard let entry = entry(sequence: sequence) else { return "message \(sequence)" }
        guard entry.elements != nil, let offset = badAttributeOffset else { return entry.object }
        let message = bytes[entry.start..<(entry.start + entry.length)]
        // nfgenmsg (4 bytes) follows the header; the element list is NFTA_SET_ELEM_LIST_ELEMENTS.
        let top = Netlink.attributes(in: message.dropFirst(Netlink.headerSize + 4))
        guard let list = top.first(where: { $0.kind == UInt16(NFTA_SET_ELEM_LIST_ELEMENTS.rawValue) }) else {
            return entry.object
        }
        for (index, element) in Netlink.attributes(in: list.value).enumerated() {
            let from = element.offset - entry.start
            let length = Int(Netlink.u16(bytes, element.offset))
            if (from..<(from + Netlink.align(length))).contains(offset), let label = entry.label(ofElement: index) {
                return "\(entry.object), \(label)"
            }
        }
        return entry.object
    }
}

/// Lowers an `NftTable` to libnftnl objects and serialises them, expression for expression as `nft` does
/// (compare `nft --debug=netlink -f` on the rendered text).
public enum NftBatchEncoder {
    /// Elements per NEWSETELEM message: the element list is one nested attribute, whose length field is 16 bits.
    static let elementsPerMessage = 1024

    /// Creates the table if missing, deletes it, and builds it anew: one transaction that replaces the table.
    /// `mustNotExist`: the caller saw no such table, so one that appeared since then (someone else's) makes the
    /// batch fail (NLM_F_EXCL) instead of being replaced.
    public static func replace(_ table: NftTable, mustNotExist: Bool = false, firstSequence: UInt32 = 1) -> NftBatch {
        var builder = Builder(sequence: firstSequence)
        builder.begin()
        let ensureFlags = mustNotExist ? NLM_F_CREATE | NLM_F_EXCL : NLM_F_CREATE
        builder.add(
            type: NFT_MSG_NEWTABLE, flags: ensureFlags, family: table.family, object: "table \(qualified(table))"
        ) {
            nlh in
            let object = TableObject(name: table.name)
            nftnl_table_nlmsg_build_payload(nlh, object.pointer)
        }
        builder.add(
            type: NFT_MSG_DELTABLE, flags: 0, family: table.family, object: "table \(qualified(table)) (delete)"
        ) {
            nlh in
            let object = TableObject(name: table.name)
            nftnl_table_nlmsg_build_payload(nlh, object.pointer)
        }
        builder.add(
            type: NFT_MSG_NEWTABLE, flags: NLM_F_CREATE, family: table.family, object: "table \(qualified(table))"
        ) {
            nlh in
            let object = TableObject(name: table.name)
            nftnl_table_set_u32(
                object.pointer, attribute(NFTNL_TABLE_FLAGS), table.ownedBySocket ? NFT_TABLE_F_OWNER.rawValue : 0)
            if let comment = table.comment {
                // nftnl user data TLV, as nft writes a table comment: type NFTNL_UDATA_TABLE_COMMENT, length, text, NUL.
                let udata = userData(type: UInt8(NFTNL_UDATA_TABLE_COMMENT.rawValue), value: Array(comment.utf8) + [0])
                _ = udata.withUnsafeBytes {
                    nftnl_table_set_data(
                        object.pointer, attribute(NFTNL_TABLE_USERDATA), $0.baseAddress, UInt32($0.count))
                }
            }
            nftnl_table_nlmsg_build_payload(nlh, object.pointer)
        }

        var setIDs: [String: UInt32] = [:]
        for (index, set) in table.sets.enumerated() {
            let id = UInt32(index + 1)
            setIDs[set.name] = id
            builder.add(type: NFT_MSG_NEWSET, flags: NLM_F_CREATE, family: table.family, object: "set \(set.name)") {
                nlh in
                let object = SetObject(table: table.name, set: set, id: id)
                // nft's user data for an address set: the key is big endian (NFTNL_UDATA_SET_KEYBYTEORDER, 2).
                let udata = userData(type: UInt8(NFTNL_UDATA_SET_KEYBYTEORDER.rawValue), value: Netlink.bytes(of: 2))
                _ = udata.withUnsafeBytes {
                    nftnl_set_set_data(object.pointer, attribute(NFTNL_SET_USERDATA), $0.baseAddress, UInt32($0.count))
                }
                nftnl_set_nlmsg_build_payload(nlh, object.pointer)
            }
            let elements = set.kind == .interval ? AddressIntervals.elements(of: set.ranges) : []
            var chunkStart = 0
            while chunkStart < elements.count {
                let chunk = elements[chunkStart..<min(chunkStart + elementsPerMessage, elements.count)]
                let object =
                    "elements \(chunkStart + 1)-\(chunkStart + chunk.count) of \(elements.count) of set \(set.name)"
                builder.add(
                    type: NFT_MSG_NEWSETELEM, flags: NLM_F_CREATE, family: table.family, object: object,
                    elements: (chunk, set.ranges)
                ) {
                    nlh in
                    let holder = SetObject(table: table.name, set: set, id: id)
                    for element in chunk {
                        guard let item = nftnl_set_elem_alloc() else {
                            fatalError("nftnl_set_elem_alloc: out of memory")
                        }
                        let key = element.key.bytes
                        _ = key.withUnsafeBytes {
                            nftnl_set_elem_set(item, attribute(NFTNL_SET_ELEM_KEY), $0.baseAddress, UInt32($0.count))
                        }
                        if element.isEnd {
                            nftnl_set_elem_set_u32(
                                item, attribute(NFTNL_SET_ELEM_FLAGS), NFT_SET_ELEM_INTERVAL_END.rawValue)
                        }
                        if element.isOpenEnded {
                            let udata = userData(
                                type: UInt8(NFTNL_UDATA_SET_ELEM_FLAGS.rawValue),
                                value: Netlink.bytes(of: NFTNL_SET_ELEM_F_INTERVAL_OPEN.rawValue))
                            _ = udata.withUnsafeBytes {
                                nftnl_set_elem_set(
                                    item, attribute(NFTNL_SET_ELEM_USERDATA), $0.baseAddress, UInt32($0.count))
                            }
                        }
                        nftnl_set_elem_add(holder.pointer, item)  // the set owns the element from here
                    }
                    nftnl_set_elems_nlmsg_build_payload(nlh, holder.pointer)
                }
                chunkStart += chunk.count
            }
        }

        // Every chain first, so rules can jump to chains that come later.
        for chain in table.chains {
            builder.add(
                type: NFT_MSG_NEWCHAIN, flags: NLM_F_CREATE, family: table.family, object: "chain \(chain.name)"
            ) { nlh in
                guard let object = nftnl_chain_alloc() else { fatalError("nftnl_chain_alloc: out of memory") }
                defer { nftnl_chain_free(object) }
                nftnl_chain_set_str(object, attribute(NFTNL_CHAIN_TABLE), table.name)
                nftnl_chain_set_str(object, attribute(NFTNL_CHAIN_NAME), chain.name)
                if let base = chain.base {
                    nftnl_chain_set_u32(object, attribute(NFTNL_CHAIN_HOOKNUM), base.hook.number)
                    nftnl_chain_set_s32(object, attribute(NFTNL_CHAIN_PRIO), base.priority)
                    nftnl_chain_set_str(object, attribute(NFTNL_CHAIN_TYPE), base.type.rawValue)
                    nftnl_chain_set_u32(
                        object, attribute(NFTNL_CHAIN_POLICY), UInt32(bitPattern: verdictCode(base.policy)))
                }
                nftnl_chain_nlmsg_build_payload(nlh, object)
            }
        }
        for chain in table.chains {
            for (index, rule) in chain.rules.enumerated() {
                let object = "rule \(index + 1) of chain \(chain.name) (\(NftTextRenderer.render(rule)))"
                builder.add(
                    type: NFT_MSG_NEWRULE, flags: NLM_F_CREATE | NLM_F_APPEND, family: table.family, object: object
                ) { nlh in
                    guard let object = nftnl_rule_alloc() else { fatalError("nftnl_rule_alloc: out of memory") }
                    defer { nftnl_rule_free(object) }
                    nftnl_rule_set_str(object, attribute(NFTNL_RULE_TABLE), table.name)
                    nftnl_rule_set_str(object, attribute(NFTNL_RULE_CHAIN), chain.name)
                    for expression in NftExpressions.lower(rule, setIDs: setIDs) {
                        nftnl_rule_add_expr(object, expression)  // the rule owns the expression from here
                    }
                    nftnl_rule_nlmsg_build_payload(nlh, object)
                }
            }
        }
        builder.end()
        return builder.batch
    }

    /// Deletes the table with everything in it.
    public static func delete(family: NftFamily, table name: String, firstSequence: UInt32 = 1) -> NftBatch {
        var builder = Builder(sequence: firstSequence)
        builder.begin()
        builder.add(
            type: NFT_MSG_DELTABLE, flags: 0, family: family, object: "table \(family.rawValue) \(name) (delete)"
        ) { nlh in
            let object = TableObject(name: name)
            nftnl_table_nlmsg_build_payload(nlh, object.pointer)
        }
        builder.end()
        return builder.batch
    }

    /// An address for a timeout set and how long it stays there.
    struct TimedElement: Sendable, Equatable {
        var address: IPAddress
        var timeoutMilliseconds: UInt64
    }

    /// Adds addresses to timeout sets of an installed table in one transaction (all or nothing). NLM_F_CREATE
    /// without NLM_F_EXCL: an address already in the set is not an error. Each element carries its timeout and an
    /// expiration equal to it, so kernels with element timeout updates (commit 4201f3938914, "set element timeout
    /// update support") restart the countdown of an address already there; older ones keep its old expiry.
    static func addTimedElements(
        family: NftFamily, table: String, sets: [(name: String, elements: [TimedElement])],
        firstSequence: UInt32 = 1
    ) -> NftBatch {
        var builder = Builder(sequence: firstSequence)
        builder.begin()
        for (name, elements) in sets {
            var chunkStart = 0
            while chunkStart < elements.count {
                let chunk = elements[chunkStart..<min(chunkStart + elementsPerMessage, elements.count)]
                let labels = chunk.enumerated().map { index, element in
                    IntervalElement(key: element.address, isEnd: false, isOpenEnded: false, rangeIndex: index)
                }
                let object =
                    "elements \(chunkStart + 1)-\(chunkStart + chunk.count) of \(elements.count) of set \(name)"
                builder.add(
                    type: NFT_MSG_NEWSETELEM, flags: NLM_F_CREATE, family: family, object: object,
                    elements: (labels[...], chunk.map { IPRange(single: $0.address) })
                ) { nlh in
                    guard let holder = nftnl_set_alloc() else { fatalError("nftnl_set_alloc: out of memory") }
                    defer { nftnl_set_free(holder) }
                    nftnl_set_set_str(holder, attribute(NFTNL_SET_TABLE), table)
                    nftnl_set_set_str(holder, attribute(NFTNL_SET_NAME), name)
                    for element in chunk {
                        guard let item = nftnl_set_elem_alloc() else {
                            fatalError("nftnl_set_elem_alloc: out of memory")
                        }
                        let key = element.address.bytes
                        _ = key.withUnsafeBytes {
                            nftnl_set_elem_set(item, attribute(NFTNL_SET_ELEM_KEY), $0.baseAddress, UInt32($0.count))
                        }
                        nftnl_set_elem_set_u64(item, attribute(NFTNL_SET_ELEM_TIMEOUT), element.timeoutMilliseconds)
                        nftnl_set_elem_set_u64(
                            item, attribute(NFTNL_SET_ELEM_EXPIRATION), element.timeoutMilliseconds)
                        nftnl_set_elem_add(holder, item)  // the set owns the element from here
                    }
                    nftnl_set_elems_nlmsg_build_payload(nlh, holder)
                }
                chunkStart += chunk.count
            }
        }
        builder.end()
        return builder.batch
    }

    static func qualified(_ table: NftTable) -> String { "\(table.family.rawValue) \(table.name)" }

    /// NF_ACCEPT, NF_DROP, and nf_tables' own verdicts (NFT_RETURN, NFT_JUMP, NFT_GOTO).
    static func verdictCode(_ verdict: NftVerdict) -> Int32 {
        switch verdict {
        case .accept: 1
        case .drop: 0
        case .return: NFT_RETURN.rawValue
        case .jump: NFT_JUMP.rawValue
        case .goto: NFT_GOTO.rawValue
        }
    }

    /// One nftnl_udata TLV: type, length, value (libnftnl/udata.h).
    static func userData(type: UInt8, value: [UInt8]) -> [UInt8] {
        precondition(value.count <= 255)
        return [type, UInt8(value.count)] + value
    }

    /// Serialises messages one after another into the batch, each with the next sequence number.
    struct Builder {
        var batch = NftBatch()
        var sequence: UInt32
        /// Large enough for one message of `elementsPerMessage` IPv6 elements (36 bytes each) or any rule.
        var scratch = [UInt8](repeating: 0, count: 1 << 17)

        init(sequence: UInt32) { self.sequence = sequence }

        mutating func begin() {
            let current = sequence
            batch.beginSequence = current
            append { nftnl_batch_begin($0, current) }
        }

        mutating func end() {
            let current = sequence
            batch.endSequence = current
            append { nftnl_batch_end($0, current) }
        }

        mutating func add(
            type: nf_tables_msg_types, flags: Int32, family: NftFamily, object: String,
            elements: (ArraySlice<IntervalElement>, [IPRange])? = nil,
            payload: (UnsafeMutablePointer<nlmsghdr>) -> Void
        ) {
            let start = batch.bytes.count
            let messageSequence = sequence
            append { buffer in
                let nlh = nftnl_nlmsg_build_hdr(
                    buffer, UInt16(type.rawValue), family.protocolFamily, UInt16(flags | NLM_F_ACK), messageSequence)!
                payload(nlh)
                return nlh
            }
            batch.entries.append(
                NftBatch.Entry(
                    sequence: messageSequence, object: object, start: start, length: batch.bytes.count - start,
                    elements: elements?.0, ranges: elements?.1 ?? []))
        }

        private mutating func append(_ build: (UnsafeMutablePointer<CChar>) -> UnsafeMutablePointer<nlmsghdr>?) {
            let length = scratch.withUnsafeMutableBytes { raw -> Int in
                // One libc call: an element-wise loop over the 128 KiB takes about 1 ms in debug builds.
                memset(raw.baseAddress!, 0, raw.count)
                let buffer = raw.baseAddress!.assumingMemoryBound(to: CChar.self)
                guard let nlh = build(buffer) else { fatalError("libnftnl built no message") }
                return Int(nlh.pointee.nlmsg_len)
            }
            precondition(length <= scratch.count, "netlink message overflowed its buffer")
            batch.bytes += scratch[0..<Netlink.align(length)]
            sequence &+= 1
        }
    }
}

/// libnftnl objects freed when the Swift value goes away.
final class TableObject {
    let pointer: OpaquePointer
    init(name: String) {
        guard let pointer = nftnl_table_alloc() else { fatalError("nftnl_table_alloc: out of memory") }
        self.pointer = pointer
        nftnl_table_set_str(pointer, attribute(NFTNL_TABLE_NAME), name)
    }
    deinit { nftnl_table_free(pointer) }
}

final class SetObject {
    let pointer: OpaquePointer
    init(table: String, set: NftSet, id: UInt32) {
        guard let pointer = nftnl_set_alloc() else { fatalError("nftnl_set_alloc: out of memory") }
        self.pointer = pointer
        nftnl_set_set_str(pointer, attribute(NFTNL_SET_TABLE), table)
        nftnl_set_set_str(pointer, attribute(NFTNL_SET_NAME), set.name)
        nftnl_set_set_u32(pointer, attribute(NFTNL_SET_ID), id)
        switch set.kind {
        case .interval:
            nftnl_set_set_u32(pointer, attribute(NFTNL_SET_FLAGS), NFT_SET_INTERVAL.rawValue)
        case .timeout(let maxElements):
            // No set-wide timeout: every element brings its own (NFTA_SET_ELEM_TIMEOUT).
            nftnl_set_set_u32(pointer, attribute(NFTNL_SET_FLAGS), NFT_SET_TIMEOUT.rawValue)
            nftnl_set_set_u32(pointer, attribute(NFTNL_SET_DESC_SIZE), maxElements)
        }
        // nft's datatype numbers: TYPE_IPADDR 7, TYPE_IP6ADDR 8 (nftables src/datatype.h); `nft list` reads them.
        nftnl_set_set_u32(pointer, attribute(NFTNL_SET_KEY_TYPE), set.keyFamily == .ipv4 ? 7 : 8)
        nftnl_set_set_u32(pointer, attribute(NFTNL_SET_KEY_LEN), UInt32(set.keyFamily.byteCount))
    }
    deinit { nftnl_set_free(pointer) }
}

/// libnftnl attribute numbers come as C enums of different import types; the setters take UInt16.
func attribute<T: RawRepresentable>(_ value: T) -> UInt16 where T.RawValue: BinaryInteger { UInt16(value.rawValue) }
func attribute(_ value: Int) -> UInt16 { UInt16(value) }
