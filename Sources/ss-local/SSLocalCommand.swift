import ArgumentParser
import Config
import Daemon
import Logging
import Redir
import ServiceLifecycle
import ShadowsocksCrypto

#if canImport(Glibc)
import Glibc
#endif

/// `ss-local`: a SOCKS5 server that relays through the Shadowsocks pool, for users of shadowsocks-libev's
/// `ss-local` (same flags and JSON keys). It is ss-redir's service with only the SOCKS5 front running.
struct SSLocalCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ss-local",
        abstract: "SOCKS5 proxy through Shadowsocks servers (drop-in for shadowsocks-libev's ss-local).",
        discussion: """
            Serves SOCKS5 (RFC 1928: CONNECT; UDP ASSOCIATE with -u or -U; username/password, RFC 1929, with
            --socks-user and --socks-password) on -b ADDRESS -l PORT and relays every connection through the
            server pool. Flags and JSON keys are shadowsocks-libev's; flags override the file.
            Example: ss-local -s 203.0.113.7 -p 8388 -k PASSWORD -m aes-256-gcm -l 1080 -u
            """,
        version: SSRedirVersion.versionLine(program: "ss-local")
    )

    @OptionGroup var options: LocalOptions

    @Flag(name: .customShort("q"), help: "Quiet: log only warnings and errors.")
    var quiet = false

    @OptionGroup(title: "Process") var daemon: DaemonOptions

    struct Prepared: Sendable {
        let configuration: RedirConfiguration
        let logger: Logger
        let process: DaemonProcess
    }

    func run() async throws {
        try await run(prepared: prepare())
    }

    /// Config and -f/-a/--log-file while the process has one thread (see Entry).
    func prepare() throws -> Prepared {
        let verbose = options.verbose
        let quiet = self.quiet
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = verbose ? .info : (quiet ? .warning : .notice)
            return handler
        }
        let logger = Logger(label: "ss-local")
        daemon.stopIfAsked(program: "ss-local")
        let configuration: RedirConfiguration
        do {
            configuration = try resolveConfiguration(logger: logger)
        } catch {
            printError(error.message)
            throw ExitCode(2)
        }
        OpenFileLimit.apply(configured: configuration.nofile, logger: logger)
        let process: DaemonProcess
        do {
            process = try daemon.prepare(program: "ss-local")
        } catch {
            printError(error.description)
            throw ExitCode(1)
        }
        return Prepared(configuration: configuration, logger: logger, process: process)
    }

    func run(prepared: Prepared) async throws {
        let configuration = prepared.configuration
        let logger = prepared.logger
        defer { prepared.process.finish() }
        for warning in CipherMethod.securityWarnings(for: configuration.members.map(\.key.method)) {
            logger.warning("\(warning)")
        }
        if let path = options.configFile, let warning = ConfigFilePermissions.warning(path: path) {
            logger.warning("\(warning)")
        }
        var service = RedirService(configuration: configuration, logger: logger)
        service.socksOnly = true
        let command = self
        service.reload = { try command.resolveConfiguration(logger: logger) }
        service.onReady = { prepared.process.signalReady() }
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

    /// The config file (if any) with the flags over it; then ss-local's meaning of the shared keys: the SOCKS5
    /// server listens on local_address:local_port, and nothing is marked or shared with ss-redir's socket.
    private func resolveConfiguration(logger: Logger) throws(ConfigError) -> RedirConfiguration {
        var settings = RedirSettings()
        if let configFile = options.configFile {
            let loaded = try ConfigFile.load(path: configFile)
            for unknown in loaded.unknownKeys { logger.warning("\(unknown): unknown config key, ignored") }
            settings = loaded.settings
        }
        settings = settings.overridden(by: options.flagSettings)
        guard let port = settings.localPort else {
            throw ConfigError("no local port given: pass -l PORT (the SOCKS5 port) or set \"local_port\" in the config file (-c)")
        }
        let addresses = settings.localAddresses ?? [RedirConfiguration.defaultListenAddress]
        settings.socks = addresses.map { $0.contains(":") ? "[\($0)]:\(port)" : "\($0):\(port)" }
        settings.origins[.socks] = settings.origins[.localAddress] ?? settings.origins[.localPort]
        if settings.outboundFwmark == nil { settings.outboundFwmark = "0" }
        if settings.controlSocket == nil { settings.controlSocket = Self.defaultControlSocket }
        return try RedirConfiguration.resolve(settings)
    }

    /// Not ss-redir's socket, so both can run; a user without /run gets one of their own.
    static var defaultControlSocket: String {
        if getuid() == 0 { return "/run/ss-local.sock" }
        if let runtime = getenv("XDG_RUNTIME_DIR"), runtime.pointee != 0 {
            return String(cString: runtime) + "/ss-local.sock"
        }
        return "/tmp/ss-local-\(getuid()).sock"
    }

    private func printError(_ message: String) {
        let line = Array("ss-local: \(message)\n".utf8)
        _ = line.withUnsafeBytes { write(STDERR_FILENO, $0.baseAddress, $0.count) }
    }
}
