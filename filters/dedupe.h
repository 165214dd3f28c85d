/* filters/dedupe.h — dedupe structures for the crawler: a Bloom filter and an exact key set.
 *
 * Keys are arbitrary bytes (URL + caption, content hashes, uids). Both structures work on the
 * key's XXH3-128 (common/hash.h): the Bloom filter derives its k bit positions from the two
 * 64-bit halves by enhanced double hashing (Kirsch & Mitzenmacher), the exact set stores the
 * 16-byte digest itself (a false match needs a 128-bit collision).
 *
 * Bloom sizing (as LAION and Heritrix do): for n expected keys and false-positive rate p,
 *   m = ceil(-n ln p / (ln 2)^2) bits (rounded up to 64), k = round(m/n ln 2) (1..32).
 * 1% → 9.6 bits (1.2 bytes) per key, k = 7; 0.1% → 14.4 bits per key, k = 10.
 * The exact set is open addressing with linear probing at load ≤ 0.5, doubling as it fills: 32
 * bytes per key just before a doubling, 64 just after.
 *
 * Both serialize to files with magic, version, header size, parameters and an XXH3-64
 * checksum of the body, written to path.tmp, fsynced, renamed. Not thread-safe: one owner.
 */
#ifndef CC_DEDUPE_H
#define CC_DEDUPE_H

#include <stddef.h>
#include <stdint.h>

#include "common/hash.h"
#include "common/status.h"

/* ---- Bloom filter -------------------------------------------------------------------------- */

typedef struct bloom_filter bloom_filter;

/* A filter for about n keys at false-positive rate p (0 < p < 1). CC_E_INVAL for n = 0, a bad
 * p, or more than 2^40 bits; CC_E_NOMEM. */
cc_status bloom_new(uint64_t n, double p, bloom_filter **out);
/* A filter with exactly m bits (rounded up to 64) and k hashes (1..32). */
cc_status bloom_new_raw(uint64_t m_bits, int k, bloom_filter **out);
void bloom_free(bloom_filter *b); /* accepts NULL */

/* Adds a key; returns 1 if it was (probably) present before, 0 if it is new. */
int bloom_add(bloom_filter *b, const void *key, size_t len);
int bloom_add_hash(bloom_filter *b, cc_hash128 h);
/* 1 if the key may be present, 0 if it certainly is not. */
int bloom_test(const bloom_filter *b, const void *key, size_t len);
int bloom_test_hash(const bloom_filter *b, cc_hash128 h);

uint64_t bloom_bits(const bloom_filter *b);
int bloom_hashes(const bloom_filter *b);
uint64_t bloom_count(const bloom_filter *b); /* bloom_add calls that returned 0 */
/* The false-positive rate expected at the current fill: (1 - e^(-k n / m))^k. */
double bloom_fp_rate(const bloom_filter *b);

/* File "CCBF": see docs/FILTERS.md. Load checks magic, version, sizes, checksum:
 * CC_E_FORMAT / CC_E_VERSION / CC_E_CHECKSUM / CC_E_IO / CC_E_NOTFOUND (no file) / CC_E_LIMIT
 * (more than max_bytes of bits) / CC_E_NOMEM. Save: CC_E_IO, CC_E_LIMIT (path too long). */
cc_status bloom_save(const bloom_filter *b, const char *path);
cc_status bloom_load(const char *path, uint64_t max_bytes, bloom_filter **out);

/* ---- Exact key set ------------------------------------------------------------------------- */

typedef struct key_set key_set;

/* A set that holds at most max_keys keys (its memory is bounded by that). CC_E_INVAL for 0. */
cc_status key_set_new(uint64_t max_keys, key_set **out);
void key_set_free(key_set *s); /* accepts NULL */

/* Adds a key: returns 1 if it was already present (also when full), 0 if added; -CC_E_LIMIT
 * when a new key meets a full set, -CC_E_NOMEM (negated status) on failure. */
int key_set_add(key_set *s, const void *key, size_t len);
int key_set_add_hash(key_set *s, cc_hash128 h);
/* 1 if present. */
int key_set_contains(const key_set *s, const void *key, size_t len);
int key_set_contains_hash(const key_set *s, cc_hash128 h);
uint64_t key_set_count(const key_set *s);

/* File "CCKS": magic, version, header size, count, the digests in slot order, checksum. Load
 * gives a set of at most max_keys keys (CC_E_INVAL for 0) and fails like bloom_load, with
 * CC_E_LIMIT for more than max_keys keys and CC_E_FORMAT for a digest stored twice. */
cc_status key_set_save(const key_set *s, const char *path);
cc_status key_set_load(const char *path, uint64_t max_keys, key_set **out);

#endif
