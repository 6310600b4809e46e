import CMnl

#if canImport(Glibc)
import Glibc
#endif

/// The routing half of TPROXY: packets carrying `mark` are looked up in `table`, whose only route is
/// `local default dev lo`, so they are delivered to the transparent socket instead of being forwarded.
/// Equivalent to `ip rule add fwmark MARK lookup TABLE pref PRIORITY` and
/// `ip route add local default dev lo table TABLE`, for IPv4 and IPv6 (kernel docs, networking/tproxy.rst).
public struct PolicyRoute: Sendable, Hashable, CustomStringConvertible {
    public var mark: UInt32
    /// The bits of the mark the rule looks at (`fwmark MARK/MASK`); every bit by default.
    public var mask: UInt32
    public var table: UInt32
    /// A fixed preference: without one the kernel picks a new one each time and a second setup would add a
    /// duplicate rule instead of finding the first.
    public var priority: UInt32

    /// rtm_protocol and FRA_PROTOCOL of everything we add ("proto 83" in `ip rule` / `ip route`): deletes match
    /// on it, so teardown removes our rule and route and never an identical one the administrator added.
    public static let protocolTag: UInt8 = 83
    public static let defaultPriority: UInt32 = 9000

    public init(
        mark: UInt32, mask: UInt32 = 0xffff_ffff, table: UInt32, priority: UInt32 = PolicyRoute.defaultPriority
    ) {
        self.mark = mark
        self.mask = mask
        self.table = table
        self.priority = priority
    }

    public var description: String {
        "fwmark \(markText) lookup \(table) pref \(priority); local default dev lo table \(table)"
    }
}

extension PolicyRoute {
    /// `0x1`, or `0x10000/0x10000` with a narrower mask (as `ip rule` prints it).
    public var markText: String {
        let text = "0x" + String(mark, radix: 16)
        return mask == 0xffff_ffff ? text : "\(text)/0x\(String(mask, radix: 16))"
    }
}

/// rtnetlink requests over libmnl: the policy rule and local route for TPROXY, and the interfaces that carry the
/// default routes (the WAN side).
public final class PolicyRouting {
    private let socket: NetlinkSocket
    private var sequence: UInt32 = 0

    public init() throws(NetfilterError) {
        socket = try NetlinkSocket(bus: NETLINK_ROUTE)
    }

    /// What `install` found or did for one family.
    public struct Outcome: Sendable, Equatable {
        public var family: IPFamily
        /// false: an equal rule or route was already there (ours from an earlier setup, or the administrator's).
        public var addedRule: Bool
        public var addedRoute: Bool
        /// Set when the family is not available (IPv6 disabled): nothing was done.
        public var skipped: String?
    }

    public func install(_ route: PolicyRoute, family: IPFamily) throws(NetfilterError) -> Outcome {
        var outcome = Outcome(family: family, addedRule: false, addedRoute: false)
        let ruleCode = try request(ruleMessage(RTM_NEWRULE, route, family: family, create: true))
        switch ruleCode {
        case 0: outcome.addedRule = true
        case EEXIST: break
        case EAFNOSUPPORT:
            outcome.skipped = "\(family) policy routing is not available (\(NetfilterError.explain(ruleCode)))"
            return outcome
        default:
            throw routingError("add rule \(familyName(family)) \(route.description.prefix { $0 != ";" })", ruleCode)
        }
        let routeCode = try request(routeMessage(RTM_NEWROUTE, route, family: family, create: true))
        switch routeCode {
        case 0: outcome.addedRoute = true
        case EEXIST: break
        default:
            if outcome.addedRule { _ = try? request(ruleMessage(RTM_DELRULE, route, family: family, create: false)) }
            throw routingError("add route \(familyName(family)) local default dev lo table \(route.table)", routeCode)
        }
        return outcome
    }

    /// Removes our rule and route (only those tagged with `protocolTag`); absent ones are not an error.
    /// Returns how many objects were removed.
    @discardableResult
    public func remove(_ route: PolicyRoute, family: IPFamily, rule: Bool = true, localRoute: Bool = true)
        throws(NetfilterError) -> Int
    {
        var removed = 0
        if localRoute {
            let code = try request(routeMessage(RTM_DELROUTE, route, family: family, create: false))
            switch code {
            case 0: removed += 1
            case ENOENT, ESRCH, EAFNOSUPPORT: break
            default:
                throw routingError("delete route \(familyName(family)) local default dev lo table \(route.table)", code)
            }
        }
        if rule {
            let code = try request(ruleMessage(RTM_DELRULE, route, family: family, create: false))
            switch code {
            case 0: removed += 1
            case ENOENT, ESRCH, EAFNOSUPPORT: break
            default:
                throw routingError("delete rule \(familyName(family)) fwmark 0x\(String(route.mark, radix: 16))", code)
            }
        }
        return removed
    }

    /// Asks the kernel how it routes a packet to a public address that carries `mark` (`ip route get ADDR mark
    /// MARK`): true when the answer is the `local` route TPROXY needs, false when the packet would leave the box.
    public func routesMarkedPacketsLocally(mark: UInt32, family: IPFamily) throws(NetfilterError) -> Bool {
        // TEST-NET-2 / documentation prefix: any public-looking destination does; these never leave a lab.
        let destination: [UInt8] = family == .ipv4 ? [198, 51, 100, 1] : [0x20, 0x01, 0x0d, 0xb8] + Array(repeating: 0, count: 11) + [1]
        let message = build(type: RTM_GETROUTE, flags: 0, extra: MemoryLayout<rtmsg>.size) { nlh, header in
            let request = header.assumingMemoryBound(to: rtmsg.self)
            request.pointee.rtm_family = addressFamily(family)
            request.pointee.rtm_dst_len = UInt8(destination.count * 8)
            destination.withUnsafeBytes { bytes in
                mnl_attr_put(nlh, UInt16(RTA_DST.rawValue), bytes.count, bytes.baseAddress)
            }
            mnl_attr_put_u32(nlh, UInt16(RTA_MARK.rawValue), mark)
        }
        let requestSequence = sequence
        try socket.send(message)
        while true {
            guard let datagram = try socket.receive(timeoutMilliseconds: 5_000) else {
                throw NetfilterError(.socket, "no answer from rtnetlink while looking up a route")
            }
            for reply in Netlink.messages(in: datagram) where reply.sequence == requestSequence {
                if let error = Netlink.errorReply(reply) {
                    // No route at all (ENETUNREACH) means no local route either.
                    if error.code == ENETUNREACH || error.code == EAFNOSUPPORT || error.code == 0 { return false }
                    throw routingError("look up a route \(familyName(family)) with mark 0x\(String(mark, radix: 16))", error.code)
                }
                guard reply.type == UInt16(RTM_NEWROUTE), reply.payload.count >= MemoryLayout<rtmsg>.size else { continue }
                return reply.payload[reply.payload.startIndex + 7] == UInt8(RTN_LOCAL)
            }
        }
    }

    /// Names of the interfaces the main table's default routes (IPv4 and IPv6) leave through.
    public func defaultRouteInterfaces() throws(NetfilterError) -> [String] {
        var names: [String] = []
        for family in IPFamily.allCases {
            for index in try defaultRouteInterfaceIndexes(family: family) {
                var buffer = [CChar](repeating: 0, count: Int(IF_NAMESIZE) + 1)
                guard if_indextoname(UInt32(index), &buffer) != nil else { continue }
                let name = String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
                if !names.contains(name) { names.append(name) }
            }
        }
        return names
    }

    private func defaultRouteInterfaceIndexes(family: IPFamily) throws(NetfilterError) -> [Int32] {
        let message = build(type: RTM_GETROUTE, flags: NLM_F_DUMP, extra: MemoryLayout<rtmsg>.size) { _, header in
            header.assumingMemoryBound(to: rtmsg.self).pointee.rtm_family = addressFamily(family)
        }
        let dumpSequence = sequence  // the one `build` gave the request
        try socket.send(message)
        var indexes: [Int32] = []
        while true {
            guard let datagram = try socket.receive(timeoutMilliseconds: 5_000) else {
                throw NetfilterError(.socket, "no answer from rtnetlink while listing routes")
            }
            for reply in Netlink.messages(in: datagram) where reply.sequence == dumpSequence {
                if reply.type == Netlink.doneType { return indexes }
                if let error = Netlink.errorReply(reply) {
                    if error.code == 0 || error.code == EAFNOSUPPORT { return indexes }
                    throw routingError("list \(familyName(family)) routes", error.code)
                }
                guard reply.type == UInt16(RTM_NEWROUTE), reply.payload.count >= MemoryLayout<rtmsg>.size else {
                    continue
                }
                let header = reply.payload.startIndex
                let dstLength = reply.payload[header + 1]
                var table = UInt32(reply.payload[header + 4])
                let type = reply.payload[header + 7]
                guard dstLength == 0, type == UInt8(RTN_UNICAST) else { continue }
                var oifs: [Int32] = []
                let attributes = Netlink.attributes(
                    in: reply.payload[(header + Netlink.align(MemoryLayout<rtmsg>.size))...])
                for attribute in attributes {
                    switch Int(attribute.kind) {
                    case Int(RTA_TABLE.rawValue) where attribute.value.count >= 4:
                        table = Netlink.u32(attribute.value, attribute.value.startIndex)
                    case Int(RTA_OIF.rawValue) where attribute.value.count >= 4:
                        oifs.append(Int32(bitPattern: Netlink.u32(attribute.value, attribute.value.startIndex)))
                    case Int(RTA_MULTIPATH.rawValue):
                        // struct rtnexthop { u16 len; u8 flags; u8 hops; int ifindex; } followed by attributes.
                        var offset = attribute.value.startIndex
                        while offset + 8 <= attribute.value.endIndex {
                            let length = Int(Netlink.u16(attribute.value, offset))
                            guard length >= 8 else { break }
                            oifs.append(Int32(bitPattern: Netlink.u32(attribute.value, offset + 4)))
                            offset += Netlink.align(length)
                        }
                    default:
                        break
                    }
                }
                if table == UInt32(RT_TABLE_MAIN.rawValue) { indexes += oifs }
            }
        }
    }

    // MARK: - Messages

    private func ruleMessage(_ type: Int, _ route: PolicyRoute, family: IPFamily, create: Bool) -> [UInt8] {
        build(type: type, flags: create ? NLM_F_CREATE | NLM_F_EXCL : 0, extra: MemoryLayout<fib_rule_hdr>.size) {
            nlh, header in
            let rule = header.assumingMemoryBound(to: fib_rule_hdr.self)
            rule.pointee.family = addressFamily(family)
            rule.pointee.table = route.table < 256 ? UInt8(route.table) : UInt8(RT_TABLE_UNSPEC.rawValue)
            rule.pointee.action = UInt8(FR_ACT_TO_TBL)
            mnl_attr_put_u32(nlh, UInt16(FRA_PRIORITY), route.priority)
            mnl_attr_put_u32(nlh, UInt16(FRA_FWMARK), route.mark)
            mnl_attr_put_u32(nlh, UInt16(FRA_FWMASK), route.mask)
            mnl_attr_put_u32(nlh, UInt16(FRA_TABLE), route.table)
            mnl_attr_put_u8(nlh, UInt16(FRA_PROTOCOL), PolicyRoute.protocolTag)
        }
    }

    private func routeMessage(_ type: Int, _ route: PolicyRoute, family: IPFamily, create: Bool) -> [UInt8] {
        build(type: type, flags: create ? NLM_F_CREATE | NLM_F_EXCL : 0, extra: MemoryLayout<rtmsg>.size) {
            nlh, header in
            let message = header.assumingMemoryBound(to: rtmsg.self)
            message.pointee.rtm_family = addressFamily(family)
            message.pointee.rtm_table = route.table < 256 ? UInt8(route.table) : UInt8(RT_TABLE_UNSPEC.rawValue)
            message.pointee.rtm_protocol = PolicyRoute.protocolTag
            message.pointee.rtm_scope = UInt8(RT_SCOPE_HOST.rawValue)
            message.pointee.rtm_type = UInt8(RTN_LOCAL)
            mnl_attr_put_u32(nlh, UInt16(RTA_TABLE.rawValue), route.table)
            mnl_attr_put_u32(nlh, UInt16(RTA_OIF.rawValue), if_nametoindex("lo"))
        }
    }

    private func build(
        type: Int, flags: Int32, extra: Int, _ fill: (UnsafeMutablePointer<nlmsghdr>, UnsafeMutableRawPointer) -> Void
    ) -> [UInt8] {
        sequence &+= 1
        var buffer = [UInt8](repeating: 0, count: 1024)
        let length = buffer.withUnsafeMutableBytes { raw -> Int in
            let nlh = mnl_nlmsg_put_header(raw.baseAddress)!
            nlh.pointee.nlmsg_type = UInt16(type)
            nlh.pointee.nlmsg_flags = UInt16(NLM_F_REQUEST | NLM_F_ACK | flags)
            nlh.pointee.nlmsg_seq = sequence
            let header = mnl_nlmsg_put_extra_header(nlh, extra)!
            fill(nlh, header)
            return Int(nlh.pointee.nlmsg_len)
        }
        return Array(buffer[0..<length])
    }

    /// Sends one request (just built, so it carries `sequence`) and returns the kernel's answer: 0 or a positive errno.
    private func request(_ message: [UInt8]) throws(NetfilterError) -> Int32 {
        let requestSequence = sequence
        try socket.send(message)
        while true {
            guard let datagram = try socket.receive(timeoutMilliseconds: 5_000) else {
                throw NetfilterError(.socket, "no answer from rtnetlink")
            }
            for reply in Netlink.messages(in: datagram) where reply.sequence == requestSequence {
                if let error = Netlink.errorReply(reply) { return error.code }
            }
        }
    }

    private func addressFamily(_ family: IPFamily) -> UInt8 { UInt8(family == .ipv4 ? AF_INET : AF_INET6) }

    private func familyName(_ family: IPFamily) -> String { family == .ipv4 ? "-4" : "-6" }

    private func routingError(_ what: String, _ code: Int32) -> NetfilterError {
        NetfilterError(
            .rejected, "policy routing: cannot \(what): \(NetfilterError.explain(code))\(NftConnection.hint(code))",
            errno: code)
    }
}
