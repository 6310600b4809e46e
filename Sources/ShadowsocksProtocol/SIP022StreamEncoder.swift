import NIOCore
import ShadowsocksCrypto

/// Encrypts one direction of a Shadowsocks 2022 TCP stream (SIP022 section 3.1). The first call writes the salt
/// and the header chunks in the same output buffer (SIP022 3.1.3: one write): for a request, the fixed header
/// and the variable header carrying the target, padding and as much payload as fits; for a response, the fixed
/// header naming the request salt and the first payload chunk. Then length/payload chunk pairs, 0xFFFF at most.
public struct SIP022StreamEncoder {
    enum Header {
        case request(SocksAddress)
        case response(SIP022RequestSaltLink)
    }

    private let method: CipherMethod
    private let salt: [UInt8]
    private let cipher: AEADCipher
    private var pendingHeader: Header?
    private let clock: () -> UInt64
    private let tagSize: Int
    /// SIP023 identity headers a request writes between its salt and its first chunk (empty without iPSKs).
    private let identityHeaders: [UInt8]

    /// `salt` and `clock` are fixed only by known-answer tests.
    init(key: MasterKey, header: Header, salt: [UInt8]? = nil, clock: @escaping () -> UInt64 = SIP022Framing.currentTime)
        throws
    {
        let salt = try salt ?? SecureRandom.bytes(key.method.saltSize)
        self.method = key.method
        self.salt = salt
        self.cipher = try key.makeSIP022Cipher(salt: salt, sealing: true)
        self.pendingHeader = header
        self.clock = clock
        self.tagSize = key.method.tagSize
        if case .request = header {
            self.identityHeaders = try key.sip023StreamIdentityHeaders(salt: salt)
        } else {
            self.identityHeaders = []
        }
    }

    /// A client's request stream to `target`.
    public init(key: MasterKey, target: SocksAddress) throws {
        try self.init(key: key, header: .request(target))
    }

    /// A server's response stream to the request that had `requestSalt`.
    public init(key: MasterKey, requestSalt: [UInt8]) throws {
        try self.init(key: key, header: .response(SIP022RequestSaltLink(salt: requestSalt)))
    }

    /// The salt this stream starts with (a client checks the response against it).
    public var streamSalt: [UInt8] { salt }

    /// Upper bound of the bytes `encode` appends for `count` plaintext bytes.
    public func encodedSizeBound(_ count: Int) -> Int {
        let chunks = count / SIP022Framing.maximumPayload + 1
        var bound = count + chunks * (AEADFraming.lengthFieldSize + 2 * tagSize)
        switch pendingHeader {
        case .request(let target):
            bound += salt.count + identityHeaders.count + SIP022Framing.requestFixedHeaderSize + tagSize
                + target.encodedLength + 2
                + SIP022Framing.maximumPadding + tagSize
        case .response:
            bound += salt.count + SIP022Framing.responseFixedHeaderSize(saltSize: salt.count) + tagSize
        case nil:
            break
        }
        return bound
    }

    /// Consumes every readable byte of `plaintext` and appends ciphertext to `output`. A response header waits
    /// for the first payload (SIP022 3.1.3: "the header is always sent along with payload"); a request header is
    /// written even for an empty `plaintext`, with random padding then.
    public mutating func encode(_ plaintext: inout ByteBuffer, into output: inout ByteBuffer) throws {
        output.reserveCapacity(minimumWritableBytes: encodedSizeBound(plaintext.readableBytes))
        switch pendingHeader {
        case .request(let target):
            try writeRequestHeader(target: target, plaintext: &plaintext, into: &output)
            pendingHeader = nil
        case .response(let link):
            guard plaintext.readableBytes > 0 else { return }
            guard let requestSalt = link.salt else { throw ShadowsocksProtocolError(.responseBeforeRequest) }
            let first = min(plaintext.readableBytes, SIP022Framing.maximumPayload)
            var header = ByteBuffer()
            header.writeInteger(SIP022Framing.StreamType.response.rawValue)
            header.writeInteger(clock())
            header.writeBytes(requestSalt)
            header.writeInteger(UInt16(first))
            output.writeBytes(salt)
            try seal(header.readableBytesView, into: &output)
            try seal(plaintext.readableBytesView.prefix(first), into: &output)
            plaintext.moveReaderIndex(forwardBy: first)
            pendingHeader = nil
        case nil:
            break
        }
        while plaintext.readableBytes > 0 {
            let length = min(plaintext.readableBytes, SIP022Framing.maximumPayload)
            var field = UInt16(length).bigEndian
            try withUnsafeBytes(of: &field) { try seal($0, into: &output) }
            try seal(plaintext.readableBytesView.prefix(length), into: &output)
            plaintext.moveReaderIndex(forwardBy: length)
        }
    }

    private func writeRequestHeader(
        target: SocksAddress, plaintext: inout ByteBuffer, into output: inout ByteBuffer
    ) throws {
        // The variable header's length is a u16: the address, the padding length and the payload share it.
        let room = SIP022Framing.maximumPayload - target.encodedLength - 2
        let initial = min(plaintext.readableBytes, room)
        // SIP022 3.1.3: "if payload is not available, add non-zero random length padding".
        let padding = initial == 0 ? Int.random(in: 1...SIP022Framing.maximumPadding) : 0
        var variable = ByteBuffer()
        variable.reserveCapacity(target.encodedLength + 2 + padding + initial)
        variable.writeSocksAddress(target)
        variable.writeInteger(UInt16(padding))
        variable.writeRepeatingByte(0, count: padding)
        variable.writeBytes(plaintext.readableBytesView.prefix(initial))
        plaintext.moveReaderIndex(forwardBy: initial)

        var fixed = ByteBuffer()
        fixed.writeInteger(SIP022Framing.StreamType.request.rawValue)
        fixed.writeInteger(clock())
        fixed.writeInteger(UInt16(variable.readableBytes))
        output.writeBytes(salt)
        output.writeBytes(identityHeaders)
        try seal(fixed.readableBytesView, into: &output)
        try seal(variable.readableBytesView, into: &output)
    }

    private func seal(_ bytes: ByteBufferView, into output: inout ByteBuffer) throws {
        try bytes.withUnsafeBytes { try seal($0, into: &output) }
    }

    private func seal(_ bytes: UnsafeRawBufferPointer, into output: inout ByteBuffer) throws {
        _ = try output.writeWithUnsafeMutableBytes(minimumWritableBytes: bytes.count + tagSize) { out in
            try cipher.seal(bytes, into: out)
            return bytes.count + tagSize
        }
    }
}
