/// `--external-controller ADDR:PORT`, `--secret`, `--external-ui DIR`: where the Clash-compatible API listens,
/// the bearer secret it requires and the dashboard files it serves under /ui/ (docs/dashboard.md).
public struct ExternalControllerSettings: Sendable, Equatable {
    public var endpoint: ServerEndpoint
    /// nil or empty: no authentication (allowed only on a loopback address).
    public var secret: String?
    public var uiDirectory: String?

    public init(endpoint: ServerEndpoint, secret: String?, uiDirectory: String?) {
        self.endpoint = endpoint
        self.secret = secret
        self.uiDirectory = uiDirectory
    }

    /// The controller's settings, or nil when none is configured. An address other than loopback needs a
    /// secret: the API closes connections and steers the pool.
    static func resolve(_ settings: RedirSettings) throws(ConfigError) -> ExternalControllerSettings? {
        guard let text = settings.externalController else {
            if settings.externalUI != nil {
                throw ConfigError(
                    "\(settings.origin(.externalUI)) needs the controller: add --external-controller 127.0.0.1:9090")
            }
            return nil
        }
        guard
            let endpoint = try RedirConfiguration.endpoint(
                text, origin: settings.origin(.externalController), example: "127.0.0.1:9090")
        else { return nil }
        let secret = settings.secret.flatMap { $0.isEmpty ? nil : $0 }
        if secret == nil && !isLoopback(endpoint.host) {
            throw ConfigError(
                "\(settings.origin(.externalController)) \(endpoint) is reachable from other hosts: set --secret (\"secret\") or listen on 127.0.0.1"
            )
        }
        return ExternalControllerSettings(endpoint: endpoint, secret: secret, uiDirectory: settings.externalUI)
    }

    static func isLoopback(_ host: String) -> Bool {
        host == "localhost" || host == "::1" || host.hasPrefix("127.")
    }
}
