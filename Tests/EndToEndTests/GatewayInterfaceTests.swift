import Foundation
import Testing

extension EndToEnd {
    /// The LAN interface is matched by name (`iifname`), so setup works before it exists and its rules keep
    /// working when the interface is deleted and created again (br-lan, pppoe-wan at every reconnect).
    @Suite("LAN interface by name") struct GatewayInterfaceTests {
        static let echoPort = 7
        static let lateName = "lan-late"

        func udpOnce(_ bed: Testbed, _ host: String) throws -> Command.Result {
            let script = Testbed.resources.appendingPathComponent("udp_client.py").path
            return try bed.run(.lan, ["python3", "-B", script, "once", host, "\(Self.echoPort)"])
        }

        func runAll(_ bed: Testbed, _ commands: [(Testbed.Namespace, [String])]) throws {
            for (namespace, command) in commands {
                let result = try bed.run(namespace, command)
                guard result.succeeded else { throw TestbedError("\(command.joined(separator: " ")): \(result.summary)") }
            }
        }

        /// TCP (IPv4, IPv6) and UDP from the LAN went through ss-redir.
        func expectProxied(_ bed: Testbed, _ chain: ProxyChain, tag: String) throws {
            for (host, suffix) in [(PublicAddresses.target4, "4"), (PublicAddresses.target6, "6")] {
                let fetch = try bed.fetch(host, tag: tag + suffix)
                #expect(fetch.succeeded, "\(fetch.summary)\n\(bed.diagnostics)")
                let peer = bed.peerSeenByTarget(chain.target, tag: tag + suffix)
                #expect(peer != nil && peer != "::ffff:\(Testbed.lanIPv4)" && peer != Testbed.lanIPv6, "\(tag): \(peer ?? "nothing")")
            }
            let before = chain.ssRedir.log.components(separatedBy: "-> \(PublicAddresses.target4):\(Self.echoPort) via").count
            let udp = try udpOnce(bed, PublicAddresses.target4)
            #expect(udp.succeeded, "\(udp.summary)")
            let after = chain.ssRedir.log.components(separatedBy: "-> \(PublicAddresses.target4):\(Self.echoPort) via").count
            #expect(after > before, "no new UDP association logged: \(chain.ssRedir.logTail())")
        }

        @Test("setup --lan-if before the interface exists; traffic proxied once it appears, and again after it is deleted and recreated")
        func lateAndRecreated() throws {
            try Testbed.with(rules: "none") { bed in
                let chain = try bed.startPublicChain(redirArguments: ["-u"])
                try bed.startUDPEcho(port: Self.echoPort)
                #expect(!(try bed.run(.gw, ["ip", "link", "show", Self.lateName]).succeeded))
                let setup = try bed.ssRedir([
                    "setup", "-s", PublicAddresses.server4, "-l", "\(ProxyChain.redirPort)", "-b", "::", "-u",
                    "--lan-if", Self.lateName,
                ])
                #expect(setup.succeeded, "\(setup.summary)")

                // The interface appears under the name setup was given.
                let veth = try bed.interface(.gw, suffix: "-gwl")
                try runAll(bed, [
                    (.gw, ["ip", "link", "set", veth, "down"]), (.gw, ["ip", "link", "set", veth, "name", Self.lateName]),
                    (.gw, ["ip", "link", "set", Self.lateName, "up"]),
                    // IPv6 addresses go when a link goes down (keep_addr_on_down = 0): configured again.
                    (.gw, ["ip", "addr", "replace", "fd31:1::1/64", "dev", Self.lateName, "nodad"]),
                ])
                try expectProxied(bed, chain, tag: "late")

                // Deleted (both veth ends go) and created again: same name, new ifindex, no setup run.
                let lanEnd = try bed.interface(.lan, suffix: "-lan")
                let index = try bed.run(.gw, ["cat", "/sys/class/net/\(Self.lateName)/ifindex"]).stdout
                try runAll(bed, [
                    (.gw, ["ip", "link", "del", Self.lateName]),
                    (.gw, ["ip", "link", "add", Self.lateName, "type", "veth", "peer", "name", lanEnd, "netns", bed.name(.lan)]),
                    (.gw, ["ip", "addr", "add", "\(Testbed.gwLANIPv4)/24", "dev", Self.lateName]),
                    (.gw, ["ip", "addr", "add", "fd31:1::1/64", "dev", Self.lateName, "nodad"]),
                    (.gw, ["ip", "link", "set", Self.lateName, "up"]),
                    (.lan, ["ip", "addr", "add", "\(Testbed.lanIPv4)/24", "dev", lanEnd]),
                    (.lan, ["ip", "addr", "add", "\(Testbed.lanIPv6)/64", "dev", lanEnd, "nodad"]),
                    (.lan, ["ip", "link", "set", lanEnd, "up"]),
                    (.lan, ["ip", "route", "add", "default", "via", Testbed.gwLANIPv4]),
                    (.lan, ["ip", "-6", "route", "add", "default", "via", "fd31:1::1"]),
                ])
                #expect(try bed.run(.gw, ["cat", "/sys/class/net/\(Self.lateName)/ifindex"]).stdout != index)
                try expectProxied(bed, chain, tag: "recreated")
            }
        }
    }
}
