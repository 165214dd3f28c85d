/* filters/dedupe.c — see dedupe.h.
 *
 * File layouts (integers little-endian; offsets in bytes):
 *
 * Bloom filter "CCBF", version 1
 *   0      4       magic "CCBF"
 *   4      2       version, 1
 *   6      2       header size H, 28 in version 1 (a reader skips bytes 28..H-1)
 *   8      4       k, hashes per key, 1..32
 *   12     8       m, bits: a multiple of 64 in 64..2^40
 *   20     8       count: bloom_add calls that returned 0 (at most m)
 *   H      m/8     the bits as m/64 u64 words: bit j is bit (j mod 64) of word j/64
 *   H+m/8  8       XXH3-64 (seed 0) of bytes 0..H+m/8-1
 *
 * Exact key set "CCKS", version 1
 *   0      4       magic "CCKS"
 *   4      2       version, 1
 *   6      2       header size H, 20 in version 1 (a reader skips bytes 20..H-1)
 *   8      4       reserved, written 0, ignored
 *   12     8       count, keys in the set
 *   H      16*n    the keys' XXH3-128 digests, canonical bytes (cc_hash128_to_bytes: high 64
 *                  bits big-endian, then low): the all-zero digest first if present, then the
 *                  others in slot order; no digest twice
 *   H+16n  8       XXH3-64 (seed 0) of bytes 0..H+16n-1
 *
 * Bloom bit positions of a key with XXH3-128 digest (hi, lo): h1 = lo, h2 = hi | 1,
 *   g_i = h1 + i*h2 + (i^3 - i)/6 (mod 2^64),  pos_i = (g_i * m) >> 64 (128-bit product),
 * for i = 0..k-1 (enhanced double hashing, Dillinger & Manolios; Lemire's fastrange). Under
 * fastrange the cubic term moves a position only when g_i lies within (i^3 - i)/6 of a bucket
 * edge (buckets are 2^64/m wide), so it rarely matters; it is part of the format all the same.
 */
#include "filters/dedupe.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/buf.h"
#include "common/file.h"

#define BLOOM_MAGIC "CCBF"
#define KEYSET_MAGIC "CCKS"
#define DEDUPE_VERSION 1
#define BLOOM_HDR 28
#define KEYSET_HDR 20
#define BLOOM_MAX_BITS (1ull << 40)
#define BLOOM_MAX_K 32
#define KEYSET_MIN_CAP 16 /* slots of a set's first table: 256 bytes */
#define HDR_SIZE_MAX 65535 /* the header-size field is a u16 */

/* ---- Bloom filter -------------------------------------------------------------------------- */

struct bloom_filter {
    uint64_t *words; /* m / 64 words */
    uint64_t m; /* bits, a multiple of 64 */
    uint64_t count; /* adds that returned 0 */
    int k;
};

static cc_status bloom_alloc(uint64_t m, int k, bloom_filter **out)
{
    /* m <= 2^40 bits is 128 GiB: fits a 64-bit size_t, maybe not a 32-bit one. */
    CC_CHECK(m / 8 <= SIZE_MAX, CC_E_NOMEM, "bloom: %" PRIu64 " bits do not fit in memory", m);
    bloom_filter *b = calloc(1, sizeof *b);
    CC_CHECK(b, CC_E_NOMEM, "bloom: out of memory");
    b->words = calloc((size_t)(m / 64), sizeof *b->words);
    if (!b->words) {
        free(b);
        return cc_fail(CC_E_NOMEM, "bloom: out of memory for %" PRIu64 " bits", m);
    }
    b->m = m;
    b->k = k;
    *out = b;
    return CC_OK;
}

cc_status bloom_new_raw(uint64_t m_bits, int k, bloom_filter **out)
{
    CC_CHECK(m_bits > 0 && m_bits <= BLOOM_MAX_BITS, CC_E_INVAL,
             "bloom: %" PRIu64 " bits is not in 1..2^40", m_bits);
    CC_CHECK(k >= 1 && k <= BLOOM_MAX_K, CC_E_INVAL, "bloom: %d hashes is not in 1..32", k);
    return bloom_alloc((m_bits + 63) & ~(uint64_t)63, k, out);
}

cc_status bloom_new(uint64_t n, double p, bloom_filter **out)
{
    CC_CHECK(n > 0, CC_E_INVAL, "bloom: expected key count must be positive");
    /* Written so that NaN fails too. */
    CC_CHECK(p > 0.0 && p < 1.0, CC_E_INVAL, "bloom: false-positive rate %g is not in (0, 1)", p);
    const double ln2 = log(2.0);
    double bits = ceil(-(double)n * log(p) / (ln2 * ln2));
    CC_CHECK(bits <= (double)BLOOM_MAX_BITS, CC_E_INVAL,
             "bloom: %" PRIu64 " keys at p = %g need %.0f bits, more than 2^40", n, p, bits);
    /* 2^40 is a multiple of 64, so rounding up stays within the maximum. */
    uint64_t m = ((uint64_t)bits + 63) & ~(uint64_t)63;
    /* k from the rounded m: the optimum for the bits actually allocated. */
    long k = lround((double)m / (double)n * ln2);
    k = k < 1 ? 1 : k > BLOOM_MAX_K ? BLOOM_MAX_K : k;
    return bloom_alloc(m, (int)k, out);
}

void bloom_free(bloom_filter *b)
{
    if (!b)
        return;
    free(b->words);
    free(b);
}

/* fastrange: maps a uniform 64-bit g onto [0, m) without a division. */
static inline uint64_t bloom_reduce(uint64_t g, uint64_t m)
{
    return (uint64_t)(((unsigned __int128)g * m) >> 64);
}

int bloom_add_hash(bloom_filter *b, cc_hash128 h)
{
    /* g walks h1 + i*h2 + (i^3 - i)/6 by finite differences: g += d; d += i + 1. */
    uint64_t g = h.lo, d = h.hi | 1;
    /* A position repeated within one key cannot make a new key look present: its first visit
     * found the bit clear and present is 0 from then on. */
    int present = 1;
    for (int i = 0; i < b->k; i++) {
        uint64_t j = bloom_reduce(g, b->m);
        uint64_t bit = 1ull << (j & 63);
        present &= (b->words[j >> 6] & bit) != 0;
        b->words[j >> 6] |= bit;
        g += d;
        d += (uint64_t)i + 1;
    }
    if (!present)
        b->count++;
    return present;
}

int bloom_add(bloom_filter *b, const void *key, size_t len)
{
    return bloom_add_hash(b, cc_hash128_of(key, len));
}

int bloom_test_hash(const bloom_filter *b, cc_hash128 h)
{
    uint64_t g = h.lo, d = h.hi | 1;
    for (int i = 0; i < b->k; i++) {
        uint64_t j = bloom_reduce(g, b->m);
        if (!(b->words[j >> 6] >> (j & 63) & 1))
            return 0;
        g += d;
        d += (uint64_t)i + 1;
    }
    return 1;
}

int bloom_test(const bloom_filter *b, const void *key, size_t len)
{
    return bloom_test_hash(b, cc_hash128_of(key, len));
}

uint64_t bloom_bits(const bloom_filter *b)
{
    return b->m;
}

int bloom_hashes(const bloom_filter *b)
{
    return b->k;
}

uint64_t bloom_count(const bloom_filter *b)
{
    return b->count;
}

/* count stands for n: an add that found every bit set added no information. */
double bloom_fp_rate(const bloom_filter *b)
{
    return pow(1.0 - exp(-(double)b->k * (double)b->count / (double)b->m), (double)b->k);
}

/* ---- Exact key set ------------------------------------------------------------------------- */

/* The all-zero digest marks an empty slot, so that key lives in has_zero instead of a slot. */
struct key_set {
    cc_hash128 *slot; /* cap slots, NULL until the first add */
    uint64_t cap; /* 0 or a power of two; used + 1 <= cap / 2 after each add */
    uint64_t used; /* occupied slots */
    uint64_t max; /* keys, has_zero included */
    int has_zero;
};

static inline int slot_empty(cc_hash128 h)
{
    return (h.hi | h.lo) == 0;
}

/* Home slot. Digests from cc_hash128_of are uniform already, but key_set_add_hash takes any 128
 * bits: mixing both halves keeps counters or digests with one constant half from clustering. */
static inline uint64_t ks_home(cc_hash128 h, uint64_t mask)
{
    uint64_t x = h.lo ^ h.hi * 0x9E3779B97F4A7C15ull;
    x ^= x >> 31;
    x *= 0xBF58476D1CE4E5B9ull;
    x ^= x >> 29;
    return x & mask;
}

/* The slot holding h, or the empty slot where it would go (one exists: load <= 1/2). */
static uint64_t ks_find(const cc_hash128 *slot, uint64_t mask, cc_hash128 h)
{
    uint64_t i = ks_home(h, mask);
    while (!slot_empty(slot[i]) && (slot[i].hi != h.hi || slot[i].lo != h.lo))
        i = (i + 1) & mask;
    return i;
}

/* Moves the set into a table of cap slots (a power of two, more than 2 * used). */
static cc_status ks_resize(key_set *s, uint64_t cap)
{
    CC_CHECK(cap <= SIZE_MAX / sizeof(cc_hash128), CC_E_NOMEM,
             "key set: %" PRIu64 " slots do not fit in memory", cap);
    cc_hash128 *slot = calloc((size_t)cap, sizeof *slot);
    CC_CHECK(slot, CC_E_NOMEM, "key set: out of memory growing to %" PRIu64 " slots", cap);
    /* Digests are distinct, so each probe ends on an empty slot of the new table. */
    for (uint64_t i = 0; i < s->cap; i++)
        if (!slot_empty(s->slot[i]))
            slot[ks_find(slot, cap - 1, s->slot[i])] = s->slot[i];
    free(s->slot);
    s->slot = slot;
    s->cap = cap;
    return CC_OK;
}

cc_status key_set_new(uint64_t max_keys, key_set **out)
{
    CC_CHECK(max_keys > 0, CC_E_INVAL, "key set: max_keys must be positive");
    key_set *s = calloc(1, sizeof *s);
    CC_CHECK(s, CC_E_NOMEM, "key set: out of memory");
    s->max = max_keys;
    *out = s;
    return CC_OK;
}

void key_set_free(key_set *s)
{
    if (!s)
        return;
    free(s->slot);
    free(s);
}

uint64_t key_set_count(const key_set *s)
{
    return s->used + (uint64_t)s->has_zero;
}

static int ks_full(const key_set *s)
{
    cc_fail(CC_E_LIMIT, "key set full: %" PRIu64 " keys is its limit", s->max);
    return -(int)CC_E_LIMIT;
}

int key_set_add_hash(key_set *s, cc_hash128 h)
{
    if (slot_empty(h)) {
        if (s->has_zero)
            return 1;
        if (key_set_count(s) >= s->max)
            return ks_full(s);
        s->has_zero = 1;
        return 0;
    }
    uint64_t i = 0;
    if (s->cap) {
        i = ks_find(s->slot, s->cap - 1, h);
        if (!slot_empty(s->slot[i]))
            return 1;
    }
    /* A key already present is answered even when full; only a new one is refused. */
    if (key_set_count(s) >= s->max)
        return ks_full(s);
    if (2 * (s->used + 1) > s->cap) {
        cc_status st = ks_resize(s, s->cap ? 2 * s->cap : KEYSET_MIN_CAP);
        if (st != CC_OK)
            return -(int)st;
        i = ks_find(s->slot, s->cap - 1, h); /* the table moved */
    }
    s->slot[i] = h;
    s->used++;
    return 0;
}

int key_set_add(key_set *s, const void *key, size_t len)
{
    return key_set_add_hash(s, cc_hash128_of(key, len));
}

int key_set_contains_hash(const key_set *s, cc_hash128 h)
{
    if (slot_empty(h))
        return s->has_zero;
    if (!s->cap)
        return 0;
    return !slot_empty(s->slot[ks_find(s->slot, s->cap - 1, h)]);
}

int key_set_contains(const key_set *s, const void *key, size_t len)
{
    return key_set_contains_hash(s, cc_hash128_of(key, len));
}

/* ---- Files --------------------------------------------------------------------------------- */

/* base + extra, or SIZE_MAX when that overflows (a read bound, so saturating is right). */
static size_t bound_add(uint64_t base, uint64_t extra)
{
    if (base > SIZE_MAX || extra > SIZE_MAX - base)
        return SIZE_MAX;
    return (size_t)(base + extra);
}

cc_status bloom_save(const bloom_filter *b, const char *path)
{
    cc_file_out fo;
    CC_TRY(cc_file_out_open(&fo, path));
    cc_status st;
    uint8_t hdr[BLOOM_HDR];
    memcpy(hdr, BLOOM_MAGIC, 4);
    cc_store_u16(hdr + 4, DEDUPE_VERSION);
    cc_store_u16(hdr + 6, BLOOM_HDR);
    cc_store_u32(hdr + 8, (uint32_t)b->k);
    cc_store_u64(hdr + 12, b->m);
    cc_store_u64(hdr + 20, b->count);
    CC_TRY_GOTO(st, cc_file_out_put(&fo, hdr, sizeof hdr), fail);
    for (uint64_t i = 0; i < b->m / 64; i++) {
        uint8_t w[8];
        cc_store_u64(w, b->words[i]);
        CC_TRY_GOTO(st, cc_file_out_put(&fo, w, sizeof w), fail);
    }
    return cc_file_out_commit(&fo);
fail:
    cc_file_out_abort(&fo);
    return st;
}

cc_status bloom_load(const char *path, uint64_t max_bytes, bloom_filter **out)
{
    cc_buf f;
    cc_buf_init(&f, bound_add(max_bytes, HDR_SIZE_MAX + 8));
    bloom_filter *b = NULL;
    cc_status st = cc_read_file(path, &f);
    if (st == CC_E_LIMIT)
        st = cc_fail(st, "%s: larger than a filter of %" PRIu64 " bytes (the limit)", path,
                     max_bytes);
    if (st != CC_OK)
        goto fail;
    size_t hs;
    CC_TRY_GOTO(st,
                cc_file_check_header(path, f.data, f.len, BLOOM_MAGIC, "Bloom filter",
                                     DEDUPE_VERSION, BLOOM_HDR, &hs),
                fail);
    uint32_t k = cc_load_u32(f.data + 8);
    uint64_t m = cc_load_u64(f.data + 12), count = cc_load_u64(f.data + 20);
    if (m == 0 || m % 64 || m > BLOOM_MAX_BITS || f.len - hs < 8 || (f.len - hs - 8) != m / 8) {
        st = cc_fail(CC_E_FORMAT,
                     "%s: %zu bytes do not hold a header of %zu, %" PRIu64
                     " bits and a checksum (truncated or damaged)",
                     path, f.len, hs, m);
        goto fail;
    }
    if (m / 8 > max_bytes) {
        st = cc_fail(CC_E_LIMIT, "%s: %" PRIu64 " bytes of bits, more than the limit of %" PRIu64,
                     path, m / 8, max_bytes);
        goto fail;
    }
    /* Layout first (a short file is truncation, not damage), then the checksum, then the values
     * it covers, so that a flipped bit reads as damage rather than as a bad parameter. */
    CC_TRY_GOTO(st, cc_file_check_sum(path, f.data, f.len), fail);
    if (k < 1 || k > BLOOM_MAX_K || count > m) {
        st = cc_fail(CC_E_FORMAT, "%s: k = %" PRIu32 " or count = %" PRIu64 " out of range", path,
                     k, count);
        goto fail;
    }
    b = calloc(1, sizeof *b);
    if (!b) {
        st = cc_fail(CC_E_NOMEM, "bloom: out of memory");
        goto fail;
    }
    /* Decode the words in place at the start of the buffer and keep it: no second copy of a
     * filter that may be gigabytes. memcpy gives the bytes their uint64_t type. */
    uint8_t *p = f.data;
    memmove(p, p + hs, (size_t)(m / 8));
    for (uint64_t i = 0; i < m / 64; i++) {
        uint64_t w = cc_load_u64(p + 8 * i);
        memcpy(p + 8 * i, &w, sizeof w);
    }
    uint8_t *shrunk = realloc(p, (size_t)(m / 8)); /* gives back the read slack */
    b->words = (uint64_t *)(void *)(shrunk ? shrunk : p);
    f.data = NULL;
    b->m = m;
    b->k = (int)k;
    b->count = count;
    *out = b;
    return CC_OK;
fail:
    cc_buf_free(&f);
    bloom_free(b);
    return st;
}

cc_status key_set_save(const key_set *s, const char *path)
{
    cc_file_out fo;
    CC_TRY(cc_file_out_open(&fo, path));
    cc_status st;
    uint8_t hdr[KEYSET_HDR];
    memcpy(hdr, KEYSET_MAGIC, 4);
    cc_store_u16(hdr + 4, DEDUPE_VERSION);
    cc_store_u16(hdr + 6, KEYSET_HDR);
    cc_store_u32(hdr + 8, 0);
    cc_store_u64(hdr + 12, key_set_count(s));
    CC_TRY_GOTO(st, cc_file_out_put(&fo, hdr, sizeof hdr), fail);
    uint8_t d[16];
    if (s->has_zero) {
        memset(d, 0, sizeof d);
        CC_TRY_GOTO(st, cc_file_out_put(&fo, d, sizeof d), fail);
    }
    for (uint64_t i = 0; i < s->cap; i++) {
        if (slot_empty(s->slot[i]))
            continue;
        cc_hash128_to_bytes(s->slot[i], d);
        CC_TRY_GOTO(st, cc_file_out_put(&fo, d, sizeof d), fail);
    }
    return cc_file_out_commit(&fo);
fail:
    cc_file_out_abort(&fo);
    return st;
}

cc_status key_set_load(const char *path, uint64_t max_keys, key_set **out)
{
    CC_CHECK(max_keys > 0, CC_E_INVAL, "key set: max_keys must be positive");
    cc_buf f;
    cc_buf_init(&f,
                max_keys > UINT64_MAX / 16 ? SIZE_MAX : bound_add(16 * max_keys, HDR_SIZE_MAX + 8));
    key_set *s = NULL;
    cc_status st = cc_read_file(path, &f);
    if (st == CC_E_LIMIT)
        st = cc_fail(st, "%s: larger than a set of %" PRIu64 " keys (the limit)", path, max_keys);
    if (st != CC_OK)
        goto fail;
    size_t hs;
    CC_TRY_GOTO(st,
                cc_file_check_header(path, f.data, f.len, KEYSET_MAGIC, "key set", DEDUPE_VERSION,
                                     KEYSET_HDR, &hs),
                fail);
    uint64_t count = cc_load_u64(f.data + 12);
    if (f.len - hs < 8 || (f.len - hs - 8) % 16 || (f.len - hs - 8) / 16 != count) {
        st = cc_fail(CC_E_FORMAT,
                     "%s: %zu bytes do not hold a header of %zu, %" PRIu64
                     " digests and a checksum (truncated or damaged)",
                     path, f.len, hs, count);
        goto fail;
    }
    if (count > max_keys) {
        st = cc_fail(CC_E_LIMIT, "%s: %" PRIu64 " keys, more than the limit of %" PRIu64, path,
                     count, max_keys);
        goto fail;
    }
    CC_TRY_GOTO(st, cc_file_check_sum(path, f.data, f.len), fail);
    CC_TRY_GOTO(st, key_set_new(max_keys, &s), fail);
    /* Size the table once: the smallest power of two that keeps the load at most one half. */
    uint64_t cap = KEYSET_MIN_CAP;
    while (cap < 2 * count)
        cap *= 2;
    CC_TRY_GOTO(st, ks_resize(s, cap), fail);
    for (uint64_t i = 0; i < count; i++) {
        int r = key_set_add_hash(s, cc_hash128_from_bytes(f.data + hs + 16 * i));
        if (r < 0) {
            st = (cc_status)-r;
            goto fail;
        }
        if (r == 1) {
            st = cc_fail(CC_E_FORMAT, "%s: digest %" PRIu64 " appears twice", path, i);
            goto fail;
        }
    }
    cc_buf_free(&f);
    *out = s;
    return CC_OK;
fail:
    cc_buf_free(&f);
    key_set_free(s);
    return st;
}
