import NIOCore
import ShadowsocksCrypto

/// Builds both halves of one Shadowsocks TCP connection for a role. The roles differ from SIP022 on: a client's
/// request carries the target in its header and the response must name the request's salt; a server checks
/// timestamps and replays and names the request salt in its response. For SIP004 and stream ciphers this is the
/// same as the separate initialisers, with the target address in front of the client's first plaintext.
public enum ShadowsocksTCP {
    /// A client's halves: the request encoder to `target` and the decoder for the server's response.
    public static func makeClientCodecs(
        key: MasterKey, target: SocksAddress, allocator: ByteBufferAllocator = ByteBufferAllocator()
    ) throws -> (encoder: ShadowsocksTCPEncoder, decoder: ShadowsocksTCPDecoder) {
        let encoder = try ShadowsocksTCPEncoder(key: key, target: target)
        let decoder = ShadowsocksTCPDecoder(
            key: key, sip022: .response(requestSalt: encoder.sip022Salt ?? []), saltFilter: nil, allocator: allocator)
        return (encoder, decoder)
    }

    /// A server's halves: the request decoder (replays refused by `saltFilter`; SIP022 needs an exact filter,
    /// never a bloom filter, holding salts at least 60 s) and the response encoder. Its plaintext is the target
    /// address, then payload; the encoder must not get payload before the decoder has produced some.
    public static func makeServerCodecs(
        key: MasterKey, saltFilter: (any SaltFilter)?, allocator: ByteBufferAllocator = ByteBufferAllocator()
    ) throws -> (decoder: ShadowsocksTCPDecoder, encoder: ShadowsocksTCPEncoder) {
        let link = SIP022RequestSaltLink()
        let decoder = ShadowsocksTCPDecoder(
            key: key, sip022: .request(saltFilter: saltFilter, link: link), saltFilter: saltFilter,
            allocator: allocator)
        return (decoder, try ShadowsocksTCPEncoder(key: key, respondingThrough: link))
    }
}
