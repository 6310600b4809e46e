/// SIP008 online configuration: `{"version": 1, "servers": [{"server", "server_port", "password", "method",
/// "remarks", "plugin", ...}], ...}`, read from a file (`--servers-file`).
public enum SIP008Document {
    public static func parse(_ text: String, path: String) throws(ConfigError) -> [ServerSpec] {
        let root: JSONNode
        do {
            root = try JSONDocument.parse(text)
        } catch {
            throw ConfigError("\(path):\(error.line): invalid JSON: \(error.message)")
        }
        guard case .object(let members) = root.value,
            let serversNode = members.first(where: { $0.key == "servers" })?.node,
            case .array(let entries) = serversNode.value
        else {
            throw ConfigError("\(path):\(root.line): not a SIP008 document: expected an object with a \"servers\" array")
        }
        if let version = members.first(where: { $0.key == "version" })?.node,
            case .number(let number) = version.value, number != "1"
        {
            throw ConfigError("\(path):\(version.line): SIP008 version \(number) is not supported; expected 1")
        }
        var specs: [ServerSpec] = []
        for (index, entry) in entries.enumerated() {
            var spec = try ServerEntry.parse(entry, origin: "\(path):\(entry.line): servers[\(index)]")
            spec.inheritsPlugin = false
            specs.append(spec)
        }
        return specs
    }
}

/// One server object, as in SIP008 and in the config's `servers` array.
enum ServerEntry {
    static func parse(_ node: JSONNode, origin: String) throws(ConfigError) -> ServerSpec {
        guard case .object(let members) = node.value else {
            throw ConfigError("\(origin): expected a server object {\"server\": ..., \"server_port\": ...}, found \(node.typeName)")
        }
        var spec = ServerSpec(origin: origin)
        for (key, value) in members {
            func text() throws(ConfigError) -> String {
                switch value.value {
                case .string(let string): return string
                case .number(let number): return number
                default: throw ConfigError("\(origin): key \"\(key)\": expected a string or number, found \(value.typeName)")
                }
            }
            switch key {
            case "server", "address": spec.host = try text()
            case "server_port", "port": spec.port = try text()
            case "method": spec.method = try text()
            case "password": spec.password = try text()
            case "key": spec.key = try text()
            case "name", "remarks": spec.name = try text()
            case "weight": spec.weight = try text()
            case "udp":
                guard case .bool(let flag) = value.value else {
                    throw ConfigError("\(origin): key \"udp\": expected true or false, found \(value.typeName)")
                }
                spec.udp = flag
            case "mode":
                let mode = try text()
                spec.udp = mode != RelayMode.tcpOnly.rawValue
            case "plugin": spec.plugin = try text()
            case "plugin_opts": spec.pluginOptions = try text()
            case "plugin_args": spec.pluginArguments = try ConfigValues.stringList(value, origin: "\(origin): key \"plugin_args\"")
            default:
                continue  // id, bytes_used, ...: not needed to connect
            }
        }
        return spec
    }
}
