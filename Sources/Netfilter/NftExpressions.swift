import CNftnl

/// A rule's matches, statements and verdict as nf_tables expressions, the same sequence `nft` emits for the
/// same text (see `nft --debug=netlink`). Values compared with packet data are in network byte order;
/// meta mark, fib results and verdicts are host order.
enum NftExpressions {
    static let register1 = NFT_REG_1.rawValue
    static let verdictRegister = NFT_REG_VERDICT.rawValue

    /// The caller owns the returned expressions (hand them to `nftnl_rule_add_expr`).
    static func lower(_ rule: NftRule, setIDs: [String: UInt32]) -> [OpaquePointer] {
        var expressions: [OpaquePointer] = []
        for match in rule.matches { expressions += lower(match, setIDs: setIDs) }
        for statement in rule.statements { expressions += lower(statement) }
        if let verdict = rule.verdict { expressions.append(immediate(verdict)) }
        return expressions
    }

    static func lower(_ match: NftMatch, setIDs: [String: UInt32]) -> [OpaquePointer] {
        switch match {
        case .inputInterface(let name, let negated):
            // IFNAMSIZ bytes, NUL padded; a trailing "*" compares only the bytes before it.
            let data: [UInt8] =
                name.hasSuffix("*")
                ? Array(name.utf8.dropLast())
                : Array(name.utf8) + [UInt8](repeating: 0, count: 16 - name.utf8.count)
            return [metaLoad(NFT_META_IIFNAME), compare(negated ? NFT_CMP_NEQ : NFT_CMP_EQ, data)]
        case .transportProtocol(let proto):
            return [metaLoad(NFT_META_L4PROTO), compare(NFT_CMP_EQ, [proto.number])]
        case .destinationPort(let proto, let port):
            return [
                metaLoad(NFT_META_L4PROTO), compare(NFT_CMP_EQ, [proto.number]),
                payloadLoad(NFT_PAYLOAD_TRANSPORT_HEADER, offset: 2, length: 2),
                compare(NFT_CMP_EQ, Netlink.bigEndianBytes(of: port)),
            ]
        case .mark(let value, let negated):
            return [metaLoad(NFT_META_MARK), compare(negated ? NFT_CMP_NEQ : NFT_CMP_EQ, Netlink.bytes(of: value))]
        case .markBits(let value, let mask, let negated):
            return [
                metaLoad(NFT_META_MARK), bitwise(mask: mask, xor: 0),
                compare(negated ? NFT_CMP_NEQ : NFT_CMP_EQ, Netlink.bytes(of: value)),
            ]
        case .conntrackReplyDirection:
            let load = make("ct")
            nftnl_expr_set_u32(load, attribute(NFTNL_EXPR_CT_KEY), NFT_CT_DIRECTION.rawValue)
            nftnl_expr_set_u32(load, attribute(NFTNL_EXPR_CT_DREG), register1)
            return [load, compare(NFT_CMP_EQ, [1])]  // IP_CT_DIR_REPLY
        case .destinationIsLocal:
            let fib = make("fib")
            nftnl_expr_set_u32(fib, attribute(NFTNL_EXPR_FIB_DREG), register1)
            nftnl_expr_set_u32(fib, attribute(NFTNL_EXPR_FIB_RESULT), NFT_FIB_RESULT_ADDRTYPE.rawValue)
            nftnl_expr_set_u32(fib, attribute(NFTNL_EXPR_FIB_FLAGS), NFTA_FIB_F_DADDR.rawValue)
            return [fib, compare(NFT_CMP_EQ, Netlink.bytes(of: 2))]  // RTN_LOCAL
        case .destinationOnInputInterface:
            let fib = make("fib")
            nftnl_expr_set_u32(fib, attribute(NFTNL_EXPR_FIB_DREG), register1)
            nftnl_expr_set_u32(fib, attribute(NFTNL_EXPR_FIB_RESULT), NFT_FIB_RESULT_OIF.rawValue)
            nftnl_expr_set_u32(
                fib, attribute(NFTNL_EXPR_FIB_FLAGS),
                NFTA_FIB_F_DADDR.rawValue | NFTA_FIB_F_IIF.rawValue | NFTA_FIB_F_PRESENT.rawValue)
            return [fib, compare(NFT_CMP_EQ, Netlink.bytes(of: UInt32(1)))]  // present: true, as nft emits it
        case .destinationInSet(let family, let set, let negated):
            // In an inet table, `ip daddr` first checks that the packet is IPv4 (nfproto), then loads the field.
            let nfproto: UInt8 = family == .ipv4 ? 2 : 10
            let offset: UInt32 = family == .ipv4 ? 16 : 24  // daddr in the IPv4 / IPv6 header
            let lookup = make("lookup")
            nftnl_expr_set_u32(lookup, attribute(NFTNL_EXPR_LOOKUP_SREG), register1)
            nftnl_expr_set_str(lookup, attribute(NFTNL_EXPR_LOOKUP_SET), set)
            if let id = setIDs[set] { nftnl_expr_set_u32(lookup, attribute(NFTNL_EXPR_LOOKUP_SET_ID), id) }
            if negated { nftnl_expr_set_u32(lookup, attribute(NFTNL_EXPR_LOOKUP_FLAGS), NFT_LOOKUP_F_INV.rawValue) }
            return [
                metaLoad(NFT_META_NFPROTO), compare(NFT_CMP_EQ, [nfproto]),
                payloadLoad(NFT_PAYLOAD_NETWORK_HEADER, offset: offset, length: UInt32(family.byteCount)), lookup,
            ]
        }
    }

    static func lower(_ statement: NftStatement) -> [OpaquePointer] {
        switch statement {
        case .redirect(let port):
            let redir = make("redir")
            nftnl_expr_set_u32(redir, attribute(NFTNL_EXPR_REDIR_REG_PROTO_MIN), register1)
            nftnl_expr_set_u32(redir, attribute(NFTNL_EXPR_REDIR_FLAGS), UInt32(NF_NAT_RANGE_PROTO_SPECIFIED))
            return [immediate(Netlink.bigEndianBytes(of: port)), redir]
        case .tproxy(let port):
            let tproxy = make("tproxy")
            // NFPROTO_UNSPEC: port only, for IPv4 and IPv6 packets alike (kernel 4.19+).
            nftnl_expr_set_u32(tproxy, attribute(NFTNL_EXPR_TPROXY_FAMILY), 0)
            nftnl_expr_set_u32(tproxy, attribute(NFTNL_EXPR_TPROXY_REG_PORT), register1)
            return [immediate(Netlink.bigEndianBytes(of: port)), tproxy]
        case .setMark(let value):
            let set = make("meta")
            nftnl_expr_set_u32(set, attribute(NFTNL_EXPR_META_KEY), NFT_META_MARK.rawValue)
            nftnl_expr_set_u32(set, attribute(NFTNL_EXPR_META_SREG), register1)
            return [immediate(Netlink.bytes(of: value)), set]
        case .setMarkBits(let value, let mask):
            let set = make("meta")
            nftnl_expr_set_u32(set, attribute(NFTNL_EXPR_META_KEY), NFT_META_MARK.rawValue)
            nftnl_expr_set_u32(set, attribute(NFTNL_EXPR_META_SREG), register1)
            return [metaLoad(NFT_META_MARK), bitwise(mask: ~mask, xor: value), set]
        }
    }

    /// reg1 = (reg1 & mask) ^ xor, on the 4 bytes of a mark.
    private static func bitwise(mask: UInt32, xor: UInt32) -> OpaquePointer {
        let bitwise = make("bitwise")
        nftnl_expr_set_u32(bitwise, attribute(NFTNL_EXPR_BITWISE_SREG), register1)
        nftnl_expr_set_u32(bitwise, attribute(NFTNL_EXPR_BITWISE_DREG), register1)
        nftnl_expr_set_u32(bitwise, attribute(NFTNL_EXPR_BITWISE_LEN), 4)
        let maskBytes = Netlink.bytes(of: mask)
        let xorBytes = Netlink.bytes(of: xor)
        _ = maskBytes.withUnsafeBytes {
            nftnl_expr_set(bitwise, attribute(NFTNL_EXPR_BITWISE_MASK), $0.baseAddress, UInt32($0.count))
        }
        _ = xorBytes.withUnsafeBytes {
            nftnl_expr_set(bitwise, attribute(NFTNL_EXPR_BITWISE_XOR), $0.baseAddress, UInt32($0.count))
        }
        return bitwise
    }

    private static func make(_ name: String) -> OpaquePointer {
        guard let expression = nftnl_expr_alloc(name) else { fatalError("nftnl_expr_alloc(\(name)) failed") }
        return expression
    }

    private static func metaLoad(_ key: nft_meta_keys) -> OpaquePointer {
        let meta = make("meta")
        nftnl_expr_set_u32(meta, attribute(NFTNL_EXPR_META_KEY), key.rawValue)
        nftnl_expr_set_u32(meta, attribute(NFTNL_EXPR_META_DREG), register1)
        return meta
    }

    private static func payloadLoad(_ base: nft_payload_bases, offset: UInt32, length: UInt32) -> OpaquePointer {
        let payload = make("payload")
        nftnl_expr_set_u32(payload, attribute(NFTNL_EXPR_PAYLOAD_DREG), register1)
        nftnl_expr_set_u32(payload, attribute(NFTNL_EXPR_PAYLOAD_BASE), base.rawValue)
        nftnl_expr_set_u32(payload, attribute(NFTNL_EXPR_PAYLOAD_OFFSET), offset)
        nftnl_expr_set_u32(payload, attribute(NFTNL_EXPR_PAYLOAD_LEN), length)
        return payload
    }

    private static func compare(_ operation: nft_cmp_ops, _ data: [UInt8]) -> OpaquePointer {
        let cmp = make("cmp")
        nftnl_expr_set_u32(cmp, attribute(NFTNL_EXPR_CMP_SREG), register1)
        nftnl_expr_set_u32(cmp, attribute(NFTNL_EXPR_CMP_OP), operation.rawValue)
        _ = data.withUnsafeBytes {
            nftnl_expr_set(cmp, attribute(NFTNL_EXPR_CMP_DATA), $0.baseAddress, UInt32($0.count))
        }
        return cmp
    }

    private static func immediate(_ data: [UInt8]) -> OpaquePointer {
        let imm = make("immediate")
        nftnl_expr_set_u32(imm, attribute(NFTNL_EXPR_IMM_DREG), register1)
        _ = data.withUnsafeBytes {
            nftnl_expr_set(imm, attribute(NFTNL_EXPR_IMM_DATA), $0.baseAddress, UInt32($0.count))
        }
        return imm
    }

    private static func immediate(_ verdict: NftVerdict) -> OpaquePointer {
        let imm = make("immediate")
        nftnl_expr_set_u32(imm, attribute(NFTNL_EXPR_IMM_DREG), verdictRegister)
        nftnl_expr_set_u32(
            imm, attribute(NFTNL_EXPR_IMM_VERDICT), UInt32(bitPattern: NftBatchEncoder.verdictCode(verdict)))
        switch verdict {
        case .jump(let chain), .goto(let chain):
            nftnl_expr_set_str(imm, attribute(NFTNL_EXPR_IMM_CHAIN), chain)
        case .accept, .drop, .return:
            break
        }
        return imm
    }
}
