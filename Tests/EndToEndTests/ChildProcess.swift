import Foundation

/// A process started with posix_spawn, an empty signal mask and default signal dispositions.
///
/// Foundation's `Process` hands children the test runner's blocked signal mask (SIGTERM and SIGINT included), so
/// servers under test would ignore SIGTERM and behave unlike in production.
final class ChildProcess {
    enum Termination: Equatable {
        case exited(Int32)
        case signaled(Int32)
    }

    let pid: pid_t
    private(set) var termination: Termination?

    /// Starts `arguments` (the first an absolute path) with stdin from /dev/null and stdout/stderr appended to files.
    init(_ arguments: [String], stdout: URL, stderr: URL) throws {
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var noSignals = sigset_t()
        sigemptyset(&noSignals)
        posix_spawnattr_setsigmask(&attributes, &noSignals)
        var allSignals = sigset_t()
        sigfillset(&allSignals)
        posix_spawnattr_setsigdefault(&attributes, &allSignals)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))

        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        let append = O_WRONLY | O_CREAT | O_APPEND
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, stdout.path, append, 0o644)
        if stderr == stdout {
            posix_spawn_file_actions_adddup2(&actions, 1, 2)
        } else {
            posix_spawn_file_actions_addopen(&actions, 2, stderr.path, append, 0o644)
        }
        // Descriptors the test runner left inheritable (its output pipes) must not outlive it in a server.
        _ = Self.addCloseFrom?(&actions, 3)

        let argv = arguments.map { strdup($0) } + [nil]
        defer { for pointer in argv { free(pointer) } }
        var pid = pid_t()
        let error = posix_spawn(&pid, arguments[0], &actions, &attributes, argv, environ)
        guard error == 0 else {
            throw TestbedError("posix_spawn \(arguments[0]): \(String(cString: strerror(error)))")
        }
        self.pid = pid
    }

    /// glibc 2.34+; Swift's Glibc module does not import this GNU extension, so it is looked up at run time.
    private typealias AddCloseFrom = @convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>, Int32) -> Int32
    private static let addCloseFrom: AddCloseFrom? =
        dlsym(nil, "posix_spawn_file_actions_addclosefrom_np").map { unsafeBitCast($0, to: AddCloseFrom.self) }

    /// Reaps the child without blocking when it has exited.
    var isRunning: Bool {
        guard termination == nil else { return false }
        var status: Int32 = 0
        let result = waitpid(pid, &status, WNOHANG)
        if result == 0 || (result == -1 && errno == EINTR) { return true }  // EINTR: ask again on the next poll
        if result == pid {
            // <sys/wait.h> macros: low 7 bits hold the signal, or 0 when bits 8-15 hold the exit code.
            let signal = status & 0x7f
            termination = signal == 0 ? .exited((status >> 8) & 0xff) : .signaled(signal)
        } else {
            termination = .exited(-1)  // ECHILD: already reaped elsewhere
        }
        return false
    }

    /// Polls until the child exits; false when `timeout` passed first.
    func waitForExit(timeout: Duration) -> Bool {
        let deadline = ContinuousClock.now + timeout
        while isRunning {
            if ContinuousClock.now >= deadline { return false }
            Thread.sleep(forTimeInterval: 0.005)
        }
        return true
    }

    /// SIGTERM, up to 2 s grace, then SIGKILL and up to 2 s more.
    func stop() {
        guard isRunning else { return }
        kill(pid, SIGTERM)
        if waitForExit(timeout: .seconds(2)) { return }
        kill(pid, SIGKILL)
        _ = waitForExit(timeout: .seconds(2))
    }
}
