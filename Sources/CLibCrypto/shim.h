#ifndef C_LIB_CRYPTO_SHIM_H
#define C_LIB_CRYPTO_SHIM_H
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <openssl/hmac.h>
#include <openssl/core_names.h>
#include <openssl/params.h>
#include <openssl/rand.h>
#include <openssl/err.h>
#include <openssl/provider.h>
#include <openssl/sha.h>

/* SHA-1's own block functions, deprecated for applications in OpenSSL 3 but kept: a UDP packet's HKDF subkey is ten
   SHA-1 compressions, and EVP's per-call dispatch cost more than they did. Wrapped so Swift sees no deprecation. */
#pragma clang diagnostic push
#pragma clang diagnostic ignored "-Wdeprecated-declarations"
static inline int c_ss_sha1_init(SHA_CTX *context) { return SHA1_Init(context); }
static inline int c_ss_sha1_update(SHA_CTX *context, const void *data, size_t length) {
    return SHA1_Update(context, data, length);
}
static inline int c_ss_sha1_final(unsigned char *digest, SHA_CTX *context) { return SHA1_Final(digest, context); }
#pragma clang diagnostic pop
#endif
