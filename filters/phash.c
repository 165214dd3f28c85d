/* filters/phash.c — 64-bit DCT perceptual hash and the multi-index near-duplicate table.
 *
 * pHash: the BT.601 luma (0.299 R + 0.587 G + 0.114 B, in double) is resampled straight to 32 x 32
 * with the same per-axis rules as img_resize (area average when an axis shrinks, bilinear with
 * aligned centres when it grows), accumulated in double without rounding to bytes: the luma is
 * taken first, then resized, on a single channel. The 8 x 8 low block of the unnormalized DCT-II
 * (scipy.fftpack.dct's, as imagehash uses) is C * X * C^T with C the 8 x 32 cosine table; bits
 * are set where a coefficient exceeds the median of the 64 (mean of the 32nd and 33rd). The
 * computation uses no heap, so it cannot fail.
 *
 * neardup: entries[] holds (hash, value) in insertion order; id = index in it. Each of the 4
 * bands (bits 16b .. 16b+15) has 65536 buckets of postings. A posting is 8 bytes: the entry id in
 * the low 32 bits and, in the high 32 bits, the next two bands of the hash, so most candidates are
 * rejected on a partial distance without touching entries[] (a random access).
 */
#include "filters/phash.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <xxhash.h>

#include "common/buf.h"
#include "common/file.h"

/* ---- pHash --------------------------------------------------------------------------------- */

enum { PH_N = 32, PH_K = 8 };

/* cosines[u][x] = cos(pi * u * (2x + 1) / 64), u < 8, x < 32 */
static const double ph_pi = 3.14159265358979323846;
static double cosines[PH_K][PH_N];
static pthread_once_t cosines_once = PTHREAD_ONCE_INIT;

static void cosines_init(void)
{
    for (int u = 0; u < PH_K; u++)
        for (int x = 0; x < PH_N; x++)
            cosines[u][x] = cos(ph_pi * u * (2 * x + 1) / (2.0 * PH_N));
}

/* How destination index j (of 32) reads its axis of source length s: source indices
 * [lo, lo + cnt) with weight wa for the first, wb for the last and wmid for the others. */
typedef struct ph_tap {
    uint32_t lo, cnt;
    double wa, wmid, wb;
} ph_tap;

static void ph_taps(uint32_t s, ph_tap t[PH_N])
{
    for (uint32_t j = 0; j < PH_N; j++) {
        if (s >= PH_N) {
            /* area: footprint [j*s, (j+1)*s) in units of 1/32; pixel i is [32i, 32i + 32) */
            uint64_t lo = (uint64_t)j * s, hi = lo + s;
            uint32_t a = (uint32_t)(lo / PH_N), b = (uint32_t)((hi + PH_N - 1) / PH_N);
            t[j].lo = a;
            t[j].cnt = b - a;
            t[j].wmid = (double)PH_N / s;
            if (b - a == 1) {
                t[j].wa = t[j].wb = 1.0;
            } else {
                t[j].wa = (double)((uint64_t)(a + 1) * PH_N - lo) / s;
                t[j].wb = (double)(hi - (uint64_t)(b - 1) * PH_N) / s;
            }
            continue;
        }
        /* bilinear at x = (j + 0.5) * s / 32 - 0.5, clamped to [0, s - 1] */
        double x = (j + 0.5) * s / PH_N - 0.5;
        uint32_t i0 = x <= 0 ? 0 : (uint32_t)x;
        double f = x <= 0 ? 0 : x - i0;
        if (i0 >= s - 1) {
            i0 = s - 1;
            f = 0;
        }
        t[j].lo = i0;
        t[j].cnt = f > 0 ? 2 : 1;
        t[j].wa = f > 0 ? 1.0 - f : 1.0;
        t[j].wb = f;
        t[j].wmid = 0;
    }
}

static inline double ph_weight(const ph_tap *t, uint32_t i)
{
    return i == 0 ? t->wa : i == t->cnt - 1 ? t->wb : t->wmid;
}

static inline double luma(const uint8_t *p)
{
    return 0.299 * p[0] + 0.587 * p[1] + 0.114 * p[2];
}

/* Horizontal resample of one row's luma to 32 values. Luma is linear, so the interior pixels of
 * a footprint (equal weights) are summed per channel in integers and weighted once. */
static void ph_row(const uint8_t *row, const ph_tap tx[PH_N], double out[PH_N])
{
    for (int i = 0; i < PH_N; i++) {
        const ph_tap *t = &tx[i];
        const uint8_t *p = row + (size_t)t->lo * 3;
        double acc = t->wa * luma(p);
        if (t->cnt >= 2)
            acc += t->wb * luma(p + (size_t)(t->cnt - 1) * 3);
        if (t->cnt >= 3) {
            uint64_t r = 0, g = 0, b = 0;
            for (const uint8_t *q = p + 3, *end = p + (size_t)(t->cnt - 1) * 3; q < end; q += 3) {
                r += q[0];
                g += q[1];
                b += q[2];
            }
            acc += t->wmid * (0.299 * (double)r + 0.587 * (double)g + 0.114 * (double)b);
        }
        out[i] = acc;
    }
}

uint64_t img_phash(const img_rgb *im)
{
    if (im == NULL || im->px == NULL || im->w == 0 || im->h == 0)
        return 0;
    pthread_once(&cosines_once, cosines_init);
    ph_tap tx[PH_N], ty[PH_N];
    ph_taps(im->w, tx);
    ph_taps(im->h, ty);

    /* X (32 x 32): each source row is resampled horizontally once into hrow, then added to the
     * output rows whose vertical taps include it. */
    double X[PH_N][PH_N];
    memset(X, 0, sizeof X);
    for (uint32_t y = 0; y < im->h; y++) {
        const uint8_t *row = im->px + (size_t)y * im->w * 3;
        double hrow[PH_N];
        int used = 0;
        for (int j = 0; j < PH_N; j++)
            used |= y >= ty[j].lo && y - ty[j].lo < ty[j].cnt;
        if (!used)
            continue; /* growing vertically: rows between taps */
        ph_row(row, tx, hrow);
        for (int j = 0; j < PH_N; j++) {
            if (y < ty[j].lo || y - ty[j].lo >= ty[j].cnt)
                continue;
            double w = ph_weight(&ty[j], y - ty[j].lo);
            for (int i = 0; i < PH_N; i++)
                X[j][i] += w * hrow[i];
        }
    }

    /* D = C X C^T restricted to the 8 x 8 low block: T = C X (8 x 32), D = T C^T (8 x 8). The
     * factor 4 of the unnormalized DCT-II is left out: it does not change any comparison. */
    double T[PH_K][PH_N], D[PH_K * PH_K], sorted[PH_K * PH_K];
    for (int u = 0; u < PH_K; u++)
        for (int x = 0; x < PH_N; x++) {
            double acc = 0;
            for (int y = 0; y < PH_N; y++)
                acc += cosines[u][y] * X[y][x];
            T[u][x] = acc;
        }
    for (int u = 0; u < PH_K; u++)
        for (int v = 0; v < PH_K; v++) {
            double acc = 0;
            for (int x = 0; x < PH_N; x++)
                acc += T[u][x] * cosines[v][x];
            D[u * PH_K + v] = acc;
        }
    /* insertion sort of 64 values for the median */
    for (int i = 0; i < PH_K * PH_K; i++) {
        double v = D[i];
        int j = i;
        for (; j > 0 && sorted[j - 1] > v; j--)
            sorted[j] = sorted[j - 1];
        sorted[j] = v;
    }
    double med = (sorted[31] + sorted[32]) / 2;
    /* Coefficients within a hair of the median count as equal to it: the AC terms of a flat or
     * symmetric picture are exactly 0 in theory and ~1e-12 in double, and their bits must not
     * depend on that noise (or on the machine). Real coefficients are ~1e1 .. 1e5 apart. */
    double tol = 1e-9 * (fabs(D[0]) + 1.0);
    uint64_t h = 0;
    for (int i = 0; i < PH_K * PH_K; i++)
        h = h << 1 | (D[i] > med + tol);
    return h;
}

/* ---- near-duplicate index ------------------------------------------------------------------ */

enum { ND_BANDS = 4, ND_BUCKETS = 1 << 16 };

#define ND_MAGIC "CCND"
#define ND_VERSION 1
#define ND_HEADER 20u /* magic 4, version 2, header size 2, k 4, count 8 */

typedef struct nd_entry {
    uint64_t hash, value;
} nd_entry;

/* postings: (uint64)(32 bits of bands b+1, b+2) << 32 | entry id */
typedef struct nd_bucket {
    uint64_t *p;
    uint32_t n, cap;
} nd_bucket;

struct neardup_index {
    int k, radius; /* radius = k / 4: the per-band probe radius */
    uint64_t max_entries;
    nd_entry *entries;
    uint64_t count, cap;
    uint16_t *masks; /* every 16-bit value of popcount <= radius */
    uint32_t nmasks;
    nd_bucket *buckets; /* [ND_BANDS * ND_BUCKETS] */
};

/* Bit count without a libgcc call (x86-64's baseline has no POPCNT instruction). */
static inline int popcount32(uint32_t x)
{
    x = x - ((x >> 1) & 0x55555555u);
    x = (x & 0x33333333u) + ((x >> 2) & 0x33333333u);
    x = (x + (x >> 4)) & 0x0f0f0f0fu;
    return (int)((x * 0x01010101u) >> 24);
}

static inline uint32_t band_of(uint64_t h, int b)
{
    return (uint32_t)(h >> (16 * b)) & 0xffff;
}

/* The 32 bits of bands b+1 and b+2 (mod 4), stored beside the id as a pre-filter. */
static inline uint32_t side_of(uint64_t h, int b)
{
    uint64_t r = b == 0 ? h : (h >> (16 * b)) | (h << (64 - 16 * b));
    return (uint32_t)(r >> 16);
}

cc_status neardup_new(int k, uint64_t max_entries, neardup_index **out)
{
    *out = NULL;
    CC_CHECK(k >= 0 && k <= 16, CC_E_INVAL, "neardup: distance k = %d is outside 0..16", k);
    CC_CHECK(max_entries >= 1 && max_entries <= UINT32_MAX, CC_E_INVAL,
             "neardup: max_entries %llu is outside 1..2^32-1", (unsigned long long)max_entries);
    neardup_index *ix = calloc(1, sizeof *ix);
    if (ix == NULL)
        return cc_fail(CC_E_NOMEM, "neardup: out of memory");
    ix->k = k;
    ix->radius = k / 4;
    ix->max_entries = max_entries;
    /* 4 x 65536 heads of 16 bytes: 4 MiB, zero pages until touched */
    ix->buckets = calloc((size_t)ND_BANDS * ND_BUCKETS, sizeof *ix->buckets);
    uint32_t nm = 0;
    for (uint32_t m = 0; m < ND_BUCKETS; m++)
        nm += __builtin_popcount(m) <= ix->radius;
    ix->masks = malloc(nm * sizeof *ix->masks);
    if (ix->buckets == NULL || ix->masks == NULL) {
        neardup_free(ix);
        return cc_fail(CC_E_NOMEM, "neardup: out of memory for the bucket table");
    }
    /* ascending popcount: the exact bucket first (it holds the likeliest matches) */
    for (int pc = 0; pc <= ix->radius; pc++)
        for (uint32_t m = 0; m < ND_BUCKETS; m++)
            if (__builtin_popcount(m) == pc)
                ix->masks[ix->nmasks++] = (uint16_t)m;
    *out = ix;
    return CC_OK;
}

void neardup_free(neardup_index *ix)
{
    if (ix == NULL)
        return;
    if (ix->buckets != NULL)
        for (size_t i = 0; i < (size_t)ND_BANDS * ND_BUCKETS; i++)
            free(ix->buckets[i].p);
    free(ix->buckets);
    free(ix->masks);
    free(ix->entries);
    free(ix);
}

/* Makes room for one more posting (may reallocate b->p). */
static cc_status bucket_reserve(nd_bucket *b)
{
    if (b->n < b->cap)
        return CC_OK;
    /* 1.5x growth from 2: ~20% slack on average; n < 2^32 since count < 2^32 */
    uint64_t cap = b->cap < 2 ? 2 : (uint64_t)b->cap + b->cap / 2;
    if (cap > UINT32_MAX)
        cap = UINT32_MAX;
    uint64_t *p = realloc(b->p, cap * sizeof *p);
    if (p == NULL)
        return cc_fail(CC_E_NOMEM, "neardup: out of memory for a bucket of %llu",
                       (unsigned long long)cap);
    b->p = p;
    b->cap = (uint32_t)cap;
    return CC_OK;
}

cc_status neardup_add(neardup_index *ix, uint64_t hash, uint64_t value)
{
    if (ix->count >= ix->max_entries)
        return cc_fail(CC_E_LIMIT, "neardup: index full (%llu entries)",
                       (unsigned long long)ix->max_entries);
    /* reserve everything first, so that a failed allocation leaves the index unchanged */
    if (ix->count == ix->cap) {
        uint64_t cap = ix->cap < 1024 ? 1024 : ix->cap * 2;
        if (cap > ix->max_entries)
            cap = ix->max_entries;
        nd_entry *e = realloc(ix->entries, cap * sizeof *e);
        if (e == NULL)
            return cc_fail(CC_E_NOMEM, "neardup: out of memory for %llu entries",
                           (unsigned long long)cap);
        ix->entries = e;
        ix->cap = cap;
    }
    nd_bucket *bk[ND_BANDS];
    for (int b = 0; b < ND_BANDS; b++) {
        bk[b] = &ix->buckets[(size_t)b * ND_BUCKETS + band_of(hash, b)];
        CC_TRY(bucket_reserve(bk[b]));
    }
    /* ids grow with insertion, so every bucket's postings are sorted by id: among equal
     * distances, the earliest entry is the lowest id */
    uint32_t id = (uint32_t)ix->count;
    ix->entries[id] = (nd_entry){hash, value};
    for (int b = 0; b < ND_BANDS; b++)
        bk[b]->p[bk[b]->n++] = (uint64_t)side_of(hash, b) << 32 | id;
    ix->count++;
    return CC_OK;
}

/* A position in the probe sequence: band b, mask m (b == ND_BANDS: past the end). */
typedef struct nd_cursor {
    int b;
    uint32_t m;
} nd_cursor;

static inline void cursor_next(nd_cursor *c, uint32_t nmasks)
{
    if (++c->m == nmasks) {
        c->m = 0;
        c->b++;
    }
}

static inline const nd_bucket *cursor_bucket(const neardup_index *ix, const uint32_t key[],
                                             nd_cursor c)
{
    return &ix->buckets[(size_t)c.b * ND_BUCKETS + (key[c.b] ^ ix->masks[c.m])];
}

/* How far ahead bucket heads and posting arrays are prefetched, in probes: two dependent cache
 * misses per bucket (head, then postings) overlap with the scans of the buckets before. */
enum { ND_AHEAD_HEAD = 16, ND_AHEAD_POST = 8 };

int neardup_find(const neardup_index *ix, uint64_t hash, uint64_t *value, int *distance)
{
    uint32_t key[ND_BANDS], side[ND_BANDS];
    for (int b = 0; b < ND_BANDS; b++) {
        key[b] = band_of(hash, b);
        side[b] = side_of(hash, b);
    }
    nd_cursor cur = {0, 0}, head = cur, post = cur;
    for (int i = 0; i < ND_AHEAD_HEAD; i++) {
        if (head.b < ND_BANDS)
            __builtin_prefetch(cursor_bucket(ix, key, head));
        cursor_next(&head, ix->nmasks);
        if (i >= ND_AHEAD_HEAD - ND_AHEAD_POST)
            continue;
        cursor_next(&post, ix->nmasks);
    }
    int best_d = ix->k + 1;
    uint32_t best_id = UINT32_MAX;
    for (; cur.b < ND_BANDS; cursor_next(&cur, ix->nmasks)) {
        if (head.b < ND_BANDS) {
            __builtin_prefetch(cursor_bucket(ix, key, head));
            cursor_next(&head, ix->nmasks);
        }
        if (post.b < ND_BANDS) {
            const nd_bucket *f = cursor_bucket(ix, key, post);
            if (f->n > 0)
                __builtin_prefetch(f->p);
            if (f->n > 8)
                __builtin_prefetch(f->p + 8);
            cursor_next(&post, ix->nmasks);
        }
        const nd_bucket *bk = cursor_bucket(ix, key, cur);
        int band_d = popcount32(ix->masks[cur.m]);
        uint32_t sd = side[cur.b];
        for (uint32_t i = 0; i < bk->n; i++) {
            uint64_t p = bk->p[i];
            /* a lower bound from 3 of the 4 bands skips most entries unread */
            if (band_d + popcount32((uint32_t)(p >> 32) ^ sd) > ix->k)
                continue;
            uint32_t id = (uint32_t)p;
            int d = phash_distance(ix->entries[id].hash, hash);
            if (d <= ix->k && (d < best_d || (d == best_d && id < best_id))) {
                best_d = d;
                best_id = id;
            }
        }
    }
    if (best_id == UINT32_MAX)
        return 0;
    if (value != NULL)
        *value = ix->entries[best_id].value;
    if (distance != NULL)
        *distance = best_d;
    return 1;
}

int neardup_find_or_add(neardup_index *ix, uint64_t hash, uint64_t value, uint64_t *dup_value,
                        int *distance)
{
    if (neardup_find(ix, hash, dup_value, distance))
        return 1;
    cc_status st = neardup_add(ix, hash, value);
    return st == CC_OK ? 0 : -(int)st;
}

uint64_t neardup_count(const neardup_index *ix)
{
    return ix->count;
}

int neardup_k(const neardup_index *ix)
{
    return ix->k;
}

/* ---- save / load --------------------------------------------------------------------------- */

enum { ND_CHUNK = 4096 }; /* entries per read or write: 64 KiB */

cc_status neardup_save(const neardup_index *ix, const char *path)
{
    cc_file_out fo;
    CC_TRY(cc_file_out_open(&fo, path));
    uint8_t hdr[ND_HEADER], e[16];
    memcpy(hdr, ND_MAGIC, 4);
    cc_store_u16(hdr + 4, ND_VERSION);
    cc_store_u16(hdr + 6, ND_HEADER);
    cc_store_u32(hdr + 8, (uint32_t)ix->k);
    cc_store_u64(hdr + 12, ix->count);
    cc_status st;
    CC_TRY_GOTO(st, cc_file_out_put(&fo, hdr, sizeof hdr), fail);
    for (uint64_t i = 0; i < ix->count; i++) {
        cc_store_u64(e, ix->entries[i].hash);
        cc_store_u64(e + 8, ix->entries[i].value);
        CC_TRY_GOTO(st, cc_file_out_put(&fo, e, sizeof e), fail);
    }
    return cc_file_out_commit(&fo);
fail:
    cc_file_out_abort(&fo);
    return st;
}

/* Reads exactly n bytes; CC_E_FORMAT if the file ends first. */
static cc_status read_exact(int fd, void *p, size_t n, const char *path)
{
    uint8_t *c = p;
    while (n > 0) {
        ssize_t r = read(fd, c, n);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0)
            return cc_fail(CC_E_IO, "%s: read: %s", path, strerror(errno));
        if (r == 0)
            return cc_fail(CC_E_FORMAT, "%s: truncated", path);
        c += r;
        n -= (size_t)r;
    }
    return CC_OK;
}

cc_status neardup_load(const char *path, uint64_t max_entries, neardup_index **out)
{
    *out = NULL;
    neardup_index *ix = NULL;
    uint8_t *chunk = NULL;
    XXH3_state_t *xs = NULL;
    cc_status st = CC_OK;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return cc_fail(errno == ENOENT ? CC_E_NOTFOUND : CC_E_IO, "%s: %s", path, strerror(errno));
    struct stat sb;
    if (fstat(fd, &sb) != 0) {
        st = cc_fail(CC_E_IO, "%s: stat: %s", path, strerror(errno));
        goto done;
    }
    uint8_t hd[ND_HEADER];
    if (sb.st_size < (off_t)ND_HEADER + 8) {
        st = cc_fail(CC_E_FORMAT, "%s: truncated (%lld bytes, a near-duplicate index has >= %u)",
                     path, (long long)sb.st_size, ND_HEADER + 8);
        goto done;
    }
    CC_TRY_GOTO(st, read_exact(fd, hd, sizeof hd, path), done);
    /* a later minor layout may append header fields; they are hashed and skipped */
    size_t hsize;
    CC_TRY_GOTO(st,
                cc_file_check_header(path, hd, (size_t)sb.st_size, ND_MAGIC, "near-duplicate index",
                                     ND_VERSION, ND_HEADER, &hsize),
                done);
    uint32_t k = cc_load_u32(hd + 8);
    uint64_t count = cc_load_u64(hd + 12);
    if (k > 16) {
        st = cc_fail(CC_E_FORMAT, "%s: bad header (k %u)", path, k);
        goto done;
    }
    uint64_t size = (uint64_t)sb.st_size;
    if (size < (uint64_t)hsize + 8 || (size - hsize - 8) / 16 != count ||
        (size - hsize - 8) % 16 != 0) {
        st = cc_fail(CC_E_FORMAT,
                     "%s: %lld bytes, but the header says %llu entries (truncated or "
                     "damaged)",
                     path, (long long)sb.st_size, (unsigned long long)count);
        goto done;
    }
    if (count > max_entries) {
        st = cc_fail(CC_E_LIMIT, "%s: holds %llu entries, more than the limit of %llu", path,
                     (unsigned long long)count, (unsigned long long)max_entries);
        goto done;
    }
    /* The header is consistent with the file size; the entries are added as they stream in
     * (64 KiB at a time) and the index is only handed out once the checksum matches. */
    CC_TRY_GOTO(st, neardup_new((int)k, max_entries, &ix), done);
    xs = XXH3_createState();
    chunk = malloc((size_t)ND_CHUNK * 16);
    if (xs == NULL || chunk == NULL || XXH3_64bits_reset(xs) != XXH_OK) {
        st = cc_fail(CC_E_NOMEM, "neardup: out of memory");
        goto done;
    }
    XXH3_64bits_update(xs, hd, sizeof hd);
    for (unsigned skip = (unsigned)(hsize - ND_HEADER); skip > 0;) {
        unsigned n = skip < 4096 ? skip : 4096;
        CC_TRY_GOTO(st, read_exact(fd, chunk, n, path), done);
        XXH3_64bits_update(xs, chunk, n);
        skip -= n;
    }
    for (uint64_t i = 0; i < count;) {
        size_t n = count - i < ND_CHUNK ? (size_t)(count - i) : ND_CHUNK;
        CC_TRY_GOTO(st, read_exact(fd, chunk, n * 16, path), done);
        XXH3_64bits_update(xs, chunk, n * 16);
        for (size_t j = 0; j < n; j++)
            CC_TRY_GOTO(
                st, neardup_add(ix, cc_load_u64(chunk + 16 * j), cc_load_u64(chunk + 16 * j + 8)),
                done);
        i += n;
    }
    uint8_t sum[8];
    CC_TRY_GOTO(st, read_exact(fd, sum, 8, path), done);
    if (cc_load_u64(sum) != XXH3_64bits_digest(xs)) {
        st = cc_fail(CC_E_CHECKSUM,
                     "%s: checksum mismatch (the file changed or was damaged after saving)", path);
        goto done;
    }
    *out = ix;
    ix = NULL;

done:
    close(fd);
    neardup_free(ix);
    free(chunk);
    XXH3_freeState(xs);
    return st;
}
