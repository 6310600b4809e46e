import ArgumentParser
import Config
import Redir

#if canImport(Glibc)
import Glibc
#endif

/// `ss-redir status`: asks the running daemon over its control socket and prints the pool as a table.
struct StatusCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "status",
        abstract: "Show the running daemon's servers, their health, connections and traffic."
    )

    @Option(name: .customLong("control"), help: "The daemon's control socket.")
    var controlSocket = RedirConfiguration.defaultControlSocket

    @Flag(name: .customLong("json"), help: "Print the daemon's JSON as it is, for scripts.")
    var json = false

    func run() throws {
        guard let text = ControlSocketClient.fetch(controlSocket) else {
            Console.error(
                "no ss-redir answers on \(controlSocket) (\(String(cString: strerror(errno)))); is it running? (--control PATH if it uses another socket)")
            throw ExitCode(1)
        }
        if json {
            print(text, terminator: text.hasSuffix("\n") ? "" : "\n")
            return
        }
        guard let root = try? JSONDocument.parse(text), case .object(let fields) = root.value else {
            Console.error("the daemon on \(controlSocket) sent something that is not a status report")
            throw ExitCode(1)
        }
        print(Self.render(fields))
    }

    static func render(_ fields: [(key: String, node: JSONNode)]) -> String {
        func value(_ node: JSONNode?) -> String {
            switch node?.value {
            case .string(let text): text
            case .number(let text): text
            case .bool(let flag): flag ? "yes" : "no"
            default: "-"
            }
        }
        let top = Dictionary(fields.map { ($0.key, $0.node) }, uniquingKeysWith: { first, _ in first })
        var lines = [
            "ss-redir \(value(top["version"])), up \(value(top["uptime_seconds"]))s, strategy \(value(top["strategy"])), "
                + "\(value(top["tcp_connections"])) TCP connections, \(value(top["udp_associations"])) UDP associations"
        ]
        func object(_ key: String) -> [String: JSONNode] {
            guard case .object(let inner)? = top[key]?.value else { return [:] }
            return Dictionary(inner.map { ($0.key, $0.node) }, uniquingKeysWith: { first, _ in first })
        }
        let rules = object("rules")
        if !rules.isEmpty {
            lines.append(
                "rules: default \(value(rules["mode"])), \(value(rules["address_entries"])) address and "
                    + "\(value(rules["domain_entries"])) domain entries, \(value(rules["learned_names"])) names learnt from DNS")
        }
        let direct = object("direct")
        if !direct.isEmpty {
            lines.append(
                "direct (bypassed): \(value(direct["active_connections"])) active, \(value(direct["total_connections"])) total, "
                    + "\(value(direct["connect_failures"])) failed, up \(bytes(value(direct["bytes_up"]))), down \(bytes(value(direct["bytes_down"])))")
        }
        var pluginLines: [String] = []
        let header = ["SERVER", "ADDRESS", "STATE", "UDP STATE", "LATENCY", "ACTIVE", "TOTAL", "FAILED", "UP", "DOWN", "UDP", "LAST ERROR"]
        var rows = [header]
        if case .array(let members)? = top["members"]?.value {
            for member in members {
                guard case .object(let memberFields) = member.value else { continue }
                let m = Dictionary(memberFields.map { ($0.key, $0.node) }, uniquingKeysWith: { first, _ in first })
                let latency = value(m["latency_ms"])
                rows.append([
                    value(m["name"]), value(m["address"]), value(m["state"]), value(m["udp_state"]), latency == "-" ? "-" : "\(latency) ms",
                    value(m["active_connections"]), value(m["total_connections"]), value(m["connect_failures"]),
                    bytes(value(m["bytes_up"])), bytes(value(m["bytes_down"])), value(m["udp_associations"]),
                    value(m["last_error"]),
                ])
                if case .object(let pluginFields)? = m["plugin"]?.value {
                    pluginLines.append("\(value(m["name"])): " + Self.plugin(pluginFields, value: value))
                }
            }
        }
        let widths = header.indices.map { column in rows.map { $0[column].count }.max() ?? 0 }
        for row in rows {
            lines.append(
                row.enumerated().map { column, cell in
                    column == row.count - 1 ? cell : cell + String(repeating: " ", count: widths[column] - cell.count)
                }.joined(separator: "  "))
        }
        return (lines + pluginLines).joined(separator: "\n")
    }

    /// "plugin obfs-local running, pid 4242, port 40001, 1 restart (last: killed by signal 9)".
    static func plugin(_ fields: [(key: String, node: JSONNode)], value: (JSONNode?) -> String) -> String {
        let p = Dictionary(fields.map { ($0.key, $0.node) }, uniquingKeysWith: { first, _ in first })
        var text = "plugin \(value(p["name"])) \(value(p["state"]).replacingUnderscores)"
        if value(p["pid"]) != "-" { text += ", pid \(value(p["pid"]))" }
        if value(p["local_port"]) != "-" { text += ", port \(value(p["local_port"]))" }
        let restarts = value(p["restarts"])
        if restarts != "-" { text += ", \(restarts) restart\(restarts == "1" ? "" : "s")" }
        if value(p["last_exit"]) != "-" { text += " (last: \(value(p["last_exit"])))" }
        return text
    }

    static func bytes(_ text: String) -> String {
        guard let count = Double(text) else { return text }
        for (unit, size) in [("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)] where count >= Double(size) {
            let scaled = (count / Double(size) * 10).rounded() / 10
            return "\(scaled) \(unit)"
        }
        return "\(Int(count)) B"
    }
}

extension String {
    fileprivate var replacingUnderscores: String { String(map { $0 == "_" ? " " : $0 }) }
}
