import Testing
import SeededRandom

@testable import Resolver

@Suite struct DNSMessageMalformedTests {
    static let header1Question = hex("abcd 0100 0001 0000 0000 0000")
    static let header1Answer = hex("abcd 8180 0000 0001 0000 0000")

    func kind(of bytes: [UInt8]) -> DNSMessageError.Kind? {
        do {
            _ = try DNSMessage(parsing: bytes)
            return nil
        } catch {
            return error.kind
        }
    }

    @Test func selfPointerIsALoop() {
        #expect(kind(of: Self.header1Question + hex("c00c 0001 0001")) == .pointerLoop(target: 12))
    }

    @Test func pointerBackIntoTheSameNameIsALoop() {
        // "a" then a pointer back to the "a": a.a.a.a... forever.
        #expect(kind(of: Self.header1Question + hex("0161 c00c 0001 0001")) == .pointerLoop(target: 12))
    }

    @Test func forwardPointerIsRejected() {
        #expect(kind(of: Self.header1Question + hex("c012 0001 0001 0161 00")) == .forwardPointer(target: 18))
    }

    @Test func loopThroughTwoNamesIsRejected() {
        // Question name at 12 is "a" + pointer to the answer owner at 21, which points back to 12.
        let bytes =
            hex("abcd 8180 0001 0001 0000 0000") + hex("0161 c015 0001 0001")
            + hex("c00c 0001 0001 00000000 0004 01020304")
        #expect(kind(of: bytes) == .forwardPointer(target: 21))
    }

    @Test func longPointerChainsAreCut() {
        // A TXT record whose RDATA is 200 pointers, each to the one before; the next owner name enters at the end.
        var bytes = hex("abcd 8180 0001 0002 0000 0000") + hex("0161 00 0001 0001")
        let txtOwner = bytes.count
        bytes += hex("c00c 0010 0001 00000000") + [0x01, 0x90]
        let first = bytes.count
        bytes += hex("c00c")
        for index in 1..<200 {
            let previous = first + 2 * (index - 1)
            bytes += [0xC0 | UInt8(previous >> 8), UInt8(previous & 0xFF)]
        }
        #expect(bytes.count - first == 400 && txtOwner < first)
        let last = first + 2 * 199
        bytes += [0xC0 | UInt8(last >> 8), UInt8(last & 0xFF)] + hex("0001 0001 00000000 0004 01020304")
        #expect(kind(of: bytes) == .tooManyPointers)
    }

    @Test func reservedLabelTypesAreRejected() {
        #expect(kind(of: Self.header1Question + hex("4161 00 0001 0001")) == .reservedLabelType(0x40))
        #expect(kind(of: Self.header1Question + hex("8161 00 0001 0001")) == .reservedLabelType(0x80))
    }

    @Test func namesLongerThan255OctetsAreRejectedEvenThroughPointers() {
        let label = [UInt8(63)] + [UInt8](repeating: 0x61, count: 63)
        // Four full labels inline: 257 octets.
        #expect(kind(of: Self.header1Question + label + label + label + label + hex("00 0001 0001")) == .nameTooLong)
        // Two inline, then a pointer to a name of two more: the sum is too long.
        let first = Self.header1Question + label + label + hex("00 0001 0001")
        let second = hex("abcd 0100 0002 0000 0000 0000") + Array(first[12...]) + label + label + hex("c00c 0001 0001")
        #expect(kind(of: second) == .nameTooLong)
    }

    @Test func recordDataMustFitItsType() {
        let owner = hex("0161 00")
        #expect(
            kind(of: Self.header1Answer + owner + hex("0001 0001 00000000 0005 0102030405"))
                == .badRecordData(type: .a, length: 5))
        #expect(
            kind(of: Self.header1Answer + owner + hex("001c 0001 00000000 0004 01020304"))
                == .badRecordData(type: .aaaa, length: 4))
        // A CNAME whose name ends one octet before its RDATA does.
        #expect(
            kind(of: Self.header1Answer + owner + hex("0005 0001 00000000 0004 016200 ff"))
                == .badRecordData(type: .cname, length: 4))
        // A CNAME whose name runs past its RDATA.
        #expect(
            kind(of: Self.header1Answer + owner + hex("0005 0001 00000000 0002 0162 00"))
                == .badRecordData(type: .cname, length: 2))
        #expect(
            kind(of: Self.header1Answer + owner + hex("000f 0001 00000000 0002 0001"))
                == .badRecordData(type: .mx, length: 2))
        #expect(
            kind(of: Self.header1Answer + owner + hex("0006 0001 00000000 0004 00 00 0000"))
                == .badRecordData(type: .soa, length: 4))
        #expect(kind(of: Self.header1Answer + owner + hex("0001 0001 00000000 0009 01")) == .truncated)
    }

    @Test func optRulesFromRFC6891() {
        let opt = hex("00 0029 1000 00000000 0000")
        #expect(kind(of: hex("abcd 8180 0000 0001 0000 0000") + opt) == .misplacedOPT)
        #expect(kind(of: hex("abcd 8180 0000 0000 0000 0002") + opt + opt) == .multipleOPT)
        #expect(
            kind(of: hex("abcd 8180 0000 0000 0000 0001") + hex("0161 00 0029 1000 00000000 0000")) == .misplacedOPT)
        #expect(
            kind(of: hex("abcd 8180 0000 0000 0000 0001") + hex("00 0029 1000 00000000 0006 000a 0008 0102"))
                == .malformedEDNSOption)
        #expect(
            kind(of: hex("abcd 8180 0000 0000 0000 0001") + hex("00 0029 1000 00000000 0003 000a 00"))
                == .malformedEDNSOption)
        #expect(kind(of: hex("abcd 8180 0000 0000 0000 0001") + opt) == nil)
    }

    @Test(arguments: [
        DNSMessageCodecTests.plainQuery, DNSMessageCodecTests.compressedResponse, DNSMessageCodecTests.digQuery,
        DNSMessageCodecTests.dnsmasqAAAAResponse, DNSMessageCodecTests.dnsmasqNXDOMAINResponse,
    ])
    func everyTruncationIsRejected(message: [UInt8]) {
        #expect(kind(of: message) == nil)
        for length in 0..<message.count {
            #expect(kind(of: Array(message.prefix(length))) == .truncated, "cut at \(length)")
        }
    }

    @Test func trailingOctetsAreIgnored() throws {
        let message = try DNSMessage(parsing: DNSMessageCodecTests.plainQuery + [0, 0, 0])
        #expect(message == (try DNSMessage(parsing: DNSMessageCodecTests.plainQuery)))
    }

    @Test func hugeCountsFailFastInsteadOfAllocating() {
        #expect(kind(of: hex("abcd 8180 ffff ffff ffff ffff") + hex("00 0001 0001")) == .truncated)
    }

    /// Seeded mutations of real messages: the parser must never trap, and whatever it accepts must survive a
    /// serialize/parse round trip (compressed and not) unchanged.
    @Test func mutationFuzzNeverCrashesAndAcceptedMessagesRoundTrip() throws {
        var random = SplitMix64(seed: 0x5EED_D115)
        let seeds = [
            DNSMessageCodecTests.plainQuery, DNSMessageCodecTests.compressedResponse, DNSMessageCodecTests.digQuery,
            DNSMessageCodecTests.dnsmasqAAAAResponse, DNSMessageCodecTests.dnsmasqNXDOMAINResponse,
        ]
        var accepted = 0
        var rejected: [String: Int] = [:]
        for _ in 0..<20_000 {
            var bytes = seeds[Int(random.next() % UInt64(seeds.count))]
            for _ in 0..<(1 + Int(random.next() % 4)) { mutate(&bytes, &random) }
            do {
                let message = try DNSMessage(parsing: bytes)
                accepted += 1
                for compress in [true, false] {
                    guard let again = try? message.serialized(compressingNames: compress) else { continue }
                    #expect(try DNSMessage(parsing: again) == message)
                }
            } catch {
                rejected["\(error.kind)".prefix { $0 != "(" }.description, default: 0] += 1
            }
        }
        // Both outcomes must be common, or the mutations are not exercising the parser.
        #expect(accepted > 1000)
        #expect(rejected.values.reduce(0, +) > 5000)
        #expect(rejected.keys.count >= 5, "\(rejected)")
    }

    private func mutate(_ bytes: inout [UInt8], _ random: inout SplitMix64) {
        guard !bytes.isEmpty else {
            bytes = [UInt8(truncatingIfNeeded: random.next())]
            return
        }
        let position = Int(random.next() % UInt64(bytes.count))
        let value = UInt8(truncatingIfNeeded: random.next())
        switch random.next() % 7 {
        case 0: bytes[position] ^= 1 << (value % 8)
        case 1: bytes[position] = value
        case 2: bytes.insert(value, at: position)
        case 3: bytes.remove(at: position)
        case 4: bytes.removeLast(Int(random.next() % UInt64(bytes.count)))
        case 5:
            // A compression pointer somewhere, to anywhere.
            let target = UInt16(truncatingIfNeeded: random.next()) % UInt16(max(1, bytes.count + 4))
            bytes[position] = 0xC0 | UInt8(target >> 8 & 0x3F)
            if position + 1 < bytes.count { bytes[position + 1] = UInt8(target & 0xFF) }
        default:
            // Section counts are the most sensitive octets.
            if bytes.count >= DNSHeader.length { bytes[4 + position % 8] = value % 4 }
        }
    }
}
