#if canImport(Glibc)
import Glibc
#endif
import Logging

/// RLIMIT_NOFILE. A relay holds two descriptors per connection, and init systems (procd, many service managers)
/// start services with a soft limit of 1024: the soft limit goes up to the hard one at start, and `-n`/`nofile`
/// sets both, as ss-libev does.
public enum OpenFileLimit {
    /// `-n N`: soft and hard limit to N. Returns a one-line problem, or nil.
    public static func set(to limit: Int) -> String? {
        var value = rlimit(rlim_cur: rlim_t(limit), rlim_max: rlim_t(limit))
        guard setrlimit(Int32(RLIMIT_NOFILE.rawValue), &value) == 0 else {
            return "cannot set the open-file limit to \(limit) (-n): \(String(cString: strerror(errno)))"
        }
        return nil
    }

    /// Without `-n`: the soft limit up to the hard limit. Returns (old, new) soft limits when it changed.
    @discardableResult
    public static func raiseSoftToHard() -> (from: UInt64, to: UInt64)? {
        var value = rlimit()
        guard getrlimit(Int32(RLIMIT_NOFILE.rawValue), &value) == 0, value.rlim_cur < value.rlim_max else { return nil }
        let old = value.rlim_cur
        value.rlim_cur = value.rlim_max
        guard setrlimit(Int32(RLIMIT_NOFILE.rawValue), &value) == 0 else { return nil }
        return (UInt64(old), UInt64(value.rlim_max))
    }

    /// At start: `-n`/`nofile` when configured, else the soft limit up to the hard one; logged either way.
    public static func apply(configured limit: Int?, logger: Logger) {
        if let limit {
            if let problem = set(to: limit) { logger.warning("\(problem)") }
        } else if let raised = raiseSoftToHard() {
            logger.info("open-file limit raised from \(raised.from) to \(raised.to)")
        }
    }
}
