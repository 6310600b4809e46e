#if canImport(Glibc)
import Glibc
#endif

public enum IPFamily: Sendable, Hashable, CaseIterable {
    case ipv4, ipv6

    public var bitWidth: Int { self == .ipv4 ? 32 : 128 }
    public var byteCount: Int { bitWidth / 8 }
    /// The highest address of the family as an integer.
    public var maxValue: UInt128 { self == .ipv4 ? UInt128(UInt32.max) : UInt128.max }
}

/// An IPv4 or IPv6 address held as an integer (IPv4 in the low 32 bits) so ranges can be sorted and merged.
public struct IPAddress: Sendable, Hashable, Comparable, CustomStringConvertible {
    public let family: IPFamily
    public let value: UInt128

    public init(family: IPFamily, value: UInt128) {
        precondition(value <= family.maxValue, "address out of range for \(family)")
        self.family = family
        self.value = value
    }

    /// Dotted quad or RFC 4291 text (inet_pton); nil for anything else, including "1.2.3.4%eth0" and "[::1]".
    public init?(_ text: String) {
        if text.contains(":") {
            var raw = in6_addr()
            guard inet_pton(AF_INET6, text, &raw) == 1 else { return nil }
            let bytes = withUnsafeBytes(of: &raw) { Array($0) }
            self.init(family: .ipv6, bytes: bytes)
        } else {
            var raw = in_addr()
            guard inet_pton(AF_INET, text, &raw) == 1 else { return nil }
            let bytes = withUnsafeBytes(of: &raw) { Array($0) }
            self.init(family: .ipv4, bytes: bytes)
        }
    }

    /// From network-order bytes: 4 for IPv4, 16 for IPv6.
    public init(family: IPFamily, bytes: [UInt8]) {
        precondition(bytes.count == family.byteCount)
        var value: UInt128 = 0
        for byte in bytes { value = value << 8 | UInt128(byte) }
        self.init(family: family, value: value)
    }

    /// Network byte order, as netlink and the packet carry it.
    public var bytes: [UInt8] {
        (0..<family.byteCount).map { index in
            UInt8(truncatingIfNeeded: value >> UInt128(8 * (family.byteCount - 1 - index)))
        }
    }

    public var description: String {
        var raw = bytes
        var text = [CChar](repeating: 0, count: Int(INET6_ADDRSTRLEN))
        let domain = family == .ipv4 ? AF_INET : AF_INET6
        _ = inet_ntop(domain, &raw, &text, socklen_t(text.count))
        return String(decoding: text.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    public static func < (lhs: IPAddress, rhs: IPAddress) -> Bool {
        (lhs.family == .ipv4 ? 0 : 1, lhs.value) < (rhs.family == .ipv4 ? 0 : 1, rhs.value)
    }
}

/// A closed range of addresses of one family, `lower...upper`. A CIDR prefix is the common case.
public struct IPRange: Sendable, Hashable, CustomStringConvertible {
    public let family: IPFamily
    public let lower: UInt128
    public let upper: UInt128

    public init(family: IPFamily, lower: UInt128, upper: UInt128) {
        precondition(lower <= upper && upper <= family.maxValue, "bad range for \(family)")
        self.family = family
        self.lower = lower
        self.upper = upper
    }

    /// `address/length`, host bits ignored (so "10.1.2.3/8" is 10.0.0.0/8, as the kernel would match it).
    public init(prefix address: IPAddress, length: Int) {
        precondition((0...address.family.bitWidth).contains(length))
        let hostBits = address.family.bitWidth - length
        let hostMask: UInt128 = hostBits == 0 ? 0 : (hostBits == 128 ? .max : (1 << UInt128(hostBits)) - 1)
        self.init(
            family: address.family, lower: address.value & ~hostMask, upper: (address.value & ~hostMask) | hostMask)
    }

    public init(single address: IPAddress) {
        self.init(family: address.family, lower: address.value, upper: address.value)
    }

    /// "10.0.0.0/8", "192.0.2.1", "2001:db8::/32", or a range "10.0.0.1-10.0.0.9" (nft's own syntax);
    /// nil for anything else.
    public init?(_ text: String) {
        if let dash = text.firstIndex(of: "-") {
            guard let lower = IPAddress(String(text[..<dash])),
                let upper = IPAddress(String(text[text.index(after: dash)...])),
                lower.family == upper.family, lower.value <= upper.value
            else { return nil }
            self.init(family: lower.family, lower: lower.value, upper: upper.value)
        } else if let slash = text.firstIndex(of: "/") {
            let lengthText = text[text.index(after: slash)...]
            guard let address = IPAddress(String(text[..<slash])), !lengthText.isEmpty,
                lengthText.allSatisfy(\.isASCII), lengthText.allSatisfy(\.isNumber),
                let length = Int(lengthText), length <= address.family.bitWidth
            else { return nil }
            self.init(prefix: address, length: length)
        } else {
            guard let address = IPAddress(text) else { return nil }
            self.init(single: address)
        }
    }

    public var lowerAddress: IPAddress { IPAddress(family: family, value: lower) }
    public var upperAddress: IPAddress { IPAddress(family: family, value: upper) }

    /// The prefix length when the range is exactly one CIDR block.
    public var prefixLength: Int? {
        let size = upper - lower
        // A CIDR block spans 2^k - 1 past its start, and its start is aligned to 2^k.
        guard size & (size &+ 1) == 0, lower & size == 0 else { return nil }
        let hostBits = size == .max ? 128 : (size &+ 1).trailingZeroBitCount
        return family.bitWidth - hostBits
    }

    /// nft's spelling: a bare address, a prefix, or `lower-upper`.
    public var description: String {
        guard let length = prefixLength else { return "\(lowerAddress)-\(upperAddress)" }
        return length == family.bitWidth ? "\(lowerAddress)" : "\(lowerAddress)/\(length)"
    }
}
