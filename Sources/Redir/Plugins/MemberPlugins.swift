import Config
import Logging
import NIOConcurrencyHelpers
import NIOCore

/// The SIP003 plugins of a pool: one `PluginProcess` per member that names a plugin, each on its own loopback
/// port. The member's TCP goes to that port (`localAddress(for:)`); its UDP still goes to the server itself.
///
/// Loop safety: `SS_REMOTE_HOST` is the member's address as our resolver answers it (an IP, not the name), so the
/// plugin's own connections go to an address `ss-redir setup` put in the bypass set (the servers' addresses) and
/// neither prerouting nor --proxy-router's output chains capture them, although the plugin's sockets lack our
/// SO_MARK; nor does the plugin need DNS of its own.
public final class MemberPlugins: Sendable {
    private let processes = NIOLockedValueBox<[ServerMember: PluginProcess]>([:])
    private let group: EventLoopGroup
    private let logger: Logger
    /// How long start waits for a fresh plugin to accept on its port before going on without it.
    static let listenWait: TimeAmount = .seconds(3)

    public init(group: EventLoopGroup, logger: Logger) {
        self.group = group
        self.logger = logger
    }

    public var isEmpty: Bool { processes.withLockedValue { $0.isEmpty } }

    /// Starts a plugin for every member that names one and has none yet, and stops those of members that left.
    /// `resolve` turns a member's endpoint into the address handed to the plugin (nil: the name as written).
    /// A plugin that cannot be started throws (startup) — the caller decides whether that is fatal.
    public func update(
        members: [ServerMember], resolve: @Sendable (ServerEndpoint) async -> String?
    ) async throws(PluginProcess.StartFailure) {
        let wanted = Set(members.filter { $0.plugin != nil })
        let gone = processes.withLockedValue { table -> [PluginProcess] in
            let leaving = table.filter { !wanted.contains($0.key) }
            for member in leaving.keys { table[member] = nil }
            return Array(leaving.values)
        }
        for process in gone { await process.stop() }
        var started: [PluginProcess] = []
        for member in members where member.plugin != nil {
            guard let plugin = member.plugin, processes.withLockedValue({ $0[member] == nil }) else { continue }
            let remote = await resolve(member.endpoint) ?? member.endpoint.host
            let environment = PluginEnvironment(
                remoteHost: remote, remotePort: member.endpoint.port, localHost: "127.0.0.1",
                localPort: try PluginProcess.freeLoopbackPort(), options: plugin.options)
            let process: PluginProcess
            do {
                process = try PluginProcess(
                    spec: plugin, environment: environment, label: "\(plugin.program) for \(member.name)",
                    eventLoop: group.next(), logger: logger)
            } catch {
                throw PluginProcess.StartFailure(description: "\(error)")
            }
            do {
                try process.start()
            } catch {
                throw PluginProcess.StartFailure(
                    description: "plugin \(plugin.program) for server \(member): \(error); install it or correct \"plugin\"")
            }
            processes.withLockedValue { $0[member] = process }
            started.append(process)
        }
        for process in started where !(await process.waitUntilListening(timeout: Self.listenWait)) {
            logger.warning(
                "plugin \(process.label) does not accept on 127.0.0.1:\(process.environment.localPort) yet; its server's connections fail until it does")
        }
    }

    /// Where the member's TCP goes instead of its endpoint; nil when it has no plugin running here.
    public func localAddress(for member: ServerMember) -> SocketAddress? {
        processes.withLockedValue { $0[member]?.localAddress }
    }

    public func status(of member: ServerMember) -> PluginProcess.Status? {
        processes.withLockedValue { $0[member]?.status }
    }

    public func stopAll() async {
        let all = processes.withLockedValue { table in
            defer { table.removeAll() }
            return Array(table.values)
        }
        for process in all { await process.stop() }
    }
}

/// A member names a plugin but none runs for it here (it could not be started): its TCP must not go to the server
/// directly, which expects the plugin's framing.
struct PluginNotRunning: Error, CustomStringConvertible {
    let member: ServerMember
    var description: String { "its plugin \(member.plugin?.program ?? "") is not running" }
}
