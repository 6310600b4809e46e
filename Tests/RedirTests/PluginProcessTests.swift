import Config
import Glibc
import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import Testing

@testable import Redir

/// Collects log lines so the tests can see what the plugin printed and what the supervisor said.
final class CollectingLogHandler: LogHandler, Sendable {
    let lines = NIOLockedValueBox<[String]>([])
    var metadata: Logger.Metadata {
        get { [:] }
        set {}
    }
    var logLevel: Logger.Level {
        get { .trace }
        set {}
    }
    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { nil }
        set {}
    }
    func log(event: LogEvent) { lines.withLockedValue { $0.append("\(event.message)") } }

    func waitFor(_ text: String, seconds: Double = 30) async -> Bool {
        let deadline = ContinuousClock.now + .milliseconds(Int(seconds * 1000))
        while ContinuousClock.now < deadline {
            if lines.withLockedValue({ $0.contains { $0.contains(text) } }) { return true }
            try? await Task.sleep(nanoseconds: 20_000_000)
        }
        return false
    }
}

@Suite struct PluginEnvironmentTests {
    let environment = PluginEnvironment(
        remoteHost: "203.0.113.7", remotePort: 8388, localHost: "127.0.0.1", localPort: 40_001,
        options: "obfs=http;obfs-host=example.test")

    @Test func sip003VariablesAreAllThere() {
        #expect(environment.sip003Variables == [
            "SS_REMOTE_HOST=203.0.113.7", "SS_REMOTE_PORT=8388", "SS_LOCAL_HOST=127.0.0.1", "SS_LOCAL_PORT=40001",
            "SS_PLUGIN_OPTIONS=obfs=http;obfs-host=example.test",
        ])
        var plain = environment
        plain.options = nil
        #expect(!plain.sip003Variables.contains { $0.hasPrefix("SS_PLUGIN_OPTIONS") })
    }

    @Test func inheritedSIP003VariablesAreReplacedTheRestKept() {
        let entries = environment.entries(inheriting: [
            "PATH=/usr/bin", "SS_REMOTE_HOST=10.0.0.1", "SS_PLUGIN_OPTIONS=stale", "SS_REMOTE_HOSTNAME=kept", "EMPTY=",
        ])
        #expect(entries.prefix(3) == ["PATH=/usr/bin", "SS_REMOTE_HOSTNAME=kept", "EMPTY="])
        #expect(entries.filter { $0.hasPrefix("SS_REMOTE_HOST=") } == ["SS_REMOTE_HOST=203.0.113.7"])
        #expect(entries.filter { $0.hasPrefix("SS_PLUGIN_OPTIONS=") } == ["SS_PLUGIN_OPTIONS=obfs=http;obfs-host=example.test"])
    }

    @Test func waitStatusWords() {
        #expect(PluginProcess.describe(status: 3 << 8) == "exited with status 3")
        #expect(PluginProcess.describe(status: 9) == "killed by signal 9")
        #expect(PluginProcess.describe(status: 0) == "exited with status 0")
    }
}

/// Real children (/bin/sh scripts standing in for a plugin): environment, output, restarts, stop.
@Suite(.serialized) struct PluginProcessTests {
    static func make(_ script: String, handler: CollectingLogHandler, group: EventLoopGroup) throws -> PluginProcess {
        let port = try PluginProcess.freeLoopbackPort()
        return try PluginProcess(
            spec: PluginSpec(program: "sh", options: "a=b\\;c", arguments: ["-c", script]),
            environment: PluginEnvironment(
                remoteHost: "192.0.2.1", remotePort: 8388, localHost: "127.0.0.1", localPort: port,
                options: "a=b\\;c"),
            label: "sh for test", eventLoop: group.next(), logger: Logger(label: "test") { _ in handler })
    }

    @Test func childSeesTheEnvironmentAndItsOutputIsLoggedWithAPrefix() async throws {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let handler = CollectingLogHandler()
        let process = try Self.make(
            "echo \"to $SS_REMOTE_HOST:$SS_REMOTE_PORT from $SS_LOCAL_HOST:$SS_LOCAL_PORT opts $SS_PLUGIN_OPTIONS\"; "
                + "echo oops >&2; exec sleep 30", handler: handler, group: group)
        try process.start()
        let port = process.environment.localPort
        #expect(
            await handler.waitFor("plugin sh for test: to 192.0.2.1:8388 from 127.0.0.1:\(port) opts a=b\\;c"),
            "\(handler.lines.withLockedValue { $0 })")
        #expect(await handler.waitFor("plugin sh for test: oops"))
        #expect(process.status.state == .running && process.status.pid != nil)
        await process.stop()
        #expect(process.status.state == .stopped && process.status.pid == nil)
        try await group.shutdownGracefully()
    }

    @Test func theChildInheritsNoSocketOfOurs() async throws {
        // Like the sockets NIO accepts (no SOCK_CLOEXEC): a plugin holding one would keep its peer from seeing EOF.
        let socketFD = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        try #require(socketFD >= 0)
        defer { close(socketFD) }
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let handler = CollectingLogHandler()
        let process = try Self.make(
            "if [ -e /proc/$$/fd/\(socketFD) ]; then echo fd \(socketFD) inherited; else echo fd \(socketFD) closed; fi; exec sleep 30",
            handler: handler, group: group)
        try process.start()
        #expect(await handler.waitFor("plugin sh for test: fd \(socketFD) "))
        let lines = handler.lines.withLockedValue { $0 }
        #expect(lines.contains("plugin sh for test: fd \(socketFD) closed"), "\(lines)")
        await process.stop()
        try await group.shutdownGracefully()
    }

    @Test func anExitingChildIsRestartedWithBackoff() async throws {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let handler = CollectingLogHandler()
        let process = try Self.make("exit 3", handler: handler, group: group)
        try process.start()
        #expect(await handler.waitFor("exited with status 3; restarting in 0.5 s"))
        #expect(await handler.waitFor("restarted (pid"))
        // The second quick exit doubles the wait.
        #expect(await handler.waitFor("restarting in 1.0 s"))
        let status = process.status
        #expect(status.restarts >= 1 && status.lastExit == "exited with status 3", "\(status)")
        await process.stop()
        try await group.shutdownGracefully()
    }

    @Test func stopKillsAChildThatIgnoresSIGTERM() async throws {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let handler = CollectingLogHandler()
        let process = try Self.make("trap '' TERM; echo ready; while :; do sleep 0.1; done", handler: handler, group: group)
        try process.start()
        #expect(await handler.waitFor("plugin sh for test: ready"))
        let pid = try #require(process.status.pid)
        let started = ContinuousClock.now
        await process.stop()
        #expect(ContinuousClock.now - started >= .seconds(1))
        #expect(kill(pid, 0) != 0, "the child outlived stop()")
        #expect(await handler.waitFor("ignored SIGTERM; killing it"))
        try await group.shutdownGracefully()
    }

    @Test func aMissingProgramIsOneClearError() throws {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        defer { try? group.syncShutdownGracefully() }
        let process = try PluginProcess(
            spec: PluginSpec(program: "no-such-plugin-here"),
            environment: PluginEnvironment(
                remoteHost: "192.0.2.1", remotePort: 1, localHost: "127.0.0.1", localPort: 1, options: nil),
            label: "missing", eventLoop: group.next(), logger: Logger(label: "test"))
        do {
            try process.start()
            Issue.record("expected an error")
        } catch {
            #expect(error.description == "cannot run \"no-such-plugin-here\": No such file or directory")
        }
    }

    @Test func freeLoopbackPortsCanBeBound() throws {
        let port = try PluginProcess.freeLoopbackPort()
        #expect((1024...65_535).contains(port))
        #expect(!PluginProcess.accepts(host: "127.0.0.1", port: port))
    }
}
