import NIOCore
import SOCKS5
import ShadowsocksProtocol
import Testing

/// What a machine did with a whole byte stream, fed in chunks: the bytes it sent, the request it handed out,
/// whether it closed and why, and what was left in the buffer.
struct Transcript {
    var sent: [UInt8] = []
    var request: SOCKS5Request?
    var closedWith: SOCKS5Error?
    var closed = false
    var leftover: [UInt8] = []

    static func run(
        _ machine: inout SOCKS5ServerStateMachine, chunks: [[UInt8]]
    ) -> Transcript {
        var transcript = Transcript()
        var buffer = ByteBuffer()
        feeding: for chunk in chunks {
            buffer.writeBytes(chunk)
            while true {
                switch machine.receive(&buffer) {
                case .waitForMoreData:
                    continue feeding
                case .send(var bytes):
                    transcript.sent += bytes.readBytes(length: bytes.readableBytes)!
                case .perform(let request):
                    transcript.request = request
                    break feeding
                case .sendAndClose(let bytes, let error):
                    if var bytes { transcript.sent += bytes.readBytes(length: bytes.readableBytes)! }
                    transcript.closed = true
                    transcript.closedWith = error
                    break feeding
                }
            }
        }
        transcript.leftover = buffer.bytes
        return transcript
    }

    static func run(_ machine: inout SOCKS5ServerStateMachine, dripFeeding bytes: [UInt8]) -> Transcript {
        run(&machine, chunks: bytes.map { [$0] })
    }
}

@Suite struct ServerStateMachineTests {
    static let credentials = SOCKS5Credentials(username: "alice", password: "s3cret")!
    static let auth: [UInt8] = [1, 5] + Array("alice".utf8) + [6] + Array("s3cret".utf8)
    static let connectDomain: [UInt8] = [5, 1, 0, 3, 11] + Array("example.com".utf8) + [0, 80]
    static let target = SocksAddress.domain("example.com", port: 80)

    @Test func noAuthenticationConnectDripFed() {
        var machine = SOCKS5ServerStateMachine(credentials: nil)
        let transcript = Transcript.run(&machine, dripFeeding: [5, 1, 0] + Self.connectDomain)
        #expect(transcript.sent == [5, 0])
        #expect(transcript.request == SOCKS5Request(command: .connect, address: Self.target))
        #expect(!transcript.closed && machine.isFinished)
    }

    @Test func usernamePasswordConnectDripFed() {
        var machine = SOCKS5ServerStateMachine(credentials: Self.credentials)
        let transcript = Transcript.run(&machine, dripFeeding: [5, 2, 0, 2] + Self.auth + Self.connectDomain)
        #expect(transcript.sent == [5, 2, 1, 0])
        #expect(transcript.request == SOCKS5Request(command: .connect, address: Self.target))
    }

    @Test func pipelinedHandshakeInOneBufferKeepsTheDataBehindIt() {
        var machine = SOCKS5ServerStateMachine(credentials: Self.credentials)
        let early = Array("GET / HTTP/1.1\r\n".utf8)
        let transcript = Transcript.run(&machine, chunks: [[5, 1, 2] + Self.auth + Self.connectDomain + early])
        #expect(transcript.sent == [5, 2, 1, 0])
        #expect(transcript.request?.command == .connect)
        #expect(transcript.leftover == early)
    }

    @Test func udpAssociateIPv6() {
        var machine = SOCKS5ServerStateMachine(credentials: nil)
        let v6 = Array(repeating: UInt8(0), count: 15) + [1]
        let transcript = Transcript.run(&machine, dripFeeding: [5, 1, 0, 5, 3, 0, 4] + v6 + [0x12, 0x34])
        #expect(transcript.request == SOCKS5Request(command: .udpAssociate, address: .ipv6(v6, port: 0x1234)))
    }

    @Test func wrongPasswordGetsFailureStatusAndClose() {
        for auth in [
            [1, 5] + Array("alice".utf8) + [6] + Array("s3creT".utf8),
            [1, 5] + Array("alice".utf8) + [5] + Array("s3cre".utf8),
            [1, 3] + Array("bob".utf8) + [6] + Array("s3cret".utf8),
        ] {
            var machine = SOCKS5ServerStateMachine(credentials: Self.credentials)
            let transcript = Transcript.run(&machine, dripFeeding: [5, 1, 2] + auth + Self.connectDomain)
            #expect(transcript.sent == [5, 2, 1, 1])  // RFC 1929 status != 0
            #expect(transcript.closed && transcript.closedWith == SOCKS5Error(.authenticationFailed))
            #expect(transcript.request == nil)
        }
    }

    @Test func noAcceptableMethod() {
        // Credentials configured, client offers only "no authentication"; and the other way round.
        var withCredentials = SOCKS5ServerStateMachine(credentials: Self.credentials)
        let first = Transcript.run(&withCredentials, dripFeeding: [5, 1, 0] + Self.connectDomain)
        #expect(first.sent == [5, 0xFF] && first.closed)
        #expect(first.closedWith == SOCKS5Error(.noAcceptableMethod(offered: [0])))
        var open = SOCKS5ServerStateMachine(credentials: nil)
        let second = Transcript.run(&open, dripFeeding: [5, 2, 1, 2])
        #expect(second.sent == [5, 0xFF] && second.closed)
    }

    @Test func bindAndUnknownCommandsAreNotSupported() {
        for command: UInt8 in [2, 0, 4, 0xFF] {
            var machine = SOCKS5ServerStateMachine(credentials: nil)
            let transcript = Transcript.run(&machine, dripFeeding: [5, 1, 0, 5, command, 0, 1, 10, 0, 0, 1, 0, 80])
            #expect(transcript.sent == [5, 0, 5, 7, 0, 1, 0, 0, 0, 0, 0, 0])
            #expect(transcript.closedWith == SOCKS5Error(.commandNotSupported(command)))
        }
    }

    @Test func disabledCommandsAreNotSupported() {
        var tcpOnly = SOCKS5ServerStateMachine(credentials: nil, supportedCommands: [.connect])
        let udp = Transcript.run(&tcpOnly, dripFeeding: [5, 1, 0, 5, 3, 0, 1, 0, 0, 0, 0, 0, 0])
        #expect(udp.sent == [5, 0, 5, 7, 0, 1, 0, 0, 0, 0, 0, 0] && udp.closed)
        var udpOnly = SOCKS5ServerStateMachine(credentials: nil, supportedCommands: [.udpAssociate])
        let tcp = Transcript.run(&udpOnly, dripFeeding: [5, 1, 0] + Self.connectDomain)
        #expect(tcp.sent == [5, 0, 5, 7, 0, 1, 0, 0, 0, 0, 0, 0] && tcp.closed)
    }

    @Test func malformedRequestsGetTheRFCsReply() {
        let cases: [([UInt8], [UInt8], SOCKS5Error.Kind)] = [
            ([5, 1, 0, 9, 1, 2, 3, 4, 0, 80], [5, 8, 0, 1, 0, 0, 0, 0, 0, 0], .unknownAddressType(9)),
            ([5, 1, 7, 1, 1, 2, 3, 4, 0, 80], [5, 1, 0, 1, 0, 0, 0, 0, 0, 0], .nonZeroReserved),
            ([5, 1, 0, 3, 0, 0, 80], [5, 1, 0, 1, 0, 0, 0, 0, 0, 0], .emptyDomain),
            ([4, 1, 0, 80, 1, 2, 3, 4, 0], [], .unsupportedVersion(4)),
        ]
        for (request, reply, kind) in cases {
            var machine = SOCKS5ServerStateMachine(credentials: nil)
            let transcript = Transcript.run(&machine, dripFeeding: [5, 1, 0] + request)
            #expect(transcript.sent == [5, 0] + reply, "\(request)")
            #expect(transcript.closedWith == SOCKS5Error(kind))
        }
    }

    @Test func malformedGreetingAndAuthenticationCloseWithoutReply() {
        let cases: [(SOCKS5Credentials?, [UInt8], [UInt8], SOCKS5Error.Kind)] = [
            (nil, [4, 1, 0, 80, 127, 0, 0, 1, 0], [], .unsupportedVersion(4)),
            (nil, Array("GET / HTTP/1.1\r\n".utf8), [], .unsupportedVersion(0x47)),
            (nil, [5, 0], [], .noMethods),
            (Self.credentials, [5, 1, 2, 5, 1, 0x61, 1, 0x62], [5, 2], .unsupportedSubnegotiationVersion(5)),
            (Self.credentials, [5, 1, 2, 1, 0, 1, 0x62], [5, 2], .emptyCredential),
        ]
        for (credentials, wire, sent, kind) in cases {
            var machine = SOCKS5ServerStateMachine(credentials: credentials)
            let transcript = Transcript.run(&machine, dripFeeding: wire)
            #expect(transcript.sent == sent && transcript.closedWith == SOCKS5Error(kind), "\(wire)")
        }
    }

    @Test func finishedMachineTakesNothingMore() {
        var machine = SOCKS5ServerStateMachine(credentials: nil)
        _ = Transcript.run(&machine, chunks: [[5, 1, 0] + Self.connectDomain])
        var more = ByteBuffer(bytes: [5, 1, 0])
        guard case .waitForMoreData = machine.receive(&more) else {
            Issue.record("a finished machine acted again")
            return
        }
        #expect(more.readableBytes == 3)
    }

    @Test func replyEncoding() {
        var reply = SOCKS5ServerStateMachine.reply(.succeeded, bound: .ipv4((10, 231, 1, 1), port: 0x1F90))
        #expect(reply.readBytes(length: reply.readableBytes) == [5, 0, 0, 1, 10, 231, 1, 1, 0x1F, 0x90])
    }
}
