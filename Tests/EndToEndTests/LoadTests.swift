import Foundation
import Testing

extension EndToEnd {
    /// Load through the whole chain (lan client -> ss-redir -> Debian's ss-server -> wan target): many connections
    /// held at once, many short ones in a row, many UDP associations; each ends with ss-redir's descriptors back at
    /// the baseline and its memory bounded. Counts come from the environment for long runs (docs/reliability.md).
    @Suite("Load") struct LoadTests {
        static func environmentCount(_ name: String, default value: Int) -> Int {
            ProcessInfo.processInfo.environment[name].flatMap(Int.init) ?? value
        }

        /// This process's hard RLIMIT_NOFILE: every process of the chain inherits it (raising it needs
        /// CAP_SYS_RESOURCE, which a container may not grant).
        static var hardFileLimit: Int {
            var limit = rlimit()
            getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit)
            return Int(min(limit.rlim_max, 1 << 20))
        }

        /// ss-redir and ss-server hold two descriptors per relayed connection; leave room for their own.
        static var concurrentConnections: Int {
            environmentCount("LOAD_CONNECTIONS", default: min(10_000, (hardFileLimit - 200) / 2))
        }

        static func mib(_ kib: Int) -> String { String(format: "%.1f MiB", Double(kib) / 1024) }

        /// Target, two Debian ss-servers (wan's IPv4 and IPv6 address: each holds half the upstream connections, so
        /// only ss-redir needs two descriptors per connection) and ss-redir spreading over them.
        func startChain(_ bed: Testbed, redirArguments: [String] = []) throws -> ProxyChain {
            // No -v: a log line per connection would measure the logger.
            let script = Testbed.resources.appendingPathComponent("target_server.py").path
            // The soft limit may be below the hard one (1024 under many service managers): raise it for python.
            let target = try bed.start(
                .wan, name: "target",
                ["prlimit", "--nofile=\(Self.hardFileLimit):\(Self.hardFileLimit)", "python3", "-B", script, "--backlog", "4096"])
            try bed.waitUntilListening(.wan, port: ProxyChain.linePort, for: target)
            let password = UUID().uuidString
            var servers: [BackgroundProcess] = []
            for address in [Testbed.wanIPv4, Testbed.wanIPv6] {
                let server = try bed.start(
                    .wan, name: "ss-server-\(address)",
                    ["ss-server", "-s", address, "-p", "\(ProxyChain.serverPort)", "-k", password, "-m", "aes-256-gcm",
                     "-n", "\(Self.hardFileLimit)"])
                #expect(bed.waitForLog(server, "listening at", timeout: .seconds(10)), "\(server.logTail())")
                servers.append(server)
            }
            let redir = try bed.startSSRedir([
                "-s", Testbed.wanIPv4, "-s", Testbed.wanIPv6, "-p", "\(ProxyChain.serverPort)", "-l",
                "\(ProxyChain.redirPort)", "-b", "::", "-k", password, "-m", "aes-256-gcm", "--strategy", "round-robin",
            ] + redirArguments)
            return ProxyChain(target: target, ssServer: servers[0], ssRedir: redir)
        }

        /// One wave: COUNT connections open at once (sampled while held), then each exchange checked.
        /// Returns the peak descriptor count and RSS seen while they were held.
        func wave(_ bed: Testbed, _ usage: ProcessUsage, count: Int, index: Int, holdSeconds: Int = 25) throws -> (
            fds: Int, rssKiB: Int
        ) {
            // The target holds each reply 25 s: longer than opening them all takes.
            let client = try bed.startLoadClient(
                name: "wave-\(index)",
                ["wave", Testbed.wanIPv4, "\(ProxyChain.linePort)", "\(count)", "1024", "\(holdSeconds * 1000)"])
            var peak = (fds: 0, rssKiB: 0)
            let started = ContinuousClock.now
            let holdEnd = started + .seconds(holdSeconds)
            while ContinuousClock.now < holdEnd && peak.fds < 2 * count && client.isRunning {
                peak = (max(peak.fds, usage.openDescriptors), max(peak.rssKiB, usage.residentKiB))
                Thread.sleep(forTimeInterval: 0.1)
            }
            print("load: wave \(index): \(peak.fds) descriptors \(ContinuousClock.now - started) after the start")
            #expect(bed.waitFor(.seconds(180)) { !client.isRunning }, "wave \(index) did not finish: \(client.logTail())")
            #expect(client.log.contains("\(count) of \(count) replies correct"), "wave \(index): \(client.logTail())\n\(bed.diagnostics)")
            print("load: wave \(index): \(client.log.split(separator: "\n").joined(separator: "; "))")
            return peak
        }

        @Test("Two waves of 10,000 concurrent relayed connections: all correct, descriptors back, RSS flat after the first")
        func concurrentWaves() throws {
            let count = Self.concurrentConnections
            try Testbed.with { bed in
                let chain = try startChain(bed)
                let usage = ProcessUsage(pid: chain.ssRedir.pid)
                let startFDs = usage.openDescriptors
                _ = try wave(bed, usage, count: 200, index: 0, holdSeconds: 1)  // warm-up: threads, pools, arenas
                #expect(bed.waitFor(.seconds(30)) { usage.openDescriptors <= startFDs + 2 })
                let baselineFDs = usage.openDescriptors
                let rss0 = usage.residentKiB

                var rssAfter: [Int] = []
                for index in 1...2 {
                    let peak = try wave(bed, usage, count: count, index: index)
                    // Each held connection is a LAN socket and an upstream socket in ss-redir.
                    #expect(peak.fds >= 2 * count, "wave \(index): peak \(peak.fds) descriptors for \(count) connections")
                    let settled = bed.waitFor(.seconds(60)) { usage.openDescriptors <= baselineFDs + 2 }
                    #expect(settled, "wave \(index): \(usage.openDescriptors) descriptors left, baseline \(baselineFDs)")
                    rssAfter.append(usage.residentKiB)
                    print(
                        "load: wave \(index): \(count) held, peak \(peak.fds) fds, peak RSS \(Self.mib(peak.rssKiB)), after \(Self.mib(rssAfter.last!)) (baseline \(Self.mib(rss0)), \(baselineFDs) fds)"
                    )
                }
                let firstGrowth = rssAfter[0] - rss0
                let secondGrowth = rssAfter[1] - rssAfter[0]
                // The allocator keeps what the first wave needed; a leak grows again by as much the second time.
                #expect(
                    secondGrowth <= max(firstGrowth / 2, 8 << 10),
                    "RSS grew \(Self.mib(firstGrowth)) in wave 1 and \(Self.mib(secondGrowth)) in wave 2")
                #expect(chain.ssRedir.isRunning)
            }
        }

        @Test("Many short connections in a row: descriptors back to the baseline, RSS bounded")
        func sequentialConnections() throws {
            let count = Self.environmentCount("LOAD_SEQUENTIAL", default: 20_000)
            try Testbed.with { bed in
                let chain = try startChain(bed)
                let usage = ProcessUsage(pid: chain.ssRedir.pid)
                let startFDs = usage.openDescriptors
                let warmup = try bed.loadClient(["sequential", Testbed.wanIPv4, "\(ProxyChain.linePort)", "500", "512", "16"])
                #expect(warmup.succeeded, "\(warmup.summary)")
                #expect(bed.waitFor(.seconds(30)) { usage.openDescriptors <= startFDs + 2 })
                let baselineFDs = usage.openDescriptors
                let rss0 = usage.residentKiB
                let run = try bed.loadClient(
                    ["sequential", Testbed.wanIPv4, "\(ProxyChain.linePort)", "\(count)", "512", "16"],
                    timeout: .seconds(max(120, count / 200)))
                #expect(run.succeeded, "\(run.summary)\n\(bed.diagnostics)")
                let settled = bed.waitFor(.seconds(30)) { usage.openDescriptors <= baselineFDs + 2 }
                #expect(settled, "\(usage.openDescriptors) descriptors left, baseline \(baselineFDs)")
                let growth = usage.residentKiB - rss0
                print(
                    "load: sequential: \(run.stdout.trimmingCharacters(in: .whitespacesAndNewlines)); fds \(baselineFDs) -> \(usage.openDescriptors); RSS \(Self.mib(rss0)) -> \(Self.mib(usage.residentKiB))"
                )
                #expect(growth < 16 << 10, "RSS grew \(Self.mib(growth)) over \(count) connections")
            }
        }

        @Test("UDP associations (50,000 with LOAD_UDP; 20,000 in CI) created and expired in two halves, RSS flat after the first")
        func udpAssociations() throws {
            let count = Self.environmentCount("LOAD_UDP", default: 20_000)
            let udpTimeout = 3
            try Testbed.with(rules: "tproxy-udp") { bed in
                let password = UUID().uuidString
                try bed.startUDPEcho(port: 7)
                // Our ss-server: its UDP associations idle out after -t seconds, so its descriptors stay bounded too.
                let server = try bed.startOurServer([
                    "-s", Testbed.wanIPv4, "-p", "\(ProxyChain.serverPort)", "-k", password, "-m", "aes-256-gcm", "-u",
                    "-t", "\(udpTimeout)",
                ])
                let socket = bed.path("control.sock")
                let redir = try bed.startSSRedir([
                    "-s", Testbed.wanIPv4, "-p", "\(ProxyChain.serverPort)", "-l", "\(ProxyChain.redirPort)", "-b", "::",
                    "-k", password, "-m", "aes-256-gcm", "-u", "--udp-timeout", "\(udpTimeout)", "--control", socket,
                ])
                let usage = ProcessUsage(pid: redir.pid)
                let baselineFDs = usage.openDescriptors
                var rss = [usage.residentKiB]
                // Two identical halves: what the first leaves the allocator holding, the second must reuse.
                for half in 1...2 {
                    let run = try bed.loadClient(["udp", Testbed.wanIPv4, "7", "\(count / 2)"], timeout: .seconds(600))
                    #expect(run.succeeded, "\(run.summary)\n\(bed.diagnostics)")
                    let peakFDs = usage.openDescriptors
                    // Expiry: idle associations close after the timeout (swept on a timer), their sockets with them.
                    let expired = bed.waitFor(.seconds(Double(udpTimeout) * 4 + 10)) {
                        usage.openDescriptors <= baselineFDs + 2
                    }
                    #expect(expired, "half \(half): \(usage.openDescriptors) descriptors, baseline \(baselineFDs)")
                    let status = try bed.run(.gw, [Testbed.ssRedirBinary, "status", "--json", "--control", socket])
                    #expect(status.stdout.contains("\"udp_associations\":0"), "\(status.summary)")
                    // The sweep after the one that expired them trims the allocator (UDPTransparentRelay.sweep).
                    Thread.sleep(forTimeInterval: 3)
                    rss.append(usage.residentKiB)
                    print(
                        "load: udp half \(half): \(run.stdout.trimmingCharacters(in: .whitespacesAndNewlines)); fds \(baselineFDs) -> \(peakFDs) at the end -> \(usage.openDescriptors) after expiry; RSS \(Self.mib(rss[half - 1])) -> \(Self.mib(rss[half]))"
                    )
                }
                let firstGrowth = rss[1] - rss[0]
                let secondGrowth = rss[2] - rss[1]
                #expect(
                    secondGrowth <= max(firstGrowth / 2, 8 << 10),
                    "RSS grew \(Self.mib(firstGrowth)) in the first half and \(Self.mib(secondGrowth)) in the second")
                // Expired associations give their buffers back (was 250 MiB held after 5,000 before the trim).
                #expect(rss[2] - rss[0] < 32 << 10, "RSS \(Self.mib(rss[0])) -> \(Self.mib(rss[2])) after every association expired")
                #expect(redir.isRunning && server.isRunning)
            }
        }
    }
}
