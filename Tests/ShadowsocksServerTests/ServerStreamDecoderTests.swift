import NIOCore
import ShadowsocksCrypto
import ShadowsocksProtocol
import Testing

@testable import ShadowsocksServer

@Suite struct ServerStreamDecoderTests {
    let key = MasterKey(method: .aes256GCM, password: "server-stream")

    /// What a client sends: each element of `writes` encrypted as it would be written (one chunk each).
    func ciphertext(_ writes: [[UInt8]], key: MasterKey? = nil) throws -> [UInt8] {
        var encoder = try ShadowsocksTCPEncoder(key: key ?? self.key)
        var wire = ByteBuffer()
        for write in writes {
            var plaintext = ByteBuffer(bytes: write)
            try encoder.encode(&plaintext, into: &wire)
        }
        return Array(wire.readableBytesView)
    }

    func header(_ address: SocksAddress) -> [UInt8] {
        var buffer = ByteBuffer()
        buffer.writeSocksAddress(address)
        return Array(buffer.readableBytesView)
    }

    /// Feeds `wire` in pieces of the given sizes (cycled); returns the target(s) and the joined payload.
    func decode(
        _ wire: [UInt8], pieces: [Int], filter: PingPongBloomFilter? = nil
    ) throws -> (targets: [SocksAddress], payload: [UInt8]) {
        var decoder = ServerStreamDecoder(key: key, saltFilter: filter)
        var targets: [SocksAddress] = []
        var payload: [UInt8] = []
        let collect: (ServerStreamDecoder.Output) -> Void = { output in
            switch output {
            case .target(let address): targets.append(address)
            case .payload(let buffer): payload += buffer.readableBytesView
            }
        }
        var offset = 0
        var turn = 0
        while offset < wire.count {
            let size = min(pieces[turn % pieces.count], wire.count - offset)
            try decoder.process(ByteBuffer(bytes: wire[offset..<offset + size]), collect)
            offset += size
            turn += 1
        }
        try decoder.finish(collect)
        return (targets, payload)
    }

    static let addresses: [SocksAddress] = [
        .ipv4((192, 0, 2, 7), port: 80),
        .ipv6([0x20, 0x01, 0x0d, 0xb8] + [UInt8](repeating: 0, count: 11) + [1], port: 8443),
        .domain("example.com", port: 443),
        .domain(String(repeating: "a", count: 255), port: 65535),
    ]

    @Test("Byte-at-a-time feeding gives the target once, then the payload", arguments: addresses)
    func dripFed(_ address: SocksAddress) throws {
        let wire = try ciphertext([header(address) + Array("GET / HTTP/1.1\r\n\r\n".utf8), Array("more".utf8)])
        let result = try decode(wire, pieces: [1])
        #expect(result.targets == [address])
        #expect(String(decoding: result.payload, as: UTF8.self) == "GET / HTTP/1.1\r\n\r\nmore")
    }

    @Test("An address split over several chunks is still read (ss-libev clients may send it alone)")
    func addressAcrossChunks() throws {
        let address = SocksAddress.domain("split.example", port: 8080)
        let bytes = header(address)
        let wire = try ciphertext([Array(bytes[..<1]), Array(bytes[1..<5]), Array(bytes[5...]), Array("x".utf8)])
        for pieces in [[1], [7, 3], [wire.count]] {
            let result = try decode(wire, pieces: pieces)
            #expect(result.targets == [address])
            #expect(result.payload == Array("x".utf8))
        }
    }

    @Test("Random splits agree with feeding everything at once")
    func randomSplitsAgree() throws {
        for _ in 0..<50 {
            let address = Self.addresses.randomElement()!
            let body = (0..<Int.random(in: 0..<40_000)).map { _ in UInt8.random(in: 0...255) }
            let writes =
                [header(address)]
                + stride(from: 0, to: body.count, by: 9000).map {
                    Array(body[$0..<min($0 + 9000, body.count)])
                }
            let wire = try ciphertext(writes)
            let whole = try decode(wire, pieces: [wire.count])
            let split = try decode(wire, pieces: (0..<5).map { _ in Int.random(in: 1...3000) })
            #expect(whole.targets == [address] && split.targets == [address])
            #expect(whole.payload == body && split.payload == body)
        }
    }

    @Test func wrongKeyFailsAuthenticationWithNothingOut() throws {
        let other = MasterKey(method: .aes256GCM, password: "not-it")
        let wire = try ciphertext([header(.domain("example.com", port: 80)) + [1, 2, 3]], key: other)
        #expect(throws: ShadowsocksProtocolError(.authenticationFailed)) { try decode(wire, pieces: [5]) }
    }

    @Test func replayedStreamIsRefusedByTheSharedFilter() throws {
        let filter = PingPongBloomFilter(capacity: 1000)
        let wire = try ciphertext([header(.ipv4((198, 51, 100, 1), port: 22)) + [0x53, 0x53, 0x48]])
        let first = try decode(wire, pieces: [wire.count], filter: filter)
        #expect(first.targets.count == 1)
        #expect(throws: ShadowsocksProtocolError(.replayedSalt)) { try decode(wire, pieces: [3], filter: filter) }
    }

    @Test func unknownAddressTypeIsATypedError() throws {
        let wire = try ciphertext([[0x05, 1, 2, 3, 4, 0, 80]])
        #expect(throws: ShadowsocksProtocolError(.unknownAddressType(5))) { try decode(wire, pieces: [1]) }
    }

    @Test func emptyDomainIsATypedError() throws {
        let wire = try ciphertext([[0x03, 0, 0, 80]])
        #expect(throws: ShadowsocksProtocolError(.emptyDomain)) { try decode(wire, pieces: [4]) }
    }

    @Test func streamEndingInsideAChunkIsTruncated() throws {
        let wire = try ciphertext([header(.domain("example.com", port: 80)) + Array(repeating: 7, count: 100)])
        #expect(throws: ShadowsocksProtocolError(.truncated)) { try decode(Array(wire.dropLast(5)), pieces: [64]) }
    }

    @Test func streamWithoutACompleteAddressGivesNoTarget() throws {
        let bytes = header(.domain("example.com", port: 80))
        let wire = try ciphertext([Array(bytes.prefix(6))])
        let result = try decode(wire, pieces: [1])
        #expect(result.targets.isEmpty && result.payload.isEmpty)
    }
}
