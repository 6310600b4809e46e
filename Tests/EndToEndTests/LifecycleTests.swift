import Foundation
import Testing

extension EndToEnd {
    @Suite("Lifecycle and guards") struct LifecycleTests {
        /// A LAN client that dials the listener's own address is REDIRECTed onto it: its original destination is
        /// the listener itself. ss-redir must refuse it (no relay to itself) with a log line and keep serving.
        @Test("A connection whose original destination is the listener itself is refused")
        func loopRefused() throws {
            try Testbed.with { bed in
                let chain = try bed.startChain()
                let loop = try bed.run(
                    .lan, ["curl", "-sS", "--max-time", "5", "http://\(Testbed.gwLANIPv4):\(ProxyChain.redirPort)/"],
                    timeout: .seconds(15))
                #expect(!loop.succeeded)
                #expect(chain.ssRedir.log.contains("refusing"), "\(bed.diagnostics)")
                #expect(!chain.ssServer.log.contains("connect to \(Testbed.gwLANIPv4)"), "\(bed.diagnostics)")
                let after = try bed.download(size: 64 << 10, tag: "after-loop")
                #expect(after.curl.succeeded && after.sha256 == after.expectedSHA256, "\(bed.diagnostics)")
            }
        }

        @Test("SIGTERM: ss-redir stops accepting and exits 0")
        func gracefulTermination() throws {
            try Testbed.with { bed in
                let chain = try bed.startChain()
                let first = try bed.download(size: 64 << 10, tag: "before-term")
                #expect(first.curl.succeeded)
                let termination = chain.ssRedir.signalAndWait(SIGTERM, timeout: .seconds(10))
                #expect(termination == .exited(0), "\(chain.ssRedir.logTail())")
                #expect(chain.ssRedir.log.contains("shutting down"))
            }
        }

        @Test("reuse_port by default: one listening socket per core, all of them serving; a second instance is refused")
        func reusePort() throws {
            try Testbed.with { bed in
                let chain = try bed.startChain()
                let listeners = try bed.run(.gw, ["ss", "-Htln", "sport = :\(ProxyChain.redirPort)"])
                let count = listeners.stdout.split(separator: "\n").count
                #expect(count == ProcessInfo.processInfo.activeProcessorCount, "\(listeners.stdout)")
                // Both would set SO_REUSEPORT: without the probe the second would share the port silently.
                let second = try bed.run(.gw, [
                    Testbed.ssRedirBinary, "-s", Testbed.wanIPv4, "-p", "8388", "-k", "x", "-l",
                    "\(ProxyChain.redirPort)", "-b", "::", "--control", bed.path("second.sock"),
                ], timeout: .seconds(15))
                #expect(!second.succeeded)
                #expect(
                    second.stderr.contains("cannot listen on :: port \(ProxyChain.redirPort)")
                        && second.stderr.contains("Address already in use"), "\(second.stderr)")
                for index in 0..<8 {
                    let transfer = try bed.download(size: 32 << 10, tag: "reuse-\(index)")
                    #expect(transfer.curl.succeeded && transfer.sha256 == transfer.expectedSHA256)
                }
                #expect(chain.ssRedir.isRunning)
            }
        }

        @Test("--no-reuse-port: one listening socket, serving")
        func noReusePort() throws {
            try Testbed.with { bed in
                let chain = try bed.startChain(extraRedirArguments: ["--no-reuse-port"])
                let listeners = try bed.run(.gw, ["ss", "-Htln", "sport = :\(ProxyChain.redirPort)"])
                #expect(listeners.stdout.split(separator: "\n").count == 1, "\(listeners.stdout)")
                let transfer = try bed.download(size: 32 << 10, tag: "no-reuse")
                #expect(transfer.curl.succeeded && transfer.sha256 == transfer.expectedSHA256)
                #expect(chain.ssRedir.isRunning)
            }
        }
    }
}
