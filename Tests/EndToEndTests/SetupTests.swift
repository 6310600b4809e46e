import Foundation
import Testing

extension EndToEnd {
    /// `ss-redir setup` / `teardown` against the gw namespace's kernel (RULES=none: nothing installed before).
    @Suite("setup and teardown") struct SetupTests {
        @Test("setup installs the table, chains, sets and policy routing (checked in nft -j)")
        func installsExpectedRuleset() throws {
            try Testbed.with(rules: "none") { bed in
                let lan = try bed.interface(.gw, suffix: "-gwl")
                let bypass = try bed.writeFile(
                    "bypass.cidr", "# a list\n1.0.1.0/24\n1.0.2.0/23\n1.0.8.0/21\n240e::/20\n")
                let setup = try bed.ssRedir([
                    "setup", "-s", "198.51.100.7", "-s", "11.1.2.3", "-l", "1080", "-b", "::", "-u", "--lan-if", lan,
                    "--proxy-router", "--dns-hijack", "5353", "--bypass-file", bypass,
                ])
                #expect(setup.succeeded, "\(setup.summary)")
                #expect(setup.stdout.contains("created table inet ss_redir"), "\(setup.summary)")

                let json = try bed.run(.gw, ["nft", "-j", "list", "ruleset"])
                let ruleset = try NftJSON(json.stdout)
                let table = try #require(ruleset.objects("table").first)
                #expect(table["family"] as? String == "inet")
                #expect(table["name"] as? String == "ss_redir")
                // nft 1.0.6 leaves table comments out of its JSON.
                let text = try bed.run(.gw, ["nft", "list", "table", "inet", "ss_redir"]).stdout
                #expect(
                    text.contains("comment \"managed by ss-redir setup; policy routing fwmark 0x1 table 100\""),
                    "\(text)")

                let sets = Dictionary(
                    uniqueKeysWithValues: ruleset.objects("set").map { ($0["name"] as? String ?? "", $0) })
                #expect(Set(sets.keys) == ["bypass4", "bypass6", "bypass4_dns", "bypass6_dns"])
                #expect(sets["bypass4"]?["type"] as? String == "ipv4_addr")
                #expect(sets["bypass6"]?["type"] as? String == "ipv6_addr")
                #expect(sets["bypass4"]?["flags"] as? [String] == ["interval"])
                let v4 = NftJSON.elements(sets["bypass4"])
                #expect(v4.contains("11.1.2.3"), "the server is bypassed: \(v4)")
                #expect(v4.contains("10.0.0.0/8") && v4.contains("1.0.8.0/21"), "\(v4)")
                #expect(v4.contains("1.0.1.0-1.0.3.255"), "adjacent prefixes merge: \(v4)")
                #expect(v4.contains("198.51.100.0/24"), "the reserved range swallows the server 198.51.100.7: \(v4)")
                #expect(NftJSON.elements(sets["bypass6"]).contains("240e::/20"))
                for (name, type) in [("bypass4_dns", "ipv4_addr"), ("bypass6_dns", "ipv6_addr")] {
                    #expect(sets[name]?["type"] as? String == type)
                    #expect(sets[name]?["flags"] as? [String] == ["timeout"])
                    #expect(sets[name]?["size"] as? Int == 65_536)
                    #expect(NftJSON.elements(sets[name]).isEmpty, "filled only by the running daemon")
                }

                let chains = Dictionary(
                    uniqueKeysWithValues: ruleset.objects("chain").map { ($0["name"] as? String ?? "", $0) })
                #expect(
                    Set(chains.keys) == [
                        "prerouting_nat", "lan_nat", "prerouting_mangle", "lan_tproxy", "output_nat", "output_route",
                    ])
                func base(_ name: String) -> String {
                    let chain = chains[name] ?? [:]
                    return
                        "\(chain["type"] ?? "-") \(chain["hook"] ?? "-") \(chain["prio"] ?? "-") \(chain["policy"] ?? "-")"
                }
                #expect(base("prerouting_nat") == "nat prerouting -100 accept")
                #expect(base("prerouting_mangle") == "filter prerouting -150 accept")
                #expect(base("output_nat") == "nat output -100 accept")
                #expect(base("output_route") == "route output -150 accept")
                #expect(chains["lan_tproxy"]?["hook"] == nil)

                let rules = ruleset.objects("rule")
                let tproxy = rules.filter { NftJSON.statementKinds($0).contains("tproxy") }
                #expect(tproxy.count == 1 && tproxy.first?["chain"] as? String == "lan_tproxy")
                let redirects = rules.filter { NftJSON.statementKinds($0).contains("redirect") }
                #expect(redirects.count == 4, "udp 53, tcp 53, tcp in lan_nat, tcp in output_nat: \(redirects.count)")
                #expect(rules.filter { $0["chain"] as? String == "output_nat" }.count == 7)
                let dnsBypass = rules.filter { rule in
                    NftJSON.statementKinds(rule).contains("return")
                        && "\(rule["expr"] ?? "")".contains("@bypass4_dns")
                }
                #expect(
                    Set(dnsBypass.compactMap { $0["chain"] as? String })
                        == ["lan_nat", "lan_tproxy", "output_nat", "output_route"])

                let rule4 = try bed.run(.gw, ["ip", "-4", "rule"]).stdout
                let rule6 = try bed.run(.gw, ["ip", "-6", "rule"]).stdout
                #expect(rule4.contains("fwmark 0x1 lookup 100 proto 83"), "\(rule4)")
                #expect(rule6.contains("fwmark 0x1 lookup 100 proto 83"), "\(rule6)")
                let route4 = try bed.run(.gw, ["ip", "-4", "route", "show", "table", "100"]).stdout
                let route6 = try bed.run(.gw, ["ip", "-6", "route", "show", "table", "100"]).stdout
                #expect(route4.contains("local default dev lo proto 83"), "\(route4)")
                #expect(route6.contains("local default dev lo proto 83"), "\(route6)")
            }
        }

        @Test("setup twice gives the same state; --dry-run changes nothing and prints what setup loads")
        func idempotentAndDryRun() throws {
            try Testbed.with(rules: "none") { bed in
                let arguments = [
                    "setup", "-s", "11.1.2.3", "-l", "1080", "-b", "::", "-T", "-u", "--proxy-router", "--fail-closed",
                ]
                let empty = try bed.firewallSnapshot()
                let dryRun = try bed.ssRedir(arguments + ["--dry-run"])
                #expect(dryRun.succeeded, "\(dryRun.summary)")
                #expect(try bed.firewallSnapshot() == empty)

                let first = try bed.ssRedir(arguments)
                #expect(first.succeeded, "\(first.summary)")
                let once = try bed.firewallSnapshot()
                let second = try bed.ssRedir(arguments)
                #expect(second.succeeded, "\(second.summary)")
                #expect(second.stdout.contains("replaced table inet ss_redir"))
                #expect(second.stdout.contains("rule already in place, route already in place"), "\(second.stdout)")
                #expect(try bed.firewallSnapshot() == once)

                // The dry-run text, loaded by nft in another namespace, gives the same kernel objects.
                let load = try bed.run(.lan, ["nft", "-f", try bed.writeFile("dry-run.nft", dryRun.stdout)])
                #expect(load.succeeded, "\(load.summary)")
                let listed = try bed.run(.lan, ["nft", "--debug=netlink", "list", "ruleset"])
                let installed = try bed.run(.gw, ["nft", "--debug=netlink", "list", "ruleset"])
                #expect(listed.stdout == installed.stdout)
            }
        }

        @Test("teardown restores the previous ruleset and routes byte for byte, a user's table and route included")
        func teardownRestores() throws {
            try Testbed.with(rules: "none") { bed in
                let user = """
                    table inet user_filter {
                        chain input {
                            type filter hook input priority 0; policy accept;
                            tcp dport 22 accept
                        }
                    }
                    table ip user_nat {
                        chain post {
                            type nat hook postrouting priority srcnat; policy accept;
                            oifname "x0" masquerade
                        }
                    }

                    """
                #expect(try bed.run(.gw, ["nft", "-f", try bed.writeFile("user.nft", user)]).succeeded)
                // The administrator's own entries next to ours: a route in table 100 and an identical fwmark rule.
                #expect(
                    try bed.run(.gw, ["ip", "route", "add", "local", "default", "dev", "lo", "table", "100"]).succeeded)
                #expect(
                    try bed.run(.gw, ["ip", "-6", "rule", "add", "fwmark", "1", "lookup", "100", "pref", "9000"])
                        .succeeded)
                let before = try bed.firewallSnapshot()

                let arguments = ["-s", "11.1.2.3", "-l", "1080", "-b", "::", "-u", "--proxy-router"]
                let setup = try bed.ssRedir(["setup"] + arguments)
                #expect(setup.succeeded, "\(setup.summary)")
                #expect(try bed.firewallSnapshot() != before)
                let teardown = try bed.ssRedir(["teardown"] + arguments)  // the same arguments, as a service gives
                #expect(teardown.succeeded, "\(teardown.summary)")
                #expect(teardown.stdout.contains("deleted table inet ss_redir"))
                let after = try bed.firewallSnapshot()
                #expect(after == before, "before:\n\(before)\nafter:\n\(after)")

                let again = try bed.ssRedir(["teardown"])
                #expect(again.succeeded, "\(again.summary)")
                #expect(again.stdout.contains("no table inet ss_redir"))
                #expect(try bed.firewallSnapshot() == before)
            }
        }

        @Test("setup and teardown refuse a table they did not make")
        func refusesForeignTable() throws {
            try Testbed.with(rules: "none") { bed in
                let mine =
                    "table inet ss_redir {\n\tcomment \"mine\"\n\tchain c {\n\t\ttype filter hook input priority 0; policy accept;\n\t}\n}\n"
                #expect(try bed.run(.gw, ["nft", "-f", try bed.writeFile("mine.nft", mine)]).succeeded)
                let before = try bed.firewallSnapshot()
                let setup = try bed.ssRedir(["setup", "-s", "11.1.2.3", "-l", "1080", "-b", "::", "-u"])
                #expect(setup.status == 1)
                #expect(
                    setup.stderr.contains("table inet ss_redir exists and was not made by ss-redir setup"),
                    "\(setup.summary)")
                let teardown = try bed.ssRedir(["teardown"])
                #expect(teardown.status == 1)
                #expect(teardown.stderr.contains("not made by ss-redir setup"), "\(teardown.summary)")
                #expect(try bed.firewallSnapshot() == before)
                // Another name works next to it.
                let other = try bed.ssRedir([
                    "setup", "-s", "11.1.2.3", "-l", "1080", "-b", "::", "--table", "ss_redir_2",
                ])
                #expect(other.succeeded, "\(other.summary)")
                #expect(try bed.ssRedir(["teardown", "--table", "ss_redir_2"]).succeeded)
                #expect(try bed.firewallSnapshot() == before)
            }
        }

        @Test("10,000 prefixes from --bypass-file: setup time printed (the issue asks for under a second)")
        func tenThousandPrefixes() throws {
            try Testbed.with(rules: "none") { bed in
                var lines: [String] = []
                var seen = Set<Int>()
                var state: UInt64 = 0x1234_5678
                while lines.count < 10_000 {
                    state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
                    let block = Int((state >> 33) % 0xDE_0000) + 0x01_0000  // 1.0.0.0/24 .. 223.255.255.0/24
                    if seen.insert(block).inserted {
                        lines.append("\(block >> 16).\((block >> 8) & 0xff).\(block & 0xff).0/24")
                    }
                }
                let file = try bed.writeFile("china.cidr", lines.joined(separator: "\n") + "\n")
                let setup = try bed.ssRedir([
                    "setup", "-s", "11.1.2.3", "-l", "1080", "-b", "::", "-u", "--bypass-file", file,
                ])
                #expect(setup.succeeded, "\(setup.summary)")
                let listed = try bed.run(.gw, ["nft", "-j", "list", "set", "inet", "ss_redir", "bypass4"])
                let elements = NftJSON.elements(try NftJSON(listed.stdout).objects("set").first).count
                #expect(elements > 9_000)
                print(
                    "setup with 10,000 prefixes (\(elements) ranges after merging): whole command \(setup.elapsed); it reports: \(setup.stdout.split(separator: "\n").first ?? "")"
                )
                let teardown = try bed.ssRedir(["teardown"])
                #expect(teardown.succeeded)
                print("teardown of it: \(teardown.elapsed)")
            }
        }

        @Test("Config errors exit 2 with one line; --help documents the flags")
        func commandLine() throws {
            let noServer = try Command.run([Testbed.ssRedirBinary, "setup", "-l", "1080", "--dry-run"])
            #expect(noServer.status == 2)
            #expect(noServer.stderr.hasPrefix("ss-redir: no server given"), "\(noServer.summary)")
            let badFile = try Command.run([
                Testbed.ssRedirBinary, "setup", "-s", "192.0.2.1", "-l", "1080", "--bypass-file", "/nonexistent.cidr",
                "--dry-run",
            ])
            #expect(badFile.status == 2)
            #expect(badFile.stderr.contains("/nonexistent.cidr: cannot read the address list"), "\(badFile.summary)")
            let help = try Command.run([Testbed.ssRedirBinary, "setup", "--help"])
            for flag in [
                "-c", "-s", "-l", "-T", "-u", "-U", "--bypass-file", "--proxy-file", "--lan-if", "--proxy-router",
                "--dns-hijack", "--fail-open", "--fail-closed", "--table", "--dry-run",
            ] {
                #expect(help.stdout.contains("  \(flag)"), "missing \(flag)")
            }
            let teardownHelp = try Command.run([Testbed.ssRedirBinary, "teardown", "--help"])
            #expect(teardownHelp.stdout.contains("--table"))
            let runHelp = try Command.run([Testbed.ssRedirBinary, "--help"])
            #expect(runHelp.stdout.contains("setup") && runHelp.stdout.contains("teardown"), "\(runHelp.stdout)")
        }
    }
}

/// `nft -j list ruleset`, parsed with JSONSerialization (libnftables JSON schema: {"nftables": [{"table": {...}}, ...]}).
struct NftJSON {
    let items: [[String: Any]]

    init(_ text: String) throws {
        guard let root = try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any],
            let items = root["nftables"] as? [[String: Any]]
        else { throw TestbedError("not nft JSON: \(text.prefix(200))") }
        self.items = items
    }

    func objects(_ kind: String) -> [[String: Any]] { items.compactMap { $0[kind] as? [String: Any] } }

    /// Set elements as nft text: "1.2.3.4", "10.0.0.0/8", "10.0.0.1-10.0.0.9".
    static func elements(_ set: [String: Any]?) -> [String] {
        (set?["elem"] as? [Any] ?? []).map { element in
            if let address = element as? String { return address }
            if let prefix = (element as? [String: Any])?["prefix"] as? [String: Any] {
                return "\(prefix["addr"] ?? "?")/\(prefix["len"] ?? "?")"
            }
            if let range = (element as? [String: Any])?["range"] as? [Any], range.count == 2 {
                return "\(range[0])-\(range[1])"
            }
            return "\(element)"
        }
    }

    /// The statement kinds of a rule: "match", "tproxy", "redirect", "mangle", "accept", ...
    static func statementKinds(_ rule: [String: Any]) -> [String] {
        (rule["expr"] as? [[String: Any]] ?? []).flatMap { $0.keys }
    }
}
