import ArgumentParser
import Config
import Daemon
import Logging
import Redir
import ServiceLifecycle
import ShadowsocksCrypto
import ShadowsocksServer

/// `ss-server`: the Shadowsocks server (the seed's ssserver on our relay code) with shadowsocks-libev's flags.
struct SSServerCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ss-server",
        abstract: "Shadowsocks server (flags and JSON keys of shadowsocks-libev's ss-server).",
        discussion: """
            Clients connect with a Shadowsocks AEAD stream (and, with -u/-U, UDP packets); the server connects to \
            the target each one names and relays both ways. Flags override the config file (-c).
            Example: ss-server -p 8388 -k PASSWORD -m aes-256-gcm -u
            Several users: "port_password": {"8381": "pw1", "8382": "pw2"} in the config file.
            """,
        version: SSRedirVersion.versionLine(program: "ss-server")
    )

    @Option(
        name: [.customShort("s"), .customLong("server")], parsing: .singleValue,
        help: ArgumentHelp(
            "Address to listen on; repeat for several (default 0.0.0.0 and ::).", valueName: "server_host"))
    var servers: [String] = []

    @Option(
        name: [.customShort("p"), .customLong("server-port")],
        help: ArgumentHelp("Port to listen on.", valueName: "server_port"))
    var serverPort: String?

    @Option(name: [.customShort("k"), .customLong("password")], help: ArgumentHelp("Password.", valueName: "password"))
    var password: String?

    @Option(
        name: .customLong("key"), help: ArgumentHelp("Key in base64 instead of a password.", valueName: "key_in_base64")
    )
    var key: String?

    @Option(
        name: [.customShort("m"), .customLong("method")],
        help: ArgumentHelp(
            "Encrypt method: \(ServerConfiguration.supportedMethods); the default is \(ServerConfiguration.defaultMethod).",
            valueName: "encrypt_method"))
    var method: String?

    @Option(name: .customShort("c"), help: ArgumentHelp("The path to the config file.", valueName: "config_file"))
    var configFile: String?

    @Option(
        name: [.customShort("t"), .customLong("timeout")],
        help: ArgumentHelp("Socket (and UDP association) idle timeout in seconds (default 60).", valueName: "timeout"))
    var timeout: String?

    @Option(name: .customShort("n"), help: ArgumentHelp("Max number of open files.", valueName: "number"))
    var nofile: String?

    @Flag(name: .customShort("u"), help: "Enable UDP relay (mode tcp_and_udp).")
    var tcpAndUDP = false

    @Flag(name: .customShort("U"), help: "Enable UDP relay and disable TCP relay (mode udp_only).")
    var udpOnly = false

    @Flag(name: .customLong("reuse-port"), help: "Enable port reuse: one listening socket per core.")
    var reusePort = false

    @Flag(name: .customLong("fast-open"), help: "Enable TCP fast open (Linux 3.7+).")
    var fastOpen = false

    @Flag(name: .customLong("no-delay"), help: "Enable TCP_NODELAY (on by default here).")
    var noDelay = false

    @Option(
        name: .customLong("max-connections"),
        help: ArgumentHelp(
            "Close TCP connections beyond this many open at once (default: no limit).", valueName: "number"))
    var maxConnections: String?

    @Option(
        name: .customLong("forbidden-ip"),
        help: ArgumentHelp(
            "Comma-separated IPs/CIDRs clients may not reach (default 127.0.0.0/8,::1/128; \"\" for none).",
            valueName: "ip_list"))
    var forbiddenIP: String?

    @Option(
        name: .customLong("plugin"),
        help: "SIP003 plugin program (e.g. obfs-server, ss-v2ray-plugin): it listens on the TCP port, ss-server behind it.")
    var plugin: String?

    @Option(
        name: .customLong("plugin-opts"),
        help: ArgumentHelp("The plugin's options (SS_PLUGIN_OPTIONS), e.g. \"obfs=http\" or \"server\".",
            valueName: "options"))
    var pluginOptions: String?

    @Flag(name: .customShort("v"), help: "Verbose mode: log every connection.")
    var verbose = false

    @Flag(name: .customShort("q"), help: "Quiet: log only warnings and errors.")
    var quiet = false

    @OptionGroup(title: "Process") var daemon: DaemonOptions

    /// What `prepare` did while the process had one thread.
    struct Prepared: Sendable {
        let configuration: ServerConfiguration
        let logger: Logger
        let process: DaemonProcess
    }

    func validate() throws {
        if tcpAndUDP && udpOnly { throw ValidationError("-u and -U exclude each other") }
    }

    func run() async throws {
        try await run(prepared: prepare())
    }

    /// Config, -f/-a/--log-file and limits, before any thread starts (see main.swift).
    func prepare() throws -> Prepared {
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = verbose ? .info : (quiet ? .warning : .notice)
            return handler
        }
        let logger = Logger(label: "ss-server")
        daemon.stopIfAsked(program: "ss-server")
        let configuration: ServerConfiguration
        do {
            configuration = try ServerConfiguration.resolve(mergedSettings(logger: logger))
        } catch {
            Console.error(error.message)
            throw ExitCode(2)
        }
        for warning in configuration.warnings { logger.warning("\(warning)") }
        OpenFileLimit.apply(configured: configuration.nofile, logger: logger)
        let process: DaemonProcess
        do {
            process = try daemon.prepare(program: "ss-server")
        } catch {
            Console.error(error.description)
            throw ExitCode(1)
        }
        return Prepared(configuration: configuration, logger: logger, process: process)
    }

    func run(prepared: Prepared) async throws {
        let logger = prepared.logger
        defer { prepared.process.finish() }
        for warning in CipherMethod.securityWarnings(for: prepared.configuration.ports.map(\.key.method)) {
            logger.warning("\(warning)")
        }
        if let configFile, let warning = ConfigFilePermissions.warning(path: configFile) {
            logger.warning("\(warning)")
        }
        var service = ServerService(configuration: prepared.configuration, logger: logger)
        service.onReady = { prepared.process.signalReady() }
        let group = ServiceGroup(
            configuration: .init(
                services: [.init(service: service)], gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
        do {
            try await group.run()
        } catch let error as ConfigError {
            Console.error(error.message)
            throw ExitCode(1)
        }
    }

    /// The config file (if any) with the flags over it.
    private func mergedSettings(logger: Logger) throws(ConfigError) -> ServerSettings {
        var settings = ServerSettings()
        if let configFile {
            let loaded = try ServerConfigFile.load(path: configFile)
            for unknown in loaded.unknownKeys { logger.warning("\(unknown): unknown config key, ignored") }
            settings = loaded.settings
        }
        return settings.overridden(by: flagSettings())
    }

    private func flagSettings() -> ServerSettings {
        var flags = ServerSettings()
        flags.set(\.servers, servers.isEmpty ? nil : servers, .server, origin: "flag -s")
        flags.set(\.serverPort, serverPort, .serverPort, origin: "flag -p")
        flags.set(\.password, password, .password, origin: "flag -k")
        flags.set(\.key, key, .key, origin: "flag --key")
        flags.set(\.method, method, .method, origin: "flag -m")
        flags.set(\.timeout, timeout, .timeout, origin: "flag -t")
        flags.set(\.nofile, nofile, .nofile, origin: "flag -n")
        flags.set(
            \.mode, udpOnly ? RelayMode.udpOnly.rawValue : (tcpAndUDP ? RelayMode.tcpAndUDP.rawValue : nil), .mode,
            origin: udpOnly ? "flag -U" : "flag -u")
        flags.set(\.reusePort, reusePort ? true : nil, .reusePort, origin: "flag --reuse-port")
        flags.set(\.fastOpen, fastOpen ? true : nil, .fastOpen, origin: "flag --fast-open")
        flags.set(\.noDelay, noDelay ? true : nil, .noDelay, origin: "flag --no-delay")
        flags.set(\.maxConnections, maxConnections, .maxConnections, origin: "flag --max-connections")
        flags.set(\.forbiddenIP, forbiddenIP.map { [$0] }, .forbiddenIP, origin: "flag --forbidden-ip")
        flags.set(\.plugin, plugin, .plugin, origin: "flag --plugin")
        flags.set(\.pluginOptions, pluginOptions, .pluginOptions, origin: "flag --plugin-opts")
        return flags
    }
}
