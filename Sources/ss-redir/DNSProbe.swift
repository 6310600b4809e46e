#if canImport(Glibc)
import Glibc
#endif
import Config

/// `check`'s question to the DNS forwarder: one UDP query (the root's NS records, RFC 1035 4.1), any reply
/// with the query's id counts as an answer. Blocking, bounded by `timeoutMilliseconds`.
enum DNSProbe {
    static let query: [UInt8] = [0x5C, 0x4B, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 2, 0, 1]

    /// nil when answered, else why not. A wildcard listen address is asked on loopback.
    static func ask(_ endpoint: ServerEndpoint, timeoutMilliseconds: Int32 = 5_000) -> String? {
        let host = endpoint.host == "0.0.0.0" ? "127.0.0.1" : (endpoint.host == "::" ? "::1" : endpoint.host)
        var hints = addrinfo()
        hints.ai_socktype = Int32(SOCK_DGRAM.rawValue)
        hints.ai_flags = AI_NUMERICHOST
        var result: UnsafeMutablePointer<addrinfo>?
        guard getaddrinfo(host, String(endpoint.port), &hints, &result) == 0, let info = result else {
            return "\(host) is not an IP address"
        }
        defer { freeaddrinfo(result) }
        let descriptor = socket(info.pointee.ai_family, Int32(SOCK_DGRAM.rawValue), 0)
        guard descriptor >= 0 else { return String(cString: strerror(errno)) }
        defer { close(descriptor) }
        guard connect(descriptor, info.pointee.ai_addr, info.pointee.ai_addrlen) == 0,
            query.withUnsafeBytes({ send(descriptor, $0.baseAddress, $0.count, 0) }) == query.count
        else { return String(cString: strerror(errno)) }
        var poller = pollfd(fd: descriptor, events: Int16(POLLIN), revents: 0)
        guard poll(&poller, 1, timeoutMilliseconds) == 1 else { return "no answer within \(timeoutMilliseconds / 1000) s" }
        var reply = [UInt8](repeating: 0, count: 4096)
        let count = reply.withUnsafeMutableBytes { recv(descriptor, $0.baseAddress, $0.count, 0) }
        guard count >= 12 else { return count < 0 ? String(cString: strerror(errno)) : "a reply too short to be DNS" }
        return reply[0] == query[0] && reply[1] == query[1] && reply[2] & 0x80 != 0 ? nil : "a reply that does not match the query"
    }
}
