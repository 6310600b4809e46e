import Foundation
import NIOCore
import ShadowsocksCrypto
import Testing

@testable import ShadowsocksProtocol

/// The UDP packet codecs (SIP004 AEAD, legacy stream, SIP022 client and server sides), given authentic packets
/// with hostile plaintext and mutated ciphertext: a value or a `ShadowsocksProtocolError`, never a trap; and
/// whatever address they accept can be written back (a relay echoes it as the reply's source).
@Suite("Fuzz: UDP packet codecs", .timeLimit(FuzzBudget.timeLimit))
struct UDPPacketFuzzTests {
    enum Side { case client, server }

    /// Opens `bytes`, checks the outcome is typed, and re-encodes an accepted address.
    static func open(_ bytes: [UInt8], tally: inout FuzzTally, _ opener: (ByteBuffer) throws -> SocksAddress) {
        do {
            let address = try opener(ByteBuffer(bytes: bytes))
            var echo = ByteBuffer()
            #expect(echo.writeSocksAddress(address) == address.encodedLength)
            #expect(address.encodedLength <= 1 + 1 + 255 + 2)
            tally.accepted += 1
        } catch is ShadowsocksProtocolError {
            tally.rejected += 1
        } catch {
            Issue.record("untyped error \(error) (\(type(of: error)))")
        }
    }

    /// Address + payload plaintext, mostly authentic-looking.
    static func plaintext(_ frames: inout StreamFrames) -> [UInt8] {
        frames.addressBytes() + frames.random.bytes(frames.random.below(200))
    }

    @Test("SIP004 AEAD packets", arguments: [CipherMethod.aes128GCM, .chacha20IETFPoly1305])
    func aeadPackets(method: CipherMethod) throws {
        let key = MasterKey(method: method, password: "fuzz")
        let codec = try AEADPacketCodec(key: key)
        var frames = StreamFrames(key: key, random: FuzzRandom(seed: FuzzBudget.seed(0x0DB0_0001)))
        var tally = FuzzTally()
        for _ in 0..<FuzzBudget.iterations(3_000) {
            let salt = frames.random.bytes(method.saltSize)
            var bytes = salt + (try key.makeAEADCipher(salt: salt, sealing: true).seal(Self.plaintext(&frames)))
            if frames.random.chance(1, in: 3) { Mutator.mutate(&bytes, &frames.random) }
            Self.open(bytes, tally: &tally) { try codec.open($0).address }
        }
        #expect(tally.accepted > tally.total / 10 && tally.rejected > tally.total / 10, "\(tally)")
        FuzzReport.record("UDP SIP004 codec (\(method.name))", tally)
    }

    @Test("Stream-cipher packets", arguments: [CipherMethod.aes256CFB, .chacha20IETF])
    func streamPackets(method: CipherMethod) throws {
        let key = MasterKey(method: method, password: "fuzz")
        let codec = try StreamPacketCodec(key: key)
        var frames = StreamFrames(key: key, random: FuzzRandom(seed: FuzzBudget.seed(0x0DB0_0002)))
        var tally = FuzzTally()
        for _ in 0..<FuzzBudget.iterations(3_000) {
            let iv = frames.random.bytes(method.ivSize)
            var bytes = iv + (try key.makeStreamCipher(iv: iv, encrypting: true).update(Self.plaintext(&frames)))
            if frames.random.chance(1, in: 3) { Mutator.mutate(&bytes, &frames.random) }
            Self.open(bytes, tally: &tally) { try codec.open($0).address }
        }
        #expect(tally.accepted > tally.total / 10 && tally.rejected > tally.total / 10, "\(tally)")
        FuzzReport.record("UDP stream-cipher codec (\(method.name))", tally)
    }

    /// A SIP022 body with hostile type, timestamp, session id, padding and address, as `side` would receive it.
    static func sip022Body(_ frames: inout StreamFrames, receivedBy side: Side, clientSession: UInt64, now: UInt64)
        -> [UInt8]
    {
        var body: [UInt8] = [frames.random.chance(9, in: 10) ? (side == .server ? 0 : 1) : frames.random.byte()]
        let skew = frames.random.chance(4, in: 5) ? UInt64(frames.random.below(61)) &- 30 : frames.random.next()
        body += withUnsafeBytes(of: (now &+ skew).bigEndian, Array.init)
        if side == .client {
            let id = frames.random.chance(9, in: 10) ? clientSession : frames.random.next()
            body += withUnsafeBytes(of: id.bigEndian, Array.init)
        }
        let padding = frames.random.below(frames.random.chance(1, in: 5) ? 2_000 : 20)
        let field = frames.random.chance(9, in: 10) ? UInt16(padding) : UInt16(truncatingIfNeeded: frames.random.next())
        body += [UInt8(field >> 8), UInt8(field & 0xFF)] + [UInt8](repeating: 0, count: padding)
        return body + plaintext(&frames)
    }

    @Test("SIP022 packets, both sides", arguments: [CipherMethod.blake3AES128GCM, .blake3ChaCha20Poly1305])
    func sip022Packets(method: CipherMethod) throws {
        let key = try MasterKey(method: method, rawKey: [UInt8](repeating: 0x24, count: method.keySize))
        let sealer = try SIP022PacketCipher(key: key)
        let now = UInt64(Date().timeIntervalSince1970)
        var frames = StreamFrames(key: key, random: FuzzRandom(seed: FuzzBudget.seed(0x0DB0_2022)))
        var tally = FuzzTally()
        let server = try SIP022ServerPacketCodec(key: key)
        for round in 0..<FuzzBudget.iterations(3_000) {
            let client = try SIP022ClientPacketCodec(key: key)
            let side: Side = round % 2 == 0 ? .server : .client
            let body = Self.sip022Body(&frames, receivedBy: side, clientSession: client.sessionID, now: now)
            var sealed = ByteBuffer()
            try sealer.seal(
                sessionID: frames.random.next(), packetID: UInt64(frames.random.below(4)), body: body, into: &sealed)
            var bytes = Array(sealed.readableBytesView)
            if frames.random.chance(1, in: 3) { Mutator.mutate(&bytes, &frames.random) }
            switch side {
            case .server: Self.open(bytes, tally: &tally) { try server.open($0).target }
            case .client: Self.open(bytes, tally: &tally) { try client.open($0).address }
            }
        }
        #expect(tally.accepted > tally.total / 10 && tally.rejected > tally.total / 10, "\(tally)")
        FuzzReport.record("UDP SIP022 codecs (\(method.name))", tally)
    }

    @Test("Random datagrams for every codec")
    func randomDatagrams() throws {
        var random = FuzzRandom(seed: FuzzBudget.seed(0x0DB0_0003))
        let aead = try AEADPacketCodec(key: MasterKey(method: .aes256GCM, password: "fuzz"))
        let stream = try StreamPacketCodec(key: MasterKey(method: .aes128CTR, password: "fuzz"))
        let psk = try MasterKey(method: .blake3AES256GCM, rawKey: [UInt8](repeating: 7, count: 32))
        let server = try SIP022ServerPacketCodec(key: psk)
        let client = try SIP022ClientPacketCodec(key: psk)
        var tally = FuzzTally()
        for _ in 0..<FuzzBudget.iterations(3_000) {
            let bytes = random.bytes(random.below(300))
            Self.open(bytes, tally: &tally) { try aead.open($0).address }
            Self.open(bytes, tally: &tally) { try stream.open($0).address }
            Self.open(bytes, tally: &tally) { try server.open($0).target }
            Self.open(bytes, tally: &tally) { try client.open($0).address }
        }
        FuzzReport.record("UDP codecs, random datagrams (4 codecs)", tally)
    }
}
