import BuildInfo

public enum SSRedirVersion {
    public static let current = "0.1.0"

    /// What `--version` prints for ss-redir, ss-server and ss-local: "ss-redir 0.1.0 (commit …, Swift …)".
    public static func versionLine(program: String) -> String { "\(program) \(BuildInfo.versionLine(current))" }
}
