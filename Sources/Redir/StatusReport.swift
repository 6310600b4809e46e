import Config
import Controller
import Rules
import ServerPool

/// What `ss-redir status` shows, rendered as JSON by the daemon (no Foundation: a small writer).
struct StatusReport {
    var version: String
    var pid: Int
    var uptimeSeconds: Int
    var strategy: String
    var tcpConnections: Int
    var udpAssociations: Int
    var members: [ServerPool.MemberStatus]
    var rules: BypassRules
    var direct: DirectCounters.Snapshot
    var learnedNames: Int
    /// Each member's SIP003 plugin, in `members` order (nil: it has none, or none runs).
    var plugins: [PluginProcess.Status?] = []

    var json: String {
        var out = "{"
        out += "\"version\":\(quoted(version)),\"pid\":\(pid),\"uptime_seconds\":\(uptimeSeconds),\"strategy\":\(quoted(strategy)),"
        out += "\"tcp_connections\":\(tcpConnections),\"udp_associations\":\(udpAssociations),"
        out += "\"rules\":{\"mode\":\(quoted("\(rules.mode)")),\"address_entries\":\(rules.cidrCount),\"domain_entries\":\(rules.domainCount),\"learned_names\":\(learnedNames)},"
        out += "\"direct\":{\"active_connections\":\(direct.open),\"total_connections\":\(direct.total),\"connect_failures\":\(direct.failures),\"bytes_up\":\(direct.bytesUp),\"bytes_down\":\(direct.bytesDown)},"
        out += "\"members\":["
        out += members.enumerated().map { index, status in
            let health = status.health
            let counters = status.counters
            var fields = [
                "\"name\":\(quoted(status.member.name))",
                "\"address\":\(quoted(status.member.endpoint.description))",
                "\"method\":\(quoted(status.member.key.method.name))",
                "\"state\":\(quoted(health.up ? "up" : "down"))",
                "\"udp_state\":\(quoted(!status.member.udp ? "off" : health.udpUp ? "up" : "down"))",
                "\"latency_ms\":\(health.latencyMilliseconds.map { String(Int($0.rounded())) } ?? "null")",
                "\"active_connections\":\(counters.activeConnections)",
                "\"total_connections\":\(counters.totalConnections)",
                "\"connect_failures\":\(counters.connectFailures)",
                "\"bytes_up\":\(counters.bytesUp)",
                "\"bytes_down\":\(counters.bytesDown)",
                "\"udp_associations\":\(counters.udpAssociations)",
            ]
            fields.append("\"last_error\":\(health.lastError.map(quoted) ?? "null")")
            fields.append("\"plugin\":\(pluginJSON(index < plugins.count ? plugins[index] : nil, member: status.member))")
            return "{" + fields.joined(separator: ",") + "}"
        }.joined(separator: ",")
        out += "]}\n"
        return out
    }

    /// `{"name", "state": running|restarting|stopped, "pid", "restarts", "local_port", "last_exit"}`; a member that
    /// names a plugin none runs for shows state "not_running"; null without a plugin.
    private func pluginJSON(_ status: PluginProcess.Status?, member: ServerMember) -> String {
        guard let program = member.plugin?.program else { return "null" }
        guard let status else { return "{\"name\":\(quoted(program)),\"state\":\"not_running\"}" }
        return "{\"name\":\(quoted(program)),\"state\":\(quoted(status.state.rawValue)),"
            + "\"pid\":\(status.pid.map { String($0) } ?? "null"),\"restarts\":\(status.restarts),"
            + "\"local_port\":\(status.localPort),\"last_exit\":\(status.lastExit.map(quoted) ?? "null")}"
    }

    /// JSON string literal; the controller's writer does the escaping (RFC 8259 section 7).
    private func quoted(_ text: String) -> String {
        var out = ""
        JSONValue.quote(text, into: &out)
        return out
    }
}
