import NIOCore
import ShadowsocksCrypto
import Testing

@testable import ShadowsocksProtocol

@Suite struct TCPStreamProcessorTests {
    static let target = SocksAddress.domain("example.com", port: 443)

    static func key(_ method: CipherMethod) throws -> MasterKey {
        method.kind == .aead2022
            ? try MasterKey(method: method, rawKey: [UInt8](repeating: 0x42, count: method.keySize))
            : MasterKey(method: method, password: "carry")
    }

    /// A client's request stream to `target` carrying `plaintext`, encoded in `writes` calls.
    static func request(_ plaintext: [UInt8], key: MasterKey, writes: Int = 3) throws -> [UInt8] {
        var (encoder, _) = try ShadowsocksTCP.makeClientCodecs(key: key, target: target)
        var output = ByteBuffer()
        let step = max(1, (plaintext.count + writes - 1) / writes)
        var offset = 0
        repeat {
            var piece = ByteBuffer(bytes: plaintext[offset..<min(plaintext.count, offset + step)])
            try encoder.encode(&piece, into: &output)
            offset += step
        } while offset < plaintext.count
        return Array(output.readableBytesView)
    }

    static func reads(_ stream: [UInt8], pieces: [Int]) -> [ByteBuffer] {
        var reads: [ByteBuffer] = []
        var offset = 0
        var index = 0
        while offset < stream.count {
            let size = min(pieces[index % pieces.count], stream.count - offset)
            reads.append(ByteBuffer(bytes: stream[offset..<offset + size]))
            offset += size
            index += 1
        }
        return reads
    }

    /// What the processor hands out for these reads, with the most it ever held back.
    static func processed(
        _ reads: [ByteBuffer], key: MasterKey, maximumBufferSize: Int = 1 << 20
    ) throws -> (plaintext: [UInt8], outputs: Int, mostCarried: Int) {
        var processor = TCPStreamProcessor(
            try ShadowsocksTCP.makeServerCodecs(key: key, saltFilter: nil).decoder, maximumBufferSize: maximumBufferSize)
        var plaintext: [UInt8] = []
        var outputs = 0
        var mostCarried = 0
        for read in reads {
            try processor.process(read) {
                plaintext += $0.readableBytesView
                outputs += 1
            }
            mostCarried = max(mostCarried, processor.bufferedBytes)
        }
        try processor.finish { plaintext += $0.readableBytesView }
        return (plaintext, outputs, mostCarried)
    }

    /// The naive reference: NIO's processor, which gathers every read behind the leftover.
    static func gathered(_ reads: [ByteBuffer], key: MasterKey) throws -> [UInt8] {
        let processor = NIOSingleStepByteToMessageProcessor(
            try ShadowsocksTCP.makeServerCodecs(key: key, saltFilter: nil).decoder, maximumBufferSize: 1 << 20)
        var plaintext: [UInt8] = []
        for read in reads { try processor.process(buffer: read) { plaintext += $0.readableBytesView } }
        try processor.finishProcessing(seenEOF: true) { plaintext += $0.readableBytesView }
        return plaintext
    }

    static var addressBytes: [UInt8] {
        var buffer = ByteBuffer()
        buffer.writeSocksAddress(target)
        return Array(buffer.readableBytesView)
    }

    @Test(arguments: [CipherMethod.aes256GCM, .chacha20IETFPoly1305, .aes128CFB, .blake3AES256GCM])
    func randomSplitsMatchTheGatheringProcessor(method: CipherMethod) throws {
        let key = try Self.key(method)
        var generator = SystemRandomNumberGenerator()
        for _ in 0..<12 {
            let size = Int.random(in: 1...90_000, using: &generator)
            let plaintext = (0..<size).map { _ in UInt8.random(in: 0...255, using: &generator) }
            let stream = try Self.request(plaintext, key: key, writes: Int.random(in: 1...4, using: &generator))
            let pieces = (0..<6).map { _ in Int.random(in: 1...70_000, using: &generator) }
            let reads = Self.reads(stream, pieces: pieces)
            let result = try Self.processed(reads, key: key)
            #expect(Bool(result.plaintext == Self.addressBytes + plaintext))
            #expect(Bool(result.plaintext == (try Self.gathered(reads, key: key))))
        }
    }

    @Test(arguments: [1, 7, 1_000]) func dripFedSIP004CarriesLessThanOneChunk(read: Int) throws {
        let key = try Self.key(.aes256GCM)
        let plaintext = (0..<50_000).map { UInt8(truncatingIfNeeded: $0 &* 13) }
        let result = try Self.processed(Self.reads(try Self.request(plaintext, key: key), pieces: [read]), key: key)
        #expect(Bool(result.plaintext == Self.addressBytes + plaintext))
        #expect(result.mostCarried < AEADFraming.maximumPayload + key.method.tagSize)
    }

    @Test func wholeChunksOfOneReadComeOutAsOneBuffer() throws {
        let key = try Self.key(.aes256GCM)
        let plaintext = [UInt8](repeating: 5, count: 4 * AEADFraming.maximumPayload - Self.addressBytes.count)
        let stream = try Self.request(plaintext, key: key, writes: 1)
        var outputs: [ByteBuffer] = []
        var processor = TCPStreamProcessor(
            try ShadowsocksTCP.makeServerCodecs(key: key, saltFilter: nil).decoder, maximumBufferSize: 1 << 20)
        try processor.process(ByteBuffer(bytes: stream)) { outputs.append($0) }
        #expect(outputs.count == 1)
        #expect(outputs.first?.readableBytes == 4 * AEADFraming.maximumPayload)
        // Below 128 KiB, where glibc would map and unmap every buffer.
        #expect((outputs.first?.capacity ?? .max) <= 1 << 16)
        #expect(processor.bufferedBytes == 0)
    }

    @Test func aTamperedChunkReleasesOnlyTheChunksBeforeIt() throws {
        let key = try Self.key(.aes256GCM)
        let plaintext = [UInt8](repeating: 9, count: 3 * AEADFraming.maximumPayload)
        var stream = try Self.request(plaintext, key: key, writes: 1)
        stream[stream.count - 1] ^= 1  // the last chunk's tag
        for pieces in [[stream.count], [20_000], [1_500]] {
            var released: [UInt8] = []
            var processor = TCPStreamProcessor(
                try ShadowsocksTCP.makeServerCodecs(key: key, saltFilter: nil).decoder, maximumBufferSize: 1 << 20)
            #expect(throws: ShadowsocksProtocolError(.authenticationFailed)) {
                for read in Self.reads(stream, pieces: pieces) {
                    try processor.process(read) { released += $0.readableBytesView }
                }
            }
            // Address + plaintext is three full chunks and a 15-byte one: the three authenticated ones come out.
            #expect(released.count == 3 * AEADFraming.maximumPayload)
            #expect(Bool(released == Array((Self.addressBytes + plaintext).prefix(3 * AEADFraming.maximumPayload))))
            // The stream stays dead.
            #expect(throws: ShadowsocksProtocolError(.authenticationFailed)) {
                try processor.process(ByteBuffer(bytes: [0])) { released += $0.readableBytesView }
            }
        }
    }

    @Test func aStreamCutInsideAChunkIsTruncatedAtTheEnd() throws {
        let key = try Self.key(.chacha20IETFPoly1305)
        let stream = try Self.request([UInt8](repeating: 1, count: 30_000), key: key, writes: 1)
        for cut in [5, 32 + 10, 32 + 18, 32 + 18 + 100, stream.count - 1] {
            #expect(throws: ShadowsocksProtocolError(.truncated)) {
                _ = try Self.processed(Self.reads(Array(stream.prefix(cut)), pieces: [999]), key: key)
            }
        }
        #expect(try Self.processed(Self.reads(stream, pieces: [999]), key: key).plaintext.count > 30_000)
    }

    @Test func gatheredFramingsStayWithinTheLimit() throws {
        // SIP022 does not say its step sizes: its reads are gathered, and the limit still holds.
        let key = try Self.key(.blake3AES256GCM)
        let stream = try Self.request([UInt8](repeating: 3, count: 40_000), key: key, writes: 1)
        #expect(throws: ByteToMessageDecoderError.PayloadTooLargeError.self) {
            _ = try Self.processed(Self.reads(Array(stream.prefix(30_000)), pieces: [1_000]), key: key,
                maximumBufferSize: 8_000)
        }
    }
}
