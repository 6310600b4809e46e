#if canImport(Glibc)
import Glibc
#endif
import Config
import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix

/// One SIP003 plugin child: started with posix_spawnp (its own process group, default signal dispositions, stdin
/// from /dev/null, stdout and stderr into a pipe we log), watched with `waitpid(WNOHANG)`, restarted with
/// exponential back-off when it exits, and stopped with SIGTERM then SIGKILL. SIP003 has the parent exit with its
/// plugin; a gateway daemon keeps serving instead, and the member fails its connects until the plugin is back.
public final class PluginProcess: Sendable {
    public enum State: String, Sendable {
        case running, restarting, stopped
    }

    public struct Status: Sendable, Equatable {
        public var program: String
        public var state: State
        public var pid: Int32?
        /// How many times it was started again after exiting.
        public var restarts: Int
        public var localPort: Int
        /// How the last run ended ("exited with status 1", "killed by signal 9").
        public var lastExit: String?
    }

    public struct StartFailure: Error, CustomStringConvertible {
        public let description: String
    }

    public let spec: PluginSpec
    public let environment: PluginEnvironment
    /// Where the near end of the tunnel is (`SS_LOCAL_HOST:SS_LOCAL_PORT`).
    public let localAddress: SocketAddress
    /// For log lines: "obfs-local for NAME".
    let label: String
    private let eventLoop: EventLoop
    private let logger: Logger
    private let inner: NIOLockedValueBox<Inner>

    private struct Inner {
        var pid: pid_t?
        var state: State = .running
        var restarts = 0
        var lastExit: String?
        /// Exits in a row without a stable run; the back-off doubles with each.
        var quickExits = 0
        var startedAt = NIODeadline.now()
        var stopping = false
        var watcher: RepeatedTask?
    }

    static let initialBackoff: TimeAmount = .milliseconds(500)
    static let maximumBackoff: TimeAmount = .seconds(30)
    /// A run this long resets the back-off.
    static let stableRun: TimeAmount = .seconds(30)
    static let watchInterval: TimeAmount = .milliseconds(200)
    /// How long SIGTERM has before SIGKILL.
    static let termGrace: TimeAmount = .seconds(2)

    public init(spec: PluginSpec, environment: PluginEnvironment, label: String, eventLoop: EventLoop, logger: Logger)
        throws
    {
        self.spec = spec
        self.environment = environment
        self.localAddress = try SocketAddress(ipAddress: environment.localHost, port: environment.localPort)
        self.label = label
        self.eventLoop = eventLoop
        self.logger = logger
        self.inner = NIOLockedValueBox(Inner())
    }

    public var status: Status {
        inner.withLockedValue { inner in
            Status(
                program: spec.program, state: inner.state, pid: inner.pid, restarts: inner.restarts,
                localPort: environment.localPort, lastExit: inner.lastExit)
        }
    }

    /// Starts the child and its watcher; a program that cannot be started is an error here (at startup the user
    /// should hear it at once), later only a log line and another try.
    public func start() throws(StartFailure) {
        let pid = try spawn()
        inner.withLockedValue { inner in
            inner.pid = pid
            inner.state = .running
            inner.startedAt = .now()
            inner.watcher = eventLoop.scheduleRepeatedTask(
                initialDelay: Self.watchInterval, delay: Self.watchInterval
            ) { [self] _ in reap() }
        }
        logger.notice("plugin \(label) started (pid \(pid)) on \(environment.localHost):\(environment.localPort)")
    }

    /// SIGTERM to the plugin's process group, SIGKILL after `termGrace`; returns once the child is reaped.
    public func stop() async {
        let pid: pid_t? = try? await eventLoop.submit { [self] in
            inner.withLockedValue { inner in
                inner.stopping = true
                inner.state = .stopped
                inner.watcher?.cancel()
                inner.watcher = nil
                defer { inner.pid = nil }
                return inner.pid
            }
        }.get()
        guard let pid else { return }
        kill(-pid, SIGTERM)
        kill(pid, SIGTERM)
        let deadline = NIODeadline.now() + Self.termGrace
        var status: Int32 = 0
        while NIODeadline.now() < deadline {
            if waitpid(pid, &status, WNOHANG) != 0 { return }
            try? await Task.sleep(nanoseconds: 20_000_000)
        }
        logger.warning("plugin \(label) (pid \(pid)) ignored SIGTERM; killing it")
        kill(-pid, SIGKILL)
        kill(pid, SIGKILL)
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
    }

    /// Whether the plugin accepts TCP on its local port within `timeout` (it needs a moment after exec).
    public func waitUntilListening(timeout: TimeAmount) async -> Bool {
        let deadline = NIODeadline.now() + timeout
        while NIODeadline.now() < deadline {
            if Self.accepts(host: environment.localHost, port: environment.localPort) { return true }
            try? await Task.sleep(nanoseconds: 50_000_000)
        }
        return false
    }

    /// Runs on the event loop: notices an exit and schedules the restart.
    private func reap() {
        let exit: (pid_t, Int32)? = inner.withLockedValue { inner in
            guard let pid = inner.pid, !inner.stopping else { return nil }
            var status: Int32 = 0
            let result = waitpid(pid, &status, WNOHANG)
            guard result == pid || (result < 0 && errno == ECHILD) else { return nil }
            inner.pid = nil
            inner.state = .restarting
            inner.lastExit = Self.describe(status: status)
            return (pid, status)
        }
        guard let (pid, status) = exit else { return }
        scheduleRestart(after: "pid \(pid) \(Self.describe(status: status))")
    }

    private func scheduleRestart(after reason: String) {
        let delay = inner.withLockedValue { inner -> TimeAmount in
            if NIODeadline.now() - inner.startedAt >= Self.stableRun { inner.quickExits = 0 }
            let factor = Int64(1) << Int64(min(inner.quickExits, 10))
            inner.quickExits += 1
            return .nanoseconds(min(Self.initialBackoff.nanoseconds * factor, Self.maximumBackoff.nanoseconds))
        }
        logger.warning(
            "plugin \(label) \(reason); restarting in \(Double(delay.nanoseconds / 1_000_000) / 1000) s")
        eventLoop.scheduleTask(in: delay) { [self] in restart() }
    }

    private func restart() {
        guard !inner.withLockedValue({ $0.stopping }) else { return }
        do {
            let pid = try spawn()
            inner.withLockedValue { inner in
                inner.pid = pid
                inner.state = .running
                inner.restarts += 1
                inner.startedAt = .now()
            }
            logger.notice("plugin \(label) restarted (pid \(pid))")
        } catch {
            inner.withLockedValue { $0.lastExit = error.description }
            scheduleRestart(after: "could not be started: \(error)")
        }
    }

    /// posix_spawnp with the SIP003 environment; the output pipe goes to a `PluginOutputLogger` on our loop.
    private func spawn() throws(StartFailure) -> pid_t {
        // Glibc's module lacks pipe2: pipe then FD_CLOEXEC, under one lock so no other plugin's spawn inherits
        // the write end in between (its output would never see EOF).
        Self.spawnLock.lock()
        defer { Self.spawnLock.unlock() }
        return try spawnLocked()
    }

    private static let spawnLock = NIOLock()

    /// glibc 2.34's posix_spawn_file_actions_addclosefrom_np, which Swift's Glibc module does not import.
    private typealias AddCloseFrom = @convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>, Int32) -> Int32
    private static let addCloseFrom: AddCloseFrom? =
        dlsym(nil, "posix_spawn_file_actions_addclosefrom_np").map { unsafeBitCast($0, to: AddCloseFrom.self) }

    private func spawnLocked() throws(StartFailure) -> pid_t {
        var fds: [Int32] = [-1, -1]
        guard pipe(&fds) == 0 else {
            throw StartFailure(description: "cannot create a pipe: \(String(cString: strerror(errno)))")
        }
        _ = fcntl(fds[0], F_SETFD, FD_CLOEXEC)
        _ = fcntl(fds[1], F_SETFD, FD_CLOEXEC)
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_adddup2(&actions, fds[1], 1)
        posix_spawn_file_actions_adddup2(&actions, fds[1], 2)
        // NIO accepts without SOCK_CLOEXEC: a plugin (re)started while LAN connections are open would hold their
        // sockets, and closing one here would send no FIN until the plugin exits.
        _ = Self.addCloseFrom?(&actions, 3)
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var mask = sigset_t()
        sigemptyset(&mask)
        posix_spawnattr_setsigmask(&attributes, &mask)
        // Dispositions we (or NIO) set must not leak: an ignored SIGPIPE or SIGTERM survives exec.
        var defaults = sigset_t()
        sigemptyset(&defaults)
        for signal in [SIGPIPE, SIGTERM, SIGINT, SIGHUP, SIGCHLD, SIGUSR1, SIGUSR2] { sigaddset(&defaults, signal) }
        posix_spawnattr_setsigdefault(&attributes, &defaults)
        // Its own process group: stop() reaches the plugin's children too, and a terminal's ^C only reaches us.
        posix_spawnattr_setpgroup(&attributes, 0)
        posix_spawnattr_setflags(
            &attributes, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETPGROUP))

        let arguments = [spec.program] + spec.arguments
        let environmentEntries = environment.entries(inheriting: PluginEnvironment.current)
        var argv = arguments.map { strdup($0) }
        argv.append(nil)
        var envp = environmentEntries.map { strdup($0) }
        envp.append(nil)
        defer {
            for pointer in argv + envp { free(pointer) }
        }
        var pid: pid_t = 0
        let result = posix_spawnp(&pid, spec.program, &actions, &attributes, argv, envp)
        close(fds[1])
        guard result == 0 else {
            close(fds[0])
            throw StartFailure(description: "cannot run \"\(spec.program)\": \(String(cString: strerror(result)))")
        }
        let reader = fds[0]
        let name = label
        let logger = self.logger
        NIOPipeBootstrap(group: eventLoop)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(
                        PluginOutputLogger(name: name, logger: logger, eventLoop: channel.eventLoop))
                }
            }
            .takingOwnershipOfDescriptor(input: reader)
            .whenFailure { error in
                close(reader)
                logger.warning("plugin \(name): cannot read its output: \(error)")
            }
        return pid
    }

    /// waitpid's status word (Linux encoding: low 7 bits the signal, else the exit code in bits 8-15).
    static func describe(status: Int32) -> String {
        let signal = status & 0x7F
        return signal == 0 ? "exited with status \((status >> 8) & 0xFF)" : "killed by signal \(signal)"
    }

    /// A plain blocking connect to loopback: refused or accepted at once.
    static func accepts(host: String, port: Int) -> Bool {
        guard let address = try? SocketAddress(ipAddress: host, port: port) else { return false }
        let fd = socket(address.protocol == .inet6 ? AF_INET6 : AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        let connected: Int32 = address.withSockAddr { pointer, size in connect(fd, pointer, socklen_t(size)) }
        return connected == 0
    }

    /// A loopback TCP port nobody holds right now (bind to port 0, read it back, close), as ss-libev picks one.
    public static func freeLoopbackPort(host: String = "127.0.0.1") throws(StartFailure) -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw StartFailure(description: "socket: \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = 0
        inet_pton(AF_INET, host, &address.sin_addr)
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { generic in
                bind(fd, generic, length) == 0 && getsockname(fd, generic, &length) == 0
            }
        }
        guard bound else {
            throw StartFailure(description: "cannot find a free port on \(host): \(String(cString: strerror(errno)))")
        }
        return Int(UInt16(bigEndian: address.sin_port))
    }
}
