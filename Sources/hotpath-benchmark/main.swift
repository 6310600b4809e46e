import IPAddresses
import NIOCore
import Redir
import Resolver
import ShadowsocksCrypto
import ShadowsocksProtocol

// Costs of the relay's hot paths (issue 8), one figure per line, for scripts/bench/micro.sh to set beside
// `openssl speed` (the crypto ceiling): AEAD seal/open per chunk size, the SIP004 stream encoder/decoder,
// a session's setup (subkey + cipher context), a UDP packet (sealed through the codec and in place), a DNS cache
// hit.
// Run: swift run -c release hotpath-benchmark [--quick] [--only TEXT]  (--only: methods/figures containing TEXT,
// e.g. to profile one of them)
// Output: tab-separated `figure  method  bytes  ns-per-op  MB/s` (MB = 10^6 bytes, as openssl speed counts).

let quick = CommandLine.arguments.contains("--quick")
let only: String? = CommandLine.arguments.firstIndex(of: "--only").flatMap {
    $0 + 1 < CommandLine.arguments.count ? CommandLine.arguments[$0 + 1] : nil
}
func wanted(_ names: String...) -> Bool { only.map { text in names.contains { $0.contains(text) } } ?? true }
/// Bytes (or operations, for the fixed-cost figures) each timed sample covers, and the samples per figure.
let bytesPerSample = quick ? 4 << 20 : 32 << 20
let samples = quick ? 3 : 5

/// The median over `samples` of nanoseconds per call of `body`, run `iterations` times per sample.
func nanosecondsPerOperation(iterations: Int, _ body: () throws -> Void) rethrows -> Double {
    for _ in 0..<max(1, iterations / 10) { try body() }  // warm-up: caches, lazily fetched ciphers
    var results: [Double] = []
    let clock = ContinuousClock()
    for _ in 0..<samples {
        let start = clock.now
        for _ in 0..<iterations { try body() }
        let elapsed = clock.now - start
        let nanoseconds = Double(elapsed.components.seconds) * 1e9 + Double(elapsed.components.attoseconds) / 1e9
        results.append(nanoseconds / Double(iterations))
    }
    return results.sorted()[results.count / 2]
}

func report(_ figure: String, _ method: String, bytes: Int, nanoseconds: Double) {
    let megabytesPerSecond = bytes > 0 ? Double(bytes) / nanoseconds * 1e3 : 0
    print("\(figure)\t\(method)\t\(bytes)\t\(String(format2: nanoseconds))\t\(String(format2: megabytesPerSecond))")
}

extension String {
    /// Two decimals without Foundation.
    init(format2 value: Double) {
        let hundredths = Int((value * 100).rounded())
        let fraction = hundredths % 100
        self = "\(hundredths / 100).\(fraction < 10 ? "0" : "")\(fraction)"
    }
}

func iterations(forBytes size: Int, minimum: Int = 2_000) -> Int { max(minimum, bytesPerSample / max(size, 1)) }

let aeadMethods: [CipherMethod] = [.aes128GCM, .aes256GCM, .chacha20IETFPoly1305]
let chunkSizes = [16, 64, 256, 1_200, 8_192, AEADFraming.maximumPayload]

// 1. One chunk sealed / opened: a fresh nonce, the data, the tag (openssl speed -aead does the same per op).
for method in aeadMethods where wanted("seal", "open", method.rawValue) {
    let subkey = try SecureRandom.bytes(method.keySize)
    for size in chunkSizes {
        let plaintext = [UInt8](repeating: 0x5a, count: size)
        var sealed = [UInt8](repeating: 0, count: size + method.tagSize)
        let sealer = try AEADCipher(method: method, subkey: subkey, sealing: true)
        let count = iterations(forBytes: size, minimum: 20_000)
        let seal = try plaintext.withUnsafeBytes { input in
            try sealed.withUnsafeMutableBytes { output in
                try nanosecondsPerOperation(iterations: count) { try sealer.seal(input, into: output) }
            }
        }
        report("seal", method.rawValue, bytes: size, nanoseconds: seal)

        // Opening needs each chunk under its own nonce: a run of chunks sealed from nonce 0, the opener re-keyed
        // (nonce back to 0) at the start of every run; the re-key is one per `run` chunks.
        let run = size <= 1_200 ? 1_024 : 128
        let replay = try AEADCipher(method: method, subkey: subkey, sealing: true)
        var chunks = [UInt8](repeating: 0, count: run * (size + method.tagSize))
        try plaintext.withUnsafeBytes { input in
            try chunks.withUnsafeMutableBytes { all in
                for index in 0..<run {
                    let start = index * (size + method.tagSize)
                    try replay.seal(input, into: UnsafeMutableRawBufferPointer(rebasing: all[start..<start + size + method.tagSize]))
                }
            }
        }
        let opener = try AEADCipher(method: method, subkey: subkey, sealing: false)
        var output = [UInt8](repeating: 0, count: size)
        var next = 0
        let open = try chunks.withUnsafeBytes { all in
            try output.withUnsafeMutableBytes { out in
                try nanosecondsPerOperation(iterations: count) {
                    if next == 0 { try opener.rekey(subkey: subkey) }
                    let start = next * (size + method.tagSize)
                    try opener.open(UnsafeRawBufferPointer(rebasing: all[start..<start + size + method.tagSize]), into: out)
                    next = next + 1 == run ? 0 : next + 1
                }
            }
        }
        report("open", method.rawValue, bytes: size, nanoseconds: open)
    }
}

// 2. The SIP004 stream: 4 MiB encoded in 48 KiB writes (what the client codec hands the encoder), decoded from
// 64 KiB reads and from 1 KiB reads (a drip-fed decoder), through NIO's single-step processor and through
// TCPStreamProcessor (the relay's).
let streamSize = quick ? 1 << 20 : 4 << 20
for method in [CipherMethod.aes256GCM, .chacha20IETFPoly1305] where wanted("stream", method.rawValue) {
    let key = MasterKey(method: method, password: "hotpath-benchmark")
    let plaintext = ByteBuffer(repeating: 0x42, count: streamSize)
    let write = 3 * AEADFraming.maximumPayload
    var encoded = ByteBuffer()
    let encode = try nanosecondsPerOperation(iterations: 1) {
        var encoder = try AEADChunkEncoder(key: key)
        var source = plaintext
        encoded.clear()
        while source.readableBytes > 0 {
            var piece = source.readSlice(length: min(write, source.readableBytes))!
            try encoder.encode(&piece, into: &encoded)
        }
    }
    report("stream-encode", method.rawValue, bytes: streamSize, nanoseconds: encode)
    for read in [65_536, 1_024] {
        let decode = try nanosecondsPerOperation(iterations: 1) {
            let processor = NIOSingleStepByteToMessageProcessor(AEADChunkDecoder(key: key), maximumBufferSize: 1 << 20)
            var source = encoded
            var decoded = 0
            while source.readableBytes > 0 {
                let piece = source.readSlice(length: min(read, source.readableBytes))!
                try processor.process(buffer: piece) { decoded += $0.readableBytes }
            }
            precondition(decoded == streamSize, "decoded \(decoded) of \(streamSize)")
        }
        report("stream-decode-\(read / 1_024)k", method.rawValue, bytes: streamSize, nanoseconds: decode)
        // The relay's way: TCPStreamProcessor completes a split chunk from the next read instead of gathering.
        let carried = try nanosecondsPerOperation(iterations: 1) {
            var processor = TCPStreamProcessor(ShadowsocksTCPDecoder(key: key), maximumBufferSize: 1 << 20)
            var source = encoded
            var decoded = 0
            while source.readableBytes > 0 {
                let piece = source.readSlice(length: min(read, source.readableBytes))!
                try processor.process(piece) { decoded += $0.readableBytes }
            }
            precondition(decoded == streamSize, "decoded \(decoded) of \(streamSize)")
        }
        report("stream-decode-carry-\(read / 1_024)k", method.rawValue, bytes: streamSize, nanoseconds: carried)
    }
}

// 3. What every TCP connection pays before its first byte: the two session subkeys (HKDF-SHA1) and cipher
// contexts, one with a fresh random salt.
for method in [CipherMethod.aes256GCM, .chacha20IETFPoly1305] where wanted("session", method.rawValue) {
    let key = MasterKey(method: method, password: "hotpath-benchmark")
    let salt = try SecureRandom.bytes(method.saltSize)
    let setup = try nanosecondsPerOperation(iterations: quick ? 5_000 : 50_000) {
        _ = try key.makeAEADSealer()
        _ = try key.makeAEADCipher(salt: salt, sealing: false)
    }
    report("session-setup", method.rawValue, bytes: 0, nanoseconds: setup)
}

// 4. A 1,200-byte UDP datagram sealed into a SIP004 packet (salt, subkey, address, payload) and opened again.
for method in [CipherMethod.aes256GCM, .chacha20IETFPoly1305] where wanted("udp", method.rawValue) {
    let codec = try ShadowsocksUDP.makeCodec(key: MasterKey(method: method, password: "hotpath-benchmark"))
    let payload = ByteBuffer(repeating: 0x17, count: 1_200)
    let target = SocksAddress.ipv4((192, 0, 2, 7), port: 443)
    var packet = ByteBuffer()
    let seal = try nanosecondsPerOperation(iterations: quick ? 5_000 : 50_000) {
        packet.clear()
        try codec.seal(target: target, payload: payload, into: &packet)
    }
    report("udp-seal", method.rawValue, bytes: 1_200, nanoseconds: seal)
    let open = try nanosecondsPerOperation(iterations: quick ? 5_000 : 50_000) {
        _ = try codec.open(packet)
    }
    report("udp-open", method.rawValue, bytes: 1_200, nanoseconds: open)

    // What the TPROXY receiver thread does for an established flow: the datagram sealed where it was received.
    let inPlace = try AEADPacketCodec(key: MasterKey(method: method, password: "hotpath-benchmark"))
    let address = target.encoded
    let headroom = inPlace.headroom(addressCount: address.count)
    var slot = [UInt8](repeating: 0x17, count: headroom + 1_200 + inPlace.tailroom)
    let sealInPlace = try address.withUnsafeBytes { address in
        try slot.withUnsafeMutableBytes { slot in
            try nanosecondsPerOperation(iterations: quick ? 5_000 : 50_000) {
                _ = try inPlace.sealInPlace(address: address, packet: slot, payloadOffset: headroom, payloadCount: 1_200)
            }
        }
    }
    report("udp-seal-in-place", method.rawValue, bytes: 1_200, nanoseconds: sealInPlace)
}

// 5. The DNS forwarder's cache hit: the LAN query parsed, the answer found, re-stamped and serialized.
if wanted("dns") {
    let cache = DNSAnswerCache()
    let names = (0..<1_000).map { "host\($0).example.com" }
    for (index, name) in names.enumerated() {
        let query = DNSMessage.query(id: 1, name: try DNSName(name), type: .a)
        let address = IPAddress("198.51.100.\(index % 250 + 1)")!
        let answer = DNSMessage.answer(to: query, addresses: [address], ttl: 600)
        cache.store(answer, for: DNSAnswerCache.Key(name: name, type: DNSRecordType.a.rawValue, questionClass: 1))
    }
    let queries = try names.map { try DNSMessage.query(id: 7, name: DNSName($0), type: .a).serialized() }
    var next = 0
    let hit = try nanosecondsPerOperation(iterations: quick ? 20_000 : 200_000) {
        let query = try DNSMessage(parsing: queries[next])
        next = next + 1 == queries.count ? 0 : next + 1
        guard let question = query.questions.first else { fatalError("no question") }
        let key = DNSAnswerCache.Key(
            name: HostsFile.normalize(question.name.description), type: question.type.rawValue,
            questionClass: question.questionClass.rawValue)
        guard let found = cache.lookup(key, id: query.header.id) else { fatalError("cache miss") }
        _ = try found.serialized()
    }
    report("dns-cache-hit", "-", bytes: 0, nanoseconds: hit)
}
