import Foundation
import NIOCore
import ShadowsocksCrypto
import ShadowsocksProtocol
import Testing

@testable import ShadowsocksServer

/// The TCP stream decoders of every method kind, fed hostile streams whole and drip-fed: each input ends in
/// output or a `ShadowsocksProtocolError`, never a trap, a hang or another error type, and how the bytes were
/// split never changes the outcome.
@Suite("Fuzz: TCP stream decoders", .timeLimit(FuzzBudget.timeLimit))
struct TCPStreamDecoderFuzzTests {
    static let methods: [CipherMethod] = [.aes128GCM, .chacha20IETFPoly1305, .aes256GCM]
    static let streamMethods: [CipherMethod] = [.aes256CFB, .chacha20IETF, .rc4MD5]
    static let sip022Methods: [CipherMethod] = [.blake3AES128GCM, .blake3AES256GCM, .blake3ChaCha20Poly1305]

    /// What a server made of one request stream.
    struct ServerOutcome: Equatable {
        var target: SocksAddress?
        var payload: [UInt8] = []
        var error: ShadowsocksProtocolError?
    }

    static func key(_ method: CipherMethod) throws -> MasterKey {
        method.kind == .aead2022
            ? try MasterKey(method: method, rawKey: [UInt8](repeating: 0x42, count: method.keySize))
            : MasterKey(method: method, password: "fuzz")
    }

    /// The server's request decoder over `pieces`, then EOF.
    static func serverDecode(_ key: MasterKey, _ pieces: [[UInt8]]) -> ServerOutcome {
        var decoder = ServerStreamDecoder(key: key, saltFilter: nil)
        var outcome = ServerOutcome()
        let emit: (ServerStreamDecoder.Output) -> Void = { output in
            switch output {
            case .target(let address):
                #expect(outcome.target == nil, "a second target")
                outcome.target = address
            case .payload(let buffer): outcome.payload += buffer.readableBytesView
            }
        }
        do {
            for piece in pieces { try decoder.process(ByteBuffer(bytes: piece), emit) }
            try decoder.finish(emit)
        } catch let error as ShadowsocksProtocolError {
            outcome.error = error
        } catch {
            Issue.record("untyped error \(error) (\(type(of: error)))")
        }
        return outcome
    }

    /// A client's response decoder over `pieces`, then EOF: the plaintext and the error that ended it.
    static func clientDecode(
        _ decoder: ShadowsocksTCPDecoder, _ pieces: [[UInt8]]
    ) -> (plaintext: [UInt8], error: ShadowsocksProtocolError?) {
        var decoder = decoder
        var buffer = ByteBuffer()
        var plaintext: [UInt8] = []
        var outputs = 0
        do {
            for piece in pieces {
                buffer.writeBytes(piece)
                while let output = try decoder.decode(buffer: &buffer) {
                    plaintext += output.readableBytesView
                    outputs += 1
                    // More outputs than input bytes means the decoder is not consuming: a hang in the relay.
                    guard outputs <= pieces.reduce(0, { $0 + $1.count }) + 1 else {
                        Issue.record("decoder keeps producing without consuming")
                        return (plaintext, nil)
                    }
                }
            }
            while let output = try decoder.decodeLast(buffer: &buffer, seenEOF: true) {
                plaintext += output.readableBytesView
                outputs += 1
                guard outputs <= pieces.reduce(0, { $0 + $1.count }) + 2 else {
                    Issue.record("decodeLast keeps producing")
                    return (plaintext, nil)
                }
            }
            return (plaintext, nil)
        } catch let error as ShadowsocksProtocolError {
            return (plaintext, error)
        } catch {
            Issue.record("untyped error \(error) (\(type(of: error)))")
            return (plaintext, nil)
        }
    }

    /// How the bytes were split never decides whether a stream is accepted, nor what an accepted one yields. (Which
    /// error ends a refused stream may differ: fed whole, a bad later chunk is found before the first chunk's
    /// address is parsed.)
    static func expectSameOutcome(_ whole: ServerOutcome, _ split: ServerOutcome, _ context: String) {
        #expect((whole.error == nil) == (split.error == nil), "split changed acceptance (\(context))")
        if whole.error == nil && split.error == nil {
            #expect(whole == split, "split changed the output (\(context))")
        }
    }

    /// Runs `count` hostile request streams for `method` through the server's decoder, whole and split.
    static func fuzzRequests(
        _ method: CipherMethod, seed: UInt64, count: Int, build: (inout StreamFrames) throws -> [UInt8]
    ) throws -> FuzzTally {
        let key = try key(method)
        var frames = StreamFrames(key: key, random: FuzzRandom(seed: FuzzBudget.seed(seed)))
        var tally = FuzzTally()
        for _ in 0..<count {
            var bytes = try build(&frames)
            if frames.random.chance(1, in: 3) { Mutator.mutate(&bytes, &frames.random) }
            let whole = serverDecode(key, [bytes])
            let split = serverDecode(key, randomSplits(bytes, &frames.random))
            Self.expectSameOutcome(whole, split, "\(method.name), \(bytes.count) bytes")
            if whole.error == nil { tally.accepted += 1 } else { tally.rejected += 1 }
            if whole.error == nil, whole.target == nil {
                // Accepted without a target only when the stream ended before the address did.
                #expect(whole.payload.isEmpty)
            }
        }
        return tally
    }

    @Test("SIP004 AEAD request streams: authentic hostile lengths and addresses, mutated ciphertext", arguments: methods)
    func aeadRequests(method: CipherMethod) throws {
        let tally = try Self.fuzzRequests(method, seed: 0xAEAD_0001, count: FuzzBudget.iterations(1_500)) {
            try $0.sip004Stream()
        }
        #expect(tally.accepted > tally.total / 50 && tally.rejected > tally.total / 50, "\(tally)")
        FuzzReport.record("TCP SIP004 decoder (\(method.name))", tally)
    }

    @Test("Stream-cipher request streams: hostile addresses, mutated ciphertext", arguments: streamMethods)
    func streamCipherRequests(method: CipherMethod) throws {
        let tally = try Self.fuzzRequests(method, seed: 0x5743_0001, count: FuzzBudget.iterations(1_500)) {
            try $0.streamCipherStream()
        }
        #expect(tally.accepted > tally.total / 50 && tally.rejected > tally.total / 50, "\(tally)")
        FuzzReport.record("TCP stream-cipher decoder (\(method.name))", tally)
    }

    @Test("SIP022 request streams: hostile header types, timestamps, lengths, padding, addresses", arguments: sip022Methods)
    func sip022Requests(method: CipherMethod) throws {
        let now = UInt64(Date().timeIntervalSince1970)
        let tally = try Self.fuzzRequests(method, seed: 0x2022_0001, count: FuzzBudget.iterations(1_500)) {
            try $0.sip022Request(now: now)
        }
        #expect(tally.accepted > tally.total / 50 && tally.rejected > tally.total / 50, "\(tally)")
        FuzzReport.record("TCP SIP022 request header decoder (\(method.name))", tally)
    }

    @Test("SIP022 response streams: hostile header types, timestamps, request salts, lengths", arguments: sip022Methods)
    func sip022Responses(method: CipherMethod) throws {
        let key = try Self.key(method)
        let now = UInt64(Date().timeIntervalSince1970)
        var frames = StreamFrames(key: key, random: FuzzRandom(seed: FuzzBudget.seed(0x2022_0002)))
        var tally = FuzzTally()
        for _ in 0..<FuzzBudget.iterations(1_500) {
            let codecs = try ShadowsocksTCP.makeClientCodecs(key: key, target: .domain("example.com", port: 443))
            var encoder = codecs.encoder
            var request = ByteBuffer(bytes: [1])
            var wire = ByteBuffer()
            try encoder.encode(&request, into: &wire)
            let requestSalt = Array(wire.readableBytesView.prefix(method.saltSize))
            var bytes = try frames.sip022Response(requestSalt: requestSalt, now: now)
            if frames.random.chance(1, in: 3) { Mutator.mutate(&bytes, &frames.random) }
            let whole = Self.clientDecode(codecs.decoder, [bytes])
            let split = Self.clientDecode(codecs.decoder, randomSplits(bytes, &frames.random))
            #expect((whole.error == nil) == (split.error == nil))
            if whole.error == nil { #expect(whole.plaintext == split.plaintext) }
            if whole.error == nil { tally.accepted += 1 } else { tally.rejected += 1 }
        }
        #expect(tally.accepted > tally.total / 50 && tally.rejected > tally.total / 50, "\(tally)")
        FuzzReport.record("TCP SIP022 response header decoder (\(method.name))", tally)
    }

    @Test("Random bytes as a stream of every method kind: a typed error or a wait, never a trap")
    func randomBytes() throws {
        var random = FuzzRandom(seed: FuzzBudget.seed(0xB17E_0001))
        var tally = FuzzTally()
        for method in Self.methods + Self.streamMethods + Self.sip022Methods {
            let key = try Self.key(method)
            for _ in 0..<FuzzBudget.iterations(300) {
                let bytes = random.bytes(random.below(600))
                let whole = Self.serverDecode(key, [bytes])
                let split = Self.serverDecode(key, randomSplits(bytes, &random))
                Self.expectSameOutcome(whole, split, "\(method.name), random")
                if whole.error == nil { tally.accepted += 1 } else { tally.rejected += 1 }
            }
        }
        FuzzReport.record("TCP decoders, random bytes (9 methods)", tally)
    }
}
