extension DNSMessage {
    /// How long this response may be cached, or nil when it must not be: for a positive answer the smallest
    /// answer TTL (RFC 2181 5.2, 8); for NXDOMAIN or NODATA the negative TTL (RFC 2308 5); otherwise nil
    /// (SERVFAIL and friends, a truncated message, a negative answer without SOA).
    public var minimumTTL: UInt32? {
        guard !header.isTruncated else { return nil }
        switch responseCode {
        case .noError where !answers.isEmpty:
            return answers.map(\.effectiveTTL).min()
        case .noError, .nameError:
            return negativeTTL
        default:
            return nil
        }
    }

    /// RFC 2308 5: a negative answer lives for the smaller of its SOA record's TTL and that SOA's MINIMUM; nil
    /// when the authority section has no SOA (RFC 2308 5: such answers should not be cached).
    public var negativeTTL: UInt32? {
        for record in authorities {
            if case .soa(let soa) = record.data {
                return min(record.effectiveTTL, soa.minimum & 0x8000_0000 != 0 ? 0 : soa.minimum)
            }
        }
        return nil
    }
}
