import Foundation

extension Testbed {
    /// Runs `body` on a fresh thread that has joined `namespace` (setns changes only the calling thread), so the
    /// netlink sockets it opens reach that namespace's nftables: library APIs meant for the daemon, driven in-process.
    func enter<T: Sendable>(_ namespace: Namespace, _ body: @escaping @Sendable () throws -> T) throws -> T {
        let box = NamespaceResult<T>()
        let path = "/run/netns/\(name(namespace))"
        let thread = Thread {
            defer { box.done.signal() }
            let fd = open(path, O_RDONLY)
            guard fd >= 0, let setns = Self.setns, setns(fd, 0x4000_0000) == 0 else {  // CLONE_NEWNET
                box.result = .failure(TestbedError("setns into \(path) failed: errno \(errno)"))
                if fd >= 0 { close(fd) }
                return
            }
            close(fd)
            box.result = Result { try body() }
        }
        thread.start()
        box.done.wait()
        return try box.result!.get()
    }

    /// glibc's setns, looked up at run time (Swift's Glibc module does not import this GNU extension).
    private typealias SetNamespace = @convention(c) (Int32, Int32) -> Int32
    private static let setns: SetNamespace? = dlsym(nil, "setns").map { unsafeBitCast($0, to: SetNamespace.self) }
}

private final class NamespaceResult<T>: @unchecked Sendable {
    var result: Result<T, any Error>?
    let done = DispatchSemaphore(value: 0)
}
