#if canImport(Glibc)
    import Glibc
#endif

/// Shadowsocks 2022 TCP constants (SIP022 section 3.1). A request stream is salt, a fixed-length header chunk
/// (type, timestamp, length of the next chunk), a variable-length header chunk (address, padding, initial
/// payload), then length/payload chunk pairs; a response stream is salt, a fixed-length header chunk (type,
/// timestamp, request salt, length of the first payload chunk), then payload and length/payload chunks.
public enum SIP022Framing {
    /// SIP022 3.1.2: "A payload chunk can have up to 0xFFFF (65535) bytes of unencrypted payload."
    public static let maximumPayload = 0xFFFF
    /// SIP022 3.1.3: MaxPaddingLength.
    public static let maximumPadding = 900
    /// SIP022 3.1.3: "Messages with over 30 seconds of time difference MUST be treated as replay."
    public static let maximumClockSkew: UInt64 = 30

    /// SIP022 3.1.3: HeaderTypeClientStream, HeaderTypeServerStream.
    enum StreamType: UInt8 {
        case request = 0
        case response = 1
    }

    /// type(1) + timestamp(8) + length(2).
    static let requestFixedHeaderSize = 1 + 8 + 2

    /// type(1) + timestamp(8) + request salt + length(2).
    static func responseFixedHeaderSize(saltSize: Int) -> Int { 1 + 8 + saltSize + 2 }

    /// Whole seconds since the Unix epoch, as the headers carry them.
    static func currentTime() -> UInt64 { UInt64(max(0, time(nil))) }

    /// True when `timestamp` is within the allowed skew of `now` either way.
    static func isFresh(_ timestamp: UInt64, now: UInt64) -> Bool {
        (timestamp > now ? timestamp - now : now - timestamp) <= maximumClockSkew
    }
}

/// The request salt of one SIP022 connection, written by whichever half learns it first (the server's request
/// decoder) and read by the other (the server's response encoder puts it in the response header).
final class SIP022RequestSaltLink {
    var salt: [UInt8]?
    init(salt: [UInt8]? = nil) { self.salt = salt }
}
