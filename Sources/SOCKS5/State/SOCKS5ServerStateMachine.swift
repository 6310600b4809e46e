import NIOCore
import ShadowsocksProtocol

/// The server side of a SOCKS5 handshake as a value: bytes in, an action out (what to send, what to carry
/// out, when to close). It never touches a channel, so it is tested by feeding it bytes.
///
/// greeting -> [username/password when credentials are configured] -> request. CONNECT and UDP ASSOCIATE
/// are handed to the caller as `.perform(request)`; BIND and unknown commands are answered X'07' here, an
/// unknown address type X'08', and the connection closed.
public struct SOCKS5ServerStateMachine: Sendable {
    public enum Action: Sendable {
        /// Nothing to do until more bytes arrive.
        case waitForMoreData
        /// Send these bytes and keep reading.
        case send(ByteBuffer)
        /// The handshake is complete: carry out the request, then answer it with a `SOCKS5Reply`. Bytes the
        /// client sent after the request stay in the buffer (they belong to the relayed stream).
        case perform(SOCKS5Request)
        /// Send these bytes (if any), then close; `error` says why, for the log.
        case sendAndClose(ByteBuffer?, SOCKS5Error)
    }

    enum State: Sendable {
        case awaitingGreeting
        case awaitingCredentials
        case awaitingRequest
        /// The request was handed out; the caller owns the connection now.
        case performing
        case failed
    }

    private(set) var state = State.awaitingGreeting
    private let credentials: SOCKS5Credentials?
    /// Commands the caller carries out; the others are answered X'07' (e.g. UDP ASSOCIATE with UDP off).
    private let supportedCommands: Set<SOCKS5Command>

    public init(credentials: SOCKS5Credentials?, supportedCommands: Set<SOCKS5Command> = [.connect, .udpAssociate]) {
        self.credentials = credentials
        self.supportedCommands = supportedCommands
    }

    /// True once a request was handed out or the connection is to be closed.
    public var isFinished: Bool {
        switch state {
        case .awaitingGreeting, .awaitingCredentials, .awaitingRequest: false
        case .performing, .failed: true
        }
    }

    /// Consumes what it can from `buffer`. Call again after `.send` (more messages may already be waiting).
    public mutating func receive(_ buffer: inout ByteBuffer) -> Action {
        do throws(SOCKS5Error) {
            switch state {
            case .awaitingGreeting:
                guard let greeting = try buffer.readSOCKS5ClientGreeting() else { return .waitForMoreData }
                return selectMethod(greeting)
            case .awaitingCredentials:
                guard let request = try buffer.readSOCKS5UsernamePasswordRequest() else { return .waitForMoreData }
                return authenticate(request)
            case .awaitingRequest:
                guard let request = try buffer.readSOCKS5Request() else { return .waitForMoreData }
                return dispatch(request)
            case .performing, .failed:
                return .waitForMoreData
            }
        } catch {
            return fail(error)
        }
    }

    private mutating func selectMethod(_ greeting: SOCKS5ClientGreeting) -> Action {
        let wanted: SOCKS5AuthenticationMethod = credentials == nil ? .noAuthentication : .usernamePassword
        guard greeting.methods.contains(wanted) else {
            state = .failed
            var reply = ByteBuffer()
            reply.writeSOCKS5MethodSelection(SOCKS5MethodSelection(method: .noAcceptableMethods))
            return .sendAndClose(reply, SOCKS5Error(.noAcceptableMethod(offered: greeting.methods.map(\.rawValue))))
        }
        state = credentials == nil ? .awaitingRequest : .awaitingCredentials
        var reply = ByteBuffer()
        reply.writeSOCKS5MethodSelection(SOCKS5MethodSelection(method: wanted))
        return .send(reply)
    }

    private mutating func authenticate(_ request: SOCKS5UsernamePasswordRequest) -> Action {
        var reply = ByteBuffer()
        guard let credentials, credentials.matches(request) else {
            state = .failed
            // RFC 1929: on a failure status the server must close the connection.
            reply.writeSOCKS5UsernamePasswordReply(.failure)
            return .sendAndClose(reply, SOCKS5Error(.authenticationFailed))
        }
        state = .awaitingRequest
        reply.writeSOCKS5UsernamePasswordReply(.success)
        return .send(reply)
    }

    private mutating func dispatch(_ request: SOCKS5Request) -> Action {
        guard supportedCommands.contains(request.command) else {
            state = .failed
            return .sendAndClose(
                Self.reply(.commandNotSupported), SOCKS5Error(.commandNotSupported(request.command.rawValue)))
        }
        state = .performing
        return .perform(request)
    }

    /// A malformed message: the reply the RFC has for it where there is one (only once a request may be sent),
    /// otherwise just close.
    private mutating func fail(_ error: SOCKS5Error) -> Action {
        let during = state
        state = .failed
        guard case .awaitingRequest = during else { return .sendAndClose(nil, error) }
        switch error.kind {
        case .unknownAddressType: return .sendAndClose(Self.reply(.addressTypeNotSupported), error)
        case .unsupportedVersion: return .sendAndClose(nil, error)
        default: return .sendAndClose(Self.reply(.generalFailure), error)
        }
    }

    /// A reply, by default with the unspecified bound address.
    public static func reply(_ code: SOCKS5ReplyCode, bound: SocksAddress = SOCKS5Reply.unspecifiedAddress) -> ByteBuffer {
        var buffer = ByteBuffer()
        buffer.writeSOCKS5Reply(SOCKS5Reply(code: code, boundAddress: bound))
        return buffer
    }
}
