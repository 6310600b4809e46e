/// The JSON bodies of the Clash external-controller API, in the shapes mihomo and sing-box's clash_api serve
/// (checked against sing-box 1.14.4), so yacd, metacubexd and zashboard work unchanged.
package enum ClashShapes {
    /// The selector every Clash core shows on top; its `all` orders the dashboard's groups.
    static let globalName = "GLOBAL"
    static let directName = "DIRECT"

    package static func version(_ version: String) -> JSONValue {
        .object([("meta", .bool(true)), ("premium", .bool(true)), ("version", .string(version))])
    }

    package static func configs(logLevel: String) -> JSONValue {
        .object([
            ("port", .int(0)), ("socks-port", .int(0)), ("redir-port", .int(0)), ("tproxy-port", .int(0)),
            ("mixed-port", .int(0)), ("allow-lan", .bool(false)), ("bind-address", .string("*")),
            ("mode", .string("rule")), ("mode-list", .array([.string("rule")])), ("log-level", .string(logLevel)),
            ("ipv6", .bool(true)), ("tun", .null),
        ])
    }

    /// A history entry list: the last delay tests, oldest first.
    static func history(_ samples: [DelaySample]) -> JSONValue {
        .array(
            samples.map {
                .object([("time", .string(WallClock.rfc3339(nanoseconds: $0.at))), ("delay", .int($0.milliseconds))])
            })
    }

    package static func member(_ member: ProxyMemberView, history samples: [DelaySample]) -> JSONValue {
        .object([
            ("type", .string("Shadowsocks")), ("name", .string(member.name)), ("udp", .bool(member.udp)),
            ("alive", .bool(member.up)), ("history", history(samples)),
        ])
    }

    package static func group(_ group: ProxyGroupView, history samples: [DelaySample]) -> JSONValue {
        var fields: [(String, JSONValue)] = [
            ("type", .string(group.type)), ("name", .string(group.name)),
            ("udp", .bool(group.members.contains { $0.udp })), ("alive", .bool(group.members.contains { $0.up })),
            ("history", history(samples)), ("now", .string(group.now)),
            ("all", .array(group.members.map { .string($0.name) })),
        ]
        // mihomo's field for a member fixed by hand in a URLTest/Fallback group.
        fields.append(("fixed", .string(group.pinned ?? "")))
        return .object(fields)
    }

    static func global(_ group: ProxyGroupView) -> JSONValue {
        .object([
            ("type", .string("Selector")), ("name", .string(globalName)), ("udp", .bool(true)),
            ("history", .array([])), ("now", .string(group.name)),
            ("all", .array([.string(group.name), .string(directName)])),
        ])
    }

    static func direct() -> JSONValue {
        .object([
            ("type", .string("Direct")), ("name", .string(directName)), ("udp", .bool(true)), ("history", .array([])),
        ])
    }

    package static func proxies(_ group: ProxyGroupView, history: (String) -> [DelaySample]) -> JSONValue {
        var entries: [(String, JSONValue)] = [
            (globalName, global(group)), (group.name, ClashShapes.group(group, history: history(group.now))),
            (directName, direct()),
        ]
        for member in group.members {
            entries.append((member.name, ClashShapes.member(member, history: history(member.name))))
        }
        return .object([("proxies", .object(entries))])
    }

    package static func flow(_ flow: FlowView) -> JSONValue {
        .object([
            ("id", .string(flow.id)),
            (
                "metadata",
                .object([
                    ("network", .string(flow.network)), ("type", .string(flow.inbound)),
                    ("sourceIP", .string(flow.sourceIP)), ("destinationIP", .string(flow.destinationIP)),
                    ("sourcePort", .string(String(flow.sourcePort))),
                    ("destinationPort", .string(String(flow.destinationPort))),
                    ("inboundName", .string(flow.inbound.lowercased())), ("host", .string(flow.host)),
                    ("sniffHost", .string(flow.host)), ("dnsMode", .string("normal")), ("processPath", .string("")),
                    ("process", .string("")), ("remoteDestination", .string(flow.destinationIP)),
                ])
            ),
            ("upload", .uint(flow.upload)), ("download", .uint(flow.download)),
            ("start", .string(WallClock.rfc3339(nanoseconds: flow.startNanoseconds))),
            ("chains", .array(flow.chains.map { .string($0) })), ("rule", .string(flow.rule)),
            ("rulePayload", .string(flow.rulePayload)),
        ])
    }

    package static func connections(_ flows: [FlowView], totals: (up: UInt64, down: UInt64), memory: UInt64)
        -> JSONValue
    {
        .object([
            ("downloadTotal", .uint(totals.down)), ("uploadTotal", .uint(totals.up)),
            ("connections", .array(flows.map(flow))), ("memory", .uint(memory)),
        ])
    }

    package static func rules(_ rules: [RuleView]) -> JSONValue {
        .object([
            (
                "rules",
                .array(
                    rules.map {
                        .object([
                            ("type", .string($0.type)), ("payload", .string($0.payload)), ("proxy", .string($0.proxy)),
                            ("size", .int($0.size)),
                        ])
                    })
            )
        ])
    }

    package static func traffic(up: UInt64, down: UInt64) -> JSONValue {
        .object([("up", .uint(up)), ("down", .uint(down))])
    }

    package static func memory(inuse: UInt64) -> JSONValue {
        .object([("inuse", .uint(inuse)), ("oslimit", .int(0))])
    }

    package static func log(level: String, message: String) -> JSONValue {
        .object([("type", .string(level)), ("payload", .string(message))])
    }

    package static func structuredLog(level: String, message: String, at nanoseconds: Int64) -> JSONValue {
        .object([
            ("time", .string(WallClock.rfc3339(nanoseconds: nanoseconds))), ("level", .string(level)),
            ("message", .string(message)), ("fields", .array([])),
        ])
    }

    package static func message(_ text: String) -> JSONValue {
        .object([("message", .string(text))])
    }
}

/// One delay test result kept for a proxy's `history`.
package struct DelaySample: Sendable {
    package var at: Int64
    package var milliseconds: Int
}
