import NIOCore
import ShadowsocksCrypto
import Testing

@testable import ShadowsocksProtocol

@Suite struct SIP022StreamCodecTests {
    static let now: UInt64 = 1_700_000_000
    static let target = SocksAddress.domain("example.com", port: 443)

    static func key(_ method: CipherMethod, fill: UInt8 = 0x42) throws -> MasterKey {
        try MasterKey(method: method, rawKey: [UInt8](repeating: fill, count: method.keySize))
    }

    /// A client's request stream: `writes` encode calls over `plaintext`.
    static func request(
        _ plaintext: [UInt8], key: MasterKey, salt: [UInt8]? = nil, timestamp: UInt64 = now, writes: Int = 1
    ) throws -> (salt: [UInt8], stream: [UInt8]) {
        var encoder = try SIP022StreamEncoder(key: key, header: .request(target), salt: salt, clock: { timestamp })
        return (encoder.streamSalt, try encode(plaintext, with: &encoder, writes: writes))
    }

    static func encode(_ plaintext: [UInt8], with encoder: inout SIP022StreamEncoder, writes: Int) throws -> [UInt8] {
        var output = ByteBuffer()
        let step = max(1, (plaintext.count + writes - 1) / writes)
        var offset = 0
        repeat {
            var piece = ByteBuffer(bytes: plaintext[offset..<min(plaintext.count, offset + step)])
            let bound = encoder.encodedSizeBound(piece.readableBytes)
            let before = output.readableBytes
            try encoder.encode(&piece, into: &output)
            #expect(output.readableBytes - before <= bound)
            #expect(piece.readableBytes == 0)
            offset += step
        } while offset < plaintext.count
        return Array(output.readableBytesView)
    }

    /// Feeds `stream` in the given piece sizes and returns all plaintext (or throws the decoder's error).
    static func decode(
        _ stream: [UInt8], with decoder: SIP022StreamDecoder, pieces: [Int] = [1 << 20]
    ) throws -> [UInt8] {
        var decoder = decoder
        var cumulation = ByteBuffer()
        var plaintext: [UInt8] = []
        var offset = 0
        var pieceIndex = 0
        while offset < stream.count {
            let size = min(pieces[pieceIndex % pieces.count], stream.count - offset)
            cumulation.writeBytes(stream[offset..<offset + size])
            offset += size
            pieceIndex += 1
            while let chunk = try decoder.decode(buffer: &cumulation) { plaintext += chunk.readableBytesView }
        }
        while let chunk = try decoder.decodeLast(buffer: &cumulation, seenEOF: true) {
            plaintext += chunk.readableBytesView
        }
        return plaintext
    }

    static func serverDecoder(
        _ key: MasterKey, filter: (any SaltFilter)? = nil, link: SIP022RequestSaltLink? = nil, now: UInt64 = now
    ) -> SIP022StreamDecoder {
        SIP022StreamDecoder(key: key, direction: .request(saltFilter: filter, link: link), clock: { now })
    }

    static func addressBytes(_ address: SocksAddress) -> [UInt8] {
        var buffer = ByteBuffer()
        buffer.writeSocksAddress(address)
        return Array(buffer.readableBytesView)
    }

    /// Seals `chunks` one after the other, as a stream of `key` starting with `salt` would carry them.
    static func sealed(_ chunks: [[UInt8]], key: MasterKey, salt: [UInt8]) throws -> [UInt8] {
        let cipher = try key.makeSIP022Cipher(salt: salt, sealing: true)
        return try chunks.reduce(salt) { $0 + (try cipher.seal($1)) }
    }

    static func bigEndian<T: FixedWidthInteger>(_ value: T) -> [UInt8] {
        withUnsafeBytes(of: value.bigEndian, Array.init)
    }

    // MARK: Round trips

    @Test(arguments: CipherMethod.aead2022Cases) func requestDripFedOneByteAtATime(method: CipherMethod) throws {
        let key = try Self.key(method)
        let payload = (0..<150_000).map { UInt8(truncatingIfNeeded: $0 &* 31) }
        let (_, stream) = try Self.request(payload, key: key, writes: 3)
        let plaintext = try Self.decode(stream, with: Self.serverDecoder(key), pieces: [1])
        #expect(plaintext == Self.addressBytes(Self.target) + payload, "request bytes differ")
    }

    @Test(arguments: CipherMethod.aead2022Cases) func responseRoundTripThroughTheFacades(method: CipherMethod) throws {
        let key = try Self.key(method)
        var (clientEncoder, clientDecoder) = try ShadowsocksTCP.makeClientCodecs(key: key, target: Self.target)
        var (serverDecoder, serverEncoder) = try ShadowsocksTCP.makeServerCodecs(key: key, saltFilter: nil)
        var request = ByteBuffer(string: "GET / HTTP/1.0\r\n\r\n")
        var wire = ByteBuffer()
        try clientEncoder.encode(&request, into: &wire)
        var received = ByteBuffer()
        while var chunk = try serverDecoder.decode(buffer: &wire) { received.writeBuffer(&chunk) }
        #expect(try received.readSocksAddress() == Self.target)
        #expect(String(buffer: received) == "GET / HTTP/1.0\r\n\r\n")

        let answer = (0..<200_000).map { UInt8(truncatingIfNeeded: $0 &* 7) }
        var response = ByteBuffer(bytes: answer)
        var back = ByteBuffer()
        try serverEncoder.encode(&response, into: &back)
        var answered: [UInt8] = []
        var cumulation = ByteBuffer()
        for byte in back.readableBytesView {  // drip-fed
            cumulation.writeInteger(byte)
            while let chunk = try clientDecoder.decode(buffer: &cumulation) { answered += chunk.readableBytesView }
        }
        #expect(answered.count == answer.count)
        #expect(answered == answer, "response bytes differ")
    }

    @Test func randomSplitsRoundTrip() throws {
        var generator = SystemRandomNumberGenerator()
        let key = try Self.key(.blake3AES128GCM)
        for _ in 0..<20 {
            let size = Int.random(in: 0...200_000, using: &generator)
            let payload = (0..<size).map { _ in UInt8.random(in: 0...255, using: &generator) }
            let (_, stream) = try Self.request(payload, key: key, writes: Int.random(in: 1...5, using: &generator))
            let pieces = (0..<8).map { _ in Int.random(in: 1...70_000, using: &generator) }
            let plaintext = try Self.decode(stream, with: Self.serverDecoder(key), pieces: pieces)
            #expect(plaintext == Self.addressBytes(Self.target) + payload, "\(size) bytes differ")
        }
    }

    // MARK: Wire layout (SIP022 3.1.2, 3.1.3), opened by hand

    @Test func requestHeaderLayout() throws {
        let key = try Self.key(.blake3AES256GCM)
        let salt = [UInt8](repeating: 9, count: 32)
        let (_, stream) = try Self.request(Array("hi".utf8), key: key, salt: salt)
        #expect(Array(stream.prefix(32)) == salt)
        let opener = try AEADCipher(
            method: .blake3AES256GCM,
            subkey: BLAKE3.deriveKey(
                context: "shadowsocks 2022 session subkey", material: key.bytes + salt, outputCount: 32),
            sealing: false)
        let fixed = try opener.open(Array(stream[32..<32 + 11 + 16]))
        let address = Self.addressBytes(Self.target)
        let variableLength = address.count + 2 + 2
        #expect(fixed == [0] + Self.bigEndian(Self.now) + Self.bigEndian(UInt16(variableLength)))
        let variable = try opener.open(Array(stream[(32 + 27)...]))
        #expect(variable == address + [0, 0] + Array("hi".utf8), "payload present: no padding")
        #expect(stream.count == 32 + 27 + variableLength + 16)
    }

    @Test func requestWithoutPayloadIsPadded() throws {
        let key = try Self.key(.blake3AES128GCM)
        var lengths = Set<Int>()
        for _ in 0..<20 {
            let (salt, stream) = try Self.request([], key: key)
            let opener = try key.makeSIP022Cipher(salt: salt, sealing: false)
            let fixed = try opener.open(Array(stream[16..<16 + 27]))
            let length = Int(fixed[9]) << 8 | Int(fixed[10])
            let variable = try opener.open(Array(stream[(16 + 27)...]))
            #expect(variable.count == length)
            let address = Self.addressBytes(Self.target)
            let padding = Int(variable[address.count]) << 8 | Int(variable[address.count + 1])
            #expect((1...900).contains(padding))
            #expect(variable.count == address.count + 2 + padding)
            lengths.insert(padding)
            #expect(try Self.decode(stream, with: Self.serverDecoder(key)) == address)
        }
        #expect(lengths.count > 1)
    }

    @Test func responseHeaderLayout() throws {
        let key = try Self.key(.blake3ChaCha20Poly1305)
        let requestSalt = [UInt8](repeating: 3, count: 32)
        let salt = [UInt8](repeating: 4, count: 32)
        var encoder = try SIP022StreamEncoder(
            key: key, header: .response(SIP022RequestSaltLink(salt: requestSalt)), salt: salt, clock: { Self.now })
        var output = ByteBuffer()
        var empty = ByteBuffer()
        try encoder.encode(&empty, into: &output)
        #expect(output.readableBytes == 0, "the response header waits for payload")
        let payload = [UInt8](repeating: 0xAB, count: 0x10000)  // one byte over a chunk
        var plaintext = ByteBuffer(bytes: payload)
        try encoder.encode(&plaintext, into: &output)
        let stream = Array(output.readableBytesView)
        let opener = try key.makeSIP022Cipher(salt: salt, sealing: false)
        let fixed = try opener.open(Array(stream[32..<32 + 43 + 16]))
        #expect(fixed == [1] + Self.bigEndian(Self.now) + requestSalt + [0xFF, 0xFF])
        var offset = 32 + 59
        #expect(try opener.open(Array(stream[offset..<offset + 0xFFFF + 16])) == Array(payload.prefix(0xFFFF)))
        offset += 0xFFFF + 16
        #expect(try opener.open(Array(stream[offset..<offset + 18])) == [0, 1])
        offset += 18
        #expect(try opener.open(Array(stream[offset...])) == [0xAB])
    }

    @Test func largestChunkIs0xFFFF() throws {
        let key = try Self.key(.blake3AES128GCM)
        var encoder = try SIP022StreamEncoder(key: key, header: .request(Self.target))
        var output = ByteBuffer()
        var first = ByteBuffer(bytes: [1])
        try encoder.encode(&first, into: &output)
        let before = output.readableBytes
        var big = ByteBuffer(bytes: [UInt8](repeating: 5, count: 2 * 0xFFFF))
        try encoder.encode(&big, into: &output)
        #expect(output.readableBytes - before == 2 * (18 + 0xFFFF + 16))
    }

    // MARK: Rejections

    @Test func timestampWindowIsThirtySeconds() throws {
        let key = try Self.key(.blake3AES128GCM)
        for skew in [-30, 30] {
            let (_, stream) = try Self.request([1], key: key, timestamp: UInt64(Int(Self.now) + skew))
            #expect(try Self.decode(stream, with: Self.serverDecoder(key)).last == 1)
        }
        for skew in [-31, 31, -100_000] {
            let filter = RecordingSaltFilter()
            let (salt, stream) = try Self.request([1], key: key, timestamp: UInt64(Int(Self.now) + skew))
            #expect(throws: ShadowsocksProtocolError(.staleTimestamp)) {
                try Self.decode(stream, with: Self.serverDecoder(key, filter: filter))
            }
            #expect(filter.admit(salt), "a stale header must not enter the salt filter")
        }
    }

    @Test func replayedSaltIsRefused() throws {
        let key = try Self.key(.blake3AES256GCM)
        let filter = RecordingSaltFilter()
        let link = SIP022RequestSaltLink()
        let (salt, stream) = try Self.request(Array("once".utf8), key: key)
        #expect(try Self.decode(stream, with: Self.serverDecoder(key, filter: filter, link: link)).count > 0)
        #expect(link.salt == salt)
        #expect(throws: ShadowsocksProtocolError(.replayedSalt)) {
            try Self.decode(stream, with: Self.serverDecoder(key, filter: filter))
        }
    }

    @Test func wrongKeyFailsAuthentication() throws {
        let (_, stream) = try Self.request([1, 2, 3], key: try Self.key(.blake3AES256GCM))
        #expect(throws: ShadowsocksProtocolError(.authenticationFailed)) {
            try Self.decode(stream, with: Self.serverDecoder(try Self.key(.blake3AES256GCM, fill: 0x43)))
        }
    }

    @Test func everyFlippedByteIsCaught() throws {
        let key = try Self.key(.blake3AES128GCM)
        let (_, stream) = try Self.request(Array(repeating: 7, count: 100), key: key)
        for index in stream.indices {
            var tampered = stream
            tampered[index] ^= 0x01
            #expect(throws: ShadowsocksProtocolError.self) {
                try Self.decode(tampered, with: Self.serverDecoder(key), pieces: [7])
            }
        }
    }

    @Test func responseMustNameOurRequestSalt() throws {
        let key = try Self.key(.blake3AES128GCM)
        var encoder = try SIP022StreamEncoder(key: key, requestSalt: [UInt8](repeating: 1, count: 16))
        var output = ByteBuffer()
        var payload = ByteBuffer(string: "x")
        try encoder.encode(&payload, into: &output)
        let ours = SIP022StreamDecoder(key: key, requestSalt: [UInt8](repeating: 1, count: 16))
        #expect(try Self.decode(Array(output.readableBytesView), with: ours) == Array("x".utf8))
        let other = SIP022StreamDecoder(key: key, requestSalt: [UInt8](repeating: 2, count: 16))
        #expect(throws: ShadowsocksProtocolError(.responseSaltMismatch)) {
            try Self.decode(Array(output.readableBytesView), with: other)
        }
    }

    @Test func headerOfTheOtherDirectionIsRefused() throws {
        let key = try Self.key(.blake3AES128GCM)
        let salt = [UInt8](repeating: 6, count: 16)
        // A response-typed header of request size: authentic, but type 1 where 0 belongs.
        let stream = try Self.sealed([[1] + Self.bigEndian(Self.now) + [0, 9]], key: key, salt: salt)
        #expect(throws: ShadowsocksProtocolError(.wrongHeaderType(1))) {
            try Self.decode(stream, with: Self.serverDecoder(key))
        }
    }

    @Test func malformedVariableHeadersAreRefused() throws {
        let key = try Self.key(.blake3AES128GCM)
        let salt = [UInt8](repeating: 8, count: 16)
        let address = Self.addressBytes(.ipv4((10, 0, 0, 1), port: 80))
        let cases: [[UInt8]] = [
            address + [0, 0],  // neither padding nor payload
            address + [0x03, 0x85] + [UInt8](repeating: 0, count: 901),  // padding over 900
            address + [0, 10] + [0, 0, 0],  // padding beyond the chunk
            Array(address.prefix(5)),  // address beyond the chunk
            [],  // empty variable header
        ]
        for variable in cases {
            let fixed = [0] + Self.bigEndian(Self.now) + Self.bigEndian(UInt16(variable.count))
            let stream = try Self.sealed([fixed, variable], key: key, salt: salt)
            #expect(throws: ShadowsocksProtocolError(.malformedHeader), "\(variable.count) bytes") {
                try Self.decode(stream, with: Self.serverDecoder(key))
            }
        }
        // The largest padding with no payload is fine.
        let variable = address + [0x03, 0x84] + [UInt8](repeating: 0, count: 900)
        let fixed = [0] + Self.bigEndian(Self.now) + Self.bigEndian(UInt16(variable.count))
        let stream = try Self.sealed([fixed, variable], key: key, salt: salt)
        #expect(try Self.decode(stream, with: Self.serverDecoder(key)) == address)
    }

    @Test func truncatedStreamsThrowAtEOF() throws {
        let key = try Self.key(.blake3AES128GCM)
        let (_, stream) = try Self.request(Array(repeating: 1, count: 100), key: key)
        for cut in [1, 16, 30, 16 + 27 + 5, stream.count - 1] {
            #expect(throws: ShadowsocksProtocolError(.truncated)) {
                try Self.decode(Array(stream.prefix(cut)), with: Self.serverDecoder(key))
            }
        }
        #expect(try Self.decode([], with: Self.serverDecoder(key)).isEmpty)
    }

    /// Random bytes, and random mutations of a valid stream, end in a typed error or nothing: no crash, no hang,
    /// no plaintext.
    @Test func fuzzedInputNeverYieldsPlaintext() throws {
        var generator = SystemRandomNumberGenerator()
        let key = try Self.key(.blake3ChaCha20Poly1305)
        let (_, valid) = try Self.request(Array(repeating: 2, count: 300), key: key)
        for round in 0..<500 {
            var stream: [UInt8]
            if round % 2 == 0 {
                stream = (0..<Int.random(in: 0...400, using: &generator)).map { _ in UInt8.random(in: 0...255) }
            } else {
                stream = valid
                for _ in 0..<Int.random(in: 1...4, using: &generator) {
                    stream[Int.random(in: 0..<stream.count, using: &generator)] = UInt8.random(in: 0...255)
                }
                if stream == valid { continue }
            }
            do {
                let plaintext = try Self.decode(stream, with: Self.serverDecoder(key), pieces: [Int.random(in: 1...64)])
                #expect(plaintext.isEmpty)
            } catch is ShadowsocksProtocolError {
            }
        }
    }

    @Test func legacyInitialisersRefuseOrDecodeRequests() throws {
        let key = try Self.key(.blake3AES128GCM)
        #expect(throws: CryptoError.self) { try ShadowsocksTCPEncoder(key: key) }
        let (_, stream) = try Self.request([7], key: key, timestamp: SIP022Framing.currentTime())
        var decoder = ShadowsocksTCPDecoder(key: key)
        var buffer = ByteBuffer(bytes: stream)
        let first = try #require(try decoder.decode(buffer: &buffer))
        #expect(Array(first.readableBytesView) == Self.addressBytes(Self.target) + [7])
    }

    @Test func responseBeforeRequestIsAnError() throws {
        var (_, encoder) = try ShadowsocksTCP.makeServerCodecs(key: try Self.key(.blake3AES128GCM), saltFilter: nil)
        var payload = ByteBuffer(string: "early")
        var output = ByteBuffer()
        #expect(throws: ShadowsocksProtocolError(.responseBeforeRequest)) {
            try encoder.encode(&payload, into: &output)
        }
    }
}
