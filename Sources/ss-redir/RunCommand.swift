import ArgumentParser
import Config
import Controller
import Daemon
import Logging
import Netfilter
import Redir
import ServiceLifecycle
import ShadowsocksCrypto

#if canImport(Glibc)
import Glibc
#endif

/// `ss-redir [run]`: the relay itself, with shadowsocks-libev's flags.
struct RunCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Run the transparent proxy (the default command)."
    )

    @OptionGroup var relay: RelayOptions

    @OptionGroup(title: "Process") var daemon: DaemonOptions




    @Option(
        name: .customLong("strategy"),
        help: "Pool selection: random (weighted, default), failover, round-robin, least-latency.")
    var strategy: String?

    @Option(
        name: .customLong("probe-target"),
        help: "host:port that health probes reach through each server (default: probes only connect).")
    var probeTarget: String?

    @Option(
        name: .customLong("probe-udp-target"),
        help: "host:port of a DNS resolver that UDP probes query through each server (default: no UDP probes).")
    var probeUDPTarget: String?

    @Option(name: .customLong("probe-interval"), help: "Seconds between health probes of each server (default 15).")
    var probeInterval: String?

    @Option(
        name: .customLong("socks"),
        help: ArgumentHelp(
            "Also serve SOCKS5 (CONNECT; UDP ASSOCIATE with -u/-U) on this address, e.g. 127.0.0.1:1081; repeatable.",
            valueName: "addr:port"))
    var socks: [String] = []

    @Option(name: .customLong("socks-user"), help: "Username SOCKS5 clients must give (RFC 1929; with --socks-password).")
    var socksUser: String?

    @Option(name: .customLong("socks-password"), help: "Password SOCKS5 clients must give (with --socks-user).")
    var socksPassword: String?

    @Option(
        name: .customLong("plugin"),
        help: "SIP003 plugin program (e.g. obfs-local, ss-v2ray-plugin) for -s servers and servers entries.")
    var plugin: String?

    @Option(
        name: .customLong("plugin-opts"),
        help: ArgumentHelp("The plugin's options (SS_PLUGIN_OPTIONS), e.g. \"obfs=http;obfs-host=example.com\".",
            valueName: "options"))
    var pluginOptions: String?




    @Option(name: [.customShort("k"), .customLong("password")], help: "Password.")
    var password: String?

    @Option(name: .customLong("key"), help: "Base64 master key instead of a password.")
    var key: String?

    @Option(
        name: [.customShort("m"), .customLong("method")],
        help: """
            Cipher: aes-128-gcm, aes-192-gcm, aes-256-gcm, chacha20-ietf-poly1305 (default). Legacy stream \
            ciphers (aes-128/192/256-cfb, aes-128/192/256-ctr, chacha20-ietf, chacha20, rc4-md5) are accepted \
            for old servers but are insecure: no integrity, no replay protection.
            """)
    var method: String?

    @Option(name: [.customShort("t"), .customLong("timeout")], help: "Idle timeout in seconds (default 60).")
    var timeout: String?

    @Option(name: .customShort("n"), help: "Maximum number of open files (RLIMIT_NOFILE).")
    var nofile: String?


    @Option(name: .customLong("mtu"), help: "Link MTU toward the server; larger UDP packets are dropped.")
    var mtu: String?

    @Option(name: .customLong("udp-timeout"), help: "UDP association idle timeout in seconds (default: -t).")
    var udpTimeout: String?

    @Option(
        name: .customLong("udp-max-associations"),
        help: "Most UDP associations at once; the least recently used is evicted (default 4096).")
    var udpMaxAssociations: String?

    @Option(
        name: .customLong("max-connections-per-client"),
        help: "Most TCP connections one LAN host may have open at once; more are closed on accept (default: no limit).")
    var maxConnectionsPerClient: String?




    @Flag(
        name: .customLong("reuse-port"), inversion: .prefixedNo,
        help: "One listening socket per core with SO_REUSEPORT (default: on; --no-reuse-port: one shared socket).")
    var reusePort: Bool?

    @Flag(name: .customLong("no-delay"), help: "TCP_NODELAY on both sides (on by default here).")
    var noDelay = false

    @Flag(name: .customLong("fast-open"), help: "TCP Fast Open towards the server.")
    var fastOpen = false

    @Option(name: .customLong("control"), help: "Control socket for `ss-redir status` (default /run/ss-redir.sock).")
    var controlSocket: String?

    @Option(name: .customLong("metrics"), help: "Serve Prometheus metrics at http://ADDR:PORT/metrics (off by default).")
    var metrics: String?

    @Option(
        name: .customLong("external-controller"),
        help: "Serve the Clash-compatible API for dashboards (yacd, metacubexd, zashboard) on ADDR:PORT (off by default).")
    var externalController: String?

    @Option(name: .customLong("secret"), help: "Bearer secret the external controller requires (required off loopback).")
    var secret: String?

    @Option(
        name: .customLong("external-ui"),
        help: ArgumentHelp("Directory of dashboard files the external controller serves under /ui/.", valueName: "dir"))
    var externalUI: String?

    @Option(
        name: .customLong("half-close-wait"),
        help: "After a LAN client's FIN, seconds of server silence before the FIN is passed on (default 3).")
    var halfCloseWait: String?

    @Option(
        name: .customLong("acl"),
        help: "shadowsocks-libev ACL file ([proxy_all]/[bypass_all], [bypass_list]/[proxy_list]); see docs/rules.md.")
    var acl: String?

    @Option(
        name: .customLong("rules"),
        help: "Rule file (CIDRs, domains, hosts lines, dnsmasq server=/d/ lines); repeatable; proxy:FILE for the proxy list.")
    var rules: [String] = []

    @Option(
        name: .customLong("sniff-wait"),
        help: "With domain rules: milliseconds to wait for a client's first bytes (TLS SNI, HTTP Host) (default 300).")
    var sniffWait: String?

    @Option(
        name: .customLong("dns-listen"),
        help: "Serve LAN DNS on ADDR:PORT: bypassed names asked of the local resolvers, the rest through the tunnel.")
    var dnsListen: String?

    @Option(
        name: .customLong("dns-remote"),
        help: "Resolver the tunnel asks for proxied names (default 8.8.8.8:53).")
    var dnsRemote: String?

    @Option(
        name: .customLong("dns-direct"),
        help: "Resolver for bypassed names (default: the nameservers of --resolv-conf).")
    var dnsDirect: String?

    @Option(name: .customLong("resolv-conf"), help: "resolv.conf to read (default /etc/resolv.conf).")
    var resolvConf: String?

    @Option(name: .customLong("hosts-file"), help: "hosts file to read (default /etc/hosts).")
    var hostsFile: String?

    @Flag(
        name: .customLong("auto-setup"),
        help: "Install setup's rules for the daemon's lifetime (the kernel removes them when it exits or dies).")
    var autoSetup = false

    @Flag(name: .customShort("v"), help: "Verbose: log every connection.")
    var verbose = false

    @Flag(name: .customShort("q"), help: "Quiet: log only warnings and errors.")
    var quiet = false

    /// What `prepare` did before any thread started.
    struct Prepared: Sendable {
        let configuration: RedirConfiguration
        let logger: Logger
        let process: DaemonProcess
        let logFeed: LogFeed
    }

    func run() async throws {
        try await run(prepared: prepare())
    }

    /// Reads the configuration, raises limits and applies -f/-a/--log-file. Runs while the process has a
    /// single thread (see Entry).
    func prepare() throws -> Prepared {
        let feed = LogFeed(systemLevel: verbose ? .info : (quiet ? .warning : .notice))
        // The controller's /logs and PATCH /configs log-level go through the feed around the stderr handler.
        LoggingSystem.bootstrap { label in feed.handler(wrapping: StreamLogHandler.standardError(label: label)) }
        let logger = Logger(label: "ss-redir")
        daemon.stopIfAsked(program: "ss-redir")
        let configuration: RedirConfiguration
        do {
            configuration = try resolveConfiguration(logger: logger)
        } catch {
            printError(error.message)
            throw ExitCode(2)
        }
        let process: DaemonProcess
        do {
            process = try daemon.prepare(program: "ss-redir")
        } catch {
            printError(error.description)
            throw ExitCode(1)
        }
        OpenFileLimit.apply(configured: configuration.nofile, logger: logger)
        return Prepared(configuration: configuration, logger: logger, process: process, logFeed: feed)
    }

    func run(prepared: Prepared) async throws {
        let configuration = prepared.configuration
        let logger = prepared.logger
        defer { prepared.process.finish() }
        for warning in CipherMethod.securityWarnings(for: configuration.members.map(\.key.method)) {
            logger.warning("\(warning)")
        }
        if let path = relay.configFile, let warning = ConfigFilePermissions.warning(path: path) {
            logger.warning("\(warning)")
        }
        var rules: AutoSetup?
        if autoSetup {
            do {
                let directory = relay.configFile.map { $0.contains("/") ? String($0[..<$0.lastIndex(of: "/")!]) : "." }
                rules = try AutoSetup(settings: try mergedSettings(logger: logger), configDirectory: directory, logger: logger)
            } catch let error as ConfigError {
                printError(error.message)
                throw ExitCode(2)
            } catch let error as NetfilterError {
                printError("--auto-setup: \(error.message)")
                throw ExitCode(1)
            }
        }
        defer { rules?.remove(logger: logger) }

        var service = RedirService(configuration: configuration, logger: logger)
        let reloadCommand = self
        service.reload = { try reloadCommand.resolveConfiguration(logger: logger) }
        service.onReady = { prepared.process.signalReady() }
        service.logFeed = prepared.logFeed
        service.ownedTableConnection = rules.map { OwnedTableConnection($0.nftables) }
        let group = ServiceGroup(
            configuration: .init(
                services: [.init(service: service)], gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
        do {
            try await group.run()
        } catch let error as ConfigError {
            printError(error.message)
            throw ExitCode(1)
        }
    }

    private func resolveConfiguration(logger: Logger) throws(ConfigError) -> RedirConfiguration {
        try RedirConfiguration.resolve(mergedSettings(logger: logger))
    }

    /// The config file (if any) with the flags over it.
    private func mergedSettings(logger: Logger) throws(ConfigError) -> RedirSettings {
        var settings = RedirSettings()
        if let configFile = relay.configFile {
            let loaded = try ConfigFile.load(path: configFile)
            for unknown in loaded.unknownKeys { logger.warning("\(unknown): unknown config key, ignored") }
            settings = loaded.settings
        }
        return settings.overridden(by: flagSettings())
    }

    private func flagSettings() -> RedirSettings {
        var flags = FlagSettings()
        relay.apply(to: &flags)
        flags.set(\.strategy, strategy, .strategy, "--strategy")
        flags.set(\.probeTarget, probeTarget, .probeTarget, "--probe-target")
        flags.set(\.probeInterval, probeInterval, .probeInterval, "--probe-interval")
        flags.set(\.probeUDPTarget, probeUDPTarget, .probeUDPTarget, "--probe-udp-target")
        flags.set(\.controlSocket, controlSocket, .controlSocket, "--control")
        flags.set(\.metrics, metrics, .metrics, "--metrics")
        flags.set(\.externalController, externalController, .externalController, "--external-controller")
        flags.set(\.secret, secret, .secret, "--secret")
        flags.set(\.externalUI, externalUI, .externalUI, "--external-ui")
        flags.set(\.halfCloseWait, halfCloseWait, .halfCloseWait, "--half-close-wait")
        flags.set(\.socks, socks.isEmpty ? nil : socks, .socks, "--socks")
        flags.set(\.socksUsername, socksUser, .socksUsername, "--socks-user")
        flags.set(\.socksPassword, socksPassword, .socksPassword, "--socks-password")
        flags.set(\.plugin, plugin, .plugin, "--plugin")
        flags.set(\.pluginOptions, pluginOptions, .pluginOptions, "--plugin-opts")
        flags.set(\.password, password, .password, "-k")
        flags.set(\.key, key, .key, "--key")
        flags.set(\.method, method, .method, "-m")
        flags.set(\.timeout, timeout, .timeout, "-t")
        flags.set(\.nofile, nofile, .nofile, "-n")
        flags.set(\.mtu, mtu, .mtu, "--mtu")
        flags.set(\.udpTimeout, udpTimeout, .udpTimeout, "--udp-timeout")
        flags.set(\.udpMaxAssociations, udpMaxAssociations, .udpMaxAssociations, "--udp-max-associations")
        flags.set(
            \.maxConnectionsPerClient, maxConnectionsPerClient, .maxConnectionsPerClient, "--max-connections-per-client")
        flags.set(\.reusePort, reusePort, .reusePort, reusePort == false ? "--no-reuse-port" : "--reuse-port")
        flags.set(\.noDelay, noDelay ? true : nil, .noDelay, "--no-delay")
        flags.set(\.fastOpen, fastOpen ? true : nil, .fastOpen, "--fast-open")
        flags.set(\.acl, acl, .acl, "--acl")
        flags.set(\.rules, rules.isEmpty ? nil : rules, .rules, "--rules")
        flags.set(\.sniffWait, sniffWait, .sniffWait, "--sniff-wait")
        flags.set(\.dnsListen, dnsListen, .dnsListen, "--dns-listen")
        flags.set(\.dnsRemote, dnsRemote, .dnsRemote, "--dns-remote")
        flags.set(\.dnsDirect, dnsDirect, .dnsDirect, "--dns-direct")
        flags.set(\.resolvConf, resolvConf, .resolvConf, "--resolv-conf")
        flags.set(\.hostsFile, hostsFile, .hostsFile, "--hosts-file")
        return flags.settings
    }

    private func printError(_ message: String) {
        let line = Array("ss-redir: \(message)\n".utf8)
        _ = line.withUnsafeBytes { write(STDERR_FILENO, $0.baseAddress, $0.count) }
    }
}
