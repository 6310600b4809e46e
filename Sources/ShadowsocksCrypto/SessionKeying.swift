#if canImport(Glibc)
import Glibc
#endif

/// What a thread needs to start AEAD sessions (SIP004) cheaply: a block of random bytes for salts, the subkey
/// derivers of the master keys it used last, and an HMAC-SHA1 context for the one-shot derivations
/// (`KeyDerivation`). A TCP connection draws one salt and derives two subkeys; through `RAND_bytes` and HMAC
/// contexts those were about 4 % of a relayed connection's CPU.
///
/// One per thread (event loops, the server's accept loops), made on first use and freed when the thread exits.
/// Salts are handed out from a `SaltPool`, so the first use must come after the process has daemonised (no fork
/// follows: plugins are started with posix_spawn and exec at once).
final class SessionKeying {
    /// A pool rarely has more servers with distinct keys; past this the oldest deriver is dropped.
    static let derivers = 8

    let salts = SaltPool()
    private var keyed: [(key: [UInt8], deriver: SubkeyDeriver)] = []
    private var hmacContext: HMACSHA1?

    /// This thread's HMAC-SHA1 context, made on first use (a context made per call cost more than the MAC).
    func hmac() throws -> HMACSHA1 {
        if let hmacContext { return hmacContext }
        let made = try HMACSHA1()
        hmacContext = made
        return made
    }

    /// The deriver for `masterKey`. The keys of a configuration are the same arrays every time, so the comparison
    /// is usually of two identical buffers (O(1) in `Array.==`).
    func deriver(for masterKey: [UInt8]) throws -> SubkeyDeriver {
        if let found = keyed.first(where: { $0.key == masterKey }) { return found.deriver }
        let deriver = try SubkeyDeriver(masterKey: masterKey)
        if keyed.count == Self.derivers { keyed.removeFirst() }
        keyed.append((masterKey, deriver))
        return deriver
    }

    private static let key: pthread_key_t = {
        var key = pthread_key_t()
        let status = pthread_key_create(&key) { pointer in
            if let pointer { Unmanaged<SessionKeying>.fromOpaque(pointer).release() }
        }
        precondition(status == 0, "pthread_key_create: \(status)")
        return key
    }()

    /// This thread's instance.
    static func current() throws -> SessionKeying {
        if let pointer = pthread_getspecific(key) {
            return Unmanaged<SessionKeying>.fromOpaque(pointer).takeUnretainedValue()
        }
        let keying = SessionKeying()
        let retained = Unmanaged.passRetained(keying)
        guard pthread_setspecific(key, retained.toOpaque()) == 0 else {
            retained.release()
            throw CryptoError(.openSSL, "pthread_setspecific")
        }
        return keying
    }
}
