import Config

/// The names the controller shows: the pool group, DIRECT, and each member (its configured name, or
/// ADDR:PORT when it has none), made unique in configuration order.
enum ControllerNames {
    static let pool = "pool"
    static let direct = "DIRECT"

    static func memberNames(_ members: [ServerMember]) -> [String] {
        var seen: Set<String> = [pool, direct, "GLOBAL"]
        return members.map { member in
            let base = member.name == member.endpoint.host ? member.endpoint.description : member.name
            var name = base
            var suffix = 2
            while seen.contains(name) {
                name = "\(base) #\(suffix)"
                suffix += 1
            }
            seen.insert(name)
            return name
        }
    }
}
