/// One server as the user wrote it (config `servers` entry, `ss://` URI, SIP008 entry, or the ss-libev
/// single-server keys), before validation. `origin` says where it came from, for error messages.
public struct ServerSpec: Sendable, Equatable {
    public var host: String?
    public var port: String?
    public var method: String?
    public var password: String?
    public var key: String?
    public var name: String?
    public var weight: String?
    /// Whether UDP may be relayed through this member (default: yes).
    public var udp: Bool?
    /// SIP003: the plugin program ("" turns off an inherited one), its options and arguments.
    public var plugin: String?
    public var pluginOptions: String?
    public var pluginArguments: [String]?
    /// Whether the top-level `plugin` applies when this entry names none (`-s` and `servers` entries; SIP002 URIs
    /// and SIP008 entries describe their server completely).
    public var inheritsPlugin = true
    public var origin: String

    public init(origin: String) {
        self.origin = origin
    }
}
