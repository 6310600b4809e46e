#if canImport(Glibc)
import Glibc
#endif

/// A pid file guarded by an fcntl write lock held for the process's lifetime: the lock, not the file's
/// contents, says whether an instance runs (a file left by a crash is not "running").
public final class PIDFile: @unchecked Sendable {
    public let path: String
    private let descriptor: Int32

    /// Locks `path` (creating it) and writes this process's pid; fails when another process holds the lock.
    public init(locking path: String) throws(DaemonError) {
        let descriptor = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        guard descriptor >= 0 else {
            throw DaemonError("cannot open pid file \(path): \(String(cString: strerror(errno))); pass -f with a writable path")
        }
        var lock = flock()
        lock.l_type = Int16(F_WRLCK)
        lock.l_whence = Int16(SEEK_SET)
        guard fcntl(descriptor, F_SETLK, &lock) == 0 else {
            let holder = PIDFile.lockHolder(descriptor: descriptor)
            close(descriptor)
            throw DaemonError(
                "another instance is running (pid \(holder.map(String.init) ?? "?"), pid file \(path)); stop it first (-d stop)")
        }
        let text = Array("\(getpid())\n".utf8)
        _ = ftruncate(descriptor, 0)
        _ = text.withUnsafeBytes { pwrite(descriptor, $0.baseAddress, $0.count, 0) }
        self.path = path
        self.descriptor = descriptor
    }

    /// Removes the file (best effort: after `-a` the directory may no longer be writable; the lock still goes).
    public func remove() {
        _ = unlink(path)
        close(descriptor)
    }

    /// The pid holding the lock on `path`, or nil when no running process holds it.
    public static func runningPID(at path: String) -> pid_t? {
        let descriptor = open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else { return nil }
        defer { close(descriptor) }
        return lockHolder(descriptor: descriptor)
    }

    private static func lockHolder(descriptor: Int32) -> pid_t? {
        var probe = flock()
        probe.l_type = Int16(F_WRLCK)
        probe.l_whence = Int16(SEEK_SET)
        guard fcntl(descriptor, F_GETLK, &probe) == 0, probe.l_type != Int16(F_UNLCK) else { return nil }
        return probe.l_pid
    }
}
