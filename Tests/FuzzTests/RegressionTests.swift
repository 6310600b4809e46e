import Foundation
import NIOCore
import ShadowsocksCrypto
import Testing

@testable import ShadowsocksProtocol
@testable import ShadowsocksServer

/// Inputs the fuzz loops found that once crashed a parser, replayed through the path where they crashed.
@Suite("Fuzz regressions")
struct RegressionTests {
    /// A domain of 100 bytes 0xFF decoded to 100 U+FFFD (300 UTF-8 bytes); the SIP022 request decoder then wrote
    /// it back with `writeSocksAddress`, whose length byte cannot hold it: a trap in ss-server on one authentic
    /// request (and in any UDP relay echoing such an address).
    @Test("SIP022 request header with a non-UTF-8 domain: a typed error, not a trap")
    func sip022NonUTF8Domain() throws {
        let key = try MasterKey(method: .blake3AES256GCM, rawKey: [UInt8](repeating: 0x42, count: 32))
        let salt = [UInt8](repeating: 9, count: 32)
        let cipher = try key.makeSIP022Cipher(salt: salt, sealing: true)
        let variable: [UInt8] = [3, 100] + [UInt8](repeating: 0xFF, count: 100) + [0, 80, 0, 0] + Array("GET".utf8)
        let now = UInt64(Date().timeIntervalSince1970)
        let fixed: [UInt8] =
            [0] + withUnsafeBytes(of: now.bigEndian, Array.init) + [UInt8(variable.count >> 8), UInt8(variable.count & 0xFF)]
        let stream = salt + (try cipher.seal(fixed)) + (try cipher.seal(variable))
        let outcome = TCPStreamDecoderFuzzTests.serverDecode(key, [stream])
        #expect(outcome.error == ShadowsocksProtocolError(.invalidDomain))
        #expect(outcome.target == nil)
    }

    @Test("Stream-cipher UDP packet decrypting to a non-UTF-8 domain: a typed error")
    func streamPacketNonUTF8Domain() throws {
        let key = MasterKey(method: .aes256CFB, password: "fuzz")
        let iv = [UInt8](repeating: 1, count: 16)
        let plaintext: [UInt8] = [3, 100] + [UInt8](repeating: 0xC3, count: 100) + [0, 53]
        let packet = iv + (try key.makeStreamCipher(iv: iv, encrypting: true).update(plaintext))
        #expect(throws: ShadowsocksProtocolError(.invalidDomain)) {
            try StreamPacketCodec(key: key).open(ByteBuffer(bytes: packet))
        }
    }
}
