import Foundation
import Testing

extension EndToEnd {
    /// EMFILE: with its descriptor table full, ss-redir must stop calling accept (not spin on a listener that stays
    /// readable), say so once, and accept again as descriptors free.
    @Suite("Accept at the open-file limit") struct AcceptLimitTests {
        static let socksPort = 1081
        /// A busy loop burns a whole core (2 s of CPU in 2 s); a paused listener wakes 4 times a second.
        static let idleCPUBound = 0.4

        @Test("Descriptor table full: accept pauses with one log line, no busy loop, and resumes when fds free")
        func acceptPausesAndResumes() throws {
            try Testbed.with { bed in
                // -n 64: a few dozen descriptors of headroom. SOCKS5 clients that never greet hold one descriptor
                // each (the relay's upstream socket comes only after the request), so they fill the table exactly.
                // The testbed redirects all of lan's TCP, so the SOCKS5 clients run on the gateway itself.
                let chain = try bed.startChain(extraRedirArguments: ["-n", "64", "--socks", "127.0.0.1:\(Self.socksPort)"])
                let usage = ProcessUsage(pid: chain.ssRedir.pid)
                let baseline = usage.openDescriptors
                let script = Testbed.resources.appendingPathComponent("load_client.py").path
                let holder = try bed.start(
                    .gw, name: "idle-socks", ["python3", "-B", script, "idle", "127.0.0.1", "\(Self.socksPort)", "100", "6"])
                #expect(bed.waitForLog(chain.ssRedir, "cannot accept", timeout: .seconds(5)), "\(bed.diagnostics)")
                #expect(bed.waitFor(.seconds(5)) { holder.log.contains("holding") })

                // A redirected connection now waits in the backlog: its listener shares the full table.
                let waiting = try bed.start(
                    .lan, name: "curl-waiting",
                    ["curl", "-sS", "--fail", "--max-time", "20", "-o", bed.path("waiting.body"),
                     "http://\(Testbed.wanIPv4)/blob/65536?tag=waiting"])
                let cpu = usage.cpuSeconds(over: .seconds(2))
                #expect(cpu < Self.idleCPUBound, "ss-redir used \(cpu) s of CPU in 2 s with accept failing")
                #expect(usage.openDescriptors <= 64)
                let pauses = chain.ssRedir.log.occurrences(of: "cannot accept")
                // One line per listener that hit the limit (SOCKS, then the redirect one), not one per attempt.
                #expect((1...2).contains(pauses), "\(chain.ssRedir.logTail(lines: 40))")
                #expect(waiting.isRunning, "the redirected connection should still be waiting")

                holder.stop()
                #expect(bed.waitFor(.seconds(15)) { !waiting.isRunning }, "\(bed.diagnostics)")
                #expect(bed.fileSize(bed.path("waiting.body")) == 65536, "\(waiting.logTail())\n\(bed.diagnostics)")
                #expect(chain.ssRedir.log.contains("accepting connections again"), "\(chain.ssRedir.logTail())")
                let after = try bed.download(size: 64 << 10, tag: "after-emfile")
                #expect(after.curl.succeeded && after.sha256 == after.expectedSHA256, "\(bed.diagnostics)")
                #expect(bed.waitFor(.seconds(12)) { usage.openDescriptors <= baseline + 2 },
                    "descriptors \(usage.openDescriptors), baseline \(baseline)")
                #expect(chain.ssRedir.isRunning)
            }
        }
    }
}
