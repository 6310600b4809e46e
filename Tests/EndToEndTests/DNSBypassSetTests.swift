import Foundation
import Netfilter
import Testing

extension EndToEnd {
    /// The kernel side of DNS-driven bypass: `setup` creates the timeout sets `bypass4_dns` / `bypass6_dns`; the
    /// daemon's updater (`DNSBypassSets`, driven here in-process inside gw) adds answered addresses, and from then
    /// on connections to them skip the proxy: LAN TCP and UDP, and the gateway's own traffic with --proxy-router.
    @Suite("DNS bypass sets filled at run time") struct DNSBypassSetTests {
        static let lanClient4 = "::ffff:\(Testbed.lanIPv4)"
        static let gwWAN4 = "::ffff:10.231.2.1"

        static func list(_ bed: Testbed, _ set: String) throws -> String {
            try bed.run(.gw, ["nft", "list", "set", "inet", "ss_redir", set]).stdout
        }

        @Test("Added addresses go direct (LAN and gateway, TCP and UDP), others stay proxied; teardown: clear error")
        func addedAddressesGoDirect() throws {
            try Testbed.with(rules: "none") { bed in
                let chain = try bed.startPublicChain(redirArguments: ["-u"])
                try bed.startUDPEcho(port: 7)
                let lan = try bed.interface(.gw, suffix: "-gwl")
                let arguments = [
                    "setup", "-s", PublicAddresses.server4, "-l", "\(ProxyChain.redirPort)", "-b", "::", "-u",
                    "--lan-if", lan, "--proxy-router",
                ]
                let setup = try bed.ssRedir(arguments)
                #expect(setup.succeeded, "\(setup.summary)")

                // Not yet in the set: proxied like any destination.
                #expect(try bed.fetch(PublicAddresses.bypassed4, tag: "before").succeeded)
                let before = bed.peerSeenByTarget(chain.target, tag: "before")
                #expect(before != nil && before != Self.lanClient4, "proxied first: target saw \(before ?? "nothing")")

                let (installed, report) = try bed.enter(.gw) { () -> (Bool, DNSBypassSets.AddReport) in
                    let sets = try DNSBypassSets()
                    let report = try sets.add([
                        (IPAddress(PublicAddresses.bypassed4)!, timeoutSeconds: 120),
                        (IPAddress(PublicAddresses.bypassed6)!, timeoutSeconds: 120),
                    ])
                    return (try sets.exists(), report)
                }
                #expect(installed)
                #expect(report.ipv4 == 1 && report.ipv6 == 1 && report.messages == 2)
                let v4 = try Self.list(bed, "bypass4_dns")
                let v6 = try Self.list(bed, "bypass6_dns")
                #expect(v4.contains("\(PublicAddresses.bypassed4) timeout 2m expires 1m5"), "\(v4)")
                #expect(v6.contains("\(PublicAddresses.bypassed6) timeout 2m expires 1m5"), "\(v6)")

                let logMark = chain.ssRedir.log.utf8.count
                for (host, tag, client) in [
                    (PublicAddresses.bypassed4, "dns4", Self.lanClient4),
                    (PublicAddresses.bypassed6, "dns6", Testbed.lanIPv6),
                    (PublicAddresses.target4, "other4", nil),
                ] {
                    let fetch = try bed.fetch(host, tag: tag)
                    #expect(fetch.succeeded, "\(fetch.summary)\n\(bed.diagnostics)")
                    let peer = bed.peerSeenByTarget(chain.target, tag: tag)
                    if let client {
                        #expect(peer == client, "\(tag) should go direct: target saw \(peer ?? "nothing")")
                    } else {
                        #expect(peer != nil && peer != Self.lanClient4, "\(tag) stays proxied: \(peer ?? "nothing")")
                    }
                }
                let udp = try bed.run(
                    .lan,
                    [
                        "python3", "-B", Testbed.resources.appendingPathComponent("udp_client.py").path, "once",
                        PublicAddresses.bypassed4, "7",
                    ], timeout: .seconds(30))
                #expect(udp.succeeded, "\(udp.summary)")
                // The gateway's own connection (output chains, --proxy-router) goes direct too.
                #expect(try bed.fetch(PublicAddresses.bypassed4, tag: "gw-dns4", from: .gw).succeeded)
                #expect(bed.peerSeenByTarget(chain.target, tag: "gw-dns4") == Self.gwWAN4)
                let relayed = String(decoding: chain.ssRedir.log.utf8.dropFirst(logMark), as: UTF8.self)
                #expect(relayed.contains("-> \(PublicAddresses.target4):80"), "\(chain.ssRedir.logTail())")
                #expect(
                    !relayed.contains(PublicAddresses.bypassed4) && !relayed.contains(PublicAddresses.bypassed6),
                    "nothing to a DNS-bypassed address reached the relay: \(chain.ssRedir.logTail())")

                // Running setup again replaces the table, and the sets start empty (the daemon re-adds on new answers).
                #expect(try bed.ssRedir(arguments).succeeded)
                #expect(!(try Self.list(bed, "bypass4_dns")).contains(PublicAddresses.bypassed4))

                #expect(try bed.ssRedir(["teardown"]).succeeded)
                let (after, failure) = try bed.enter(.gw) { () -> (Bool, String) in
                    let sets = try DNSBypassSets()
                    do {
                        try sets.add([(IPAddress(PublicAddresses.bypassed4)!, timeoutSeconds: 120)])
                        return (try sets.exists(), "added")
                    } catch let error as NetfilterError {
                        return (try sets.exists(), "\(error.kind): \(error)")
                    }
                }
                #expect(!after)
                #expect(
                    failure
                        == "not installed: cannot add DNS bypass addresses: no table inet ss_redir (setup is not in use): run `ss-redir setup` or `ss-redir run --auto-setup` first"
                )
            }
        }
    }
}
