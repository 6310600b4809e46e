/// The server_name (SNI) of a TLS ClientHello, read from the first bytes a client sends (RFC 8446 5.1, 4.1.2;
/// RFC 6066 3). Handshake fragments spread over several records are joined (RFC 8446 5.1 allows it; clients
/// normally send one record). The ClientHello must be complete before a name is returned, so every length is
/// checked against its container.
public enum TLSClientHello {
    /// RFC 8446 5.1: a TLSPlaintext fragment is at most 2^14 bytes and a handshake fragment is never empty.
    static let maximumFragment = 1 << 14
    /// The most bytes of ClientHello (handshake header included) this sniffer buffers: the protocol allows 2^24,
    /// real ones are under 2 KiB (a few KiB with post-quantum key shares), so larger ones are not sniffed.
    public static let maximumLength = 1 << 16
    /// Records a ClientHello may be spread over before the sniffer gives up: no limit in the RFC, but each costs a
    /// rescan of the buffered bytes, and real clients use one.
    static let maximumRecords = 1024
    /// legacy_version + random + session id length + cipher_suites<2..> + legacy_compression_methods<1..>.
    static let minimumBody = 2 + 32 + 1 + (2 + 2) + (1 + 1)

    static let handshakeRecord: UInt8 = 22
    static let clientHelloType: UInt8 = 1
    static let serverNameExtension = 0
    static let hostNameType: UInt8 = 0

    public static func serverName<Bytes: Collection>(in bytes: Bytes) -> SniffResult where Bytes.Element == UInt8 {
        if let result = bytes.withContiguousStorageIfAvailable({ serverName(in: UnsafeRawBufferPointer($0)) }) {
            return result
        }
        return Array(bytes).withUnsafeBytes { serverName(in: $0) }
    }

    public static func serverName(in bytes: UnsafeRawBufferPointer) -> SniffResult {
        var handshake: [UInt8] = []
        var offset = 0
        for _ in 0..<maximumRecords {
            // TLSPlaintext: type(1) legacy_record_version(2) length(2) fragment.
            guard bytes.count - offset >= 5 else { return partialRecordHeader(bytes[offset...]) }
            let length = Int(bytes[offset + 3]) << 8 | Int(bytes[offset + 4])
            guard bytes[offset] == handshakeRecord, bytes[offset + 1] == 3, bytes[offset + 2] <= 4,
                length >= 1, length <= maximumFragment
            else { return .notThisProtocol }
            let available = min(length, bytes.count - offset - 5)
            handshake += bytes[(offset + 5)..<(offset + 5 + available)]
            // Handshake: msg_type(1) length(3) body.
            if handshake.count >= 1 && handshake[0] != clientHelloType { return .notThisProtocol }
            if handshake.count >= 4 {
                let bodyLength = Int(handshake[1]) << 16 | Int(handshake[2]) << 8 | Int(handshake[3])
                guard bodyLength >= minimumBody, 4 + bodyLength <= maximumLength else { return .notThisProtocol }
                if handshake.count >= 4 + bodyLength {
                    return handshake.withUnsafeBytes { clientHello(ByteReader($0, from: 4, to: 4 + bodyLength)) }
                }
            }
            guard available == length else { return .needMoreData }
            offset += 5 + length
        }
        return .notThisProtocol
    }

    /// Fewer than 5 bytes of a record header: still possible, or already wrong.
    private static func partialRecordHeader(_ header: UnsafeRawBufferPointer.SubSequence) -> SniffResult {
        let start = header.startIndex
        if header.count >= 1 && header[start] != handshakeRecord { return .notThisProtocol }
        if header.count >= 2 && header[start + 1] != 3 { return .notThisProtocol }
        if header.count >= 3 && header[start + 2] > 4 { return .notThisProtocol }
        // The length's high byte alone already shows a fragment over 2^14.
        if header.count >= 4 && Int(header[start + 3]) << 8 > maximumFragment { return .notThisProtocol }
        return .needMoreData
    }

    /// RFC 8446 4.1.2 ClientHello body; the reader spans exactly the body.
    private static func clientHello(_ body: ByteReader) -> SniffResult {
        var reader = body
        guard let version = reader.u16(), version >> 8 == 3, reader.skip(32),
            let sessionIDLength = reader.u8(), sessionIDLength <= 32, reader.skip(Int(sessionIDLength)),
            let cipherSuitesLength = reader.u16(), cipherSuitesLength >= 2, cipherSuitesLength % 2 == 0,
            reader.skip(cipherSuitesLength),
            let compressionLength = reader.u8(), compressionLength >= 1, reader.skip(Int(compressionLength))
        else { return .notThisProtocol }
        // A ClientHello without extensions (TLS 1.2 and older allow it) has no server_name.
        guard reader.remaining > 0, let extensionsLength = reader.u16(), extensionsLength == reader.remaining
        else { return .notThisProtocol }
        var name: String?
        while reader.remaining > 0 {
            guard let type = reader.u16(), let length = reader.u16(), var data = reader.sub(length) else {
                return .notThisProtocol
            }
            guard type == serverNameExtension else { continue }
            // RFC 8446 4.2: no extension type twice.
            guard name == nil, let hostName = serverNameList(&data) else { return .notThisProtocol }
            name = hostName
        }
        return name.map { .found($0) } ?? .notThisProtocol
    }

    /// RFC 6066 3: ServerNameList<1..2^16-1> of (name_type, HostName<1..2^16-1>); one host_name at most.
    private static func serverNameList(_ data: inout ByteReader) -> String? {
        guard let listLength = data.u16(), listLength >= 1, listLength == data.remaining else { return nil }
        var hostName: String?
        while data.remaining > 0 {
            guard let type = data.u8(), let length = data.u16(), length >= 1 else { return nil }
            let start = data.offset
            guard data.skip(length) else { return nil }
            guard type == hostNameType else { continue }
            guard hostName == nil else { return nil }
            let bytes = data.slice(start, length)
            // RFC 6066: ASCII, no trailing dot; names are at most 253 characters as text (RFC 1035).
            guard bytes.count <= DomainName.maximumLength, bytes.last != UInt8(ascii: "."),
                bytes.allSatisfy({ DomainName.isNameByte($0) || $0 == UInt8(ascii: ".") })
            else { return nil }
            let text = String(decoding: bytes, as: UTF8.self)
            guard DomainName.problem(text) == nil else { return nil }
            hostName = text
        }
        return hostName
    }
}
