#if canImport(Glibc)
import Glibc
#endif
import Logging

/// `-n` / `nofile`: RLIMIT_NOFILE, as ss-libev sets it (both soft and hard limit).
enum FileLimit {
    static func raise(to limit: Int, logger: Logger) {
        var value = rlimit(rlim_cur: rlim_t(limit), rlim_max: rlim_t(limit))
        if setrlimit(Int32(RLIMIT_NOFILE.rawValue), &value) != 0 {
            logger.warning("cannot set the open-file limit to \(limit) (-n): \(String(cString: strerror(errno)))")
        }
    }
}
