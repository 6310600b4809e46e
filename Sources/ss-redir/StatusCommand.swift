import ArgumentParser
import Config

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
        guard let text = Self.fetch(controlSocket) else {
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
            }
        }
        let widths = header.indices.map { column in rows.map { $0[column].count }.max() ?? 0 }
        for row in rows {
            lines.append(
                row.enumerated().map { column, cell in
                    column == row.count - 1 ? cell : cell + String(repeating: " ", count: widths[column] - cell.count)
                }.joined(separator: "  "))
        }
        return lines.joined(separator: "\n")
    }

    static func bytes(_ text: String) -> String {
        guard let count = Double(text) else { return text }
        for (unit, size) in [("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)] where count >= Double(size) {
            let scaled = (count / Double(size) * 10).rounded() / 10
            return "\(scaled) \(unit)"
        }
        return "\(Int(count)) B"
    }

    /// Connects to the Unix socket and reads until the daemon closes it.
    static func fetch(_ path: String) -> String? {
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let pathBytes = Array(path.utf8)
        guard pathBytes.count < MemoryLayout.size(ofValue: address.sun_path) else { return nil }
        withUnsafeMutableBytes(of: &address.sun_path) { $0.copyBytes(from: pathBytes) }
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) == 0
            }
        }
        guard connected else { return nil }
        var timeout = timeval(tv_sec: 5, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        var data: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 65536)
        while true {
            let count = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if count <= 0 { break }
            data += chunk[0..<count]
            if data.count > 16 << 20 { break }
        }
        return data.isEmpty ? nil : String(decoding: data, as: UTF8.self)
    }
}
