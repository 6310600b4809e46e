import Foundation
import Testing

extension EndToEnd {
    @Suite("Daemon options (-f, -a, --log-file, -d)") struct DaemonTests {
        @Test("-f backgrounds with a locked pid file, -a keeps only the network capabilities, -d stop ends it")
        func backgroundAsNobody() throws {
            try Testbed.with { bed in
                let password = UUID().uuidString
                _ = try bed.startTarget()
                _ = try bed.startSSServer(method: "aes-256-gcm", password: password)
                let pidFile = bed.path("ss-redir.pid")
                let logFile = bed.path("ss-redir.log")
                // The control socket must be somewhere the unprivileged user may create it.
                let control = "/tmp/\(bed.prefix)-control.sock"
                defer { try? FileManager.default.removeItem(atPath: control) }
                let arguments = [
                    Testbed.ssRedirBinary, "-s", Testbed.wanIPv4, "-p", "\(ProxyChain.serverPort)",
                    "-l", "\(ProxyChain.redirPort)", "-b", "::", "-k", password, "-m", "aes-256-gcm",
                    "-f", pidFile, "-a", "nobody", "--log-file", logFile, "--control", control,
                ]
                // The parent returns once the child listens, exit 0.
                let start = try bed.run(.gw, arguments, timeout: .seconds(20))
                #expect(start.succeeded, "\(start.stderr)")
                let pidText = try String(contentsOfFile: pidFile, encoding: .utf8)
                let pid = try #require(Int32(pidText.trimmingCharacters(in: .whitespacesAndNewlines)))
                defer { kill(pid, SIGKILL) }
                let status = try String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8)
                #expect(status.contains("Uid:\t65534\t65534\t65534\t65534"), "\(status)")
                // CAP_NET_BIND_SERVICE (10), CAP_NET_ADMIN (12), CAP_NET_RAW (13) and nothing else.
                #expect(status.contains("CapEff:\t0000000000003400"), "\(status)")
                #expect(status.contains("CapPrm:\t0000000000003400"), "\(status)")

                // Relaying still works as nobody (SO_MARK and the original destination need no more).
                let transfer = try bed.download(size: 256 << 10, tag: "as-nobody")
                #expect(transfer.curl.succeeded && transfer.sha256 == transfer.expectedSHA256, "\(bed.diagnostics)")

                // A second instance with the same pid file refuses to start.
                let second = try bed.run(.gw, arguments.map { $0 == "\(ProxyChain.redirPort)" ? "1081" : $0 })
                #expect(!second.succeeded)
                #expect(second.stderr.contains("another instance is running (pid \(pid)"), "\(second.stderr)")

                let stop = try bed.run(.gw, [Testbed.ssRedirBinary, "-d", "stop", "-f", pidFile])
                #expect(stop.succeeded, "\(stop.stderr)")
                // Gone, or a zombie waiting for a PID 1 that may not reap (containers).
                let state = (try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8)) ?? "State:\tZ"
                #expect(state.contains("State:\tZ"), "pid \(pid) still running after -d stop: \(state.prefix(200))")
                let log = (try? String(contentsOfFile: logFile, encoding: .utf8)) ?? ""
                #expect(log.contains("listening:") && log.contains("shutting down"), "\(log)")
            }
        }

        @Test("-f: a start-up error reaches the terminal and the parent exits non-zero")
        func startupErrorReported() throws {
            try Testbed.with { bed in
                let result = try bed.run(.gw, [
                    Testbed.ssRedirBinary, "-s", Testbed.wanIPv4, "-p", "8388", "-k", "x", "-l", "1080",
                    "-b", "203.0.113.9", "-f", bed.path("fail.pid"),
                ])
                #expect(!result.succeeded)
                #expect(result.stderr.contains("cannot listen on 203.0.113.9"), "\(result.stderr)")
            }
        }
    
        @Test("ss-server -f -a nobody: background, uid 65534, only the network capabilities, still relaying; -d stop")
        func serverAsNobody() throws {
            try Testbed.with { bed in
                let password = UUID().uuidString
                _ = try bed.startTarget()
                let pidFile = bed.path("ss-server.pid")
                let start = try bed.run(.wan, [
                    Testbed.ssServerBinary, "-s", Testbed.wanIPv4, "-p", "\(ProxyChain.serverPort)", "-k", password,
                    "-m", "aes-256-gcm", "-f", pidFile, "-a", "nobody", "--log-file", bed.path("ss-server.log"),
                ])
                #expect(start.succeeded, "\(start.summary)")
                let pid = try #require(Int32(try String(contentsOfFile: pidFile, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)))
                defer { kill(pid, SIGKILL) }
                let status = try String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8)
                #expect(status.contains("Uid:\t65534\t65534\t65534\t65534"), "\(status)")
                #expect(status.contains("CapEff:\t0000000000003400"), "\(status)")
                _ = try bed.startSSRedir([
                    "-s", Testbed.wanIPv4, "-p", "\(ProxyChain.serverPort)", "-l", "\(ProxyChain.redirPort)", "-b", "::",
                    "-k", password, "-m", "aes-256-gcm",
                ])
                let transfer = try bed.download(size: 128 << 10, tag: "server-as-nobody")
                #expect(transfer.curl.succeeded && transfer.sha256 == transfer.expectedSHA256, "\(bed.diagnostics)")
                let stop = try bed.run(.wan, [Testbed.ssServerBinary, "-d", "stop", "-f", pidFile])
                #expect(stop.succeeded, "\(stop.summary)")
            }
        }
    
        @Test("Started with a soft open-file limit of 1024, ss-redir raises it to the hard limit")
        func softFileLimitRaised() throws {
            try Testbed.with { bed in
                let redir = try bed.start(
                    .gw, name: "ss-redir-ulimit",
                    [
                        "bash", "-c",
                        "ulimit -Sn 1024; exec \(Testbed.ssRedirBinary) -s \(Testbed.wanIPv4) -p 8388 -k x -l \(ProxyChain.redirPort) -b :: -v --control \(bed.path("c.sock"))",
                    ])
                try bed.waitUntilListening(.gw, port: ProxyChain.redirPort, for: redir)
                let limits = try String(contentsOfFile: "/proc/\(redir.pid)/limits", encoding: .utf8)
                let line = limits.split(separator: "\n").first { $0.hasPrefix("Max open files") } ?? ""
                let numbers = line.split(separator: " ").compactMap { Int($0) }
                #expect(numbers.count == 2 && numbers[0] == numbers[1] && numbers[0] > 1024, "soft = hard: \(line)")
                #expect(redir.log.contains("open-file limit raised from 1024 to \(numbers.last ?? 0)"), "\(redir.logTail())")
            }
        }
    }
}
