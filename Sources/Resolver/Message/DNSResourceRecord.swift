import IPAddresses

/// One resource record of the answer, authority or additional section (RFC 1035 4.1.3). OPT is not one of
/// these: it lives in `DNSMessage.edns`.
public struct DNSResourceRecord: Hashable, Sendable, CustomStringConvertible {
    public var name: DNSName
    public var recordClass: DNSClass
    public var ttl: UInt32
    public var data: DNSRecordData

    public init(name: DNSName, recordClass: DNSClass = .internet, ttl: UInt32, data: DNSRecordData) {
        self.name = name
        self.recordClass = recordClass
        self.ttl = ttl
        self.data = data
    }

    public var type: DNSRecordType { data.type }

    /// RFC 2181 8: a TTL with the top bit set is treated as zero.
    public var effectiveTTL: UInt32 { ttl & 0x8000_0000 != 0 ? 0 : ttl }

    public var description: String { "\(name) \(ttl) \(recordClass) \(type) \(data)" }
}

/// RDATA: decoded for the types the resolver reads and for the RFC 1035 types whose RDATA holds compressible
/// names (so a re-serialized message never carries a pointer into another message); raw octets otherwise.
public enum DNSRecordData: Hashable, Sendable, CustomStringConvertible {
    /// A (RFC 1035 3.4.1) for an IPv4 address, AAAA (RFC 3596 2.2) for IPv6; class IN only.
    case address(IPAddress)
    case cname(DNSName)
    case ns(DNSName)
    case ptr(DNSName)
    case mx(preference: UInt16, exchange: DNSName)
    case soa(DNSStartOfAuthority)
    /// Any other type (or A/AAAA outside class IN), RDATA as received (RFC 3597).
    case other(type: DNSRecordType, bytes: [UInt8])

    public var type: DNSRecordType {
        switch self {
        case .address(let address): address.family == .ipv4 ? .a : .aaaa
        case .cname: .cname
        case .ns: .ns
        case .ptr: .ptr
        case .mx: .mx
        case .soa: .soa
        case .other(let type, _): type
        }
    }

    public var description: String {
        switch self {
        case .address(let address): "\(address)"
        case .cname(let name), .ns(let name), .ptr(let name): "\(name)."
        case .mx(let preference, let exchange): "\(preference) \(exchange)."
        case .soa(let soa): "\(soa)"
        case .other(_, let bytes): "\\# \(bytes.count)"
        }
    }
}

/// SOA RDATA (RFC 1035 3.3.13). `minimum` bounds how long a negative answer may be cached (RFC 2308 4).
public struct DNSStartOfAuthority: Hashable, Sendable, CustomStringConvertible {
    public var primaryServer: DNSName
    public var responsibleMailbox: DNSName
    public var serial: UInt32
    public var refresh: UInt32
    public var retry: UInt32
    public var expire: UInt32
    public var minimum: UInt32

    public init(
        primaryServer: DNSName, responsibleMailbox: DNSName, serial: UInt32, refresh: UInt32, retry: UInt32,
        expire: UInt32, minimum: UInt32
    ) {
        self.primaryServer = primaryServer
        self.responsibleMailbox = responsibleMailbox
        self.serial = serial
        self.refresh = refresh
        self.retry = retry
        self.expire = expire
        self.minimum = minimum
    }

    public var description: String {
        "\(primaryServer). \(responsibleMailbox). \(serial) \(refresh) \(retry) \(expire) \(minimum)"
    }
}
