import Foundation

/// Addresses outside every reserved range (so `setup` captures traffic to them), added to the wan namespace for
/// the setup tests. They exist only inside the throwaway namespaces.
enum PublicAddresses {
    static let server4 = "11.231.2.2"
    static let target4 = "11.231.2.3"
    static let bypassed4 = "11.231.2.200"
    static let server6 = "2a11:231:2::2"
    static let target6 = "2a11:231:2::3"
    static let bypassed6 = "2a11:231:2::200"
}

extension Testbed {
    /// `ss-redir setup ARGS` (or teardown) in gw.
    func ssRedir(_ arguments: [String]) throws -> Command.Result {
        try run(.gw, [Testbed.ssRedirBinary] + arguments, timeout: .seconds(30))
    }

    /// The veth in `namespace` whose name ends in `suffix` (netns-testbed.sh: -lan, -gwl, -gww, -wan).
    func interface(_ namespace: Namespace, suffix: String) throws -> String {
        let links = try run(namespace, ["ip", "-o", "link", "show", "type", "veth"])
        for line in links.stdout.split(separator: "\n") {
            let fields = line.split(separator: " ")
            guard fields.count > 1 else { continue }
            let name = fields[1].split(separator: "@").first.map(String.init) ?? ""
            if name.hasSuffix(suffix) { return name }
        }
        throw TestbedError("no veth ending in \(suffix) in \(self.name(namespace)): \(links.summary)")
    }

    /// What setup and teardown may change, as text: the nft ruleset, the policy rules and every route.
    func firewallSnapshot() throws -> String {
        var text = ""
        // Not `table all`: the kernel adds local routes for IPv6 link-local addresses whenever their DAD ends.
        for command in [
            ["nft", "list", "ruleset"], ["ip", "-4", "rule"], ["ip", "-6", "rule"],
            ["ip", "-4", "route", "show", "table", "main"],
            ["ip", "-6", "route", "show", "table", "main"], ["ip", "-4", "route", "show", "table", "100"],
            ["ip", "-6", "route", "show", "table", "100"],
        ] {
            let result = try run(.gw, command)
            // `ip route show table 100` fails while the table has never held a route.
            guard result.succeeded || result.stderr.contains("table does not exist") else {
                throw TestbedError("\(command.joined(separator: " ")): \(result.summary)")
            }
            text += "### \(command.joined(separator: " "))\n\(result.stdout)"
        }
        return text
    }

    /// Puts `PublicAddresses` on the wan veth and routes them from gw.
    func addPublicAddresses() throws {
        let wan = try interface(.wan, suffix: "-wan")
        var commands: [(Namespace, [String])] = []
        for address in [PublicAddresses.server4, PublicAddresses.target4, PublicAddresses.bypassed4] {
            commands.append((.wan, ["ip", "addr", "add", "\(address)/24", "dev", wan]))
        }
        for address in [PublicAddresses.server6, PublicAddresses.target6, PublicAddresses.bypassed6] {
            commands.append((.wan, ["ip", "addr", "add", "\(address)/64", "dev", wan, "nodad"]))
        }
        commands.append((.gw, ["ip", "route", "add", "11.231.2.0/24", "via", Testbed.wanIPv4]))
        commands.append((.gw, ["ip", "-6", "route", "add", "2a11:231:2::/64", "via", Testbed.wanIPv6]))
        for (namespace, command) in commands {
            let result = try run(namespace, command)
            guard result.succeeded else { throw TestbedError("\(command.joined(separator: " ")): \(result.summary)") }
        }
    }

    /// target, ss-server (-u) on the public server address, ss-redir (-b ::) pointing at it.
    func startPublicChain(redirArguments: [String] = []) throws -> ProxyChain {
        try addPublicAddresses()
        let password = UUID().uuidString
        let target = try startTarget()
        let server = try start(
            .wan, name: "ss-server",
            [
                "ss-server", "-s", PublicAddresses.server4, "-s", PublicAddresses.server6, "-p",
                "\(ProxyChain.serverPort)",
                "-k", password, "-m", "aes-256-gcm", "-u", "-v",
            ])
        try waitUntilListening(.wan, port: ProxyChain.serverPort, for: server)
        let redir = try startSSRedir(
            [
                "-s", PublicAddresses.server4, "-p", "\(ProxyChain.serverPort)", "-l", "\(ProxyChain.redirPort)", "-b",
                "::",
                "-k", password, "-m", "aes-256-gcm", "-v",
            ] + redirArguments)
        return ProxyChain(target: target, ssServer: server, ssRedir: redir)
    }

    /// GET a small blob from `host` in `namespace`, tagged so the target's log line can be found.
    func fetch(_ host: String, tag: String, from namespace: Namespace = .lan, maxTime: Int = 10) throws
        -> Command.Result
    {
        try run(
            namespace,
            [
                "curl", "-sS", "-g", "--fail", "--max-time", "\(maxTime)", "-o", "/dev/null",
                "http://\(Testbed.urlHost(host))/blob/4096?tag=\(tag)",
            ], timeout: .seconds(maxTime + 10))
    }

    /// The client address the target logged for the request tagged `tag` ("::ffff:10.231.1.2", "fd31:1::2"), waiting
    /// up to `wait` for the line (a request that never arrived: keep `wait` short).
    func peerSeenByTarget(_ target: BackgroundProcess, tag: String, wait: Duration = .seconds(5)) -> String? {
        let deadline = ContinuousClock.now + wait
        repeat {
            // target_server.py: "http CLIENT "GET /blob/4096?tag=TAG HTTP/1.1" 200 -"
            if let line = target.log.split(separator: "\n").first(where: { $0.contains("tag=\(tag) ") }) {
                return line.split(separator: " ").dropFirst().first.map(String.init)
            }
            Thread.sleep(forTimeInterval: 0.05)
        } while ContinuousClock.now < deadline
        return nil
    }

    func writeFile(_ name: String, _ text: String) throws -> String {
        let file = path(name)
        try Data(text.utf8).write(to: URL(fileURLWithPath: file))
        return file
    }
}
