#if canImport(Glibc)
import Glibc
#endif

/// One `HMACSHA1` per thread for the one-shot key derivations (a TCP session's subkey): the event loops derive
/// two per connection, and a context made per call cost more than the MACs themselves.
enum ThreadLocalHMAC {
    private static let key: pthread_key_t = {
        var key = pthread_key_t()
        let status = pthread_key_create(&key) { pointer in
            if let pointer { Unmanaged<HMACSHA1>.fromOpaque(pointer).release() }
        }
        precondition(status == 0, "pthread_key_create: \(status)")
        return key
    }()

    /// This thread's context, made on first use and freed when the thread exits.
    static func current() throws -> HMACSHA1 {
        if let pointer = pthread_getspecific(key) {
            return Unmanaged<HMACSHA1>.fromOpaque(pointer).takeUnretainedValue()
        }
        let hmac = try HMACSHA1()
        let retained = Unmanaged.passRetained(hmac)
        guard pthread_setspecific(key, retained.toOpaque()) == 0 else {
            retained.release()
            throw CryptoError(.openSSL, "pthread_setspecific")
        }
        return hmac
    }
}
