import Foundation
import Testing

@testable import Netfilter

@Suite("DNS bypass timeout sets") struct DNSBypassSetsTests {
    @Test("TTLs are clamped to 60 s ... 1 day")
    func clamp() {
        #expect(DNSBypassSets.timeout(forTTL: 0) == 60)
        #expect(DNSBypassSets.timeout(forTTL: 59) == 60)
        #expect(DNSBypassSets.timeout(forTTL: 300) == 300)
        #expect(DNSBypassSets.timeout(forTTL: 86_400) == 86_400)
        #expect(DNSBypassSets.timeout(forTTL: UInt32(Int32.max)) == 86_400)
    }

    @Test("Adding nothing sends nothing (no table needed)")
    func emptyAdd() throws {
        // Opening a netlink socket needs no privilege; only requests do.
        let report = try DNSBypassSets(table: "no_such_table").add([])
        #expect(report == DNSBypassSets.AddReport(ipv4: 0, ipv6: 0, messages: 0))
    }
}

/// The updater against a table `GatewayRuleset` built, committed in a throwaway network namespace, checked with `nft`.
@Suite(
    "DNS bypass sets in a network namespace", .serialized, .enabled(if: isRoot, "needs root for network namespaces"))
struct DNSBypassSetsNamespaceTests {
    static let table = GatewayRuleset.build(RulesetFixtures.golden.first { $0.file == "full.nft" }!.options)

    /// `198.51.100.7 timeout 2m expires 1m59s996ms` → (timeout, expires) in seconds, for one element.
    static func element(_ address: String, in listing: String) -> (timeout: Double, expires: Double)? {
        guard let start = listing.range(of: "\(address) timeout ") else { return nil }
        let words = listing[start.upperBound...].split(whereSeparator: { $0 == " " || $0 == "," || $0 == "\n" })
        guard words.count >= 3, words[1] == "expires", let timeout = seconds(words[0]),
            let expires = seconds(words[2])
        else { return nil }
        return (timeout, expires)
    }

    /// nft's time format: `1d2h3m4s5ms`.
    static func seconds(_ text: Substring) -> Double? {
        var total = 0.0
        var number = ""
        var rest = text[...]
        while let character = rest.first {
            if character.isNumber {
                number.append(character)
                rest = rest.dropFirst()
                continue
            }
            let unit = rest.hasPrefix("ms") ? "ms" : String(character)
            guard let value = Double(number) else { return nil }
            switch unit {
            case "d": total += value * 86_400
            case "h": total += value * 3_600
            case "m": total += value * 60
            case "s": total += value
            case "ms": total += value / 1_000
            default: return nil
            }
            number = ""
            rest = rest.dropFirst(unit.count)
        }
        return number.isEmpty ? total : nil
    }

    @Test(
        "Addresses land in bypass4_dns / bypass6_dns with their timeouts; TTLs are clamped; duplicates keep the longest"
    )
    func addShowsUp() throws {
        try NetworkNamespace.with { namespace in
            let table = Self.table
            let (existsBefore, existsAfter, report) = try namespace.enter {
                () -> (Bool, Bool, DNSBypassSets.AddReport) in
                let sets = try DNSBypassSets()
                let before = try sets.exists()
                try sets.connection.commit(NftBatchEncoder.replace(table))
                let report = try sets.add([
                    (IPAddress("198.51.100.7")!, timeoutSeconds: 120), (IPAddress("2001:db8::7")!, timeoutSeconds: 120),
                    (IPAddress("203.0.113.1")!, timeoutSeconds: 0),
                    (IPAddress("203.0.113.2")!, timeoutSeconds: 999_999),
                    (IPAddress("203.0.113.3")!, timeoutSeconds: 300), (IPAddress("203.0.113.3")!, timeoutSeconds: 600),
                ])
                return (before, try sets.exists(), report)
            }
            #expect(!existsBefore && existsAfter)
            #expect(report == DNSBypassSets.AddReport(ipv4: 4, ipv6: 1, messages: 2))
            let v4 = try namespace.nft(["list", "set", "inet", "ss_redir", "bypass4_dns"]).stdout
            let v6 = try namespace.nft(["list", "set", "inet", "ss_redir", "bypass6_dns"]).stdout
            let seven = Self.element("198.51.100.7", in: v4)
            #expect(seven?.timeout == 120 && (seven?.expires ?? 0) > 110, "\(v4)")
            let sevenV6 = Self.element("2001:db8::7", in: v6)
            #expect(sevenV6?.timeout == 120 && (sevenV6?.expires ?? 0) > 110, "\(v6)")
            #expect(Self.element("203.0.113.1", in: v4)?.timeout == 60, "\(v4)")
            #expect(Self.element("203.0.113.2", in: v4)?.timeout == 86_400, "\(v4)")
            #expect(Self.element("203.0.113.3", in: v4)?.timeout == 600, "\(v4)")
            #expect(!v4.contains("2001:db8::7") && !v6.contains("198.51.100.7"))
            // The interval sets are untouched.
            let bypass4 = try namespace.nft(["list", "set", "inet", "ss_redir", "bypass4"]).stdout
            #expect(!bypass4.contains("timeout"), "\(bypass4)")
        }
    }

    @Test("Re-adding an address restarts its countdown (element timeout updates), with the same or another timeout")
    func reAddRefreshes() throws {
        try NetworkNamespace.with { namespace in
            let table = Self.table
            try namespace.enter {
                let sets = try DNSBypassSets()
                try sets.connection.commit(NftBatchEncoder.replace(table))
                try sets.add([(IPAddress("198.51.100.7")!, timeoutSeconds: 120)])
            }
            Thread.sleep(forTimeInterval: 1.5)
            let aged = try namespace.nft(["list", "set", "inet", "ss_redir", "bypass4_dns"]).stdout
            let before = try #require(Self.element("198.51.100.7", in: aged), "\(aged)")
            #expect(before.expires < 119, "\(aged)")

            _ = try namespace.enter { try DNSBypassSets().add([(IPAddress("198.51.100.7")!, timeoutSeconds: 120)]) }
            let refreshed = try namespace.nft(["list", "set", "inet", "ss_redir", "bypass4_dns"]).stdout
            let same = try #require(Self.element("198.51.100.7", in: refreshed), "\(refreshed)")
            let kernel = (try? Shell.run(["uname", "-r"]).stdout) ?? "?"
            #expect(
                same.timeout == 120 && same.expires > 119.5,
                "same timeout: the countdown did not restart on kernel \(kernel) (needs element timeout updates)\n\(refreshed)"
            )

            _ = try namespace.enter { try DNSBypassSets().add([(IPAddress("198.51.100.7")!, timeoutSeconds: 90)]) }
            let shorter = try namespace.nft(["list", "set", "inet", "ss_redir", "bypass4_dns"]).stdout
            let replaced = try #require(Self.element("198.51.100.7", in: shorter), "\(shorter)")
            #expect(replaced.timeout == 90 && replaced.expires > 89 && replaced.expires <= 90, "\(shorter)")
        }
    }

    @Test("Missing table, missing set, someone else's owned table, a full set: one clear line each, nothing added")
    func errors() throws {
        try NetworkNamespace.with { namespace in
            let address = [(IPAddress("198.51.100.7")!, timeoutSeconds: UInt32(120))]
            func failure(_ body: @escaping @Sendable () throws -> Void) throws -> NetfilterError? {
                try namespace.enter { () -> NetfilterError? in
                    do {
                        try body()
                        return nil
                    } catch let error as NetfilterError {
                        return error
                    }
                }
            }

            let noTable = try failure {
                let sets = try DNSBypassSets()
                #expect(try !sets.exists())
                try sets.add(address)
            }
            #expect(noTable?.kind == .notInstalled)
            #expect(noTable?.errno == ENOENT)
            #expect(
                noTable?.message
                    == "cannot add DNS bypass addresses: no table inet ss_redir (setup is not in use): run `ss-redir setup` or `ss-redir run --auto-setup` first"
            )

            var old = Self.table
            old.sets.removeAll { $0.kind != .interval }
            old.chains = []
            let oldTable = old
            let noSet = try failure {
                let sets = try DNSBypassSets()
                try sets.connection.commit(NftBatchEncoder.replace(oldTable))
                #expect(try !sets.exists())
                try sets.add(address)
            }
            #expect(noSet?.kind == .notInstalled)
            #expect(
                noSet?.message
                    == "cannot add DNS bypass addresses: table inet ss_redir has no set bypass4_dns (installed by an older ss-redir setup): run `ss-redir setup` again"
            )

            // run --auto-setup: the table belongs to the daemon's socket; only that socket may add.
            var owned = Self.table
            owned.ownedBySocket = true
            let ownedTable = owned
            let (foreign, viaOwner, ownerSees) = try namespace.enter {
                () -> (NetfilterError?, DNSBypassSets.AddReport?, Bool) in
                let daemon = try NftConnection()
                try daemon.commit(NftBatchEncoder.replace(ownedTable))
                var foreign: NetfilterError?
                do { try DNSBypassSets().add(address) } catch let error as NetfilterError { foreign = error }
                let sets = DNSBypassSets(connection: daemon)
                return (foreign, try sets.add(address), try sets.exists())
            }
            #expect(foreign?.errno == EPERM)
            #expect(
                foreign?.message
                    == "cannot add DNS bypass addresses: table inet ss_redir belongs to another netlink socket (made by run --auto-setup): add through the connection that created it"
            )
            #expect(viaOwner?.ipv4 == 1 && ownerSees)

            // A set of 2 elements takes no third; the batch with it adds nothing.
            let tiny = NftTable(
                name: "ss_redir", sets: [.timeout(name: "bypass4_dns", keyFamily: .ipv4, maxElements: 2)])
            let full = try failure {
                let sets = try DNSBypassSets()
                try sets.connection.commit(NftBatchEncoder.replace(tiny))
                try sets.add([
                    (IPAddress("192.0.2.1")!, timeoutSeconds: 60), (IPAddress("192.0.2.2")!, timeoutSeconds: 60),
                ])
                try sets.add([(IPAddress("192.0.2.2")!, timeoutSeconds: 90)])  // a refresh needs no room
                try sets.add([
                    (IPAddress("192.0.2.3")!, timeoutSeconds: 60), (IPAddress("192.0.2.4")!, timeoutSeconds: 60),
                ])
            }
            #expect(full?.errno == ENFILE)
            #expect(
                full?.message
                    == "cannot add DNS bypass addresses: set bypass4_dns (size 2) of table inet ss_redir is full; nothing was added, these destinations stay proxied until older addresses expire"
            )
            let listed = try namespace.nft(["list", "set", "inet", "ss_redir", "bypass4_dns"]).stdout
            #expect(listed.contains("192.0.2.1") && listed.contains("192.0.2.2") && !listed.contains("192.0.2.3"))
            #expect(Self.element("192.0.2.2", in: listed)?.timeout == 90, "\(listed)")
        }
    }

    @Test("1,000 addresses in one batch, then the same again (refresh), then one-address batches (timings printed)")
    func thousandAddresses() throws {
        try NetworkNamespace.with { namespace in
            let table = Self.table
            let v4 = (0..<1000).map {
                (IPAddress(family: .ipv4, value: 0x0B00_0000 + UInt128($0) * 7), timeoutSeconds: UInt32(600))
            }
            let v6 = (0..<1000).map {
                (IPAddress(family: .ipv6, value: 0x2a11 << 112 | UInt128($0)), timeoutSeconds: UInt32(600))
            }
            let (first, again, mixed, single) = try namespace.enter { () -> (Duration, Duration, Duration, Duration) in
                let sets = try DNSBypassSets()
                try sets.connection.commit(NftBatchEncoder.replace(table))
                let clock = ContinuousClock()
                let first = try clock.measure { try sets.add(v4) }
                let again = try clock.measure { try sets.add(v4) }
                let mixed = try clock.measure { try sets.add(v6 + v4) }
                let rounds = 200
                let single = try clock.measure {
                    for index in 0..<rounds {
                        try sets.add([
                            (IPAddress(family: .ipv4, value: 0x0C00_0000 + UInt128(index)), timeoutSeconds: 300)
                        ])
                    }
                }
                return (first, again, mixed, single / rounds)
            }
            let element = [NftBatchEncoder.TimedElement(address: IPAddress("192.0.2.1")!, timeoutMilliseconds: 60_000)]
            let encodeOnly = ContinuousClock().measure {
                for _ in 0..<200 {
                    _ = NftBatchEncoder.addTimedElements(family: .inet, table: "ss_redir", sets: [("bypass4_dns", element)])
                }
            }
            let v4Listed = try namespace.nft(["-j", "list", "set", "inet", "ss_redir", "bypass4_dns"])
            let v6Listed = try namespace.nft(["-j", "list", "set", "inet", "ss_redir", "bypass6_dns"])
            #expect(try NetlinkCommitTests.elementCount(v4Listed.stdout) == 1200)
            #expect(try NetlinkCommitTests.elementCount(v6Listed.stdout) == 1000)
            print(
                "DNS bypass sets: 1,000 IPv4 addresses in one batch \(first), the same 1,000 again (refresh) \(again), "
                    + "1,000 IPv6 + 1,000 IPv4 \(mixed); one address per batch \(single) each, of which encoding \(encodeOnly / 200)")
        }
    }
}
