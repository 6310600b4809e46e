#if canImport(Glibc)
import Glibc
#endif

/// The seed's `-d stop` and the parent's wait for a starting daemon.
enum DaemonControl {
    /// Sends SIGTERM to the instance holding the pid file and waits (up to 15 s) until it is gone.
    static func stop(pidPath: String, program: String, quietWhenNotRunning: Bool = false) -> Bool {
        guard let pid = PIDFile.runningPID(at: pidPath) else {
            if !quietWhenNotRunning { say("\(program): not running (no process holds \(pidPath))") }
            return quietWhenNotRunning
        }
        guard kill(pid, SIGTERM) == 0 else {
            say("\(program): cannot signal pid \(pid): \(String(cString: strerror(errno)))")
            return false
        }
        for _ in 0..<150 {
            if PIDFile.runningPID(at: pidPath) == nil {
                say("\(program): stopped (pid \(pid))")
                return true
            }
            usleep(100_000)
        }
        say("\(program): pid \(pid) did not exit within 15 s of SIGTERM")
        return false
    }

    /// In the parent: the child's exit code if it dies before it is ready, 0 once it says it is listening.
    static func awaitReadiness(of child: pid_t, pipe: Int32, program: String) -> Int32 {
        var byte: UInt8 = 0
        var count: Int
        repeat { count = read(pipe, &byte, 1) } while count < 0 && errno == EINTR
        if count == 1 && byte == 0x52 { return 0 }
        var status: Int32 = 0
        guard waitpid(child, &status, 0) == child else { return 1 }
        // WIFEXITED / WEXITSTATUS, spelled out (the macros are not imported).
        let exited = status & 0x7f == 0
        let code = exited ? (status >> 8) & 0xff : 1
        if !exited { say("\(program): the background process died during start-up (signal \(status & 0x7f))") }
        return code == 0 ? 1 : code
    }

    private static func say(_ text: String) {
        let bytes = Array("\(text)\n".utf8)
        _ = bytes.withUnsafeBytes { write(STDERR_FILENO, $0.baseAddress, $0.count) }
    }
}
