/// SIP004 TCP framing constants: a stream is salt, then chunks of
/// [sealed 2-byte big-endian length + tag][sealed payload + tag].
public enum AEADFraming {
    /// SIP004: "Payload length is a 2-byte big-endian unsigned integer capped at 0x3FFF."
    public static let maximumPayload = 0x3FFF
    public static let lengthFieldSize = 2
}
