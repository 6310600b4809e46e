/// What a sniffer made of the first bytes a client sent.
public enum SniffResult: Sendable, Hashable {
    /// The host name the client asked for, as sent (compare it case-insensitively).
    case found(String)
    /// So far a valid prefix of the protocol: read more bytes and ask again.
    case needMoreData
    /// Not this protocol, malformed, over the sniffer's size bound, or without a usable name: decide by address.
    case notThisProtocol
}
