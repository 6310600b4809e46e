#if canImport(Glibc)
import Glibc
#endif

/// The process after `DaemonOptions.prepare`: possibly a background child holding the pid file. It tells the
/// waiting parent when the service is listening (so `-f`/`-d start` report start-up errors on the terminal and
/// exit non-zero, like systemd's Type=forking expects), then lets go of the terminal.
public final class DaemonProcess: @unchecked Sendable {
    private var readiness: Int32?
    private let pidFile: PIDFile?
    /// The --log-file, opened before any user switch; a daemon moves its output there once ready.
    private let logDescriptor: Int32?

    init(readiness: Int32?, pidFile: PIDFile?, logDescriptor: Int32?) {
        self.readiness = readiness
        self.pidFile = pidFile
        self.logDescriptor = logDescriptor
    }

    /// True when this is the background child of `-f`/`-d start`.
    public var isDaemon: Bool { pidFile != nil }

    /// Call once the listeners are bound: until then a daemon's errors still reach the terminal that started
    /// it; from then on its output goes to --log-file (or nowhere). Idempotent.
    public func signalReady() {
        guard let descriptor = readiness else { return }
        readiness = nil
        // Nobody reads the terminal any more; a closed stderr would turn log writes into EBADF/SIGPIPE.
        let target = logDescriptor ?? open("/dev/null", O_WRONLY | O_CLOEXEC)
        if target >= 0 {
            dup2(target, STDOUT_FILENO)
            dup2(target, STDERR_FILENO)
        }
        var ready: UInt8 = 0x52  // "R"
        _ = write(descriptor, &ready, 1)
        close(descriptor)
    }

    /// At exit: the pid file goes (its lock goes with the process in any case).
    public func finish() {
        pidFile?.remove()
    }
}

extension DaemonOptions {
    /// Applies -d/-f/--log-file/-a. Must run while the process has a single thread (fork and capabilities).
    /// `-d stop` and the parent of a daemon exit the process here.
    public func prepare(program: String) throws(DaemonError) -> DaemonProcess {
        let pidPath = pidFile ?? "/run/\(program).pid"
        stopIfAsked(program: program)
        switch action {
        case .stop:
            break
        case .restart:
            _ = DaemonControl.stop(pidPath: pidPath, program: program, quietWhenNotRunning: true)
        case .start, nil:
            break
        }
        let background = pidFile != nil || action != nil
        if background, let running = PIDFile.runningPID(at: pidPath) {
            throw DaemonError("another instance is running (pid \(running), pid file \(pidPath)); stop it first (-d stop)")
        }
        var log: Int32?
        if let logFile { log = try openLog(logFile) }
        if let descriptor = log, !background {
            dup2(descriptor, STDOUT_FILENO)
            dup2(descriptor, STDERR_FILENO)
            close(descriptor)
            log = nil
        }
        var readiness: Int32?
        var lock: PIDFile?
        if background {
            readiness = try forkIntoBackground(program: program)
            lock = try PIDFile(locking: pidPath)
        }
        if let user { try PrivilegeDrop.become(user: user) }
        return DaemonProcess(readiness: readiness, pidFile: lock, logDescriptor: log)
    }

    /// `-d stop` needs no configuration: call this before reading one. Exits the process when it applies.
    public func stopIfAsked(program: String) {
        guard action == .stop else { return }
        Glibc.exit(DaemonControl.stop(pidPath: pidFile ?? "/run/\(program).pid", program: program) ? 0 : 1)
    }

    private func openLog(_ path: String) throws(DaemonError) -> Int32 {
        let descriptor = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0o640)
        guard descriptor >= 0 else {
            throw DaemonError("--log-file \(path): \(String(cString: strerror(errno))); pass a writable path")
        }
        return descriptor
    }

    /// Returns in the child (the write end of the readiness pipe); the parent waits for it and exits.
    private func forkIntoBackground(program: String) throws(DaemonError) -> Int32 {
        var ends: [Int32] = [0, 0]
        guard pipe(&ends) == 0 else {
            throw DaemonError("cannot create a pipe: \(String(cString: strerror(errno)))")
        }
        // Neither end may leak into processes we start later (plugins).
        for end in ends { _ = fcntl(end, F_SETFD, FD_CLOEXEC) }
        let child = fork()
        guard child >= 0 else { throw DaemonError("cannot fork: \(String(cString: strerror(errno)))") }
        if child > 0 {
            close(ends[1])
            Glibc.exit(DaemonControl.awaitReadiness(of: child, pipe: ends[0], program: program))
        }
        close(ends[0])
        _ = setsid()
        _ = chdir("/")
        let null = open("/dev/null", O_RDONLY | O_CLOEXEC)
        if null >= 0 {
            dup2(null, STDIN_FILENO)
            close(null)
        }
        return ends[1]
    }
}
