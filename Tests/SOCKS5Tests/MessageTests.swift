import NIOCore
import SOCKS5
import ShadowsocksProtocol
import Testing

@Suite struct MessageTests {
    static let addresses: [SocksAddress] = [
        .ipv4((192, 0, 2, 7), port: 443),
        .ipv6([0x20, 0x01, 0x0d, 0xb8] + Array(repeating: 0, count: 11) + [1], port: 53),
        .domain("example.com", port: 80),
        .domain(String(repeating: "a", count: 255), port: 65535),
        .domain("bücher.example", port: 8080),
    ]

    // MARK: Greeting

    @Test func greetingDripFed() throws {
        for count in [1, 2, 255] {
            let methods = (0..<count).map { UInt8(truncatingIfNeeded: $0) }
            let wire: [UInt8] = [5, UInt8(count)] + methods
            let result = try ByteFeeding.dripFeed(wire) { try $0.readSOCKS5ClientGreeting() }
            #expect(result.value?.methods.map(\.rawValue) == methods)
            #expect(result.fed == wire.count && result.rewound && result.buffer.readableBytes == 0)
        }
    }

    @Test func greetingRoundTrip() throws {
        var buffer = ByteBuffer()
        let greeting = SOCKS5ClientGreeting(methods: [.noAuthentication, .usernamePassword])
        #expect(buffer.writeSOCKS5ClientGreeting(greeting) == 4)
        #expect(buffer.bytes == [5, 2, 0, 2])
        #expect(try buffer.readSOCKS5ClientGreeting() == greeting)
    }

    @Test func greetingMalformed() {
        for (wire, kind) in [
            ([4, 1, 0], SOCKS5Error.Kind.unsupportedVersion(4)),  // SOCKS4
            ([0x47, 0x45, 0x54], .unsupportedVersion(0x47)),  // "GET"
            ([5, 0], .noMethods),
        ] as [([UInt8], SOCKS5Error.Kind)] {
            var buffer = ByteBuffer(bytes: wire)
            #expect(throws: SOCKS5Error(kind)) { try buffer.readSOCKS5ClientGreeting() }
        }
    }

    // MARK: Method selection

    @Test func methodSelection() throws {
        let result = try ByteFeeding.dripFeed([5, 2]) { try $0.readSOCKS5MethodSelection() }
        #expect(result.value == SOCKS5MethodSelection(method: .usernamePassword) && result.rewound)
        var buffer = ByteBuffer()
        buffer.writeSOCKS5MethodSelection(SOCKS5MethodSelection(method: .noAcceptableMethods))
        #expect(buffer.bytes == [5, 0xFF])
        var wrong = ByteBuffer(bytes: [1, 0])
        #expect(throws: SOCKS5Error(.unsupportedVersion(1))) { try wrong.readSOCKS5MethodSelection() }
    }

    // MARK: RFC 1929

    @Test func usernamePasswordDripFed() throws {
        for (username, password) in [([UInt8(0x61)], [UInt8(0x62)]), (Array("alice".utf8), Array("s3cret!".utf8)),
            (Array(repeating: 0x75, count: 255), Array(repeating: 0x70, count: 255))]
        {
            var written = ByteBuffer()
            let request = SOCKS5UsernamePasswordRequest(username: username, password: password)
            written.writeSOCKS5UsernamePasswordRequest(request)
            #expect(written.bytes == [1, UInt8(username.count)] + username + [UInt8(password.count)] + password)
            let result = try ByteFeeding.dripFeed(written.bytes) { try $0.readSOCKS5UsernamePasswordRequest() }
            #expect(result.value == request && result.rewound && result.fed == written.readableBytes)
        }
    }

    @Test func usernamePasswordMalformed() {
        for (wire, kind) in [
            ([5, 1, 0x61, 1, 0x62], SOCKS5Error.Kind.unsupportedSubnegotiationVersion(5)),
            ([1, 0, 1, 0x62], .emptyCredential),
            ([1, 1, 0x61, 0], .emptyCredential),
        ] as [([UInt8], SOCKS5Error.Kind)] {
            var buffer = ByteBuffer(bytes: wire)
            #expect(throws: SOCKS5Error(kind)) { try buffer.readSOCKS5UsernamePasswordRequest() }
        }
    }

    @Test func usernamePasswordDescriptionHidesThePassword() {
        let request = SOCKS5UsernamePasswordRequest(username: Array("alice".utf8), password: Array("hunter2".utf8))
        #expect(!"\(request)".contains("hunter2"))
        #expect("\(request)".contains("alice"))
    }

    @Test func usernamePasswordReply() throws {
        for status: UInt8 in [0, 1, 0xFF] {
            var buffer = ByteBuffer()
            buffer.writeSOCKS5UsernamePasswordReply(SOCKS5UsernamePasswordReply(status: status))
            #expect(buffer.bytes == [1, status])
            let result = try ByteFeeding.dripFeed(buffer.bytes) { try $0.readSOCKS5UsernamePasswordReply() }
            #expect(result.value?.status == status && result.value?.succeeded == (status == 0))
        }
    }

    // MARK: Request

    @Test func requestDripFed() throws {
        for address in Self.addresses {
            for command in [SOCKS5Command.connect, .bind, .udpAssociate, SOCKS5Command(rawValue: 0x7F)] {
                var written = ByteBuffer()
                written.writeSOCKS5Request(SOCKS5Request(command: command, address: address))
                #expect(written.readableBytes == 3 + address.encodedLength)
                let result = try ByteFeeding.dripFeed(written.bytes) { try $0.readSOCKS5Request() }
                #expect(result.value == SOCKS5Request(command: command, address: address))
                #expect(result.rewound && result.fed == written.readableBytes && result.buffer.readableBytes == 0)
            }
        }
    }

    @Test func requestWireFormat() throws {
        var buffer = ByteBuffer(bytes: [5, 1, 0, 3, 11] + Array("example.com".utf8) + [0x01, 0xBB, 0xAA])
        #expect(try buffer.readSOCKS5Request() == SOCKS5Request(command: .connect, address: .domain("example.com", port: 443)))
        #expect(buffer.bytes == [0xAA])  // what follows the request is left alone
        var v4 = ByteBuffer(bytes: [5, 3, 0, 1, 0, 0, 0, 0, 0, 0])
        #expect(try v4.readSOCKS5Request() == SOCKS5Request(command: .udpAssociate, address: .ipv4((0, 0, 0, 0), port: 0)))
    }

    @Test func requestMalformed() {
        let cases: [([UInt8], SOCKS5Error.Kind)] = [
            ([4, 1, 0, 1, 1, 2, 3, 4, 0, 80], .unsupportedVersion(4)),
            ([5, 1, 1, 1, 1, 2, 3, 4, 0, 80], .nonZeroReserved),
            ([5, 1, 0, 2, 1, 2, 3, 4, 0, 80], .unknownAddressType(2)),
            ([5, 1, 0, 0, 1, 2, 3, 4, 0, 80], .unknownAddressType(0)),
            ([5, 1, 0, 0xFF], .unknownAddressType(0xFF)),
            ([5, 1, 0, 3, 0, 0, 80], .emptyDomain),
            ([5, 1, 0, 3, 2, 0xC3, 0x28, 0, 80], .invalidDomain),  // an invalid two-byte UTF-8 sequence
            ([5, 1, 0, 3, 1, 0xFF, 0, 80], .invalidDomain),
        ]
        for (wire, kind) in cases {
            var buffer = ByteBuffer(bytes: wire)
            #expect(throws: SOCKS5Error(kind), "\(wire)") { try buffer.readSOCKS5Request() }
        }
    }

    @Test func truncatedRequestWaits() throws {
        // Every proper prefix of a valid request asks for more and leaves the reader where it was.
        let wire: [UInt8] = [5, 1, 0, 4] + Array(repeating: 0xFE, count: 16) + [0x1F, 0x90]
        for length in 0..<wire.count {
            var buffer = ByteBuffer(bytes: wire[..<length])
            #expect(try buffer.readSOCKS5Request() == nil)
            #expect(buffer.readerIndex == 0)
        }
    }

    // MARK: Reply

    @Test func replyDripFed() throws {
        for address in Self.addresses {
            for code in [SOCKS5ReplyCode.succeeded, .generalFailure, .connectionRefused, .commandNotSupported] {
                var written = ByteBuffer()
                written.writeSOCKS5Reply(SOCKS5Reply(code: code, boundAddress: address))
                let result = try ByteFeeding.dripFeed(written.bytes) { try $0.readSOCKS5Reply() }
                #expect(result.value == SOCKS5Reply(code: code, boundAddress: address) && result.rewound)
            }
        }
        var unspecified = ByteBuffer()
        unspecified.writeSOCKS5Reply(SOCKS5Reply(code: .hostUnreachable))
        #expect(unspecified.bytes == [5, 4, 0, 1, 0, 0, 0, 0, 0, 0])
    }

    @Test func replyCodesAreTheRFCs() {
        let codes: [SOCKS5ReplyCode] = [
            .succeeded, .generalFailure, .connectionNotAllowed, .networkUnreachable, .hostUnreachable,
            .connectionRefused, .ttlExpired, .commandNotSupported, .addressTypeNotSupported,
        ]
        #expect(codes.map(\.rawValue) == Array(0...8))
        #expect(Set(codes.map(\.description)).count == codes.count)
    }

    // MARK: UDP header

    @Test func udpHeaderRoundTrip() throws {
        for address in Self.addresses {
            var datagram = ByteBuffer()
            datagram.writeSOCKS5UDPHeader(SOCKS5UDPHeader(address: address))
            datagram.writeString("payload")
            #expect(datagram.getBytes(at: 0, length: 3) == [0, 0, 0])
            let header = try datagram.readSOCKS5UDPHeader()
            #expect(header == SOCKS5UDPHeader(fragment: 0, address: address))
            #expect(datagram.readString(length: datagram.readableBytes) == "payload")
        }
    }

    @Test func udpHeaderKeepsTheFragmentField() throws {
        var datagram = ByteBuffer(bytes: [0, 0, 0x81, 1, 10, 0, 0, 1, 0, 53, 0xAB])
        let header = try datagram.readSOCKS5UDPHeader()
        #expect(header.fragment == 0x81 && header.address == .ipv4((10, 0, 0, 1), port: 53))
        #expect(datagram.bytes == [0xAB])
    }

    @Test func udpHeaderMalformed() {
        // A datagram is whole: every proper prefix of a header is an error, never a wait.
        let header: [UInt8] = [0, 0, 0, 3, 4] + Array("host".utf8) + [0, 7]
        for length in 0..<header.count {
            var buffer = ByteBuffer(bytes: header[..<length])
            #expect(throws: SOCKS5Error.self) { try buffer.readSOCKS5UDPHeader() }
        }
        for (wire, kind) in [
            ([0, 1, 0, 1, 1, 2, 3, 4, 0, 7], SOCKS5Error.Kind.nonZeroReserved),
            ([0, 0, 0, 5, 1, 2, 3, 4, 0, 7], .unknownAddressType(5)),
            ([0, 0, 0, 3, 0, 0, 7], .emptyDomain),
            ([0, 0, 0, 1, 1, 2], .truncatedDatagram),
        ] as [([UInt8], SOCKS5Error.Kind)] {
            var buffer = ByteBuffer(bytes: wire)
            #expect(throws: SOCKS5Error(kind)) { try buffer.readSOCKS5UDPHeader() }
        }
    }

    // MARK: Credentials

    @Test func credentials() {
        #expect(SOCKS5Credentials(username: "", password: "x") == nil)
        #expect(SOCKS5Credentials(username: "x", password: "") == nil)
        #expect(SOCKS5Credentials(username: String(repeating: "u", count: 256), password: "x") == nil)
        let credentials = SOCKS5Credentials(username: "alice", password: "hunter2")!
        let good = SOCKS5UsernamePasswordRequest(username: Array("alice".utf8), password: Array("hunter2".utf8))
        #expect(credentials.matches(good))
        for (username, password) in [("alice", "hunter3"), ("alice", "hunter"), ("alice", "hunter22"), ("bob", "hunter2"),
            ("alicf", "hunter2"), ("", "")]
        {
            #expect(!credentials.matches(SOCKS5UsernamePasswordRequest(username: Array(username.utf8), password: Array(password.utf8))))
        }
        #expect(!"\(credentials)".contains("hunter2"))
    }
}
