import ShadowsocksCrypto

/// Shadowsocks 2022 keys as users write them: `-k`/`password` and `--key`/`key` both carry base64(PSK), as in
/// shadowsocks-rust and sing-box (SIP022 section 2.1: never a password run through EVP_BytesToKey).
public enum PreSharedKey {
    /// The key of a 2022 `method` from its base64 text; `origin` says where it was written.
    public static func parse(_ text: String, method: CipherMethod, origin: String) throws(ConfigError) -> MasterKey {
        let advice = "(generate one with: openssl rand -base64 \(method.keySize))"
        guard let raw = Base64Key.decode(text), !raw.isEmpty else {
            throw ConfigError("\(origin): \(method.name) needs a base64 \(method.keySize)-byte key \(advice)")
        }
        do {
            return try MasterKey(method: method, rawKey: raw)
        } catch {
            throw ConfigError(
                "\(origin): \(method.name) needs a \(method.keySize)-byte key, the base64 decodes to \(raw.count) bytes \(advice)"
            )
        }
    }
}
