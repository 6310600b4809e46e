import NIOCore
import Testing

@testable import ShadowsocksProtocol

@Suite struct SocksAddressTests {
    static let samples: [SocksAddress] = [
        .ipv4((10, 0, 0, 1), port: 80),
        .ipv6([0x20, 0x01, 0x0d, 0xb8] + [UInt8](repeating: 0, count: 11) + [1], port: 443),
        .domain("example.com", port: 8080),
    ]

    @Test func encodesKnownBytes() {
        var buffer = ByteBuffer()
        buffer.writeSocksAddress(.ipv4((1, 2, 3, 4), port: 0x1F90))
        #expect(Array(buffer.readableBytesView) == [1, 1, 2, 3, 4, 0x1F, 0x90])
        buffer.clear()
        buffer.writeSocksAddress(.domain("a.b", port: 53))
        #expect(Array(buffer.readableBytesView) == [3, 3, 0x61, 0x2E, 0x62, 0, 53])
    }

    @Test(arguments: samples) func roundTripsDripFed(address: SocksAddress) throws {
        var encoded = ByteBuffer()
        let length = encoded.writeSocksAddress(address)
        #expect(length == address.encodedLength)
        var partial = ByteBuffer()
        for (index, byte) in encoded.readableBytesView.enumerated() {
            partial.writeInteger(byte)
            let decoded = try partial.readSocksAddress()
            if index < length - 1 {
                #expect(decoded == nil)
                #expect(partial.readerIndex == 0)
            } else {
                #expect(decoded == address)
                #expect(partial.readableBytes == 0)
            }
        }
    }

    @Test func rejectsUnknownTypeAndEmptyDomain() {
        var unknown = ByteBuffer(bytes: [0x05, 1, 2])
        #expect(throws: ShadowsocksProtocolError(.unknownAddressType(5))) { try unknown.readSocksAddress() }
        var empty = ByteBuffer(bytes: [0x03, 0, 0, 80])
        #expect(throws: ShadowsocksProtocolError(.emptyDomain)) { try empty.readSocksAddress() }
    }

    @Test func formatsIPv6Compressed() {
        #expect(Self.samples[1].description == "[2001:db8::1]:443")
        #expect(SocksAddress.ipv6([UInt8](repeating: 0, count: 16), port: 1).description == "[::]:1")
    }
}
