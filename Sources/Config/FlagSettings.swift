/// Command-line values as `RedirSettings` that override the config file key by key, remembering which flag
/// set each ("flag -p") for error messages. Public so every executable (ss-redir, ss-local) builds its flags
/// the same way.
public struct FlagSettings: Sendable {
    public private(set) var settings = RedirSettings()

    public init() {}

    public mutating func set<T>(
        _ keyPath: WritableKeyPath<RedirSettings, T?>, _ value: T?, _ field: RedirSettings.Field, _ flag: String
    ) {
        guard let value else { return }
        settings[keyPath: keyPath] = value
        settings.origins[field] = "flag \(flag)"
    }
}
