import ShadowsocksCrypto

/// Shadowsocks 2022 keys as users write them: `-k`/`password` and `--key`/`key` both carry base64(PSK), as in
/// shadowsocks-rust and sing-box (SIP022 section 2.1: never a password run through EVP_BytesToKey). A multi-user
/// server behind identity keys takes `iPSK0:…:uPSK` (SIP023), the user's own key last.
public enum PreSharedKey {
    /// The key of a 2022 `method` from its base64 text; `origin` says where it was written. `server`: the text
    /// is a server's own key, which has no identity keys in front of it.
    public static func parse(_ text: String, method: CipherMethod, origin: String, server: Bool = false)
        throws(ConfigError) -> MasterKey
    {
        let advice = "(generate one with: openssl rand -base64 \(method.keySize))"
        let parts = text.split(separator: ":", omittingEmptySubsequences: false).map(String.init)
        var keys: [[UInt8]] = []
        for (index, part) in parts.enumerated() {
            let which =
                parts.count == 1
                ? "" : index == parts.count - 1 ? " (the user key, last of \(parts.count))" : " (identity key \(index + 1) of \(parts.count))"
            guard let raw = Base64Key.decode(part), !raw.isEmpty else {
                throw ConfigError("\(origin): \(method.name) needs a base64 \(method.keySize)-byte key\(which) \(advice)")
            }
            guard raw.count == method.keySize else {
                throw ConfigError(
                    "\(origin): \(method.name) needs a \(method.keySize)-byte key\(which), the base64 decodes to \(raw.count) bytes \(advice)"
                )
            }
            keys.append(raw)
        }
        if keys.count > 1 && server {
            throw ConfigError(
                "\(origin): ss-server serves one PSK per port; \"iPSK:uPSK\" keys (multi-user identity headers) are for clients: give the server its own key"
            )
        }
        if keys.count > 1 && method == .blake3ChaCha20Poly1305 {
            throw ConfigError(
                "\(origin): \(method.name) has no identity headers (SIP023 defines them for the 2022 AES methods only): give one key, or use 2022-blake3-aes-128-gcm / 2022-blake3-aes-256-gcm"
            )
        }
        do {
            return try MasterKey(method: method, rawKey: keys.removeLast(), identityKeys: keys)
        } catch {
            throw ConfigError("\(origin): \(error)")
        }
    }
}
