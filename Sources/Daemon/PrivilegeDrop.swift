import CPrivileges
#if canImport(Glibc)
import Glibc
#endif

/// `-a USER`: the process becomes USER but keeps what a transparent proxy needs on every socket it opens later:
/// CAP_NET_ADMIN (SO_MARK, IP_TRANSPARENT, nft bypass sets), CAP_NET_RAW and CAP_NET_BIND_SERVICE (port 53).
public enum PrivilegeDrop {
    /// capability(7) numbers.
    public static let keptCapabilities: [(number: Int, name: String)] = [
        (10, "CAP_NET_BIND_SERVICE"), (12, "CAP_NET_ADMIN"), (13, "CAP_NET_RAW"),
    ]

    /// Must run while the process has one thread (before any event loop or task starts): capabilities are
    /// per thread and every later thread inherits them from this one.
    public static func become(user: String) throws(DaemonError) {
        guard let entry = getpwnam(user) else {
            throw DaemonError("-a \(user): no such user; create it or pass an existing one")
        }
        let uid = entry.pointee.pw_uid
        let gid = entry.pointee.pw_gid
        guard getuid() == 0 || getuid() == uid else {
            throw DaemonError("-a \(user): only root can switch users (running as uid \(getuid()))")
        }
        let mask = keptCapabilities.reduce(UInt64(0)) { $0 | (1 << UInt64($1.number)) }
        var step: UnsafePointer<CChar>?
        let status = c_ss_drop_privileges(user, uid, gid, mask, &step)
        guard status == 0 else {
            let where_ = step.map { String(cString: $0) } ?? "?"
            throw DaemonError("-a \(user): \(where_) failed: \(String(cString: strerror(-status)))")
        }
    }
}
