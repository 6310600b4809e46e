/// Replay protection: a server remembers the salts (AEAD) or IVs (stream ciphers) it has accepted and refuses
/// a stream or packet that repeats one (SIP004 recommends it; ss-libev keeps a pair of bloom filters).
public protocol SaltFilter: AnyObject, Sendable {
    /// True if `salt` was not seen before; it is then remembered. False for a replay.
    func admit(_ salt: [UInt8]) -> Bool
}
