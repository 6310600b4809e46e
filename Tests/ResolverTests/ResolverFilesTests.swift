import Foundation
import IPAddresses
import NIOCore
import Testing

@testable import Resolver

@Suite struct ResolverFilesTests {
    let start = NIODeadline.uptimeNanoseconds(5_000_000_000)

    func files(_ fixture: ResolverFixture, environment: [String: String] = [:]) -> ResolverFiles {
        ResolverFiles(
            resolvConfPath: fixture.resolvConfPath, hostsPath: fixture.hostsPath, environment: environment,
            hostname: "gw.lan.example", checkInterval: .seconds(1))
    }

    @Test func reloadsChangedFilesAtMostOncePerInterval() throws {
        let fixture = try ResolverFixture(resolvConf: "nameserver 192.0.2.53\n", hosts: "192.0.2.1 one\n")
        defer { fixture.remove() }
        var files = files(fixture)
        let first = files.current(now: start)
        #expect(first.resolvConf.nameservers == [IPAddress("192.0.2.53")!])
        #expect(first.resolvConf.searchDomains == ["lan.example"])
        #expect(first.hosts["one"] == [IPAddress("192.0.2.1")!])

        try fixture.write(hosts: "192.0.2.2 one\n192.0.2.3 two\n")
        try fixture.write(resolvConf: "nameserver 192.0.2.54\noptions ndots:3\n")
        // Within the interval nothing is even stat'ed.
        #expect(files.current(now: start + .milliseconds(900)).hosts["one"] == [IPAddress("192.0.2.1")!])
        let second = files.current(now: start + .seconds(1))
        #expect(second.hosts["one"] == [IPAddress("192.0.2.2")!])
        #expect(second.hosts["two"] == [IPAddress("192.0.2.3")!])
        #expect(second.resolvConf.nameservers == [IPAddress("192.0.2.54")!])
        #expect(second.resolvConf.options.ndots == 3)
    }

    @Test func missingFilesMeanDefaultsAndReappearingFilesAreRead() throws {
        let fixture = try ResolverFixture(resolvConf: "")
        defer { fixture.remove() }
        try FileManager.default.removeItem(atPath: fixture.resolvConfPath)
        try FileManager.default.removeItem(atPath: fixture.hostsPath)
        var files = files(fixture, environment: ["RES_OPTIONS": "attempts:4"])
        let first = files.current(now: start)
        #expect(first.resolvConf.nameservers == [ResolvConf.defaultNameserver])
        #expect(first.resolvConf.options.attempts == 4)
        #expect(first.hosts.isEmpty)
        try fixture.write(hosts: "192.0.2.7 back\n")
        #expect(files.current(now: start + .seconds(2)).hosts["back"] == [IPAddress("192.0.2.7")!])
        try FileManager.default.removeItem(atPath: fixture.hostsPath)
        #expect(files.current(now: start + .seconds(4)).hosts.isEmpty)
    }

    @Test func noReloadFreezesResolvConfOnly() throws {
        let fixture = try ResolverFixture(resolvConf: "nameserver 192.0.2.53\noptions no-reload\n")
        defer { fixture.remove() }
        var files = files(fixture)
        _ = files.current(now: start)
        try fixture.write(resolvConf: "nameserver 192.0.2.99\n")
        try fixture.write(hosts: "192.0.2.5 still.watched\n")
        let later = files.current(now: start + .seconds(5))
        #expect(later.resolvConf.nameservers == [IPAddress("192.0.2.53")!])
        #expect(later.hosts["still.watched"] == [IPAddress("192.0.2.5")!])
    }
}
