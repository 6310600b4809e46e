import Testing

@testable import ShadowsocksCrypto

/// Known answers for the first two AEAD operations of a session (nonce 0 then nonce 1), password "barfoo!",
/// salt 00 01 02 ..., computed independently with Python's `cryptography` package.
struct AEADVector: Sendable, CustomTestStringConvertible {
    let method: CipherMethod
    let sealedLength: String
    let sealedPayload: String
    var testDescription: String { method.name }
}

let aeadVectors: [AEADVector] = [
    .init(
        method: .aes128GCM, sealedLength: "6f4633a62e44d2a37099525f4bbcd633046b",
        sealedPayload: "e8a53f65d14f652af78367e344ed873b5ec9cd05bccac70be95a9494d261db3664f4"),
    .init(
        method: .aes192GCM, sealedLength: "d324e1617eef2c1b85bfd907256f9fa84b19",
        sealedPayload: "9413d3f344553b154e03876c68eec5981984e93191a87128eb3cec8620e66fd946e4"),
    .init(
        method: .aes256GCM, sealedLength: "fe25c0607716229a28ab78ead0a8c651979f",
        sealedPayload: "b6f5cc0f03cbd3ad3c2e3a79b5b5c83efed0c74df27c49e6bbd757bb2ae340513616"),
    .init(
        method: .chacha20IETFPoly1305, sealedLength: "a03de6c64de099570f0ee6359d18652942f2",
        sealedPayload: "26d76ee13ab34b49f73ca2ec0877d2decddb6cbbd7b937ca60838d007c2504456504"),
]

@Suite struct AEADCipherTests {
    let plaintext = Array("hello, shadowsocks".utf8)

    @Test(arguments: aeadVectors) func sealMatchesKnownAnswer(vector: AEADVector) throws {
        let key = MasterKey(method: vector.method, password: "barfoo!")
        let sealer = try key.makeAEADCipher(salt: Array(0..<UInt8(vector.method.saltSize)), sealing: true)
        #expect(try sealer.seal([0, UInt8(plaintext.count)]) == hex(vector.sealedLength))
        #expect(try sealer.seal(plaintext) == hex(vector.sealedPayload))
    }

    @Test(arguments: aeadVectors) func openMatchesKnownAnswer(vector: AEADVector) throws {
        let key = MasterKey(method: vector.method, password: "barfoo!")
        let opener = try key.makeAEADCipher(salt: Array(0..<UInt8(vector.method.saltSize)), sealing: false)
        #expect(try opener.open(hex(vector.sealedLength)) == [0, UInt8(plaintext.count)])
        #expect(try opener.open(hex(vector.sealedPayload)) == plaintext)
    }

    @Test(arguments: aeadVectors) func tamperedByteFailsAuthentication(vector: AEADVector) throws {
        let key = MasterKey(method: vector.method, password: "barfoo!")
        let opener = try key.makeAEADCipher(salt: Array(0..<UInt8(vector.method.saltSize)), sealing: false)
        var sealed = hex(vector.sealedLength)
        sealed[0] ^= 0x01
        #expect(throws: CryptoError(.authenticationFailed)) { try opener.open(sealed) }
    }

    @Test func nonceCounterIsLittleEndianAndCarries() throws {
        // After 256 operations the nonce is 00 01 00 ... : both sides must agree across the carry.
        let key = MasterKey(method: .aes128GCM, password: "x")
        let salt = [UInt8](repeating: 7, count: 16)
        let sealer = try key.makeAEADCipher(salt: salt, sealing: true)
        let opener = try key.makeAEADCipher(salt: salt, sealing: false)
        for index in 0..<300 {
            let message = [UInt8(index & 0xFF)]
            #expect(try opener.open(try sealer.seal(message)) == message)
        }
    }

    /// A re-keyed context must seal and open exactly as a fresh one, from nonce zero, whatever it did before (UDP
    /// re-keys one context per packet).
    @Test(arguments: CipherMethod.aeadCases) func rekeyedContextMatchesAFreshOne(method: CipherMethod) throws {
        let first = [UInt8](repeating: 3, count: method.keySize)
        let second = (0..<method.keySize).map { UInt8($0) }
        let sealer = try AEADCipher(method: method, subkey: first, sealing: true)
        let opener = try AEADCipher(method: method, subkey: first, sealing: false)
        for round in 0..<3 {
            for index in 0..<round { _ = try opener.open(try sealer.seal([UInt8(index)])) }
            try sealer.rekey(subkey: second)
            try opener.rekey(subkey: second)
            let freshSealer = try AEADCipher(method: method, subkey: second, sealing: true)
            for index in 0..<3 {
                let message = [UInt8](repeating: UInt8(index), count: 40)
                let sealed = try sealer.seal(message)
                #expect(sealed == (try freshSealer.seal(message)))
                #expect(try opener.open(sealed) == message)
            }
            try sealer.rekey(subkey: first)
            try opener.rekey(subkey: first)
        }
    }

    @Test func wrongKeyFailsAuthentication() throws {
        let salt = [UInt8](repeating: 1, count: 32)
        let sealer = try MasterKey(method: .aes256GCM, password: "right").makeAEADCipher(salt: salt, sealing: true)
        let opener = try MasterKey(method: .aes256GCM, password: "wrong").makeAEADCipher(salt: salt, sealing: false)
        #expect(throws: CryptoError(.authenticationFailed)) { try opener.open(try sealer.seal([1, 2, 3])) }
    }
}
