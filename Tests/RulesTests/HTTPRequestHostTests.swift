import Testing
import SeededRandom

@testable import Rules

@Suite("HTTP/1.x Host sniffer") struct HTTPRequestHostTests {
    func host(_ text: String) -> SniffResult { HTTPRequestHost.host(in: Array(text.utf8)) }

    @Test("A captured curl request gives its Host without the port")
    func captured() {
        #expect(HTTPRequestHost.host(in: ClientHelloCaptures.curlHTTP) == .found("Web.Example.TEST"))
    }

    @Test("Every prefix up to the end of the Host line needs more data")
    func dripFed() {
        let bytes = ClientHelloCaptures.curlHTTP
        let hostLineEnd = 50  // "GET /path HTTP/1.1\r\n" (20) + "Host: Web.Example.TEST:45003\r\n" (30)
        for count in 0..<hostLineEnd {
            #expect(HTTPRequestHost.host(in: bytes[0..<count]) == .needMoreData, "\(count) bytes")
        }
        #expect(HTTPRequestHost.host(in: bytes[0..<hostLineEnd]) == .found("Web.Example.TEST"))
    }

    @Test(
        "Forms of the request and of the Host value",
        arguments: [
            ("GET / HTTP/1.1\r\nhost:example.com\r\n\r\n", SniffResult.found("example.com")),
            ("GET / HTTP/1.1\r\nUser-Agent: x\r\nHOST: \t a.example.com:8080 \r\n\r\n", .found("a.example.com")),
            ("GET / HTTP/1.0\nHost: bare-lf.test\n\n", .found("bare-lf.test")),
            ("POST /x HTTP/1.1\r\nHost: [2001:db8::1]:443\r\n\r\n", .found("2001:db8::1")),
            ("GET / HTTP/1.1\r\nHost: 192.0.2.1\r\n\r\n", .found("192.0.2.1")),
            ("GET http://absolute.test:81/p?q HTTP/1.1\r\nHost: other.test\r\n\r\n", .found("absolute.test")),
            ("GET HTTPS://user@Secure.test/ HTTP/1.1\r\n\r\n", .found("Secure.test")),
            ("CONNECT tunnel.test:443 HTTP/1.1\r\n\r\n", .found("tunnel.test")),
            ("GET / HTTP/1.0\r\nAccept: */*\r\n\r\n", .notThisProtocol),
            ("GET / HTTP/1.1\r\nHost: bad host\r\n\r\n", .notThisProtocol),
            ("GET / HTTP/1.1\r\nHost: a.test:80x\r\n\r\n", .notThisProtocol),
            ("GET / HTTP/1.1\r\nHost: [not-v6]\r\n\r\n", .notThisProtocol),
            ("GET / HTTP/1.1\r\nHost:\r\n\r\n", .notThisProtocol),
            ("GET / HTTP/1.1\r\n folded: x\r\nHost: a.test\r\n\r\n", .notThisProtocol),
            ("GET / HTTP/1.1\r\nBad Name: x\r\nHost: a.test\r\n\r\n", .notThisProtocol),
            ("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", .notThisProtocol),
            ("GET / HTTP/1.1\rHost: a\r\n", .notThisProtocol),
            ("get  / HTTP/1.1\r\n", .notThisProtocol),
            ("\u{16}\u{03}\u{01}", .notThisProtocol),
            ("SSH-2.0-OpenSSH_9.2\r\n", .notThisProtocol),
            ("GET /\u{7f} HTTP/1.1\r\n", .notThisProtocol),
        ])
    func forms(request: String, expected: SniffResult) {
        #expect(host(request) == expected)
    }

    @Test("Nothing decided within 8 KiB is given up")
    func bound() {
        let head = "GET / HTTP/1.1\r\nCookie: " + String(repeating: "a", count: 9000)
        #expect(HTTPRequestHost.host(in: Array(head.utf8.prefix(HTTPRequestHost.maximumLength - 1))) == .needMoreData)
        #expect(host(head) == .notThisProtocol)
        #expect(host(String(repeating: "A", count: 30)) == .notThisProtocol)
    }

    @Test("Random and mutated input never crashes (seeded)")
    func fuzz() {
        var random = SplitMix64(seed: 9112)
        let seed = ClientHelloCaptures.curlHTTP
        for iteration in 0..<3000 {
            var bytes = seed
            if iteration % 2 == 0 {
                for _ in 0..<Int.random(in: 1...6, using: &random) {
                    bytes[Int.random(in: 0..<bytes.count, using: &random)] = UInt8.random(in: 0...255, using: &random)
                }
            } else {
                bytes = (0..<Int.random(in: 0...200, using: &random)).map { _ in
                    UInt8.random(in: 0...255, using: &random)
                }
            }
            if case .found(let name) = HTTPRequestHost.host(in: bytes) { #expect(!name.isEmpty) }
        }
    }
}
