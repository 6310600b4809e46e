import ArgumentParser
import Config
import Netfilter
import Redir

#if canImport(Glibc)
import Glibc
#endif

/// `ss-redir check`: the self-test a user runs after installing: config valid, daemon answering with its pool,
/// the nftables table in place. One green or red line per check, a fix under each red one; exit 1 on any red.
struct CheckCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "check",
        abstract: "Check a running installation: config valid, daemon answering, servers up, nftables table present.",
        discussion: """
            Prints one line per check (green `ok`, red `FAIL` with the fix below it) and exits 1 if any failed.
            Reading the nftables table needs root (CAP_NET_ADMIN).
            Example: ss-redir check -c /etc/ss-redir/config.json
            """
    )

    @Option(name: .customShort("c"), help: "The JSON config file the daemon runs with.")
    var configFile: String

    @Option(name: .customLong("control"), help: "The daemon's control socket (default: the config's, else /run/ss-redir.sock).")
    var controlSocket: String?

    @Option(name: .customLong("table"), help: "The nftables table `ss-redir setup` installed (inet family).")
    var table = "ss_redir"

    @Option(
        name: .customLong("test-target"),
        help: "host:port each server must reach for the test request (default: the config's probe_target, else connectivitycheck.gstatic.com:80).")
    var testTarget: String?

    @Option(
        name: .customLong("test-udp-target"),
        help: "host:port of a DNS resolver each UDP server must reach (default: probe_udp_target, else 8.8.8.8:53).")
    var testUDPTarget: String?

    func run() throws {
        var report = CheckReport(color: isatty(STDOUT_FILENO) == 1)
        let configuration = checkConfig(&report)
        checkDaemon(&report, socket: controlSocket ?? configuration?.controlSocket ?? RedirConfiguration.defaultControlSocket)
        if let configuration { checkMembers(&report, configuration) }
        if let endpoint = configuration?.routing.dnsListen {
            if let problem = DNSProbe.ask(endpoint) {
                report.fail(
                    "the DNS forwarder on \(endpoint) does not answer: \(problem)",
                    fix: "is the daemon running with this config (dns_listen)? its log says why a query failed "
                        + "(dns_remote through the tunnel, or the local resolvers)")
            } else {
                report.pass("the DNS forwarder on \(endpoint) answers")
            }
        }
        checkTable(&report)
        if let configuration, configuration.relaysUDP || configuration.tcpTproxy { checkPolicyRouting(&report) }
        if let configuration { checkEnvironment(&report, configuration) }
        if report.failures > 0 {
            print("\(report.failures) of \(report.checks) checks failed")
            throw ExitCode(1)
        }
        print("all \(report.checks) checks passed")
    }

    private func checkConfig(_ report: inout CheckReport) -> RedirConfiguration? {
        do {
            let loaded = try ConfigFile.load(path: configFile)
            let configuration = try RedirConfiguration.resolve(loaded.settings)
            let unknown = loaded.unknownKeys.isEmpty ? "" : " (\(loaded.unknownKeys.count) unknown keys ignored)"
            report.pass(
                "config \(configFile): \(configuration.members.count) servers, port \(configuration.localPort), "
                    + "mode \(configuration.mode.rawValue)\(unknown)")
            return configuration
        } catch {
            report.fail(error.message, fix: "correct the key named above in \(configFile), then run check again")
            return nil
        }
    }

    private func checkDaemon(_ report: inout CheckReport, socket: String) {
        guard let text = ControlSocketClient.fetch(socket) else {
            let reason = String(cString: strerror(errno))
            report.fail(
                "no ss-redir answers on \(socket) (\(reason))",
                fix: "start it: systemctl start ss-redir@NAME (journalctl -u ss-redir@NAME says why it stopped), "
                    + "or pass --control if it uses another socket")
            return
        }
        guard let root = try? JSONDocument.parse(text), case .object(let fields) = root.value else {
            report.fail("the daemon on \(socket) sent something that is not a status report",
                        fix: "another program owns \(socket): give ss-redir its own \"control_socket\"")
            return
        }
        let top = Dictionary(fields.map { ($0.key, $0.node) }, uniquingKeysWith: { first, _ in first })
        guard case .array(let members)? = top["members"]?.value else {
            report.fail("the daemon on \(socket) reports no server pool", fix: "upgrade or restart ss-redir")
            return
        }
        report.pass("daemon answers on \(socket): \(members.count) servers in the pool")
        if case .number(let text)? = top["pid"]?.value, let pid = Int(text) { checkOpenFileLimit(&report, pid: pid) }
        for member in members {
            guard case .object(let memberFields) = member.value else { continue }
            let m = Dictionary(memberFields.map { ($0.key, $0.node) }, uniquingKeysWith: { first, _ in first })
            func text(_ key: String) -> String {
                switch m[key]?.value {
                case .string(let value): value
                case .number(let value): value
                default: "-"
                }
            }
            let name = text("name") == "-" ? text("address") : "\(text("name")) (\(text("address")))"
            if case .object(let pluginFields)? = m["plugin"]?.value {
                let line = StatusCommand.plugin(pluginFields) { node in
                    switch node?.value {
                    case .string(let value): value
                    case .number(let value): value
                    default: "-"
                    }
                }
                if case .string("running")? = pluginFields.first(where: { $0.key == "state" })?.node.value {
                    report.pass("server \(name): \(line)")
                } else {
                    report.fail(
                        "server \(name): \(line)",
                        fix: "the daemon's log shows the plugin's own lines (\"plugin NAME: ...\"); check that the "
                            + "program is installed and its plugin_opts match the server's")
                }
            }
            if text("state") == "up" {
                report.pass("server \(name) is up")
            } else {
                report.fail(
                    "server \(name) is \(text("state")): \(text("last_error"))",
                    fix: "check its address, port, password and method, and that the gateway reaches it "
                        + "(ss-redir status shows each server's last error)")
            }
        }
    }

    private func checkTable(_ report: inout CheckReport) {
        do {
            let connection = try NftConnection()
            guard let installed = try connection.table(family: .inet, name: table) else {
                report.fail(
                    "no nftables table inet \(table): LAN traffic is not sent to ss-redir",
                    fix: "ss-redir setup -c \(configFile) (the systemd unit runs it before starting), "
                        + "or run the daemon with --auto-setup")
                return
            }
            guard GatewayRuleset.isOwned(comment: installed.comment) || installed.ownedBySocket else {
                report.fail(
                    "table inet \(table) exists but was not made by ss-redir setup",
                    fix: "remove it (nft delete table inet \(table)) or use another --table, then ss-redir setup")
                return
            }
            report.pass("nftables table inet \(table) is installed\(installed.ownedBySocket ? " (by --auto-setup)" : "")")
        } catch {
            report.fail(
                "cannot read nftables: \(error.message)",
                fix: "run check as root (reading nftables needs CAP_NET_ADMIN)")
        }
    }
}

extension CheckCommand {
    /// A real Shadowsocks request through every member, made by check itself: proves address, port, password and
    /// method, and that the server reaches the internet (a daemon's "up" may be only a TCP connect).
    fileprivate func checkMembers(_ report: inout CheckReport, _ configuration: RedirConfiguration) {
        let tcpTarget: ServerEndpoint
        var udpTarget: ServerEndpoint?
        do {
            tcpTarget = try RedirConfiguration.endpoint(
                testTarget, origin: "--test-target", example: "www.gstatic.com:80")
                ?? configuration.probeTarget ?? ServerEndpoint(host: "connectivitycheck.gstatic.com", port: 80)
            if configuration.relaysUDP {
                udpTarget = try RedirConfiguration.endpoint(
                    testUDPTarget, origin: "--test-udp-target", example: "8.8.8.8:53")
                    ?? configuration.probeUDPTarget ?? ServerEndpoint(host: "8.8.8.8", port: 53)
            }
        } catch {
            report.fail(error.message, fix: "give host:port")
            return
        }
        let mark = configuration.outboundFwmark == 0 ? nil : configuration.outboundFwmark
        for outcome in MemberCheck.run(
            members: configuration.members, tcpTarget: tcpTarget, udpTarget: udpTarget, mark: mark)
        {
            switch outcome.tcp {
            case .success(let time):
                report.pass("test request through \(outcome.member) to \(tcpTarget): answered in \(Console.milliseconds(time)) ms")
            case .failure(let failure):
                report.fail(
                    "test request through \(outcome.member) to \(tcpTarget) failed: \(failure)",
                    fix: "check the server's address, port, password and method (they must match the server's), "
                        + "that the gateway reaches it, and that the server reaches \(tcpTarget) (or pass --test-target)")
            }
            switch outcome.udp {
            case .success(let time)?:
                report.pass("DNS query over UDP through \(outcome.member) to \(udpTarget!): answered in \(Console.milliseconds(time)) ms")
            case .failure(let failure)?:
                report.fail(
                    "DNS query over UDP through \(outcome.member) to \(udpTarget!) failed: \(failure)",
                    fix: "start the server with UDP relay (ss-server -u, mode tcp_and_udp), or set \"udp\": false for it "
                        + "(or pass --test-udp-target)")
            case nil:
                break
            }
        }
    }

    /// TPROXY only delivers marked packets if a policy rule sends them to a `local` route; ask the kernel how it
    /// would route one (`ip route get ADDR mark MARK`).
    fileprivate func checkPolicyRouting(_ report: inout CheckReport) {
        let settings = (try? ConfigFile.load(path: configFile))?.settings
        let mark = settings?.tproxyFwmark.flatMap(FirewallMarks.parseMarkAndMask)?.mark ?? FirewallMarks.tproxyMark
        let table = settings?.tproxyRouteTable.flatMap { UInt32($0) } ?? FirewallMarks.tproxyRouteTable
        do {
            let routing = try PolicyRouting()
            for family in IPFamily.allCases {
                let name = family == .ipv4 ? "IPv4" : "IPv6"
                if try routing.routesMarkedPacketsLocally(mark: mark, family: family) {
                    report.pass("policy routing: \(name) packets marked 0x\(String(mark, radix: 16)) are delivered locally (TPROXY works)")
                } else {
                    report.fail(
                        "policy routing: \(name) packets marked 0x\(String(mark, radix: 16)) are routed out, not to the proxy: UDP (and -T TCP) is not captured",
                        fix: "ss-redir setup -c \(configFile) adds it; by hand: ip \(family == .ipv4 ? "" : "-6 ")rule add fwmark 0x\(String(mark, radix: 16)) lookup \(table); ip \(family == .ipv4 ? "" : "-6 ")route add local default dev lo table \(table)")
                }
            }
        } catch {
            report.fail("cannot read the routing setup: \(error.message)", fix: "run check as root")
        }
    }
}

/// Green and red lines, counted.
struct CheckReport {
    var color: Bool
    var checks = 0
    var failures = 0

    mutating func pass(_ line: String) {
        checks += 1
        print(color ? "\u{1B}[32mok\u{1B}[0m    \(line)" : "ok    \(line)")
    }

    mutating func fail(_ line: String, fix: String) {
        checks += 1
        failures += 1
        print(color ? "\u{1B}[31mFAIL\u{1B}[0m  \(line)" : "FAIL  \(line)")
        print("      fix: \(fix)")
    }
}
