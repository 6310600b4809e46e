#if canImport(Glibc)
import Glibc
#endif

/// The environment a SIP003 plugin starts with: ours (PATH, HOME, ... the plugin may need), minus any `SS_*`
/// variables we inherited, plus SIP003's four MUST-HAVE variables and `SS_PLUGIN_OPTIONS` when options are given.
public struct PluginEnvironment: Sendable, Equatable {
    /// The far end the plugin talks to (client: the server; server: the public address it listens on).
    public var remoteHost: String
    public var remotePort: Int
    /// The near end on loopback (client: where the plugin listens for us; server: where we listen for it).
    public var localHost: String
    public var localPort: Int
    /// Passed as written: SIP003's `key=value;key=value` with `\;`, `\=`, `\\` escapes.
    public var options: String?

    public init(remoteHost: String, remotePort: Int, localHost: String, localPort: Int, options: String?) {
        self.remoteHost = remoteHost
        self.remotePort = remotePort
        self.localHost = localHost
        self.localPort = localPort
        self.options = options
    }

    /// SIP003 "Passing arguments to a plugin".
    public var sip003Variables: [String] {
        var variables = [
            "SS_REMOTE_HOST=\(remoteHost)", "SS_REMOTE_PORT=\(remotePort)",
            "SS_LOCAL_HOST=\(localHost)", "SS_LOCAL_PORT=\(localPort)",
        ]
        if let options { variables.append("SS_PLUGIN_OPTIONS=\(options)") }
        return variables
    }

    /// `inherited` (`NAME=value` entries) without SIP003's names, then ours.
    public func entries(inheriting inherited: [String]) -> [String] {
        let ours: Set<Substring> = ["SS_REMOTE_HOST", "SS_REMOTE_PORT", "SS_LOCAL_HOST", "SS_LOCAL_PORT", "SS_PLUGIN_OPTIONS"]
        let kept = inherited.filter { entry in
            let name = entry.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false).first ?? ""
            return !ours.contains(name)
        }
        return kept + sip003Variables
    }

    /// This process's environment as `NAME=value` entries.
    public static var current: [String] {
        var entries: [String] = []
        let table: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>? = environ
        guard var pointer = table else { return entries }
        while let entry = pointer.pointee {
            entries.append(String(cString: entry))
            pointer += 1
        }
        return entries
    }
}
