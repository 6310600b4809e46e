#if canImport(Glibc)
import Glibc
#endif
import Config
import Logging
import NIOCore
import NIOPosix
import SOCKS5
import ServerPool
import ShadowsocksCrypto
import Rules
import ShadowsocksProtocol
import Testing

@testable import Redir

/// The SOCKS5 front on real loopback sockets: handshake deadline, reply codes, authentication, and a UDP
/// association relayed to a Shadowsocks "server" played by the test with the real packet codec.
@Suite struct SOCKS5FrontTests {
    static let key = MasterKey(method: .aes256GCM, password: "front-test")

    /// A front on 127.0.0.1 (ephemeral port) whose only pool member is `serverPort`.
    final class RunningFront: Sendable {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let listener: Channel
        let port: Int
        let registry = ConnectionRegistry()

        init(
            serverPort: Int, mode: String = "tcp_and_udp", credentials: (String, String)? = nil,
            routes: RouteRules? = nil
        ) async throws {
            var settings = RedirSettings()
            settings.servers = ["127.0.0.1"]
            settings.serverPort = "\(serverPort)"
            settings.password = "front-test"
            settings.method = "aes-256-gcm"
            settings.localPort = "1"
            settings.mode = mode
            settings.socksUsername = credentials?.0
            settings.socksPassword = credentials?.1
            var configuration = try RedirConfiguration.resolve(settings)
            configuration.socksListen = [ServerEndpoint(host: "127.0.0.1", port: 0)]
            var logger = Logger(label: "socks5-front-test")
            logger.logLevel = .error
            var front = SOCKS5Front(
                configuration: configuration, group: group, registry: registry, logger: logger, mark: nil,
                pool: ServerPool(members: configuration.members, strategy: configuration.strategy, logger: logger))
            front.handshakeTimeout = .milliseconds(300)
            front.routes = routes
            listener = try await front.bind()[0]
            port = listener.localAddress!.port!
        }

        func stop() async {
            try? await listener.close()
            try? await group.shutdownGracefully()
        }
    }

    /// Runs `body` against a fresh front and always stops it.
    static func withFront(
        serverPort: Int, mode: String = "tcp_and_udp", credentials: (String, String)? = nil, routes: RouteRules? = nil,
        _ body: (RunningFront) async throws -> Void
    ) async throws {
        let front = try await RunningFront(serverPort: serverPort, mode: mode, credentials: credentials, routes: routes)
        do {
            try await body(front)
        } catch {
            await front.stop()
            throw error
        }
        await front.stop()
    }

    /// A port nothing listens on (bound, then closed).
    static func closedPort() throws -> Int {
        let socket = try BlockingSocket(udp: false, bindPort: 0)
        return socket.localPort
    }

    static let unspecifiedReply: [UInt8] = [0, 1, 0, 0, 0, 0, 0, 0]

    @Test func silentClientIsClosedAfterTheHandshakeDeadline() async throws {
        try await Self.withFront(serverPort: try Self.closedPort()) { front in
            for prefix in [[], [5], [5, 1, 0, 5, 1, 0, 3, 20]] as [[UInt8]] {
                let client = try BlockingSocket(connectingTo: front.port)
                client.send(prefix)
                let started = ContinuousClock.now
                let reply = client.receiveUntilClosed(timeout: 6)
                let elapsed = ContinuousClock.now - started
                #expect(reply.closed, "still open after 6 s with \(prefix) sent")
                #expect(elapsed >= .milliseconds(250) && elapsed < .seconds(5), "closed after \(elapsed)")
                #expect(reply.bytes == (prefix.count > 3 ? [5, 0] : []))
            }
        }
    }

    @Test func connectToAnUnreachableServerRepliesConnectionRefused() async throws {
        try await Self.withFront(serverPort: try Self.closedPort()) { front in
            let client = try BlockingSocket(connectingTo: front.port)
            client.send([5, 1, 0, 5, 1, 0, 3, 7] + Array("example".utf8) + [0, 80])
            let reply = client.receiveUntilClosed(timeout: 5)
            #expect(reply.bytes == [5, 0, 5, 5] + Self.unspecifiedReply && reply.closed)
        }
    }

    @Test func bindIsNotSupported() async throws {
        try await Self.withFront(serverPort: try Self.closedPort()) { front in
            let client = try BlockingSocket(connectingTo: front.port)
            client.send([5, 1, 0, 5, 2, 0, 1, 0, 0, 0, 0, 0, 0])
            let reply = client.receiveUntilClosed(timeout: 3)
            #expect(reply.bytes == [5, 0, 5, 7] + Self.unspecifiedReply && reply.closed)
        }
    }

    @Test func udpAssociateWithUDPOffIsNotSupported() async throws {
        try await Self.withFront(serverPort: try Self.closedPort(), mode: "tcp_only") { front in
            let client = try BlockingSocket(connectingTo: front.port)
            client.send([5, 1, 0, 5, 3, 0, 1, 0, 0, 0, 0, 0, 0])
            let reply = client.receiveUntilClosed(timeout: 3)
            #expect(reply.bytes == [5, 0, 5, 7] + Self.unspecifiedReply && reply.closed)
        }
    }

    @Test func wrongPasswordIsRefusedAndClosed() async throws {
        try await Self.withFront(serverPort: try Self.closedPort(), credentials: ("alice", "s3cret")) { front in
            let client = try BlockingSocket(connectingTo: front.port)
            client.send([5, 2, 0, 2, 1, 5] + Array("alice".utf8) + [6] + Array("s3creT".utf8))
            let reply = client.receiveUntilClosed(timeout: 3)
            #expect(reply.bytes == [5, 2, 1, 1] && reply.closed)
        }
    }

    @Test func udpAssociationRelaysThroughTheServerAndEndsWithItsConnection() async throws {
        let server = try BlockingSocket(udp: true, bindPort: 0)
        try await Self.withFront(serverPort: server.localPort, credentials: ("alice", "s3cret")) { front in
            let control = try BlockingSocket(connectingTo: front.port)
            control.send([5, 1, 2, 1, 5] + Array("alice".utf8) + [6] + Array("s3cret".utf8) + [5, 3, 0, 1, 0, 0, 0, 0, 0, 0])
            let reply = control.receive(count: 4 + 10, timeout: 3)
            #expect(Array(reply.prefix(8)) == [5, 2, 1, 0, 5, 0, 0, 1])
            #expect(Array(reply[8..<12]) == [127, 0, 0, 1], "BND.ADDR is the control connection's local address")
            let relayPort = Int(reply[12]) << 8 | Int(reply[13])

            let client = try BlockingSocket(udp: true, bindPort: 0)
            let codec = try AEADPacketCodec(key: Self.key)
            let target = SocksAddress.domain("echo.test", port: 7)
            var datagram = ByteBuffer()
            datagram.writeSOCKS5UDPHeader(SOCKS5UDPHeader(address: target))
            datagram.writeString("ping")
            client.send(datagram.bytes, toPort: relayPort)

            // The server sees one sealed packet naming the domain, not a resolved address.
            let (packet, relayUpstreamPort) = try #require(server.receiveDatagram(timeout: 3))
            let opened = try codec.open(ByteBuffer(bytes: packet))
            #expect(opened.address == target)
            #expect(opened.payload.bytes == Array("ping".utf8))

            // Its reply, from the peer that answered, reaches the client under a SOCKS header naming that peer.
            var sealed = ByteBuffer()
            let peer = SocksAddress.ipv4((192, 0, 2, 7), port: 7)
            try codec.seal(target: peer, payload: ByteBuffer(string: "pong"), into: &sealed)
            server.send(sealed.bytes, toPort: relayUpstreamPort)
            let (answer, _) = try #require(client.receiveDatagram(timeout: 3))
            var answerBuffer = ByteBuffer(bytes: answer)
            #expect(try answerBuffer.readSOCKS5UDPHeader() == SOCKS5UDPHeader(address: peer))
            #expect(answerBuffer.bytes == Array("pong".utf8))

            // Garbage from the server and datagrams from a stranger go nowhere.
            server.send([1, 2, 3], toPort: relayUpstreamPort)
            let stranger = try BlockingSocket(udp: true, bindPort: 0)
            stranger.send(datagram.bytes, toPort: relayPort)
            #expect(server.receiveDatagram(timeout: 0.3) == nil)
            #expect(client.receiveDatagram(timeout: 0.3) == nil)

            // Closing the control connection ends the association: the relay port is gone.
            control.close()
            try await Task.sleep(for: .milliseconds(200))
            client.send(datagram.bytes, toPort: relayPort)
            #expect(server.receiveDatagram(timeout: 0.5) == nil)
        }
    }

    @Test func bypassedUDPTargetIsSentDirectAndListed() async throws {
        let server = try BlockingSocket(udp: true, bindPort: 0)
        let peer = try BlockingSocket(udp: true, bindPort: 0)
        // The built-in reserved ranges bypass 127.0.0.0/8.
        let routes = RouteRules(try BypassRules.load(acl: nil, ruleFiles: [], includeReserved: true))
        try await Self.withFront(serverPort: server.localPort, routes: routes) { front in
            let control = try BlockingSocket(connectingTo: front.port)
            control.send([5, 1, 0, 5, 3, 0, 1, 0, 0, 0, 0, 0, 0])
            let reply = control.receive(count: 2 + 10, timeout: 3)
            #expect(Array(reply.prefix(4)) == [5, 0, 5, 0])
            let relayPort = Int(reply[10]) << 8 | Int(reply[11])

            let client = try BlockingSocket(udp: true, bindPort: 0)
            let target = SocksAddress.ipv4((127, 0, 0, 1), port: UInt16(peer.localPort))
            var datagram = ByteBuffer()
            datagram.writeSOCKS5UDPHeader(SOCKS5UDPHeader(address: target))
            datagram.writeString("ping")
            client.send(datagram.bytes, toPort: relayPort)

            // The peer gets the bare payload, from the direct socket; the server gets nothing.
            let (raw, directPort) = try #require(peer.receiveDatagram(timeout: 3))
            #expect(raw == Array("ping".utf8))
            #expect(server.receiveDatagram(timeout: 0.2) == nil)
            peer.send(Array("pong".utf8), toPort: directPort)
            let (answer, _) = try #require(client.receiveDatagram(timeout: 3))
            var answerBuffer = ByteBuffer(bytes: answer)
            #expect(try answerBuffer.readSOCKS5UDPHeader() == SOCKS5UDPHeader(address: target))
            #expect(answerBuffer.bytes == Array("pong".utf8))

            let flows = await front.registry.flows()
            #expect(flows.count == 1)
            let flow = try #require(flows.first)
            #expect(flow.network == "udp" && flow.inbound == "Socks5" && flow.chains == [ControllerNames.direct])
            #expect(flow.destinationPort == peer.localPort && flow.rule == "Bypass")
            #expect(flow.upload == 4 && flow.download == 4)

            // The controller's close ends the control connection, and with it the association.
            #expect(front.registry.close(id: flow.id))
            #expect(control.receiveUntilClosed(timeout: 10).closed)
            try await Task.sleep(for: .milliseconds(300))
            #expect(await front.registry.flows().isEmpty)
        }
    }
}

/// A blocking IPv4 loopback socket for the client side of these tests.
final class BlockingSocket {
    private(set) var fd: Int32
    let localPort: Int

    init(udp: Bool, bindPort: Int) throws {
        let fd = socket(AF_INET, Int32(udp ? SOCK_DGRAM.rawValue : SOCK_STREAM.rawValue), 0)
        var address = Self.loopback(port: bindPort)
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard bound == 0 else {
            Glibc.close(fd)
            throw IOError(errnoCode: errno, reason: "bind")
        }
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        self.fd = fd
        localPort = Int(UInt16(bigEndian: address.sin_port))
    }

    init(connectingTo port: Int) throws {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = Self.loopback(port: port)
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard connected == 0 else {
            Glibc.close(fd)
            throw IOError(errnoCode: errno, reason: "connect")
        }
        self.fd = fd
        localPort = 0
    }

    deinit { close() }

    func close() {
        if fd >= 0 { Glibc.close(fd) }
        fd = -1
    }

    static func loopback(port: Int) -> sockaddr_in {
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = UInt32(0x7F00_0001).bigEndian
        return address
    }

    func send(_ bytes: [UInt8]) {
        guard !bytes.isEmpty else { return }
        _ = bytes.withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
    }

    func send(_ bytes: [UInt8], toPort port: Int) {
        var address = Self.loopback(port: port)
        _ = bytes.withUnsafeBytes { raw in
            withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    sendto(fd, raw.baseAddress, raw.count, 0, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
                }
            }
        }
    }

    /// True once the socket is readable; a signal that interrupts the poll (EINTR, e.g. SIGCHLD from a test that
    /// spawned a process) waits again for what is left of `timeout` instead of reading as a timeout.
    private func wait(timeout: Double) -> Bool {
        let deadline = ContinuousClock.now + .seconds(timeout)
        while true {
            let left = deadline - ContinuousClock.now
            guard left > .zero else { return false }
            let (seconds, attoseconds) = left.components
            var poller = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            let ready = poll(&poller, 1, Int32(clamping: seconds * 1000 + attoseconds / 1_000_000_000_000_000 + 1))
            if ready > 0 { return true }
            if ready == 0 || errno != EINTR { return false }
        }
    }

    /// Reads until EOF or `timeout` passes without data.
    func receiveUntilClosed(timeout: Double) -> (bytes: [UInt8], closed: Bool) {
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 512)
        while wait(timeout: timeout) {
            let count = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if count <= 0 { return (bytes, true) }
            bytes += chunk[..<count]
        }
        return (bytes, false)
    }

    /// Reads exactly `count` bytes unless EOF or the timeout comes first.
    func receive(count: Int, timeout: Double) -> [UInt8] {
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: count)
        while bytes.count < count, wait(timeout: timeout) {
            let got = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, count - bytes.count, 0) }
            if got <= 0 { break }
            bytes += chunk[..<got]
        }
        return bytes
    }

    /// One datagram and the sender's port, or nil after `timeout`.
    func receiveDatagram(timeout: Double) -> ([UInt8], Int)? {
        guard wait(timeout: timeout) else { return nil }
        var buffer = [UInt8](repeating: 0, count: 65_536)
        var source = sockaddr_in()
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let count = buffer.withUnsafeMutableBytes { raw in
            withUnsafeMutablePointer(to: &source) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { recvfrom(fd, raw.baseAddress, raw.count, 0, $0, &length) }
            }
        }
        guard count >= 0 else { return nil }
        return (Array(buffer[..<count]), Int(UInt16(bigEndian: source.sin_port)))
    }
}

extension ByteBuffer {
    fileprivate var bytes: [UInt8] { getBytes(at: readerIndex, length: readableBytes) ?? [] }
}
