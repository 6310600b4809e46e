/// The OPT pseudo-record (RFC 6891 6.1): the requester's UDP payload size, extended RCODE, version, DO bit and
/// options, which are passed through untouched.
public struct EDNSRecord: Hashable, Sendable {
    public struct Option: Hashable, Sendable {
        public var code: UInt16
        public var data: [UInt8]
        public init(code: UInt16, data: [UInt8]) {
            self.code = code
            self.data = data
        }
    }

    /// RFC 6891 6.2.5: values below 512 are treated as 512.
    public var udpPayloadSize: UInt16
    /// The upper 8 of the 12 RCODE bits.
    public var extendedResponseCode: UInt8
    public var version: UInt8
    /// RFC 3225: DNSSEC OK.
    public var dnssecOK: Bool
    /// The other 15 flag bits (Z), kept for relaying.
    public var reservedFlags: UInt16
    public var options: [Option]

    public init(
        udpPayloadSize: UInt16, extendedResponseCode: UInt8 = 0, version: UInt8 = 0, dnssecOK: Bool = false,
        reservedFlags: UInt16 = 0, options: [Option] = []
    ) {
        self.udpPayloadSize = udpPayloadSize
        self.extendedResponseCode = extendedResponseCode
        self.version = version
        self.dnssecOK = dnssecOK
        self.reservedFlags = reservedFlags & 0x7FFF
        self.options = options
    }

    /// The OPT TTL field: extended RCODE, version, DO, Z (RFC 6891 6.1.3).
    var ttlField: UInt32 {
        UInt32(extendedResponseCode) << 24 | UInt32(version) << 16 | (dnssecOK ? 0x8000 : 0) | UInt32(reservedFlags)
    }

    /// The payload size a sender may use towards this requester (at least 512, RFC 6891 6.2.5).
    public var effectivePayloadSize: Int { max(512, Int(udpPayloadSize)) }
}
