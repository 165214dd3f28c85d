/* tests/unit/test_phash.c — img_phash against a slow reference written from the definition, its
 * robustness on real photos (rescale, crop, brightness, JPEG re-encode) and its spread between
 * different photos; the near-duplicate index against brute force, its limits, and its file
 * (round trip, checksum, magic, version, truncation).
 *
 * The photos are the .jpg files in /usr/share/backgrounds/mate/nature (Debian package
 * mate-backgrounds, installed by ops/deps.sh), decoded here with libjpeg at DCT scale 1/4
 * (~640 x 400).
 */
#include <dirent.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <jpeglib.h>

#include "common/buf.h"
#include "common/hash.h"
#include "filters/image.h"
#include "filters/phash.h"

#define PHOTO_DIR "/usr/share/backgrounds/mate/nature"

/* ---- helpers ------------------------------------------------------------------------------- */

static uint64_t rng_next(uint64_t *s)
{
    *s ^= *s >> 12;
    *s ^= *s << 25;
    *s ^= *s >> 27;
    return *s * 0x2545f4914f6cdd1dull;
}

static img_rgb make_image(uint32_t w, uint32_t h)
{
    img_rgb im = {0};
    assert_int_equal(img_rgb_alloc(&im, w, h, 0), CC_OK);
    return im;
}

/* Smooth blobs plus noise: structure at low frequencies, distinct DCT coefficients. */
static img_rgb synthetic_image(uint32_t w, uint32_t h, uint64_t seed)
{
    img_rgb im = make_image(w, h);
    uint64_t s = seed | 1;
    double fx = 1 + (double)(rng_next(&s) % 5), fy = 1 + (double)(rng_next(&s) % 5);
    for (uint32_t y = 0; y < h; y++)
        for (uint32_t x = 0; x < w; x++)
            for (int c = 0; c < 3; c++) {
                double v = 128 + 60 * sin(fx * 6.28 * x / w + c) * cos(fy * 6.28 * y / h) +
                           (double)(rng_next(&s) % 50) - 25;
                im.px[((size_t)y * w + x) * 3 + c] = (uint8_t)(v < 0 ? 0 : v > 255 ? 255 : v);
            }
    return im;
}

/* ---- the slow reference -------------------------------------------------------------------- */

/* Weight of source index i for destination index d on an axis S -> D: the overlap of [i, i+1)
 * with the footprint [d*S/D, (d+1)*S/D) over its length when shrinking; bilinear at
 * (d + 0.5) * S/D - 0.5, clamped to [0, S-1], when growing. */
static double ref_weight(uint32_t S, uint32_t D, uint32_t d, uint32_t i)
{
    if (S >= D) {
        double scale = (double)S / D, lo = d * scale, hi = (d + 1) * scale;
        double a = fmax(lo, (double)i), b = fmin(hi, (double)i + 1);
        return b > a ? (b - a) / scale : 0.0;
    }
    double x = fmin(fmax((d + 0.5) * S / D - 0.5, 0.0), (double)(S - 1));
    double i0 = floor(x), f = x - i0;
    return i == (uint32_t)i0 ? 1.0 - f : i == (uint32_t)i0 + 1 ? f : 0.0;
}

/* pHash by the definition: luma, 32 x 32 by the weights above (every source pixel visited for
 * every output pixel), the full 32 x 32 DCT-II (scipy's unnormalized form, factor 4 included),
 * its 8 x 8 low block, bits above the median (values within 1e-9 of |DC| count as equal). */
static uint64_t ref_phash(const img_rgb *im)
{
    static double X[32][32], D[32][32];
    double *lum = malloc((size_t)im->w * im->h * sizeof *lum);
    assert_non_null(lum);
    for (size_t i = 0; i < (size_t)im->w * im->h; i++) {
        const uint8_t *p = im->px + 3 * i;
        lum[i] = 0.299 * p[0] + 0.587 * p[1] + 0.114 * p[2];
    }
    for (uint32_t v = 0; v < 32; v++)
        for (uint32_t u = 0; u < 32; u++) {
            double acc = 0;
            for (uint32_t y = 0; y < im->h; y++) {
                double wy = ref_weight(im->h, 32, v, y);
                if (wy == 0)
                    continue;
                for (uint32_t x = 0; x < im->w; x++)
                    acc += wy * ref_weight(im->w, 32, u, x) * lum[(size_t)y * im->w + x];
            }
            X[v][u] = acc;
        }
    free(lum);
    const double pi = 3.14159265358979323846;
    for (int u = 0; u < 32; u++)
        for (int v = 0; v < 32; v++) {
            double acc = 0;
            for (int y = 0; y < 32; y++)
                for (int x = 0; x < 32; x++)
                    acc +=
                        X[y][x] * cos(pi * u * (2 * y + 1) / 64) * cos(pi * v * (2 * x + 1) / 64);
            D[u][v] = 4 * acc;
        }
    double low[64], sorted[64];
    for (int i = 0; i < 64; i++)
        low[i] = sorted[i] = D[i / 8][i % 8];
    for (int i = 1; i < 64; i++)
        for (int j = i; j > 0 && sorted[j - 1] > sorted[j]; j--) {
            double t = sorted[j];
            sorted[j] = sorted[j - 1];
            sorted[j - 1] = t;
        }
    double med = (sorted[31] + sorted[32]) / 2, tol = 1e-9 * (fabs(low[0]) + 4.0);
    uint64_t h = 0;
    for (int i = 0; i < 64; i++)
        if (low[i] > med + tol)
            h |= 1ull << (63 - i);
    return h;
}

static void test_phash_matches_reference(void **state)
{
    (void)state;
    /* integer ratios, fractional shrinks, growth on one or both axes, 1-pixel and thin images */
    static const uint32_t sizes[][2] = {{32, 32},  {64, 96},  {100, 75}, {45, 20}, {7, 5},
                                        {1000, 3}, {33, 257}, {1, 40},   {97, 131}};
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        img_rgb im = synthetic_image(sizes[i][0], sizes[i][1], 11 + i);
        uint64_t got = img_phash(&im), want = ref_phash(&im);
        if (got != want)
            fail_msg("%ux%u: phash %016llx, reference %016llx", sizes[i][0], sizes[i][1],
                     (unsigned long long)got, (unsigned long long)want);
        if (sizes[i][0] > 1 && sizes[i][1] > 1)
            assert_int_equal(__builtin_popcountll(got), 32); /* distinct values: half above */
        assert_int_equal(img_phash(&im), got); /* deterministic */
        img_rgb_free(&im);
    }
}

/* Bit (u, v) <-> bit (v, u). */
static uint64_t transpose_bits(uint64_t h)
{
    uint64_t t = 0;
    for (int u = 0; u < 8; u++)
        for (int v = 0; v < 8; v++)
            if (h >> (63 - (u * 8 + v)) & 1)
                t |= 1ull << (63 - (v * 8 + u));
    return t;
}

static void test_phash_structure(void **state)
{
    (void)state;
    /* flat pictures of any size: only the DC coefficient is above the median */
    static const uint32_t flat[][2] = {{1, 1}, {32, 32}, {100, 37}, {5, 300}};
    for (size_t i = 0; i < 4; i++) {
        img_rgb im = make_image(flat[i][0], flat[i][1]);
        memset(im.px, 90 + (int)i, (size_t)flat[i][0] * flat[i][1] * 3);
        assert_int_equal(img_phash(&im), 0x8000000000000000ull);
        img_rgb_free(&im);
    }
    /* transposing the picture transposes the coefficient block */
    img_rgb a = synthetic_image(75, 75, 3), b = make_image(75, 75);
    for (uint32_t y = 0; y < 75; y++)
        for (uint32_t x = 0; x < 75; x++)
            memcpy(b.px + (x * 75 + y) * 3, a.px + (y * 75 + x) * 3, 3);
    assert_int_equal(img_phash(&b), transpose_bits(img_phash(&a)));
    /* a left-right mirror negates the odd horizontal frequencies: different bits */
    for (uint32_t y = 0; y < 75; y++)
        for (uint32_t x = 0; x < 75; x++)
            memcpy(b.px + (y * 75 + 74 - x) * 3, a.px + (y * 75 + x) * 3, 3);
    assert_true(phash_distance(img_phash(&a), img_phash(&b)) >= 8);
    img_rgb empty = {0};
    assert_int_equal(img_phash(&empty), 0);
    assert_int_equal(img_phash(NULL), 0);
    img_rgb_free(&a);
    img_rgb_free(&b);
}

/* ---- real photos --------------------------------------------------------------------------- */

static void decode_jpeg_mem(const uint8_t *p, size_t n, int denom, img_rgb *out)
{
    struct jpeg_decompress_struct di;
    struct jpeg_error_mgr jerr;
    di.err = jpeg_std_error(&jerr);
    jpeg_create_decompress(&di);
    jpeg_mem_src(&di, p, (unsigned long)n);
    assert_int_equal(jpeg_read_header(&di, TRUE), JPEG_HEADER_OK);
    di.out_color_space = JCS_RGB;
    di.scale_num = 1;
    di.scale_denom = (unsigned)denom;
    jpeg_start_decompress(&di);
    assert_int_equal(di.output_components, 3);
    assert_int_equal(img_rgb_alloc(out, di.output_width, di.output_height, 0), CC_OK);
    while (di.output_scanline < di.output_height) {
        JSAMPROW row = out->px + (size_t)di.output_scanline * di.output_width * 3;
        jpeg_read_scanlines(&di, &row, 1);
    }
    jpeg_finish_decompress(&di);
    jpeg_destroy_decompress(&di);
}

static void encode_jpeg(const img_rgb *im, int quality, uint8_t **mem, unsigned long *len)
{
    struct jpeg_compress_struct ci;
    struct jpeg_error_mgr jerr;
    ci.err = jpeg_std_error(&jerr);
    jpeg_create_compress(&ci);
    *mem = NULL;
    *len = 0;
    jpeg_mem_dest(&ci, mem, len);
    ci.image_width = im->w;
    ci.image_height = im->h;
    ci.input_components = 3;
    ci.in_color_space = JCS_RGB;
    jpeg_set_defaults(&ci);
    jpeg_set_quality(&ci, quality, TRUE);
    jpeg_start_compress(&ci, TRUE);
    while (ci.next_scanline < ci.image_height) {
        JSAMPROW row = im->px + (size_t)ci.next_scanline * im->w * 3;
        jpeg_write_scanlines(&ci, &row, 1);
    }
    jpeg_finish_compress(&ci);
    jpeg_destroy_compress(&ci);
}

enum { MAX_PHOTOS = 32 };

static int cmp_name(const void *a, const void *b)
{
    return strcmp(a, b);
}

/* Decodes every photo at 1/4 scale into ims; returns how many. */
static int load_photos(img_rgb *ims)
{
    DIR *d = opendir(PHOTO_DIR);
    if (d == NULL)
        fail_msg("%s is missing: install mate-backgrounds (ops/deps.sh)", PHOTO_DIR);
    char names[MAX_PHOTOS][512];
    int n = 0;
    struct dirent *de;
    while ((de = readdir(d)) != NULL && n < MAX_PHOTOS) {
        size_t l = strlen(de->d_name);
        if (l > 4 && l < 200 && strcmp(de->d_name + l - 4, ".jpg") == 0)
            snprintf(names[n++], sizeof names[0], "%s/%s", PHOTO_DIR, de->d_name);
    }
    closedir(d);
    assert_true(n >= 6);
    qsort(names, (size_t)n, sizeof names[0], cmp_name);
    for (int i = 0; i < n; i++) {
        cc_buf b;
        cc_buf_init(&b, 64u << 20);
        FILE *f = fopen(names[i], "rb");
        assert_non_null(f);
        uint8_t chunk[65536];
        size_t r;
        while ((r = fread(chunk, 1, sizeof chunk, f)) > 0)
            assert_int_equal(cc_buf_append(&b, chunk, r), CC_OK);
        fclose(f);
        ims[i] = (img_rgb){0};
        decode_jpeg_mem(b.data, b.len, 4, &ims[i]);
        cc_buf_free(&b);
    }
    return n;
}

static int cmp_int(const void *a, const void *b)
{
    return *(const int *)a - *(const int *)b;
}

static void test_phash_photos(void **state)
{
    (void)state;
    img_rgb ims[MAX_PHOTOS], t = {0};
    int n = load_photos(ims);
    uint64_t h[MAX_PHOTOS];
    int worst[4] = {0, 0, 0, 0}; /* half, crop, brightness, jpeg q60 */
    int crop_within8 = 0;
    for (int i = 0; i < n; i++) {
        const img_rgb *im = &ims[i];
        h[i] = img_phash(im);

        assert_int_equal(img_resize(im, im->w / 2, im->h / 2, &t), CC_OK);
        int d0 = phash_distance(h[i], img_phash(&t));

        uint32_t cx = im->w * 25 / 1000, cy = im->h * 25 / 1000; /* 2.5% per side */
        assert_int_equal(img_rgb_alloc(&t, im->w - 2 * cx, im->h - 2 * cy, 0), CC_OK);
        for (uint32_t y = 0; y < t.h; y++)
            memcpy(t.px + (size_t)y * t.w * 3, im->px + ((size_t)(y + cy) * im->w + cx) * 3,
                   (size_t)t.w * 3);
        int d1 = phash_distance(h[i], img_phash(&t));
        crop_within8 += d1 <= 8;

        assert_int_equal(img_rgb_alloc(&t, im->w, im->h, 0), CC_OK);
        for (size_t k = 0; k < (size_t)im->w * im->h * 3; k++)
            t.px[k] = (uint8_t)(im->px[k] > 245 ? 255 : im->px[k] + 10);
        int d2 = phash_distance(h[i], img_phash(&t));

        uint8_t *jpg;
        unsigned long len;
        encode_jpeg(im, 60, &jpg, &len);
        decode_jpeg_mem(jpg, len, 1, &t);
        free(jpg);
        assert_int_equal(t.w, im->w);
        int d3 = phash_distance(h[i], img_phash(&t));

        print_message("photo %2d %ux%u  %016llx  half %d crop %d bright %d q60 %d\n", i, im->w,
                      im->h, (unsigned long long)h[i], d0, d1, d2, d3);
        int ds[4] = {d0, d1, d2, d3};
        for (int k = 0; k < 4; k++)
            worst[k] = ds[k] > worst[k] ? ds[k] : worst[k];
    }
    assert_true(worst[0] <= 8);
    /* A 5% crop shifts and rescales everything by 2.5%: most photos stay within 8 bits, but
     * textured ones (a meadow, a ladybird on leaves) move 10-12 bits, with imagehash's Lanczos
     * variant even more (16). So: <= 8 for at least 3 photos in 4, <= 12 for all. */
    assert_true(crop_within8 * 4 >= n * 3);
    assert_true(worst[1] <= 12);
    assert_true(worst[2] <= 4);
    assert_true(worst[3] <= 8);

    /* different photos: the distribution of all pair distances */
    int pairs[MAX_PHOTOS * MAX_PHOTOS / 2], np = 0;
    for (int i = 0; i < n; i++)
        for (int j = i + 1; j < n; j++)
            pairs[np++] = phash_distance(h[i], h[j]);
    qsort(pairs, (size_t)np, sizeof pairs[0], cmp_int);
    print_message("%d pairs of different photos: min %d, p10 %d, median %d, p90 %d, max %d\n", np,
                  pairs[0], pairs[np / 10], pairs[np / 2], pairs[np * 9 / 10], pairs[np - 1]);
    assert_true(pairs[np / 2] >= 20);
    assert_true(pairs[0] > 8); /* no two photos would be taken for near-duplicates */
    for (int i = 0; i < n; i++)
        img_rgb_free(&ims[i]);
    img_rgb_free(&t);
}

/* ---- near-duplicate index ------------------------------------------------------------------ */

/* Flips d distinct random bits of h. */
static uint64_t flip_bits(uint64_t h, int d, uint64_t *s)
{
    uint64_t m = 0;
    while (__builtin_popcountll(m) < d)
        m |= 1ull << (rng_next(s) & 63);
    return h ^ m;
}

typedef struct brute {
    uint64_t *hash, *value;
    size_t n;
} brute;

/* The nearest entry within k (lowest distance, then earliest), by a linear scan. */
static int brute_find(const brute *b, int k, uint64_t q, uint64_t *value, int *dist)
{
    int best = k + 1;
    size_t at = 0;
    for (size_t i = 0; i < b->n; i++) {
        int d = phash_distance(b->hash[i], q);
        if (d < best) {
            best = d;
            at = i;
        }
    }
    if (best > k)
        return 0;
    *value = b->value[at];
    *dist = best;
    return 1;
}

/* 10k entries: 60% random, 40% a few bits from an earlier one (clusters, exact duplicates). */
static void fill(neardup_index *ix, brute *b, size_t n, uint64_t *s)
{
    b->hash = malloc(n * sizeof *b->hash);
    b->value = malloc(n * sizeof *b->value);
    assert_true(b->hash && b->value);
    b->n = 0;
    for (size_t i = 0; i < n; i++) {
        uint64_t h = rng_next(s);
        if (i > 10 && rng_next(s) % 10 < 4)
            h = flip_bits(b->hash[rng_next(s) % i], (int)(rng_next(s) % 7), s);
        uint64_t v = i * 7 + 3;
        assert_int_equal(neardup_add(ix, h, v), CC_OK);
        b->hash[b->n] = h;
        b->value[b->n++] = v;
    }
    assert_int_equal(neardup_count(ix), n);
}

static void check_queries(const neardup_index *ix, const brute *b, int k, int nq, uint64_t *s)
{
    int found = 0;
    for (int q = 0; q < nq; q++) {
        /* half planted at every distance 0..k+2 from an entry, half random */
        uint64_t h =
            q % 2 ? rng_next(s) : flip_bits(b->hash[rng_next(s) % b->n], (q / 2) % (k + 3), s);
        uint64_t v1 = 0, v2 = 0;
        int d1 = -1, d2 = -1;
        int f1 = neardup_find(ix, h, &v1, &d1), f2 = brute_find(b, k, h, &v2, &d2);
        if (f1 != f2 || (f1 && (v1 != v2 || d1 != d2)))
            fail_msg("k=%d query %d (%016llx): index %d/%llu/%d, brute force %d/%llu/%d", k, q,
                     (unsigned long long)h, f1, (unsigned long long)v1, d1, f2,
                     (unsigned long long)v2, d2);
        found += f1;
    }
    /* the planted queries within k must have been found, at least */
    assert_true(found >= nq / 2 * (k + 1) / (k + 3) - 1);
}

static void test_neardup_vs_bruteforce(void **state)
{
    (void)state;
    static const int ks[] = {0, 3, 8, 12, 16};
    for (size_t i = 0; i < sizeof ks / sizeof ks[0]; i++) {
        int k = ks[i];
        uint64_t s = 1234 + i;
        neardup_index *ix = NULL;
        assert_int_equal(neardup_new(k, 20000, &ix), CC_OK);
        assert_int_equal(neardup_k(ix), k);
        brute b;
        fill(ix, &b, 10000, &s);
        check_queries(ix, &b, k, k == 16 ? 500 : 2000, &s);
        neardup_free(ix);
        free(b.hash);
        free(b.value);
    }
}

static void test_neardup_find_or_add(void **state)
{
    (void)state;
    neardup_index *ix = NULL;
    assert_int_equal(neardup_new(4, 100, &ix), CC_OK);
    uint64_t dup = 0;
    int d = -1;
    assert_int_equal(neardup_find(ix, 42, &dup, &d), 0);
    assert_int_equal(neardup_find_or_add(ix, 0xff00ff00ff00ff00ull, 1, &dup, &d), 0);
    assert_int_equal(neardup_find_or_add(ix, 0xff00ff00ff00ff0full, 2, &dup, &d), 1);
    assert_int_equal(dup, 1);
    assert_int_equal(d, 4);
    assert_int_equal(neardup_count(ix), 1);
    assert_int_equal(neardup_find_or_add(ix, 0xff00ff00ff00ff1full, 3, NULL, NULL), 0);
    assert_int_equal(neardup_count(ix), 2);
    /* the same hash twice: both kept, the earliest answers */
    assert_int_equal(neardup_add(ix, 7, 10), CC_OK);
    assert_int_equal(neardup_add(ix, 7, 11), CC_OK);
    assert_int_equal(neardup_find(ix, 7, &dup, &d), 1);
    assert_int_equal(dup, 10);
    assert_int_equal(d, 0);
    /* nearer beats earlier; NULL outputs are allowed */
    assert_int_equal(neardup_add(ix, 0x7000000000000000ull, 20), CC_OK);
    assert_int_equal(neardup_add(ix, 0x3000000000000000ull, 21), CC_OK);
    assert_int_equal(neardup_find(ix, 0x1000000000000000ull, &dup, &d), 1);
    assert_int_equal(dup, 21);
    assert_int_equal(d, 1);
    assert_int_equal(neardup_find(ix, 0x1000000000000000ull, NULL, NULL), 1);
    neardup_free(ix);
    neardup_free(NULL);
}

static void test_neardup_limits(void **state)
{
    (void)state;
    neardup_index *ix = (neardup_index *)&ix;
    assert_int_equal(neardup_new(-1, 10, &ix), CC_E_INVAL);
    assert_null(ix);
    assert_int_equal(neardup_new(17, 10, &ix), CC_E_INVAL);
    assert_int_equal(neardup_new(4, 0, &ix), CC_E_INVAL);
    assert_int_equal(neardup_new(4, 1ull << 32, &ix), CC_E_INVAL);
    assert_int_equal(neardup_new(4, 3, &ix), CC_OK);
    for (uint64_t i = 0; i < 3; i++)
        assert_int_equal(neardup_add(ix, i << 40, i), CC_OK);
    assert_int_equal(neardup_add(ix, 99, 99), CC_E_LIMIT);
    assert_non_null(strstr(cc_errmsg(), "full"));
    assert_int_equal(neardup_count(ix), 3);
    /* full: a duplicate is still answered, a new hash is an error */
    assert_int_equal(neardup_find_or_add(ix, 1ull << 40, 5, NULL, NULL), 1);
    assert_int_equal(neardup_find_or_add(ix, ~0ull, 5, NULL, NULL), -(int)CC_E_LIMIT);
    neardup_free(ix);
}

/* ---- file ---------------------------------------------------------------------------------- */

static char tmpdir[64];

static int setup_dir(void **state)
{
    (void)state;
    snprintf(tmpdir, sizeof tmpdir, "/tmp/test_phash.XXXXXX");
    return mkdtemp(tmpdir) == NULL ? -1 : 0;
}

static int teardown_dir(void **state)
{
    (void)state;
    DIR *d = opendir(tmpdir);
    if (d != NULL) {
        struct dirent *de;
        char p[512];
        while ((de = readdir(d)) != NULL)
            if (de->d_name[0] != '.') {
                snprintf(p, sizeof p, "%s/%s", tmpdir, de->d_name);
                unlink(p);
            }
        closedir(d);
    }
    return rmdir(tmpdir);
}

static void read_all(const char *path, cc_buf *b)
{
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    uint8_t chunk[65536];
    size_t r;
    while ((r = fread(chunk, 1, sizeof chunk, f)) > 0)
        assert_int_equal(cc_buf_append(b, chunk, r), CC_OK);
    fclose(f);
}

static void write_all(const char *path, const uint8_t *p, size_t n)
{
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(p, 1, n, f), n);
    assert_int_equal(fclose(f), 0);
}

static void test_neardup_save_load(void **state)
{
    (void)state;
    char path[256], tmp[300];
    snprintf(path, sizeof path, "%s/index.ccnd", tmpdir);
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    uint64_t s = 99;
    neardup_index *ix = NULL, *back = NULL;
    assert_int_equal(neardup_new(8, 50000, &ix), CC_OK);
    brute b;
    fill(ix, &b, 5000, &s);
    assert_int_equal(neardup_save(ix, path), CC_OK);
    assert_false(access(tmp, F_OK) == 0);

    /* the layout, byte for byte */
    cc_buf f;
    cc_buf_init(&f, 1u << 20);
    read_all(path, &f);
    assert_int_equal(f.len, 20 + 16 * 5000 + 8);
    assert_memory_equal(f.data, "CCND", 4);
    assert_int_equal(cc_load_u16(f.data + 4), 1);
    assert_int_equal(cc_load_u16(f.data + 6), 20);
    assert_int_equal(cc_load_u32(f.data + 8), 8);
    assert_int_equal(cc_load_u64(f.data + 12), 5000);
    assert_int_equal(cc_load_u64(f.data + 20 + 16 * 17), b.hash[17]);
    assert_int_equal(cc_load_u64(f.data + 20 + 16 * 17 + 8), b.value[17]);
    assert_int_equal(cc_load_u64(f.data + f.len - 8), cc_hash64(f.data, f.len - 8));

    assert_int_equal(neardup_load(path, 50000, &back), CC_OK);
    assert_int_equal(neardup_count(back), 5000);
    assert_int_equal(neardup_k(back), 8);
    check_queries(back, &b, 8, 1000, &s);
    /* the loaded index keeps working: adds go after the loaded entries */
    assert_int_equal(neardup_find_or_add(back, b.hash[0], 1, NULL, NULL), 1);
    assert_int_equal(neardup_add(back, 5, 6), CC_OK);
    assert_int_equal(neardup_count(back), 5001);
    neardup_free(back);

    /* too many entries for the caller's limit */
    back = (neardup_index *)&back;
    assert_int_equal(neardup_load(path, 4999, &back), CC_E_LIMIT);
    assert_null(back);

    /* an empty index round-trips too */
    neardup_index *empty = NULL;
    assert_int_equal(neardup_new(0, 10, &empty), CC_OK);
    assert_int_equal(neardup_save(empty, path), CC_OK);
    assert_int_equal(neardup_load(path, 10, &back), CC_OK);
    assert_int_equal(neardup_count(back), 0);
    assert_int_equal(neardup_k(back), 0);
    neardup_free(back);
    neardup_free(empty);

    /* an unwritable place fails with CC_E_IO and leaves nothing */
    char bad[300];
    snprintf(bad, sizeof bad, "%s/no-such-dir/index.ccnd", tmpdir);
    assert_int_equal(neardup_save(ix, bad), CC_E_IO);
    assert_int_equal(neardup_load(bad, 10, &back), CC_E_NOTFOUND);
    cc_buf_free(&f);
    neardup_free(ix);
    free(b.hash);
    free(b.value);
}

/* Writes a modified copy of good to path and expects neardup_load to fail with want. */
static void expect_load(const char *path, const cc_buf *good, size_t len, size_t at, uint8_t xor_,
                        cc_status want)
{
    uint8_t *p = malloc(good->len);
    assert_non_null(p);
    memcpy(p, good->data, good->len);
    if (at < len)
        p[at] ^= xor_;
    write_all(path, p, len);
    free(p);
    neardup_index *ix = (neardup_index *)&ix;
    cc_status st = neardup_load(path, 1000, &ix);
    if (st != want)
        fail_msg("len %zu, byte %zu ^ %02x: got %s (%s), want %s", len, at, xor_, cc_status_str(st),
                 cc_errmsg(), cc_status_str(want));
    if (want == CC_OK) {
        assert_int_equal(neardup_count(ix), (len - 28) / 16);
        neardup_free(ix);
        return;
    }
    assert_null(ix);
    assert_true(strlen(cc_errmsg()) > 0);
}

static void test_neardup_load_errors(void **state)
{
    (void)state;
    char path[256], bad[256];
    snprintf(path, sizeof path, "%s/good.ccnd", tmpdir);
    snprintf(bad, sizeof bad, "%s/bad.ccnd", tmpdir);
    neardup_index *ix = NULL;
    assert_int_equal(neardup_new(5, 1000, &ix), CC_OK);
    uint64_t s = 7;
    for (int i = 0; i < 100; i++)
        assert_int_equal(neardup_add(ix, rng_next(&s), (uint64_t)i), CC_OK);
    assert_int_equal(neardup_save(ix, path), CC_OK);
    neardup_free(ix);
    cc_buf good;
    cc_buf_init(&good, 1u << 20);
    read_all(path, &good);
    size_t n = good.len;

    expect_load(bad, &good, n, n, 0, CC_OK); /* the unmodified copy loads */

    expect_load(bad, &good, n, 20 + 16 * 50 + 3, 0x01, CC_E_CHECKSUM); /* an entry's byte */
    expect_load(bad, &good, n, n - 1, 0x80, CC_E_CHECKSUM); /* the checksum */
    expect_load(bad, &good, n, 8, 0x01, CC_E_CHECKSUM); /* k 5 -> 4 */
    expect_load(bad, &good, n, 0, 0x20, CC_E_FORMAT); /* "cCND" */
    assert_non_null(strstr(cc_errmsg(), "magic"));
    expect_load(bad, &good, n, 4, 0x03, CC_E_VERSION); /* version 2 */
    assert_non_null(strstr(cc_errmsg(), "version"));
    expect_load(bad, &good, n, 8, 0x10, CC_E_FORMAT); /* k 21 */
    expect_load(bad, &good, n, 6, 0x02, CC_E_FORMAT); /* header size 22: sizes disagree */
    expect_load(bad, &good, n, 6, 0x04, CC_E_FORMAT); /* header size 16 < 20 */
    expect_load(bad, &good, n, 12, 0x01, CC_E_FORMAT); /* count 101 */
    expect_load(bad, &good, n - 1, n, 0, CC_E_FORMAT); /* truncated by a byte */
    expect_load(bad, &good, n - 16, n, 0, CC_E_FORMAT);
    expect_load(bad, &good, 10, n, 0, CC_E_FORMAT);
    expect_load(bad, &good, 0, n, 0, CC_E_FORMAT);
    assert_non_null(strstr(cc_errmsg(), "truncated"));
    cc_buf_free(&good);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_phash_matches_reference),
        cmocka_unit_test(test_phash_structure),
        cmocka_unit_test(test_phash_photos),
        cmocka_unit_test(test_neardup_vs_bruteforce),
        cmocka_unit_test(test_neardup_find_or_add),
        cmocka_unit_test(test_neardup_limits),
        cmocka_unit_test_setup_teardown(test_neardup_save_load, setup_dir, teardown_dir),
        cmocka_unit_test_setup_teardown(test_neardup_load_errors, setup_dir, teardown_dir),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
