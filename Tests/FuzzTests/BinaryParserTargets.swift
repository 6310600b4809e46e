import NIOCore
import SOCKS5
import ShadowsocksProtocol

/// The small binary readers at the edges: the SOCKS-style address codec (every Shadowsocks header starts with
/// one) and the SOCKS5 request and UDP header readers (RFC 1928 sections 4, 5, 7). Each returns whether the
/// input gave a value; a throw must be the module's typed error, and an accepted address must re-encode.
enum BinaryParserTargets {
    static let all: [String: @Sendable ([UInt8]) -> Bool] = [
        "address": address, "socks5-request": socks5Request, "socks5-udp": socks5UDP,
    ]

    static func address(_ bytes: [UInt8]) -> Bool {
        var buffer = ByteBuffer(bytes: bytes)
        do {
            guard let parsed = try buffer.readSocksAddress() else {
                precondition(buffer.readerIndex == 0, "a short address consumed bytes")
                return false
            }
            reencode(parsed)
            return true
        } catch is ShadowsocksProtocolError {
            return false
        } catch {
            preconditionFailure("untyped error \(error)")
        }
    }

    static func socks5Request(_ bytes: [UInt8]) -> Bool {
        var buffer = ByteBuffer(bytes: bytes)
        guard let request = try? buffer.readSOCKS5Request() else { return false }
        var echo = ByteBuffer()
        _ = echo.writeSOCKS5Request(request)
        return true
    }

    static func socks5UDP(_ bytes: [UInt8]) -> Bool {
        var buffer = ByteBuffer(bytes: bytes)
        guard let header = try? buffer.readSOCKS5UDPHeader() else { return false }
        reencode(header.address)
        return true
    }

    /// Relays write parsed addresses back out (SOCKS5 replies, UDP reply headers, SIP022 headers).
    static func reencode(_ address: SocksAddress) {
        var echo = ByteBuffer()
        precondition(echo.writeSocksAddress(address) == address.encodedLength)
    }
}
