import Foundation
import Testing

extension EndToEnd {
    /// `--max-connections-per-client`: one LAN host cannot take more than its share of the relay.
    @Suite("Per-client connection limit") struct ClientLimitTests {
        /// In lan: opens `count` connections to the wan target at once, then asks each for 16 bytes; prints how
        /// many got their reply and how many were closed without one.
        static let holder = """
            import socket, sys, time
            count = int(sys.argv[1])
            socks = [socket.create_connection(("10.231.2.2", 80), timeout=5) for _ in range(count)]
            time.sleep(0.5)
            served = closed = 0
            for s in socks:
                try:
                    s.sendall(b"GET /blob/16 HTTP/1.0\\r\\n\\r\\n")
                    data = b""
                    while True:
                        chunk = s.recv(4096)
                        if not chunk:
                            break
                        data += chunk
                    if data.startswith(b"HTTP/1.") and b" 200 " in data.split(b"\\r\\n")[0]:
                        served += 1
                    else:
                        closed += 1
                except OSError:
                    closed += 1
            print(f"served {served} closed {closed}")
            """

        @Test("A host over its limit has its new connections closed, with one log line; under it again, served")
        func limitPerHost() throws {
            try Testbed.with { bed in
                let chain = try bed.startChain(extraRedirArguments: ["--max-connections-per-client", "3"])
                let over = try bed.run(.lan, ["python3", "-c", Self.holder, "5"], timeout: .seconds(30))
                #expect(over.stdout.contains("served 3 closed 2"), "\(over.summary)\n\(chain.ssRedir.logTail())")
                let again = try bed.run(.lan, ["python3", "-c", Self.holder, "3"], timeout: .seconds(30))
                #expect(again.stdout.contains("served 3 closed 0"), "\(again.summary)\n\(chain.ssRedir.logTail())")
                let warnings = chain.ssRedir.log.components(separatedBy: "--max-connections-per-client").count - 1
                #expect(warnings == 1, "one line per stretch over the limit\n\(chain.ssRedir.logTail())")
                #expect(chain.ssRedir.log.contains("tcp: \(Testbed.lanIPv4) has 3 connections open"))
            }
        }
    }
}
