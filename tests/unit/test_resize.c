/* tests/unit/test_resize.c — img_resize against hand-computed INTER_AREA / INTER_LINEAR cases and
 * against a plain reference on random images and many size pairs; the resize modes (fit sizes,
 * name parsing, crop and border windows).
 *
 * The reference below is written from the definitions, independently of filters/resize.c: for
 * each output pixel it sums every source pixel times the product of the two axis weights,
 *   shrinking axis: |[i, i+1) ∩ [d*S/D, (d+1)*S/D)| / (S/D)      (area, fractional edges)
 *   growing axis:   bilinear at x = (d + 0.5) * S/D - 0.5, clamped to [0, S-1]
 * in double precision, then rounds to nearest. The fast code may differ by 1 (float sums).
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "filters/image.h"

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
    assert_int_equal(im.w, w);
    assert_int_equal(im.h, h);
    return im;
}

/* kind 0: uniform noise (the hardest case for rounding); 1: smooth gradient with mild noise. */
static img_rgb random_image(uint32_t w, uint32_t h, int kind, uint64_t seed)
{
    img_rgb im = make_image(w, h);
    uint64_t s = seed | 1;
    for (uint32_t y = 0; y < h; y++)
        for (uint32_t x = 0; x < w; x++)
            for (int c = 0; c < 3; c++) {
                uint64_t r = rng_next(&s);
                unsigned v = kind == 0 ? (unsigned)(r >> 56)
                                       : (x * 200 / w + y * 50 / h + 30 * c + (r & 7)) & 255;
                im.px[((size_t)y * w + x) * 3 + c] = (uint8_t)v;
            }
    return im;
}

/* Weight of source index i for destination index d on an axis S -> D (see the file comment). */
static double ref_weight(uint32_t S, uint32_t D, uint32_t d, uint32_t i)
{
    if (S >= D) {
        double scale = (double)S / D, lo = d * scale, hi = (d + 1) * scale;
        double a = fmax(lo, (double)i), b = fmin(hi, (double)i + 1);
        return b > a ? (b - a) / scale : 0.0;
    }
    double x = (d + 0.5) * S / D - 0.5;
    x = fmin(fmax(x, 0.0), (double)(S - 1));
    double i0 = floor(x), f = x - i0;
    if (i == (uint32_t)i0)
        return 1.0 - f;
    if (i == (uint32_t)i0 + 1)
        return f;
    return 0.0;
}

/* Source indices that can have a nonzero weight for d: [*lo, *hi). */
static void ref_range(uint32_t S, uint32_t D, uint32_t d, uint32_t *lo, uint32_t *hi)
{
    double a = S >= D ? (double)d * S / D : (d + 0.5) * S / D - 0.5;
    double b = S >= D ? (double)(d + 1) * S / D : a + 2;
    long l = (long)floor(a) - 1, h = (long)ceil(b) + 1;
    *lo = l < 0 ? 0 : (uint32_t)l;
    *hi = h > (long)S ? S : (uint32_t)h;
}

static img_rgb ref_resize(const img_rgb *src, uint32_t w, uint32_t h)
{
    img_rgb out = make_image(w, h);
    for (uint32_t y = 0; y < h; y++) {
        uint32_t ylo, yhi;
        ref_range(src->h, h, y, &ylo, &yhi);
        for (uint32_t x = 0; x < w; x++) {
            uint32_t xlo, xhi;
            ref_range(src->w, w, x, &xlo, &xhi);
            double acc[3] = {0, 0, 0};
            for (uint32_t j = ylo; j < yhi; j++) {
                double wy = ref_weight(src->h, h, y, j);
                for (uint32_t i = xlo; i < xhi; i++) {
                    double wgt = wy * ref_weight(src->w, w, x, i);
                    for (int c = 0; c < 3; c++)
                        acc[c] += wgt * src->px[((size_t)j * src->w + i) * 3 + c];
                }
            }
            for (int c = 0; c < 3; c++) {
                double v = floor(acc[c] + 0.5);
                out.px[((size_t)y * w + x) * 3 + c] = (uint8_t)(v > 255 ? 255 : v < 0 ? 0 : v);
            }
        }
    }
    return out;
}

/* Resizes with img_resize and returns the result (asserting success). */
static img_rgb resized(const img_rgb *src, uint32_t w, uint32_t h)
{
    img_rgb out = {0};
    assert_int_equal(img_resize(src, w, h, &out), CC_OK);
    assert_int_equal(out.w, w);
    assert_int_equal(out.h, h);
    return out;
}

/* An image whose three channels of pixel i (row-major) are v[i], v[i] / 2 and 255 - v[i]. */
static img_rgb image_from(uint32_t w, uint32_t h, const uint8_t *v)
{
    img_rgb im = make_image(w, h);
    for (size_t i = 0; i < (size_t)w * h; i++) {
        im.px[3 * i] = v[i];
        im.px[3 * i + 1] = (uint8_t)(v[i] / 2);
        im.px[3 * i + 2] = (uint8_t)(255 - v[i]);
    }
    return im;
}

/* Asserts that channel 0 of im equals want[] (w*h values) and that the other channels follow
 * the linear maps of image_from (averaging commutes with them, up to rounding by 1). */
static void assert_channel0(const img_rgb *im, const uint8_t *want)
{
    for (size_t i = 0; i < (size_t)im->w * im->h; i++) {
        if (im->px[3 * i] != want[i])
            fail_msg("pixel %zu: got %u, want %u", i, im->px[3 * i], want[i]);
        assert_true(abs((int)im->px[3 * i + 2] - (255 - want[i])) <= 0);
        assert_true(abs(2 * (int)im->px[3 * i + 1] - want[i]) <= 2);
    }
}

/* ---- exact small cases --------------------------------------------------------------------- */

static void test_area_integer_blocks(void **state)
{
    (void)state;
    /* 4x4 -> 2x2: each output is the mean of a 2x2 block */
    static const uint8_t v4[16] = {10, 20, 100, 100, 30, 40, 100, 100, 0, 0, 200, 0, 0, 4, 0, 200};
    img_rgb a = image_from(4, 4, v4);
    img_rgb b = resized(&a, 2, 2);
    static const uint8_t want4[4] = {25, 100, 1, 100};
    assert_channel0(&b, want4);

    /* 6x4 -> 2x2: 3x2 blocks */
    uint8_t v6[24];
    for (int i = 0; i < 24; i++)
        v6[i] = (uint8_t)(i * 10);
    img_rgb c = image_from(6, 4, v6);
    img_rgb d = resized(&c, 2, 2);
    /* block (0,0): rows 0-1, cols 0-2: (0+10+20+60+70+80)/6 = 40 */
    static const uint8_t want6[4] = {40, 70, 160, 190};
    assert_channel0(&d, want6);
    img_rgb_free(&a);
    img_rgb_free(&b);
    img_rgb_free(&c);
    img_rgb_free(&d);
}

static void test_area_fractional_weights(void **state)
{
    (void)state;
    /* 3x1 -> 2x1: footprints [0, 1.5) and [1.5, 3): weights 2/3, 1/3 and 1/3, 2/3 */
    static const uint8_t v3[3] = {0, 90, 180};
    img_rgb a = image_from(3, 1, v3);
    img_rgb b = resized(&a, 2, 1);
    static const uint8_t want3[2] = {30, 150};
    assert_channel0(&b, want3);

    /* the same along the other axis: 1x3 -> 1x2 */
    img_rgb c = image_from(1, 3, v3);
    img_rgb d = resized(&c, 1, 2);
    assert_channel0(&d, want3);

    /* 5x1 -> 2x1: footprints of 2.5: (p0 + p1 + p2/2) / 2.5 and (p2/2 + p3 + p4) / 2.5 */
    static const uint8_t v5[5] = {0, 50, 100, 150, 200};
    img_rgb e = image_from(5, 1, v5);
    img_rgb f = resized(&e, 2, 1);
    static const uint8_t want5[2] = {40, 160};
    assert_channel0(&f, want5);

    /* 5x1 -> 1x1 is the plain mean */
    img_rgb g = resized(&e, 1, 1);
    static const uint8_t want1[1] = {100};
    assert_channel0(&g, want1);
    img_rgb *all[] = {&a, &b, &c, &d, &e, &f, &g};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
        img_rgb_free(all[i]);
}

static void test_bilinear_growth(void **state)
{
    (void)state;
    /* 2x1 -> 4x1: centres at -0.25 (clamped), 0.25, 0.75, 1.25 (clamped) */
    static const uint8_t v2[2] = {0, 200};
    img_rgb a = image_from(2, 1, v2);
    img_rgb b = resized(&a, 4, 1);
    static const uint8_t want[4] = {0, 50, 150, 200};
    assert_channel0(&b, want);
    img_rgb c = image_from(1, 2, v2);
    img_rgb d = resized(&c, 1, 4);
    assert_channel0(&d, want);

    /* 1x1 -> 5x3: constant */
    static const uint8_t v1[1] = {77};
    img_rgb e = image_from(1, 1, v1);
    img_rgb f = resized(&e, 5, 3);
    uint8_t want15[15];
    memset(want15, 77, sizeof want15);
    assert_channel0(&f, want15);

    /* mixed axes: 3x1 -> 2x3 shrinks x by area and grows y (a single row replicates) */
    static const uint8_t v3[3] = {0, 90, 180};
    img_rgb g = image_from(3, 1, v3);
    img_rgb h = resized(&g, 2, 3);
    static const uint8_t want6[6] = {30, 150, 30, 150, 30, 150};
    assert_channel0(&h, want6);
    img_rgb *all[] = {&a, &b, &c, &d, &e, &f, &g, &h};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
        img_rgb_free(all[i]);
}

static void test_identity_is_copy(void **state)
{
    (void)state;
    img_rgb a = random_image(37, 23, 0, 5);
    img_rgb b = resized(&a, 37, 23);
    assert_memory_equal(a.px, b.px, (size_t)37 * 23 * 3);
    /* one axis unchanged: the other is still exact where it is an integer shrink */
    img_rgb c = random_image(8, 5, 0, 6);
    img_rgb d = resized(&c, 4, 5);
    for (uint32_t y = 0; y < 5; y++)
        for (uint32_t x = 0; x < 4; x++)
            for (int ch = 0; ch < 3; ch++) {
                int s = c.px[(y * 8 + 2 * x) * 3 + ch] + c.px[(y * 8 + 2 * x + 1) * 3 + ch];
                assert_int_equal(d.px[(y * 4 + x) * 3 + ch], (s + 1) / 2);
            }
    img_rgb_free(&a);
    img_rgb_free(&b);
    img_rgb_free(&c);
    img_rgb_free(&d);
}

/* ---- against the reference ----------------------------------------------------------------- */

/* Resizes a random image both ways; asserts |fast - ref| <= 1 everywhere and that nearly all
 * values are equal (differences come only from float sums landing on the other side of .5). */
static void check_against_ref(uint32_t sw, uint32_t sh, uint32_t dw, uint32_t dh, int kind,
                              uint64_t seed, size_t *diffs, size_t *total)
{
    img_rgb src = random_image(sw, sh, kind, seed);
    img_rgb fast = resized(&src, dw, dh);
    img_rgb ref = ref_resize(&src, dw, dh);
    size_t n = (size_t)dw * dh * 3;
    for (size_t i = 0; i < n; i++) {
        int d = abs((int)fast.px[i] - (int)ref.px[i]);
        if (d > 1)
            fail_msg("%ux%u -> %ux%u: value %zu is %u, reference %u", sw, sh, dw, dh, i, fast.px[i],
                     ref.px[i]);
        *diffs += d != 0;
    }
    *total += n;
    img_rgb_free(&src);
    img_rgb_free(&fast);
    img_rgb_free(&ref);
}

static void test_matches_reference(void **state)
{
    (void)state;
    static const uint32_t sizes[] = {1, 2, 3, 5, 7, 8, 13, 16, 31, 32, 61, 64, 97, 128, 131};
    enum { NS = sizeof sizes / sizeof sizes[0] };
    size_t diffs = 0, total = 0;
    /* every pair of sizes on each axis, the other axis fixed: up, down, equal, 1-pixel, primes */
    for (int i = 0; i < NS; i++)
        for (int j = 0; j < NS; j++) {
            check_against_ref(sizes[i], 3, sizes[j], 5, 0, 100 + i * NS + j, &diffs, &total);
            check_against_ref(4, sizes[i], 2, sizes[j], 1, 900 + i * NS + j, &diffs, &total);
        }
    /* random 2-D pairs, mixed directions */
    uint64_t s = 42;
    for (int round = 0; round < 150; round++) {
        uint32_t sw = 1 + (uint32_t)(rng_next(&s) % 160), sh = 1 + (uint32_t)(rng_next(&s) % 160);
        uint32_t dw = 1 + (uint32_t)(rng_next(&s) % 160), dh = 1 + (uint32_t)(rng_next(&s) % 160);
        check_against_ref(sw, sh, dw, dh, round & 1, 7000 + round, &diffs, &total);
    }
    /* the pipeline's ratios (shrinks below 2x after DCT scaling, and large ones), thin images */
    static const uint32_t big[][4] = {{1600, 3, 256, 2},  {1000, 4, 256, 3}, {400, 7, 256, 5},
                                      {300, 5, 256, 9},   {2, 1600, 3, 256}, {9, 383, 5, 256},
                                      {511, 19, 256, 10}, {257, 2, 256, 2}};
    for (size_t k = 0; k < sizeof big / sizeof big[0]; k++)
        check_against_ref(big[k][0], big[k][1], big[k][2], big[k][3], (int)k & 1, 31 + k, &diffs,
                          &total);
    print_message("resize vs reference: %zu of %zu values differ by 1\n", diffs, total);
    assert_true(diffs * 1000 <= total); /* <= 0.1% */
}

static void test_errors(void **state)
{
    (void)state;
    img_rgb a = random_image(4, 4, 0, 1), out = {0}, empty = {0};
    assert_int_equal(img_resize(&a, 0, 3, &out), CC_E_INVAL);
    assert_true(strstr(cc_errmsg(), "zero") != NULL);
    assert_int_equal(img_resize(&a, 3, 0, &out), CC_E_INVAL);
    assert_int_equal(img_resize(&a, 2, 2, &a), CC_E_INVAL);
    assert_int_equal(img_resize(&empty, 2, 2, &out), CC_E_INVAL);
    assert_int_equal(img_resize_mode_apply(&a, IMG_RESIZE_BORDER, 8, NULL, &a), CC_E_INVAL);
    assert_int_equal(img_resize_mode_apply(&empty, IMG_RESIZE_BORDER, 8, NULL, &out), CC_E_INVAL);
    /* a destination reused for a smaller then larger output */
    assert_int_equal(img_resize(&a, 9, 9, &out), CC_OK);
    assert_int_equal(img_resize(&a, 1, 1, &out), CC_OK);
    assert_int_equal(out.w, 1);
    assert_int_equal(out.h, 1);
    int sum = 0;
    for (int i = 0; i < 16; i++)
        sum += a.px[3 * i];
    assert_true(abs(out.px[0] - (sum + 8) / 16) <= 1);
    img_rgb_free(&a);
    img_rgb_free(&out);
}

/* ---- modes --------------------------------------------------------------------------------- */

static void test_mode_names(void **state)
{
    (void)state;
    static const char *const names[] = {"no", "keep_ratio", "center_crop", "border",
                                        "keep_ratio_largest"};
    for (int m = 0; m < 5; m++) {
        img_resize_mode got;
        assert_int_equal(img_resize_mode_parse(names[m], &got), CC_OK);
        assert_int_equal(got, m);
        assert_string_equal(img_resize_mode_name(got), names[m]);
    }
    img_resize_mode got = IMG_RESIZE_BORDER;
    assert_int_equal(img_resize_mode_parse("keep-ratio", &got), CC_E_INVAL);
    assert_int_equal(got, IMG_RESIZE_BORDER); /* untouched on failure */
    for (int m = 0; m < 5; m++)
        assert_non_null(strstr(cc_errmsg(), names[m]));
    assert_non_null(strstr(cc_errmsg(), "keep-ratio"));
    assert_int_equal(img_resize_mode_parse("", &got), CC_E_INVAL);
    assert_int_equal(img_resize_mode_parse("KEEP_RATIO", &got), CC_E_INVAL);
    assert_int_equal(img_resize_mode_parse(NULL, &got), CC_E_INVAL);
    assert_string_equal(img_resize_mode_name((img_resize_mode)99), "unknown");
}

static void test_fit_size(void **state)
{
    (void)state;
    static const struct {
        uint32_t w, h;
        img_resize_mode mode;
        uint32_t size, sw, sh, ow, oh;
    } cases[] = {
        {300, 200, IMG_RESIZE_KEEP_RATIO, 256, 384, 256, 384, 256},
        {200, 300, IMG_RESIZE_KEEP_RATIO, 256, 256, 384, 256, 384},
        {300, 200, IMG_RESIZE_CENTER_CROP, 256, 384, 256, 256, 256},
        {300, 200, IMG_RESIZE_BORDER, 256, 256, 171, 256, 256}, /* 170.67 rounds up */
        {300, 200, IMG_RESIZE_KEEP_RATIO_LARGEST, 256, 256, 171, 256, 171},
        {200, 300, IMG_RESIZE_KEEP_RATIO_LARGEST, 256, 171, 256, 171, 256},
        {300, 200, IMG_RESIZE_NO, 256, 300, 200, 300, 200},
        {300, 200, IMG_RESIZE_KEEP_RATIO, 0, 300, 200, 300, 200},
        {640, 480, IMG_RESIZE_KEEP_RATIO, 224, 299, 224, 299, 224}, /* 298.67 */
        {3, 2, IMG_RESIZE_KEEP_RATIO, 1, 2, 1, 2, 1}, /* 1.5 rounds half up */
        {5, 2, IMG_RESIZE_KEEP_RATIO, 1, 3, 1, 3, 1}, /* 2.5 */
        {4000, 1, IMG_RESIZE_KEEP_RATIO_LARGEST, 10, 10, 1, 10, 1}, /* 0.0025 -> at least 1 */
        {4000, 1, IMG_RESIZE_BORDER, 10, 10, 1, 10, 10},
        {256, 256, IMG_RESIZE_CENTER_CROP, 256, 256, 256, 256, 256},
        {100, 100, IMG_RESIZE_BORDER, 256, 256, 256, 256, 256},
        {UINT32_MAX, 1, IMG_RESIZE_KEEP_RATIO, UINT32_MAX, UINT32_MAX, UINT32_MAX, UINT32_MAX,
         UINT32_MAX}, /* saturates instead of overflowing */
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        uint32_t sw, sh, ow, oh;
        img_fit_size(cases[i].w, cases[i].h, cases[i].mode, cases[i].size, &sw, &sh, &ow, &oh);
        if (sw != cases[i].sw || sh != cases[i].sh || ow != cases[i].ow || oh != cases[i].oh)
            fail_msg("case %zu: got %u x %u / %u x %u", i, sw, sh, ow, oh);
    }
}

static void test_mode_apply(void **state)
{
    (void)state;
    img_rgb src = random_image(300, 200, 1, 77), tmp = {0}, dst = {0};

    /* keep_ratio: the same pixels as img_resize to the fitted size */
    assert_int_equal(img_resize_mode_apply(&src, IMG_RESIZE_KEEP_RATIO, 100, &tmp, &dst), CC_OK);
    img_rgb full = resized(&src, 150, 100);
    assert_int_equal(dst.w, 150);
    assert_int_equal(dst.h, 100);
    assert_memory_equal(dst.px, full.px, (size_t)150 * 100 * 3);
    img_rgb_free(&full);

    /* center_crop: the centre window of the full resize, bit for bit */
    assert_int_equal(img_resize_mode_apply(&src, IMG_RESIZE_CENTER_CROP, 64, &tmp, &dst), CC_OK);
    full = resized(&src, 96, 64);
    assert_int_equal(dst.w, 64);
    assert_int_equal(dst.h, 64);
    for (uint32_t y = 0; y < 64; y++)
        assert_memory_equal(dst.px + (size_t)y * 64 * 3, full.px + ((size_t)y * 96 + 16) * 3,
                            64 * 3);
    img_rgb_free(&full);

    /* center_crop of a portrait with an odd margin: offset rounds down */
    img_rgb tall = random_image(40, 61, 0, 78);
    assert_int_equal(img_resize_mode_apply(&tall, IMG_RESIZE_CENTER_CROP, 20, &tmp, &dst), CC_OK);
    full = resized(&tall, 20, 31); /* 30.5 rounds to 31: crop rows 5..24 */
    for (uint32_t y = 0; y < 20; y++)
        assert_memory_equal(dst.px + (size_t)y * 20 * 3, full.px + (size_t)(y + 5) * 20 * 3,
                            20 * 3);
    img_rgb_free(&full);

    /* border: the full resize centred on white */
    assert_int_equal(img_resize_mode_apply(&tall, IMG_RESIZE_BORDER, 30, &tmp, &dst), CC_OK);
    full = resized(&tall, 20, 30); /* 19.67 -> 20 wide, x offset 5 */
    assert_int_equal(dst.w, 30);
    assert_int_equal(dst.h, 30);
    for (uint32_t y = 0; y < 30; y++)
        for (uint32_t x = 0; x < 30; x++)
            for (int c = 0; c < 3; c++) {
                uint8_t got = dst.px[((size_t)y * 30 + x) * 3 + c];
                uint8_t want = x >= 5 && x < 25 ? full.px[((size_t)y * 20 + x - 5) * 3 + c] : 255;
                assert_int_equal(got, want);
            }
    img_rgb_free(&full);

    /* no / size 0 / same size: an exact copy in dst's own buffer */
    assert_int_equal(img_resize_mode_apply(&src, IMG_RESIZE_NO, 64, &tmp, &dst), CC_OK);
    assert_int_equal(dst.w, 300);
    assert_true(dst.px != src.px);
    assert_memory_equal(dst.px, src.px, (size_t)300 * 200 * 3);
    assert_int_equal(img_resize_mode_apply(&src, IMG_RESIZE_KEEP_RATIO, 200, &tmp, &dst), CC_OK);
    assert_memory_equal(dst.px, src.px, (size_t)300 * 200 * 3);

    /* center_crop that needs no scaling is a pure crop */
    assert_int_equal(img_resize_mode_apply(&src, IMG_RESIZE_CENTER_CROP, 200, &tmp, &dst), CC_OK);
    assert_int_equal(dst.w, 200);
    for (uint32_t y = 0; y < 200; y++)
        assert_memory_equal(dst.px + (size_t)y * 200 * 3, src.px + ((size_t)y * 300 + 50) * 3,
                            200 * 3);

    /* border with growth: 300x200 -> 400x267 on a 400x400 canvas, rows 66..332 */
    assert_int_equal(img_resize_mode_apply(&src, IMG_RESIZE_BORDER, 400, &tmp, &dst), CC_OK);
    full = resized(&src, 400, 267);
    for (uint32_t y = 0; y < 400; y++) {
        if (y >= 66 && y < 66 + 267) {
            assert_memory_equal(dst.px + (size_t)y * 1200, full.px + (size_t)(y - 66) * 1200, 1200);
        } else {
            for (int i = 0; i < 1200; i++)
                assert_int_equal(dst.px[(size_t)y * 1200 + i], 255);
        }
    }
    img_rgb_free(&full);
    img_rgb_free(&tall);
    img_rgb_free(&src);
    img_rgb_free(&tmp);
    img_rgb_free(&dst);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_area_integer_blocks), cmocka_unit_test(test_area_fractional_weights),
        cmocka_unit_test(test_bilinear_growth),     cmocka_unit_test(test_identity_is_copy),
        cmocka_unit_test(test_matches_reference),   cmocka_unit_test(test_errors),
        cmocka_unit_test(test_mode_names),          cmocka_unit_test(test_fit_size),
        cmocka_unit_test(test_mode_apply),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
