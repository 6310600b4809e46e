import Foundation
import NIOCore
import NIOPosix
import Resolver

/// A temporary directory holding a resolv.conf and a hosts file for one resolver under test; `remove()` it.
final class ResolverFixture {
    let directory: URL
    var resolvConfPath: String { directory.appendingPathComponent("resolv.conf").path }
    var hostsPath: String { directory.appendingPathComponent("hosts").path }

    init(resolvConf: String, hosts: String = "") throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("resolver-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        try write(resolvConf: resolvConf)
        try write(hosts: hosts)
    }

    func write(resolvConf: String) throws {
        try resolvConf.write(toFile: resolvConfPath, atomically: true, encoding: .utf8)
    }

    func write(hosts: String) throws {
        try hosts.write(toFile: hostsPath, atomically: true, encoding: .utf8)
    }

    func configuration(port: Int) -> StubResolver.Configuration {
        var configuration = StubResolver.Configuration()
        configuration.resolvConfPath = resolvConfPath
        configuration.hostsPath = hostsPath
        configuration.environment = [:]
        configuration.hostname = "testhost"
        configuration.nameserverPort = port
        return configuration
    }

    /// Called from a `defer` right after creation, which also keeps the files alive for the whole test.
    func remove() { try? FileManager.default.removeItem(at: directory) }
}

/// One event loop group for the network tests of this target.
enum TestGroup {
    static let shared: MultiThreadedEventLoopGroup = .singleton
}
