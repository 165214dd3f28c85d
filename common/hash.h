/* common/hash.h — XXH3 hashing (libxxhash): 64-bit and 128-bit, one-shot and streaming.
 *
 * 128-bit values print as 32 lowercase hex digits in XXH128's canonical order (high 64 bits
 * first, big-endian), the same text `xxhsum -H2` and Python's xxhash.xxh3_128_hexdigest() give.
 * Thread safety: all functions are reentrant.
 */
#ifndef CC_HASH_H
#define CC_HASH_H

#include <stddef.h>
#include <stdint.h>

#include "common/status.h"

typedef struct cc_hash128 {
    uint64_t hi, lo;
} cc_hash128;

uint64_t cc_hash64(const void *p, size_t n);
cc_hash128 cc_hash128_of(const void *p, size_t n);
int cc_hash128_eq(cc_hash128 a, cc_hash128 b);

/* Canonical 16 bytes (big-endian hi then lo) and back. */
void cc_hash128_to_bytes(cc_hash128 h, uint8_t out[16]);
cc_hash128 cc_hash128_from_bytes(const uint8_t in[16]);

/* Writes 32 hex digits and a NUL. */
void cc_hash128_hex(cc_hash128 h, char out[33]);
/* Parses exactly 32 hex digits; CC_E_FORMAT otherwise. */
cc_status cc_hash128_parse(const char *hex, cc_hash128 *out);

/* Streaming 128-bit hash. */
typedef struct cc_hasher cc_hasher;
cc_status cc_hasher_new(cc_hasher **out);
void cc_hasher_update(cc_hasher *h, const void *p, size_t n);
cc_hash128 cc_hasher_digest(const cc_hasher *h);
void cc_hasher_free(cc_hasher *h); /* accepts NULL */

#endif
