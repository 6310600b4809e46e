import Testing
import SeededRandom

@testable import Rules

@Suite("TLS ClientHello server_name sniffer") struct TLSClientHelloTests {
    static let captures: [(String, [UInt8], String)] = [
        ("openssl TLS 1.3", ClientHelloCaptures.openSSL, "example.test"),
        ("curl", ClientHelloCaptures.curl, "www.example.test"),
        ("openssl TLS 1.2", ClientHelloCaptures.tls12, "legacy.example.test"),
    ]

    @Test("Captured ClientHellos give their server name")
    func captured() {
        for (label, bytes, name) in Self.captures {
            #expect(TLSClientHello.serverName(in: bytes) == .found(name), "\(label)")
            // Bytes after the ClientHello (the client's next record) change nothing.
            #expect(TLSClientHello.serverName(in: bytes + [0x14, 0x03, 0x03, 0x00, 0x01, 0x01]) == .found(name))
        }
    }

    @Test("Every proper prefix needs more data (drip-fed one byte at a time)")
    func dripFed() {
        for (label, bytes, _) in Self.captures {
            for count in 0..<bytes.count where TLSClientHello.serverName(in: bytes[0..<count]) != .needMoreData {
                Issue.record(
                    "\(label): prefix of \(count) bytes gave \(TLSClientHello.serverName(in: bytes[0..<count]))")
                break
            }
        }
    }

    /// The handshake message re-framed into records of `size` bytes (RFC 8446 5.1 allows any split).
    func fragmented(_ hello: [UInt8], size: Int) -> [UInt8] {
        let handshake = hello[5...]
        var result: [UInt8] = []
        var start = handshake.startIndex
        while start < handshake.endIndex {
            let end = min(start + size, handshake.endIndex)
            result +=
                [0x16, 0x03, 0x01, UInt8((end - start) >> 8), UInt8((end - start) & 0xff)] + handshake[start..<end]
            start = end
        }
        return result
    }

    @Test("A ClientHello split over several records is joined", arguments: [1, 3, 4, 100, 300])
    func multipleRecords(size: Int) {
        let bytes = fragmented(ClientHelloCaptures.openSSL, size: size)
        #expect(TLSClientHello.serverName(in: bytes) == .found("example.test"))
        for count in stride(from: 0, to: bytes.count, by: 7) {
            #expect(TLSClientHello.serverName(in: bytes[0..<count]) == .needMoreData)
        }
    }

    @Test("Not TLS, or TLS without a usable name, is notThisProtocol")
    func notThisProtocol() {
        #expect(TLSClientHello.serverName(in: ClientHelloCaptures.noServerName) == .notThisProtocol)
        #expect(TLSClientHello.serverName(in: ClientHelloCaptures.curlHTTP) == .notThisProtocol)
        #expect(TLSClientHello.serverName(in: Array("SSH-2.0-OpenSSH_9.2\r\n".utf8)) == .notThisProtocol)
        #expect(TLSClientHello.serverName(in: [0x16, 0x02]) == .notThisProtocol)
        #expect(TLSClientHello.serverName(in: [0x16, 0x03, 0x05]) == .notThisProtocol)
        // A record over 2^14 bytes, a zero-length record, a ServerHello (type 2).
        #expect(TLSClientHello.serverName(in: [0x16, 0x03, 0x01, 0x41]) == .notThisProtocol)
        #expect(TLSClientHello.serverName(in: [0x16, 0x03, 0x01, 0x00, 0x00]) == .notThisProtocol)
        #expect(TLSClientHello.serverName(in: [0x16, 0x03, 0x03, 0x00, 0x10, 0x02]) == .notThisProtocol)
        // An alert record after a partial handshake.
        let split = fragmented(ClientHelloCaptures.openSSL, size: 100)
        #expect(
            TLSClientHello.serverName(in: split[0..<105] + [0x15, 0x03, 0x03, 0x00, 0x02, 0x02, 0x28])
                == .notThisProtocol)
    }

    @Test("Inconsistent lengths inside the ClientHello are rejected")
    func badLengths() {
        let hello = ClientHelloCaptures.openSSL
        // Offsets in the openssl capture: 5 record header + 4 handshake header + 2 + 32 random = 43 (session id).
        var longSessionID = hello
        longSessionID[43] = 33
        #expect(TLSClientHello.serverName(in: longSessionID) == .notThisProtocol)
        // The server_name list length (2 bytes after the extension header) one too long.
        let sni = indexOfServerNameExtension(hello)
        var badList = hello
        badList[sni + 5] &+= 1
        #expect(TLSClientHello.serverName(in: badList) == .notThisProtocol)
        // A host name with a trailing dot, or a character a name cannot hold.
        var trailingDot = hello
        trailingDot[sni + 9 + 11] = UInt8(ascii: ".")
        #expect(TLSClientHello.serverName(in: trailingDot) == .notThisProtocol)
        var space = hello
        space[sni + 9 + 3] = UInt8(ascii: " ")
        #expect(TLSClientHello.serverName(in: space) == .notThisProtocol)
        // The handshake length one byte short of the record: the extensions no longer fill the body.
        var shortHandshake = hello
        shortHandshake[8] -= 1
        #expect(TLSClientHello.serverName(in: shortHandshake) == .notThisProtocol)
    }

    /// Offset of the server_name extension's type field in the openssl capture.
    func indexOfServerNameExtension(_ hello: [UInt8]) -> Int {
        let name = Array("example.test".utf8)
        let at = (0...(hello.count - name.count)).first { Array(hello[$0..<($0 + name.count)]) == name }!
        return at - 9
    }

    @Test("Random and mutated input never crashes and gives a defined answer (seeded)")
    func fuzz() {
        var random = SplitMix64(seed: 1305)
        let seeds = Self.captures.map(\.1) + [fragmented(ClientHelloCaptures.curl, size: 77)]
        for iteration in 0..<4000 {
            var bytes = seeds[iteration % seeds.count]
            switch iteration % 4 {
            case 0:
                for _ in 0..<Int.random(in: 1...8, using: &random) {
                    bytes[Int.random(in: 0..<bytes.count, using: &random)] = UInt8.random(in: 0...255, using: &random)
                }
            case 1: bytes = Array(bytes.prefix(Int.random(in: 0...bytes.count, using: &random)))
            case 2:
                bytes = (0..<Int.random(in: 0...600, using: &random)).map { _ in
                    UInt8.random(in: 0...255, using: &random)
                }
            default:
                // Keep the headers, scramble one length field's high byte.
                let index = Int.random(in: 3..<min(120, bytes.count), using: &random)
                bytes[index] ^= 0xff
            }
            switch TLSClientHello.serverName(in: bytes) {
            case .found(let name): #expect(!name.isEmpty && name.utf8.count <= 253)
            case .needMoreData, .notThisProtocol: break
            }
        }
    }
}

extension TLSClientHelloTests {
    @Test("More handshake records than the sniffer follows is notThisProtocol, not a long scan")
    func tooManyRecords() {
        // A ClientHello header announcing 2000 bytes, then one byte per record.
        var bytes: [UInt8] = [0x16, 0x03, 0x01, 0x00, 0x04, 0x01, 0x00, 0x07, 0xd0]
        for _ in 0..<TLSClientHello.maximumRecords { bytes += [0x16, 0x03, 0x01, 0x00, 0x01, 0x00] }
        #expect(TLSClientHello.serverName(in: bytes) == .notThisProtocol)
        #expect(TLSClientHello.serverName(in: bytes.dropLast(6 * 10)) == .needMoreData)
    }
}
