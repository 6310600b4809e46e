#if canImport(Glibc)
import Glibc
#endif

/// A config file holds passwords and keys: one readable by other local users gives them the proxy (and the
/// server's door). ss-libev says nothing; we warn once at start with the fix.
public enum ConfigFilePermissions {
    /// One line when `path` can be read by its group or by everyone, else nil (also when it cannot be stat'ed:
    /// loading it reports that).
    public static func warning(path: String) -> String? {
        var info = stat()
        guard stat(path, &info) == 0 else { return nil }
        let mode = UInt32(info.st_mode) & 0o777
        guard mode & 0o044 != 0 else { return nil }
        let readers = mode & 0o004 != 0 ? "every local user" : "its group"
        return
            "config file \(path) is readable by \(readers) (mode \(String(mode, radix: 8))) and holds passwords/keys; run: chmod 600 \(path)"
    }
}
