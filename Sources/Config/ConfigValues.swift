#if canImport(Glibc)
import Glibc
#endif

/// The reading every shadowsocks-style JSON config file shares (ss-redir's, ss-local's, ss-server's): the
/// file, its top-level object, and values as strings, booleans or string lists, each error naming file:line.
public enum ConfigValues {
    /// The file's text, or the one-line error for `-c`.
    public static func read(_ path: String) throws(ConfigError) -> String {
        guard let text = TextFileReader.read(path) else {
            throw ConfigError("\(path): cannot read config file (\(String(cString: strerror(errno)))); check the path given to -c")
        }
        return text
    }

    /// The top-level object's members, in file order.
    public static func members(of text: String, path: String) throws(ConfigError) -> [(key: String, node: JSONNode)] {
        let root: JSONNode
        do {
            root = try JSONDocument.parse(text)
        } catch {
            throw ConfigError("\(path):\(error.line): invalid JSON: \(error.message)")
        }
        guard case .object(let members) = root.value else {
            throw ConfigError("\(path):\(root.line): the config must be a JSON object { ... }, found \(root.typeName)")
        }
        return members.map { (key: $0.key, node: $0.node) }
    }

    /// A string (a number is taken as written).
    public static func string(_ node: JSONNode, origin: String, expected: String = "a string") throws(ConfigError)
        -> String
    {
        switch node.value {
        case .string(let text): return text
        case .number(let text): return text
        default: throw ConfigError("\(origin): expected \(expected), found \(node.typeName)")
        }
    }

    public static func bool(_ node: JSONNode, origin: String) throws(ConfigError) -> Bool {
        if case .bool(let flag) = node.value { return flag }
        throw ConfigError("\(origin): expected true or false, found \(node.typeName)")
    }

    /// `"key": "a"` or `"key": ["a", "b"]`.
    public static func stringList(_ node: JSONNode, origin: String) throws(ConfigError) -> [String] {
        switch node.value {
        case .string(let text): return [text]
        case .array(let elements):
            var list: [String] = []
            for element in elements {
                guard case .string(let text) = element.value else {
                    throw ConfigError(
                        "\(origin): expected a string or an array of strings, found \(element.typeName) in the array")
                }
                list.append(text)
            }
            return list
        default:
            throw ConfigError("\(origin): expected a string or an array of strings, found \(node.typeName)")
        }
    }
}
