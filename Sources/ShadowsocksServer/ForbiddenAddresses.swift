import Config
import IPAddresses

/// The seed's `forbidden_ip`: targets the server refuses to connect to or send to, checked on the address actually
/// used (after name resolution). The default keeps clients off the server host's loopback services.
public struct ForbiddenAddresses: Sendable, Hashable, CustomStringConvertible {
    public let ranges: [IPRange]

    /// The seed's default (shadowsocks 2.8.2 `forbidden_ip`).
    public static let defaultEntries = ["127.0.0.0/8", "::1/128"]
    public static let `default` = ForbiddenAddresses(ranges: defaultEntries.compactMap(IPRange.init))
    public static let none = ForbiddenAddresses(ranges: [])

    public init(ranges: [IPRange]) { self.ranges = ranges }

    /// Entries as the seed takes them: each an address, a CIDR prefix or a range; one entry may itself be a
    /// comma-separated list ("127.0.0.0/8,::1/128"). Empty entries are skipped, so "" forbids nothing.
    public static func parse(_ entries: [String], origin: String) throws(ConfigError) -> ForbiddenAddresses {
        var ranges: [IPRange] = []
        for entry in entries {
            for item in entry.split(separator: ",") {
                let text = item.trimmingSpaces
                if text.isEmpty { continue }
                guard let range = IPRange(text) else {
                    throw ConfigError(
                        "\(origin): \"\(text)\" is not an IP address or CIDR prefix (e.g. 127.0.0.0/8, ::1/128, 10.0.0.1)"
                    )
                }
                ranges.append(range)
            }
        }
        return ForbiddenAddresses(ranges: ranges)
    }

    /// Whether connecting to `address` would reach a forbidden host. IPv4-mapped IPv6 counts as its IPv4
    /// address, and the unspecified addresses as loopback: connecting to 0.0.0.0 or :: reaches this host.
    public func contains(_ address: IPAddress) -> Bool {
        let effective = Self.effective(address)
        return ranges.contains {
            $0.family == effective.family && $0.lower <= effective.value && effective.value <= $0.upper
        }
    }

    static func effective(_ address: IPAddress) -> IPAddress {
        let unmapped = address.unmappedIPv4
        guard unmapped.value == 0 else { return unmapped }
        return IPAddress(family: unmapped.family, value: unmapped.family == .ipv4 ? 0x7F00_0001 : 1)
    }

    public var description: String {
        ranges.isEmpty ? "none" : ranges.map(\.description).joined(separator: ", ")
    }
}

extension Substring {
    fileprivate var trimmingSpaces: String {
        String(drop(while: { $0 == " " || $0 == "\t" }).reversed().drop(while: { $0 == " " || $0 == "\t" }).reversed())
    }
}
