#if canImport(Glibc)
import Glibc
#endif

/// A failure of setup or teardown, worded for the user as one line: which object, what the kernel said.
public struct NetfilterError: Error, Sendable, CustomStringConvertible {
    public struct Kind: Sendable, Hashable, CustomStringConvertible {
        private let name: String
        public var description: String { name }

        /// A rule file, address or name that cannot be used.
        public static let invalidInput = Kind(name: "invalid input")
        /// The table exists and was not made by `ss-redir setup`.
        public static let notOwned = Kind(name: "not owned")
        /// The kernel refused a netlink request; nothing of that batch was applied.
        public static let rejected = Kind(name: "rejected")
        /// The table or set a run-time update needs is not installed (`ss-redir setup` is not in use).
        public static let notInstalled = Kind(name: "not installed")
        /// The netlink socket itself failed (open, send, receive, timeout).
        public static let socket = Kind(name: "socket")
    }

    public var kind: Kind
    public var message: String
    /// The errno the kernel or a system call returned, when there was one.
    public var errno: Int32?

    public init(_ kind: Kind, _ message: String, errno: Int32? = nil) {
        self.kind = kind
        self.message = message
        self.errno = errno
    }

    public var description: String { message }

    /// "Operation not permitted (EPERM)".
    static func explain(_ code: Int32) -> String {
        let names: [Int32: String] = [
            EPERM: "EPERM", ENOENT: "ENOENT", EEXIST: "EEXIST", EINVAL: "EINVAL", ENOMEM: "ENOMEM", EBUSY: "EBUSY",
            EOPNOTSUPP: "EOPNOTSUPP", ENOBUFS: "ENOBUFS", ENFILE: "ENFILE", EMSGSIZE: "EMSGSIZE", ERANGE: "ERANGE",
            ENOSPC: "ENOSPC",
            EAGAIN: "EAGAIN", EACCES: "EACCES", EAFNOSUPPORT: "EAFNOSUPPORT", EPROTONOSUPPORT: "EPROTONOSUPPORT",
        ]
        let text = String(cString: strerror(code))
        return names[code].map { "\(text) (\($0))" } ?? "\(text) (errno \(code))"
    }
}
