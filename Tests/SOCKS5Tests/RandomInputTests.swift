import NIOCore
import SOCKS5
import ShadowsocksProtocol
import Testing
import SeededRandom

/// Seeded random and mutated input: every parser and the machine must answer with a value, a wait or a typed
/// error, never trap or loop; and the incremental request parser must agree with a naive whole-buffer one.
@Suite struct RandomInputTests {
    static let seed: UInt64 = 0x50C5_5EED

    @Test func randomBytesNeverCrashTheMachine() {
        var random = SplitMix64(seed: Self.seed)
        let credentials = SOCKS5Credentials(username: "u", password: "p")!
        for round in 0..<20_000 {
            let length = Int.random(in: 0...64, using: &random)
            // Half start like a real greeting, so the deeper states get random input too.
            var bytes: [UInt8] = round % 2 == 0 ? [5, 1, round % 4 == 0 ? 2 : 0] : []
            if round % 4 == 0 { bytes += [1, 1, 0x75, 1, 0x70] }
            bytes += (0..<length).map { _ in UInt8.random(in: 0...255, using: &random) }
            var machine = SOCKS5ServerStateMachine(credentials: round % 4 == 0 ? credentials : nil)
            let chunk = Int.random(in: 1...8, using: &random)
            let chunks = stride(from: 0, to: bytes.count, by: chunk).map { Array(bytes[$0..<min($0 + chunk, bytes.count)]) }
            let transcript = Transcript.run(&machine, chunks: chunks)
            // Whatever happened, the machine said so: a request, a close, or it still waits with bytes unread.
            #expect(transcript.request != nil || transcript.closed || !machine.isFinished)
        }
    }

    @Test func randomBytesNeverCrashTheReaders() {
        var random = SplitMix64(seed: Self.seed &+ 1)
        for _ in 0..<20_000 {
            let bytes = (0..<Int.random(in: 0...40, using: &random)).map { _ in UInt8.random(in: 0...255, using: &random) }
            let readers: [(inout ByteBuffer) throws -> Bool] = [
                { try $0.readSOCKS5ClientGreeting() != nil }, { try $0.readSOCKS5MethodSelection() != nil },
                { try $0.readSOCKS5UsernamePasswordRequest() != nil }, { try $0.readSOCKS5UsernamePasswordReply() != nil },
                { try $0.readSOCKS5Request() != nil }, { try $0.readSOCKS5Reply() != nil },
                { _ = try $0.readSOCKS5UDPHeader(); return true },
            ]
            for read in readers {
                var buffer = ByteBuffer(bytes: bytes)
                let consumed = (try? read(&buffer)) ?? false
                // Nothing is consumed unless a message came out.
                if !consumed { #expect(buffer.readerIndex == 0) }
            }
        }
    }

    @Test func mutatedRequestsNeverCrashAndNeverMisparse() {
        var random = SplitMix64(seed: Self.seed &+ 2)
        for _ in 0..<20_000 {
            var bytes = Self.naiveEncode(Self.randomRequest(&random))
            for _ in 0..<Int.random(in: 1...3, using: &random) {
                bytes[Int.random(in: 0..<bytes.count, using: &random)] = UInt8.random(in: 0...255, using: &random)
            }
            var buffer = ByteBuffer(bytes: bytes)
            if let parsed = try? buffer.readSOCKS5Request() {
                // Whatever parsed re-encodes to exactly the bytes it consumed.
                #expect(Self.naiveEncode(parsed) == Array(bytes[..<buffer.readerIndex]))
            }
        }
    }

    /// Random valid requests, written by the naive encoder below and split at random points, parse to the same
    /// request with nothing left over.
    @Test func incrementalParserAgreesWithANaiveEncoder() throws {
        var random = SplitMix64(seed: Self.seed &+ 3)
        for _ in 0..<5_000 {
            let request = Self.randomRequest(&random)
            let wire = Self.naiveEncode(request) + [0xEE]
            var buffer = ByteBuffer()
            var parsed: SOCKS5Request?
            var index = 0
            while parsed == nil && index < wire.count {
                let next = min(wire.count, index + Int.random(in: 1...20, using: &random))
                buffer.writeBytes(wire[index..<next])
                index = next
                parsed = try buffer.readSOCKS5Request()
            }
            #expect(parsed == request)
            // Left over: exactly the bytes fed beyond the request (the 0xEE marker, if its chunk carried it).
            #expect(buffer.bytes == Array(wire[(wire.count - 1)..<index]))
        }
    }

    static func randomRequest(_ random: inout SplitMix64) -> SOCKS5Request {
        let port = UInt16.random(in: 0...65535, using: &random)
        let address: SocksAddress
        switch Int.random(in: 0..<3, using: &random) {
        case 0:
            address = .ipv4(
                (UInt8.random(in: 0...255, using: &random), UInt8.random(in: 0...255, using: &random),
                    UInt8.random(in: 0...255, using: &random), UInt8.random(in: 0...255, using: &random)),
                port: port)
        case 1:
            address = .ipv6((0..<16).map { _ in UInt8.random(in: 0...255, using: &random) }, port: port)
        default:
            let letters = Array("abcdefghijklmnopqrstuvwxyz0123456789-.")
            let name = String((0..<Int.random(in: 1...255, using: &random)).map { _ in letters.randomElement(using: &random)! })
            address = .domain(name, port: port)
        }
        let command = [SOCKS5Command.connect, .bind, .udpAssociate].randomElement(using: &random)!
        return SOCKS5Request(command: command, address: address)
    }

    /// RFC 1928 section 4, written out byte by byte without the module's writers.
    static func naiveEncode(_ request: SOCKS5Request) -> [UInt8] {
        var bytes: [UInt8] = [5, request.command.rawValue, 0]
        switch request.address {
        case .ipv4(let a, let port): bytes += [1, a.0, a.1, a.2, a.3, UInt8(port >> 8), UInt8(port & 0xFF)]
        case .ipv6(let a, let port): bytes += [4] + a + [UInt8(port >> 8), UInt8(port & 0xFF)]
        case .domain(let name, let port):
            bytes += [3, UInt8(name.utf8.count)] + Array(name.utf8) + [UInt8(port >> 8), UInt8(port & 0xFF)]
        }
        return bytes
    }
}
