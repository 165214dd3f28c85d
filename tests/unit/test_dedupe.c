/* tests/unit/test_dedupe.c — Bloom filter sizing, positions, false-positive rates and files;
 * the exact key set's growth, limit, all-zero digest and files. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/buf.h"
#include "common/file.h"
#include "common/hash.h"
#include "common/status.h"
#include "filters/dedupe.h"

static char tmpdir[] = "/tmp/cc-test-dedupe-XXXXXX";

static int setup_dir(void **state)
{
    (void)state;
    return mkdtemp(tmpdir) ? 0 : -1;
}

static int remove_dir(void **state)
{
    (void)state;
    return rmdir(tmpdir);
}

static void tmp_path(char *out, size_t cap, const char *name)
{
    assert_int_equal(cc_path_join(out, cap, tmpdir, name), CC_OK);
}

static size_t key_of(char *out, size_t cap, const char *prefix, int i)
{
    int n = snprintf(out, cap, "%s-%d", prefix, i);
    assert_true(n > 0 && (size_t)n < cap);
    return (size_t)n;
}

/* The whole file at path in b (b is initialised here; the caller frees it). */
static void slurp(const char *path, cc_buf *b)
{
    cc_buf_init(b, 64u << 20);
    assert_int_equal(cc_read_file(path, b), CC_OK);
}

static void spit(const char *path, const uint8_t *p, size_t n)
{
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(p, 1, n, f), n);
    assert_int_equal(fclose(f), 0);
}

/* Rewrites the trailing XXH3-64 so that a deliberately edited file passes the checksum. */
static void fix_sum(uint8_t *p, size_t n)
{
    cc_store_u64(p + n - 8, cc_hash64(p, n - 8));
}

/* ---- Bloom filter -------------------------------------------------------------------------- */

static void test_bloom_sizing(void **state)
{
    (void)state;
    bloom_filter *b = NULL;
    /* 1e6 keys at 1%: ceil(9,585,058.4) = 9,585,059 bits, rounded up to 64: 9,585,088. */
    assert_int_equal(bloom_new(1000000, 0.01, &b), CC_OK);
    assert_int_equal(bloom_bits(b), 9585088);
    assert_int_equal(bloom_hashes(b), 7);
    assert_int_equal(bloom_count(b), 0);
    assert_true(bloom_fp_rate(b) == 0.0);
    bloom_free(b);
    /* 0.1%: ceil(14,377,587.6) = 14,377,588 → 14,377,600, k = round(9.97) = 10. */
    assert_int_equal(bloom_new(1000000, 0.001, &b), CC_OK);
    assert_int_equal(bloom_bits(b), 14377600);
    assert_int_equal(bloom_hashes(b), 10);
    bloom_free(b);
    /* Tiny: 1 key at 50% needs 2 bits → 64; k = round(64 ln 2) = 44 is clamped to 32. */
    assert_int_equal(bloom_new(1, 0.5, &b), CC_OK);
    assert_int_equal(bloom_bits(b), 64);
    assert_int_equal(bloom_hashes(b), 32);
    bloom_free(b);

    b = NULL;
    assert_int_equal(bloom_new(0, 0.01, &b), CC_E_INVAL);
    assert_int_equal(bloom_new(10, 0.0, &b), CC_E_INVAL);
    assert_int_equal(bloom_new(10, 1.0, &b), CC_E_INVAL);
    assert_int_equal(bloom_new(10, -0.5, &b), CC_E_INVAL);
    assert_int_equal(bloom_new(10, NAN, &b), CC_E_INVAL);
    /* 1e12 keys at 1% need ~9.6e12 bits, over 2^40 (1.1e12). */
    assert_int_equal(bloom_new(1000000000000ull, 0.01, &b), CC_E_INVAL);
    assert_non_null(strstr(cc_errmsg(), "2^40"));
    assert_null(b);

    assert_int_equal(bloom_new_raw(1, 3, &b), CC_OK);
    assert_int_equal(bloom_bits(b), 64);
    assert_int_equal(bloom_hashes(b), 3);
    bloom_free(b);
    assert_int_equal(bloom_new_raw(65, 1, &b), CC_OK);
    assert_int_equal(bloom_bits(b), 128);
    bloom_free(b);
    b = NULL;
    assert_int_equal(bloom_new_raw(0, 3, &b), CC_E_INVAL);
    assert_int_equal(bloom_new_raw(64, 0, &b), CC_E_INVAL);
    assert_int_equal(bloom_new_raw(64, 33, &b), CC_E_INVAL);
    assert_int_equal(bloom_new_raw((1ull << 40) + 1, 3, &b), CC_E_INVAL);
    assert_null(b);
    bloom_free(NULL);
}

static void test_bloom_add_returns(void **state)
{
    (void)state;
    bloom_filter *b;
    assert_int_equal(bloom_new(1000, 0.01, &b), CC_OK);
    assert_int_equal(bloom_test(b, "a", 1), 0);
    assert_int_equal(bloom_add(b, "a", 1), 0);
    assert_int_equal(bloom_count(b), 1);
    assert_int_equal(bloom_add(b, "a", 1), 1);
    assert_int_equal(bloom_add_hash(b, cc_hash128_of("a", 1)), 1); /* the same positions */
    assert_int_equal(bloom_count(b), 1);
    assert_int_equal(bloom_test(b, "a", 1), 1);
    assert_int_equal(bloom_test_hash(b, cc_hash128_of("a", 1)), 1);
    assert_int_equal(bloom_test(b, "b", 1), 0);
    assert_int_equal(bloom_add(b, "b", 1), 0);
    assert_int_equal(bloom_count(b), 2);
    /* (1 - e^(-k n / m))^k for k = 7, n = 2, m = 9600 */
    double want = pow(1 - exp(-7.0 * 2 / 9600), 7);
    assert_true(fabs(bloom_fp_rate(b) - want) < 1e-12 * want + 1e-300);
    bloom_free(b);

    /* One word, one hash: after 64 distinct bits are set every add reports "present" and the
     * count stops at 64. */
    assert_int_equal(bloom_new_raw(64, 1, &b), CC_OK);
    int fresh = 0;
    for (int i = 0; i < 5000; i++) {
        char k[32];
        fresh += bloom_add(b, k, key_of(k, sizeof k, "sat", i)) == 0;
    }
    assert_int_equal(fresh, 64);
    assert_int_equal(bloom_count(b), 64);
    assert_int_equal(bloom_test(b, "anything", 8), 1);
    assert_true(bloom_fp_rate(b) > 0.6); /* 1 - e^-1 */
    bloom_free(b);
}

static void test_bloom_no_false_negatives(void **state)
{
    (void)state;
    bloom_filter *b;
    assert_int_equal(bloom_new(100000, 0.01, &b), CC_OK);
    char k[32];
    for (int i = 0; i < 100000; i++)
        bloom_add(b, k, key_of(k, sizeof k, "member", i));
    for (int i = 0; i < 100000; i++)
        assert_int_equal(bloom_test(b, k, key_of(k, sizeof k, "member", i)), 1);
    /* Adds that hit only set bits (false positives at add time) are not counted. */
    assert_true(bloom_count(b) <= 100000 && bloom_count(b) > 99000);
    bloom_free(b);
}

/* Fills a filter sized for 100k keys at p with 100k keys; returns the measured FP rate on 100k
 * other keys. */
static double measured_fp(double p, double *model)
{
    bloom_filter *b;
    assert_int_equal(bloom_new(100000, p, &b), CC_OK);
    char k[32];
    for (int i = 0; i < 100000; i++)
        bloom_add(b, k, key_of(k, sizeof k, "in", i));
    int fp = 0;
    for (int i = 0; i < 100000; i++)
        fp += bloom_test(b, k, key_of(k, sizeof k, "out", i));
    *model = bloom_fp_rate(b);
    print_message("p = %g: %d false positives in 100000 (%.5f), model %.5f, %.2f bits/key\n", p, fp,
                  fp / 1e5, *model, (double)bloom_bits(b) / 1e5);
    bloom_free(b);
    return fp / 1e5;
}

static void test_bloom_fp_rate(void **state)
{
    (void)state;
    const double ps[] = {0.01, 0.001};
    for (int i = 0; i < 2; i++) {
        double model, r = measured_fp(ps[i], &model);
        assert_true(r <= 1.5 * ps[i]);
        assert_true(r >= ps[i] / 1.5);
        assert_true(model <= 1.1 * ps[i] && model >= ps[i] / 1.1);
    }
}

/* The 1024-bit filter's words after adding only h with k hashes, from the closed form
 * g_i = h1 + i h2 + cubic * (i^3 - i)/6, reduced by fastrange. */
static void expected_words(cc_hash128 h, int k, int cubic, uint64_t want[16])
{
    memset(want, 0, 16 * sizeof *want);
    uint64_t h1 = h.lo, h2 = h.hi | 1;
    for (uint64_t i = 0; i < (uint64_t)k; i++) {
        uint64_t g = h1 + i * h2 + (cubic ? (i * i * i - i) / 6 : 0);
        uint64_t j = (uint64_t)(((unsigned __int128)g * 1024) >> 64);
        want[j / 64] |= 1ull << (j % 64);
    }
}

/* Pins the position formula and the file layout together: after one add into an empty filter,
 * exactly the bits of the closed form are set, in the documented words. */
static void test_bloom_positions_and_layout(void **state)
{
    (void)state;
    const int k = 9;
    /* The second digest puts g_2 one below a bucket boundary (buckets are 2^54 wide for
     * m = 1024), so only the cubic term's +1 moves bit 2 into the next bucket: fastrange hides
     * small terms otherwise. */
    const uint64_t h2 = 0x0123456789abcdefull;
    const cc_hash128 hs[2] = {
        {.hi = h2, .lo = 0xfedcba9876543210ull},
        {.hi = h2, .lo = (uint64_t)(777ull << 54) - 1 - 2 * h2},
    };
    char path[4096];
    tmp_path(path, sizeof path, "pos.ccbf");
    for (int t = 0; t < 2; t++) {
        bloom_filter *b;
        assert_int_equal(bloom_new_raw(1000, k, &b), CC_OK); /* rounded to 1024 */
        assert_int_equal(bloom_add_hash(b, hs[t]), 0);
        assert_int_equal(bloom_save(b, path), CC_OK);
        cc_buf f;
        slurp(path, &f);
        assert_int_equal(f.len, 28 + 1024 / 8 + 8);
        assert_memory_equal(f.data, "CCBF", 4);
        assert_int_equal(cc_load_u16(f.data + 4), 1);
        assert_int_equal(cc_load_u16(f.data + 6), 28);
        assert_int_equal(cc_load_u32(f.data + 8), k);
        assert_int_equal(cc_load_u64(f.data + 12), 1024);
        assert_int_equal(cc_load_u64(f.data + 20), 1);
        assert_true(cc_load_u64(f.data + f.len - 8) == cc_hash64(f.data, f.len - 8));
        uint64_t want[16], plain[16];
        expected_words(hs[t], k, 1, want);
        expected_words(hs[t], k, 0, plain);
        if (t == 1) /* the case is built to tell the two apart */
            assert_memory_not_equal(want, plain, sizeof want);
        int set = 0;
        for (int w = 0; w < 16; w++) {
            assert_true(cc_load_u64(f.data + 28 + 8 * w) == want[w]);
            set += __builtin_popcountll(want[w]);
        }
        assert_true(set >= 1 && set <= k);
        cc_buf_free(&f);
        bloom_free(b);
    }
    unlink(path);
}

static void test_bloom_save_load(void **state)
{
    (void)state;
    bloom_filter *b, *c = NULL;
    assert_int_equal(bloom_new(20000, 0.01, &b), CC_OK);
    char k[32];
    for (int i = 0; i < 20000; i++)
        bloom_add(b, k, key_of(k, sizeof k, "rt", i));
    char p1[4096], p2[4096];
    tmp_path(p1, sizeof p1, "a.ccbf");
    tmp_path(p2, sizeof p2, "b.ccbf");
    assert_int_equal(bloom_save(b, p1), CC_OK);
    assert_true(cc_exists(p1));
    char tmp[4200];
    snprintf(tmp, sizeof tmp, "%s.tmp", p1);
    assert_false(cc_exists(tmp)); /* renamed away */
    assert_int_equal(bloom_load(p1, 1u << 20, &c), CC_OK);
    assert_int_equal(bloom_bits(c), bloom_bits(b));
    assert_int_equal(bloom_hashes(c), bloom_hashes(b));
    assert_int_equal(bloom_count(c), bloom_count(b));
    assert_true(bloom_fp_rate(c) == bloom_fp_rate(b));
    /* Bits identical: the loaded filter saves to the same bytes. */
    assert_int_equal(bloom_save(c, p2), CC_OK);
    cc_buf f1, f2;
    slurp(p1, &f1);
    slurp(p2, &f2);
    assert_int_equal(f1.len, f2.len);
    assert_memory_equal(f1.data, f2.data, f1.len);
    for (int i = 0; i < 40000; i++) {
        size_t n = key_of(k, sizeof k, i < 20000 ? "rt" : "other", i);
        assert_int_equal(bloom_test(c, k, n), bloom_test(b, k, n));
    }
    /* The loaded filter keeps working: a new key adds the same way in both. */
    assert_int_equal(bloom_add(c, "new", 3), bloom_add(b, "new", 3));
    assert_int_equal(bloom_count(c), bloom_count(b));
    /* Exactly at the limit loads; a byte less is a LIMIT. */
    bloom_free(c);
    c = NULL;
    assert_int_equal(bloom_load(p1, bloom_bits(b) / 8, &c), CC_OK);
    bloom_free(c);
    c = NULL;
    assert_int_equal(bloom_load(p1, bloom_bits(b) / 8 - 1, &c), CC_E_LIMIT);
    assert_int_equal(bloom_load(p1, 1000, &c), CC_E_LIMIT);
    assert_null(c);
    cc_buf_free(&f1);
    cc_buf_free(&f2);
    unlink(p1);
    unlink(p2);
    bloom_free(b);
}

static void test_bloom_load_errors(void **state)
{
    (void)state;
    bloom_filter *b, *c = NULL;
    assert_int_equal(bloom_new_raw(4096, 5, &b), CC_OK);
    for (int i = 0; i < 100; i++)
        bloom_add(b, &i, sizeof i);
    char path[4096], bad[4096];
    tmp_path(path, sizeof path, "good.ccbf");
    tmp_path(bad, sizeof bad, "bad.ccbf");
    assert_int_equal(bloom_save(b, path), CC_OK);
    cc_buf f;
    slurp(path, &f);
    const size_t n = f.len;
    uint8_t *t = malloc(n + 16);
    assert_non_null(t);

    memcpy(t, f.data, n); /* a flipped bit in the body */
    t[28 + 100] ^= 0x10;
    spit(bad, t, n);
    assert_int_equal(bloom_load(bad, 1 << 20, &c), CC_E_CHECKSUM);
    memcpy(t, f.data, n); /* a flipped bit in the checksum itself */
    t[n - 1] ^= 1;
    spit(bad, t, n);
    assert_int_equal(bloom_load(bad, 1 << 20, &c), CC_E_CHECKSUM);
    memcpy(t, f.data, n); /* count changed: covered by the checksum too */
    t[20]++;
    spit(bad, t, n);
    assert_int_equal(bloom_load(bad, 1 << 20, &c), CC_E_CHECKSUM);

    memcpy(t, f.data, n);
    t[0] = 'X';
    spit(bad, t, n);
    assert_int_equal(bloom_load(bad, 1 << 20, &c), CC_E_FORMAT);
    memcpy(t, f.data, n);
    memcpy(t, "CCKS", 4); /* a key set is not a Bloom filter */
    spit(bad, t, n);
    assert_int_equal(bloom_load(bad, 1 << 20, &c), CC_E_FORMAT);

    memcpy(t, f.data, n);
    cc_store_u16(t + 4, 2);
    fix_sum(t, n);
    spit(bad, t, n);
    assert_int_equal(bloom_load(bad, 1 << 20, &c), CC_E_VERSION);
    assert_non_null(strstr(cc_errmsg(), "version 1"));
    assert_non_null(strstr(cc_errmsg(), "upgrade"));

    spit(bad, f.data, n - 1); /* truncated by one byte */
    assert_int_equal(bloom_load(bad, 1 << 20, &c), CC_E_FORMAT);
    spit(bad, f.data, 20); /* inside the header */
    assert_int_equal(bloom_load(bad, 1 << 20, &c), CC_E_FORMAT);
    spit(bad, f.data, 5);
    assert_int_equal(bloom_load(bad, 1 << 20, &c), CC_E_FORMAT);
    spit(bad, f.data, 0);
    assert_int_equal(bloom_load(bad, 1 << 20, &c), CC_E_FORMAT);
    memcpy(t, f.data, n); /* one byte too many */
    t[n] = 0;
    fix_sum(t, n + 1);
    spit(bad, t, n + 1);
    assert_int_equal(bloom_load(bad, 1 << 20, &c), CC_E_FORMAT);

    memcpy(t, f.data, n); /* header size below version 1's */
    cc_store_u16(t + 6, 20);
    fix_sum(t, n);
    spit(bad, t, n);
    assert_int_equal(bloom_load(bad, 1 << 20, &c), CC_E_FORMAT);
    memcpy(t, f.data, n); /* m not a multiple of 64 */
    cc_store_u64(t + 12, 4095);
    fix_sum(t, n);
    spit(bad, t, n);
    assert_int_equal(bloom_load(bad, 1 << 20, &c), CC_E_FORMAT);
    memcpy(t, f.data, n); /* k = 0 with a valid checksum */
    cc_store_u32(t + 8, 0);
    fix_sum(t, n);
    spit(bad, t, n);
    assert_int_equal(bloom_load(bad, 1 << 20, &c), CC_E_FORMAT);
    memcpy(t, f.data, n); /* more distinct adds than bits */
    cc_store_u64(t + 20, 4097);
    fix_sum(t, n);
    spit(bad, t, n);
    assert_int_equal(bloom_load(bad, 1 << 20, &c), CC_E_FORMAT);
    assert_null(c);

    /* A longer header (a later minor addition) is skipped: 8 extra bytes before the bits. */
    memcpy(t, f.data, 28);
    cc_store_u16(t + 6, 36);
    memset(t + 28, 0xAB, 8);
    memcpy(t + 36, f.data + 28, n - 36);
    fix_sum(t, n + 8);
    spit(bad, t, n + 8);
    assert_int_equal(bloom_load(bad, 1 << 20, &c), CC_OK);
    for (int i = 0; i < 100; i++)
        assert_int_equal(bloom_test(c, &i, sizeof i), 1);
    assert_int_equal(bloom_count(c), bloom_count(b));
    bloom_free(c);
    c = NULL;

    unlink(bad);
    assert_int_equal(bloom_load(bad, 1 << 20, &c), CC_E_NOTFOUND);
    char nodir[4096];
    tmp_path(nodir, sizeof nodir, "missing/x.ccbf");
    assert_int_equal(bloom_save(b, nodir), CC_E_IO);
    free(t);
    cc_buf_free(&f);
    unlink(path);
    bloom_free(b);
}

/* ---- Exact key set ------------------------------------------------------------------------- */

static void test_keyset_basic(void **state)
{
    (void)state;
    key_set *s = NULL;
    assert_int_equal(key_set_new(0, &s), CC_E_INVAL);
    assert_null(s);
    assert_int_equal(key_set_new(100, &s), CC_OK);
    assert_int_equal(key_set_count(s), 0);
    assert_int_equal(key_set_contains(s, "a", 1), 0); /* no table yet */
    assert_int_equal(key_set_add(s, "a", 1), 0);
    assert_int_equal(key_set_add(s, "a", 1), 1);
    assert_int_equal(key_set_add_hash(s, cc_hash128_of("a", 1)), 1);
    assert_int_equal(key_set_contains(s, "a", 1), 1);
    assert_int_equal(key_set_contains_hash(s, cc_hash128_of("a", 1)), 1);
    assert_int_equal(key_set_contains(s, "b", 1), 0);
    assert_int_equal(key_set_add(s, "", 0), 0);
    assert_int_equal(key_set_contains(s, "", 0), 1);
    assert_int_equal(key_set_count(s), 2);
    key_set_free(s);
    key_set_free(NULL);
}

static void test_keyset_growth(void **state)
{
    (void)state;
    key_set *s;
    assert_int_equal(key_set_new(1u << 20, &s), CC_OK);
    char k[32];
    /* 200k keys from 16 slots: 15 doublings, each rehashing everything. */
    for (int i = 0; i < 200000; i++) {
        size_t n = key_of(k, sizeof k, "grow", i);
        assert_int_equal(key_set_add(s, k, n), 0);
        if (i % 9973 == 0)
            assert_int_equal(key_set_add(s, k, n), 1);
    }
    assert_int_equal(key_set_count(s), 200000);
    for (int i = 0; i < 200000; i++) {
        assert_int_equal(key_set_contains(s, k, key_of(k, sizeof k, "grow", i)), 1);
        assert_int_equal(key_set_contains(s, k, key_of(k, sizeof k, "absent", i)), 0);
    }
    key_set_free(s);

    /* Structured digests (counters; one half constant) still spread over the table. */
    assert_int_equal(key_set_new(1u << 20, &s), CC_OK);
    for (uint64_t i = 1; i <= 50000; i++) {
        assert_int_equal(key_set_add_hash(s, (cc_hash128){.hi = 0, .lo = i}), 0);
        assert_int_equal(key_set_add_hash(s, (cc_hash128){.hi = i, .lo = 0}), 0);
        assert_int_equal(key_set_add_hash(s, (cc_hash128){.hi = i, .lo = i}), 0);
    }
    assert_int_equal(key_set_count(s), 150000);
    for (uint64_t i = 1; i <= 50000; i++) {
        assert_int_equal(key_set_contains_hash(s, (cc_hash128){.hi = i, .lo = 0}), 1);
        assert_int_equal(key_set_contains_hash(s, (cc_hash128){.hi = i, .lo = i}), 1);
        assert_int_equal(key_set_contains_hash(s, (cc_hash128){.hi = i, .lo = i + 1}), 0);
    }
    key_set_free(s);
}

static void test_keyset_limit(void **state)
{
    (void)state;
    key_set *s;
    assert_int_equal(key_set_new(3, &s), CC_OK);
    assert_int_equal(key_set_add(s, "a", 1), 0);
    assert_int_equal(key_set_add(s, "b", 1), 0);
    assert_int_equal(key_set_add_hash(s, (cc_hash128){0, 0}), 0);
    cc_clear_error();
    assert_int_equal(key_set_add(s, "c", 1), -(int)CC_E_LIMIT);
    assert_non_null(strstr(cc_errmsg(), "full"));
    assert_int_equal(key_set_contains(s, "c", 1), 0);
    assert_int_equal(key_set_add(s, "a", 1), 1); /* present keys still answer */
    assert_int_equal(key_set_add_hash(s, (cc_hash128){0, 0}), 1);
    assert_int_equal(key_set_count(s), 3);
    key_set_free(s);
    /* The all-zero digest counts against the limit like any key. */
    assert_int_equal(key_set_new(1, &s), CC_OK);
    assert_int_equal(key_set_add(s, "a", 1), 0);
    assert_int_equal(key_set_add_hash(s, (cc_hash128){0, 0}), -(int)CC_E_LIMIT);
    assert_int_equal(key_set_contains_hash(s, (cc_hash128){0, 0}), 0);
    key_set_free(s);
}

static void test_keyset_zero_digest(void **state)
{
    (void)state;
    key_set *s;
    const cc_hash128 zero = {0, 0}, lo1 = {0, 1}, hi1 = {1, 0};
    assert_int_equal(key_set_new(10, &s), CC_OK);
    assert_int_equal(key_set_contains_hash(s, zero), 0);
    assert_int_equal(key_set_add_hash(s, zero), 0);
    assert_int_equal(key_set_contains_hash(s, zero), 1);
    assert_int_equal(key_set_add_hash(s, zero), 1);
    assert_int_equal(key_set_count(s), 1);
    assert_int_equal(key_set_contains_hash(s, lo1), 0);
    assert_int_equal(key_set_add_hash(s, lo1), 0);
    assert_int_equal(key_set_add_hash(s, hi1), 0);
    assert_int_equal(key_set_count(s), 3);
    char path[4096];
    tmp_path(path, sizeof path, "zero.ccks");
    assert_int_equal(key_set_save(s, path), CC_OK);
    key_set *t = NULL;
    assert_int_equal(key_set_load(path, 10, &t), CC_OK);
    assert_int_equal(key_set_count(t), 3);
    assert_int_equal(key_set_contains_hash(t, zero), 1);
    assert_int_equal(key_set_contains_hash(t, lo1), 1);
    assert_int_equal(key_set_contains_hash(t, hi1), 1);
    assert_int_equal(key_set_contains_hash(t, (cc_hash128){1, 1}), 0);
    /* The zero digest is written first. */
    cc_buf f;
    slurp(path, &f);
    static const uint8_t z16[16];
    assert_memory_equal(f.data + 20, z16, 16);
    cc_buf_free(&f);
    key_set_free(t);
    key_set_free(s);
    unlink(path);
}

static void test_keyset_save_load(void **state)
{
    (void)state;
    key_set *s, *t = NULL;
    assert_int_equal(key_set_new(5000, &s), CC_OK);
    char path[4096];
    tmp_path(path, sizeof path, "set.ccks");
    /* An empty set round-trips. */
    assert_int_equal(key_set_save(s, path), CC_OK);
    assert_int_equal(key_set_load(path, 1, &t), CC_OK);
    assert_int_equal(key_set_count(t), 0);
    assert_int_equal(key_set_contains(t, "x", 1), 0);
    assert_int_equal(key_set_add(t, "x", 1), 0);
    key_set_free(t);
    t = NULL;

    char k[32];
    for (int i = 0; i < 1000; i++)
        key_set_add(s, k, key_of(k, sizeof k, "saved", i));
    assert_int_equal(key_set_save(s, path), CC_OK);
    cc_buf f;
    slurp(path, &f);
    assert_int_equal(f.len, 20 + 16 * 1000 + 8);
    assert_memory_equal(f.data, "CCKS", 4);
    assert_int_equal(cc_load_u16(f.data + 4), 1);
    assert_int_equal(cc_load_u16(f.data + 6), 20);
    assert_int_equal(cc_load_u64(f.data + 12), 1000);
    assert_true(cc_load_u64(f.data + f.len - 8) == cc_hash64(f.data, f.len - 8));
    /* Every digest in the body is a member's canonical bytes. */
    for (int i = 0; i < 1000; i++)
        assert_int_equal(key_set_contains_hash(s, cc_hash128_from_bytes(f.data + 20 + 16 * i)), 1);
    cc_buf_free(&f);

    assert_int_equal(key_set_load(path, 1000, &t), CC_OK); /* exactly at the limit */
    assert_int_equal(key_set_count(t), 1000);
    for (int i = 0; i < 1000; i++) {
        assert_int_equal(key_set_contains(t, k, key_of(k, sizeof k, "saved", i)), 1);
        assert_int_equal(key_set_contains(t, k, key_of(k, sizeof k, "unsaved", i)), 0);
    }
    /* The loaded set takes its max from the caller: full at 1000. */
    assert_int_equal(key_set_add(t, "more", 4), -(int)CC_E_LIMIT);
    key_set_free(t);
    t = NULL;
    assert_int_equal(key_set_load(path, 999, &t), CC_E_LIMIT);
    assert_int_equal(key_set_load(path, 10, &t), CC_E_LIMIT);
    assert_int_equal(key_set_load(path, 0, &t), CC_E_INVAL);
    assert_null(t);
    unlink(path);
    key_set_free(s);
}

static void test_keyset_load_errors(void **state)
{
    (void)state;
    key_set *s, *t = NULL;
    assert_int_equal(key_set_new(100, &s), CC_OK);
    for (int i = 0; i < 10; i++)
        key_set_add(s, &i, sizeof i);
    char path[4096], bad[4096];
    tmp_path(path, sizeof path, "good.ccks");
    tmp_path(bad, sizeof bad, "bad.ccks");
    assert_int_equal(key_set_save(s, path), CC_OK);
    cc_buf f;
    slurp(path, &f);
    const size_t n = f.len; /* 20 + 160 + 8 */
    assert_int_equal(n, 188);
    uint8_t t8[256];

    memcpy(t8, f.data, n);
    t8[20 + 37] ^= 4;
    spit(bad, t8, n);
    assert_int_equal(key_set_load(bad, 100, &t), CC_E_CHECKSUM);
    assert_non_null(strstr(cc_errmsg(), "checksum"));
    memcpy(t8, f.data, n);
    t8[0] = 'c';
    spit(bad, t8, n);
    assert_int_equal(key_set_load(bad, 100, &t), CC_E_FORMAT);
    memcpy(t8, f.data, n);
    cc_store_u16(t8 + 4, 7);
    fix_sum(t8, n);
    spit(bad, t8, n);
    assert_int_equal(key_set_load(bad, 100, &t), CC_E_VERSION);
    assert_non_null(strstr(cc_errmsg(), "version 1"));
    cc_store_u16(t8 + 4, 0);
    spit(bad, t8, n);
    assert_int_equal(key_set_load(bad, 100, &t), CC_E_VERSION);

    spit(bad, f.data, n - 8); /* checksum cut off */
    assert_int_equal(key_set_load(bad, 100, &t), CC_E_FORMAT);
    spit(bad, f.data, n - 16); /* one digest's worth missing */
    assert_int_equal(key_set_load(bad, 100, &t), CC_E_FORMAT);
    spit(bad, f.data, 12);
    assert_int_equal(key_set_load(bad, 100, &t), CC_E_FORMAT);
    memcpy(t8, f.data, n); /* count says 9, the body holds 10 */
    cc_store_u64(t8 + 12, 9);
    fix_sum(t8, n);
    spit(bad, t8, n);
    assert_int_equal(key_set_load(bad, 100, &t), CC_E_FORMAT);
    memcpy(t8, f.data, n); /* the same digest twice, with a valid checksum */
    memcpy(t8 + 20 + 16, t8 + 20, 16);
    fix_sum(t8, n);
    spit(bad, t8, n);
    assert_int_equal(key_set_load(bad, 100, &t), CC_E_FORMAT);
    assert_non_null(strstr(cc_errmsg(), "twice"));
    memcpy(t8, f.data, n); /* the reserved field is ignored */
    cc_store_u32(t8 + 8, 0xdeadbeef);
    fix_sum(t8, n);
    spit(bad, t8, n);
    assert_int_equal(key_set_load(bad, 100, &t), CC_OK);
    assert_int_equal(key_set_count(t), 10);
    for (int i = 0; i < 10; i++)
        assert_int_equal(key_set_contains(t, &i, sizeof i), 1);
    key_set_free(t);
    t = NULL;
    unlink(bad);
    assert_int_equal(key_set_load(bad, 100, &t), CC_E_NOTFOUND);
    assert_null(t);
    cc_buf_free(&f);
    unlink(path);
    key_set_free(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bloom_sizing),
        cmocka_unit_test(test_bloom_add_returns),
        cmocka_unit_test(test_bloom_no_false_negatives),
        cmocka_unit_test(test_bloom_fp_rate),
        cmocka_unit_test(test_bloom_positions_and_layout),
        cmocka_unit_test(test_bloom_save_load),
        cmocka_unit_test(test_bloom_load_errors),
        cmocka_unit_test(test_keyset_basic),
        cmocka_unit_test(test_keyset_growth),
        cmocka_unit_test(test_keyset_limit),
        cmocka_unit_test(test_keyset_zero_digest),
        cmocka_unit_test(test_keyset_save_load),
        cmocka_unit_test(test_keyset_load_errors),
    };
    return cmocka_run_group_tests(tests, setup_dir, remove_dir);
}
