import NIOCore
import ShadowsocksCrypto
import Testing

@testable import ShadowsocksProtocol

@Suite struct SIP022PacketCodecTests {
    static let now: UInt64 = 1_700_000_000
    static let target = SocksAddress.ipv4((192, 0, 2, 7), port: 53)

    static func key(_ method: CipherMethod, fill: UInt8 = 0x24) throws -> MasterKey {
        try MasterKey(method: method, rawKey: [UInt8](repeating: fill, count: method.keySize))
    }

    static func client(_ key: MasterKey, at time: UInt64 = now) throws -> SIP022ClientPacketCodec {
        try SIP022ClientPacketCodec(key: key, sessionID: 0x0102_0304_0506_0708, clock: { time })
    }

    static func server(_ key: MasterKey, at time: UInt64 = now) throws -> SIP022ServerPacketCodec {
        try SIP022ServerPacketCodec(key: key, clock: { time })
    }

    static func sealed(_ codec: SIP022ClientPacketCodec, _ payload: String) throws -> ByteBuffer {
        var out = ByteBuffer()
        try codec.seal(target: target, payload: ByteBuffer(string: payload), into: &out)
        #expect(out.readableBytes == codec.sealedSize(target: target, payloadCount: payload.utf8.count))
        return out
    }

    @Test(arguments: CipherMethod.aead2022Cases) func roundTripWithSessionsAndReplays(method: CipherMethod) throws {
        let key = try Self.key(method)
        let client = try Self.client(key)
        let server = try Self.server(key)
        var sessions: [UInt64: SIP022ServerSession] = [:]
        for index in 0..<5 {
            let packet = try Self.sealed(client, "query \(index)")
            let request = try server.open(packet)
            #expect(request.sessionID == client.sessionID && request.packetID == UInt64(index))
            #expect(request.target == Self.target && String(buffer: request.payload) == "query \(index)")
            var session = sessions[request.sessionID] ?? SIP022ServerSession(clientSessionID: request.sessionID)
            let first = session.admit(packetID: request.packetID)
            let again = session.admit(packetID: request.packetID)
            #expect(first)
            #expect(!again, "the same packet again is a replay")

            var reply = ByteBuffer()
            try server.seal(source: Self.target, payload: ByteBuffer(string: "answer \(index)"), session: &session,
                into: &reply)
            #expect(reply.readableBytes == server.sealedSize(source: Self.target, payloadCount: "answer \(index)".utf8.count))
            sessions[request.sessionID] = session
            let (source, payload) = try client.open(reply)
            #expect(source == Self.target && String(buffer: payload) == "answer \(index)")
            #expect(throws: ShadowsocksProtocolError(.replayedPacket)) { try client.open(reply) }
        }
    }

    @Test func aesSeparateHeaderLayout() throws {
        let key = try Self.key(.blake3AES256GCM)
        let client = try Self.client(key)
        _ = try Self.sealed(client, "a")
        let packet = Array(try Self.sealed(client, "b").readableBytesView)
        let header = try AESBlockCipher(key: key.bytes, encrypting: false).process(Array(packet[..<16]))
        #expect(header == hex("0102030405060708") + [0, 0, 0, 0, 0, 0, 0, 1], "session id, then packet id 1")
        let cipher = try key.makeSIP022SessionCipher(sessionID: 0x0102_0304_0506_0708, sealing: false)
        let body = try cipher.open(Array(packet[16...]), nonce: Array(header[4...]))
        var addressBytes = ByteBuffer()
        addressBytes.writeSocksAddress(Self.target)
        #expect(body == [0] + withUnsafeBytes(of: Self.now.bigEndian, Array.init) + [0, 0]
            + Array(addressBytes.readableBytesView) + Array("b".utf8))
    }

    @Test func chachaPacketsCarryTheirNonce() throws {
        let key = try Self.key(.blake3ChaCha20Poly1305)
        let client = try Self.client(key)
        let packet = Array(try Self.sealed(client, "xyz").readableBytesView)
        let body = try XChaCha20Poly1305(key: key.bytes).open(nonce: Array(packet[..<24]), Array(packet[24...]))
        #expect(Array(body[..<16]) == hex("0102030405060708") + [UInt8](repeating: 0, count: 8))
        #expect(body[16] == 0, "client packet type")
    }

    @Test(arguments: CipherMethod.aead2022Cases) func rejections(method: CipherMethod) throws {
        let key = try Self.key(method)
        let packet = try Self.sealed(try Self.client(key), "x")
        #expect(throws: ShadowsocksProtocolError(.authenticationFailed)) {
            try Self.server(try Self.key(method, fill: 0x25)).open(packet)
        }
        #expect(throws: ShadowsocksProtocolError(.staleTimestamp)) {
            try Self.server(key, at: Self.now + 31).open(packet)
        }
        #expect(try Self.server(key, at: Self.now - 30).open(packet).packetID == 0)
        var tampered = packet
        tampered.setInteger(tampered.getInteger(at: tampered.writerIndex - 1, as: UInt8.self)! ^ 1, at: tampered.writerIndex - 1)
        #expect(throws: ShadowsocksProtocolError(.authenticationFailed)) { try Self.server(key).open(tampered) }
        #expect(throws: ShadowsocksProtocolError(.truncated)) { try Self.server(key).open(packet.getSlice(at: 0, length: 20)!) }

        // A client packet fed back to a client is the wrong type; a reply for another client session is refused.
        #expect(throws: ShadowsocksProtocolError(.wrongHeaderType(0))) { try Self.client(key).open(packet) }
        var session = SIP022ServerSession(clientSessionID: 99)
        var reply = ByteBuffer()
        try Self.server(key).seal(source: Self.target, payload: ByteBuffer(string: "r"), session: &session, into: &reply)
        #expect(throws: ShadowsocksProtocolError(.unknownSession)) { try Self.client(key).open(reply) }
    }

    @Test func clientAcceptsAFewServerSessions() throws {
        let key = try Self.key(.blake3AES128GCM)
        let client = try Self.client(key)
        let server = try Self.server(key)
        for count in 1...5 {
            var session = SIP022ServerSession(clientSessionID: client.sessionID)
            var reply = ByteBuffer()
            try server.seal(source: Self.target, payload: ByteBuffer(string: "s"), session: &session, into: &reply)
            if count <= SIP022ClientPacketCodec.maximumServerSessions {
                #expect(try client.open(reply).payload.readableBytes == 1)
            } else {
                #expect(throws: ShadowsocksProtocolError(.unknownSession)) { try client.open(reply) }
            }
        }
    }

    @Test func fuzzedPacketsAreTypedErrors() throws {
        var generator = SystemRandomNumberGenerator()
        for method in CipherMethod.aead2022Cases {
            let server = try Self.server(try Self.key(method))
            for _ in 0..<300 {
                let bytes = (0..<Int.random(in: 0...120, using: &generator)).map { _ in UInt8.random(in: 0...255) }
                #expect(throws: ShadowsocksProtocolError.self) { try server.open(ByteBuffer(bytes: bytes)) }
            }
        }
    }
}
