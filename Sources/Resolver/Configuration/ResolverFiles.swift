import IPAddresses
import NIOCore

#if canImport(Glibc)
import Glibc
#endif

/// resolv.conf and hosts as the resolver currently sees them. Both are stat(2)-checked at most once per
/// `checkInterval` and re-parsed only when they changed (glibc reloads resolv.conf the same way).
struct ResolverFiles: Sendable {
    /// What one lookup works from; immutable so a lookup sees one consistent configuration.
    struct Snapshot: Sendable {
        let resolvConf: ResolvConf
        /// Normalized host name -> addresses in file order (hosts(5) lines for the same name accumulate).
        let hosts: [String: [IPAddress]]
        let hostsProblems: [HostsFile.Problem]
    }

    private var resolvConfFile: WatchedFile
    private var hostsFile: WatchedFile
    private let environment: [String: String]
    private let hostname: String?
    private let checkInterval: TimeAmount
    private var lastCheck: NIODeadline?
    private(set) var snapshot = Snapshot(resolvConf: ResolvConf(), hosts: [:], hostsProblems: [])

    init(
        resolvConfPath: String, hostsPath: String, environment: [String: String], hostname: String?,
        checkInterval: TimeAmount
    ) {
        resolvConfFile = WatchedFile(path: resolvConfPath)
        hostsFile = WatchedFile(path: hostsPath)
        self.environment = environment
        self.hostname = hostname
        self.checkInterval = checkInterval
    }

    /// The current snapshot, after a reload when the check interval has passed and a file changed.
    /// `options no-reload` stops resolv.conf checks once it has been read, as in glibc (hosts is still watched).
    mutating func current(now: NIODeadline) -> Snapshot {
        if let lastCheck, now - lastCheck < checkInterval { return snapshot }
        let frozen = lastCheck != nil && snapshot.resolvConf.options.noReload
        lastCheck = now
        var resolvConf = snapshot.resolvConf
        var hosts = snapshot.hosts
        var hostsProblems = snapshot.hostsProblems
        var changed = false
        if !frozen, let text = resolvConfFile.textIfChanged() {
            resolvConf = ResolvConf(parsing: text, environment: environment, hostname: hostname)
            changed = true
        }
        if let text = hostsFile.textIfChanged() {
            let file = HostsFile(parsing: text)
            hosts = ResolverFiles.index(file)
            hostsProblems = file.problems
            changed = true
        }
        if changed { snapshot = Snapshot(resolvConf: resolvConf, hosts: hosts, hostsProblems: hostsProblems) }
        return snapshot
    }

    static func index(_ file: HostsFile) -> [String: [IPAddress]] {
        var index: [String: [IPAddress]] = [:]
        for entry in file.entries {
            for name in entry.names where !(index[name]?.contains(entry.address) ?? false) {
                index[name, default: []].append(entry.address)
            }
        }
        return index
    }

    /// LOCALDOMAIN and RES_OPTIONS from the process environment.
    static func processEnvironment() -> [String: String] {
        var environment: [String: String] = [:]
        for key in ["LOCALDOMAIN", "RES_OPTIONS"] {
            if let value = getenv(key) { environment[key] = String(cString: value) }
        }
        return environment
    }

    /// gethostname(2), nil when it fails.
    static func systemHostname() -> String? {
        var buffer = [CChar](repeating: 0, count: 256)
        guard gethostname(&buffer, buffer.count - 1) == 0 else { return nil }
        return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}
