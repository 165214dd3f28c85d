/* tests/unit/test_imgfilter.c — img_filter_run end to end: every reason the pipeline gives, the
 * output of each resize mode, keep_jpeg / keep_original, EXIF orientation, DCT-scaled decoding,
 * the hashes, determinism and handle reuse, option validation, a real photo, and re-encoded
 * outputs larger than the target square.
 *
 * Inputs are made in memory by the real encoders (tests/unit/testimg.h), each an exact-size heap
 * blob, so an over-read is caught by AddressSanitizer. Every result goes through check_result(),
 * which holds the invariants of img_filter_result: a rejection has a message and no output; an
 * acceptance has an empty message, the content hash of the input, and an output that is either the
 * input itself (reencoded 0) or a JPEG whose header says out_width x out_height.
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

#include <cmocka.h>

#include "common/buf.h"
#include "common/file.h"
#include "common/hash.h"
#include "filters/image.h"
#include "filters/imgfilter.h"
#include "filters/phash.h"
#include "filters/probe.h"
#include "tests/unit/testimg.h"

#define PHOTO_DIR "/usr/share/backgrounds/mate/nature"

/* ---- helpers ------------------------------------------------------------------------------- */

static img_filter_opts defopts(void)
{
    img_filter_opts o;
    img_filter_opts_default(&o);
    return o;
}

static img_filter *filter_new(const img_filter_opts *o)
{
    img_filter *f = NULL;
    cc_status st = img_filter_new(o, &f);
    if (st != CC_OK)
        fail_msg("img_filter_new: %s (%s)", cc_status_str(st), cc_errmsg());
    assert_non_null(f);
    return f;
}

/* The invariants every result of img_filter_run(p, n) keeps. */
static void check_result(const img_filter_result *res, const void *p, size_t n)
{
    assert_non_null(memchr(res->message, '\0', sizeof res->message));
    assert_true((int)res->reason >= IMG_OK && res->reason < IMG_R_COUNT);
    if (res->reason != IMG_OK) {
        if (res->message[0] == '\0')
            fail_msg("rejection %s has an empty message", img_reason_name(res->reason));
        assert_null(res->out);
        assert_int_equal(res->out_len, 0);
        assert_int_equal(res->reencoded, 0);
        return;
    }
    if (res->message[0] != '\0')
        fail_msg("accepted with a message: \"%s\"", res->message);
    assert_true(cc_hash128_eq(res->content_hash, cc_hash128_of(p, n)));
    assert_int_equal(res->src_format, img_sniff(p, n));
    assert_true(res->src_width > 0 && res->src_height > 0);
    assert_non_null(res->out);
    assert_true(res->out_len > 0);
    assert_true(res->out_width > 0 && res->out_height > 0);
    if (!res->reencoded) {
        assert_ptr_equal(res->out, p);
        assert_int_equal(res->out_len, n);
        assert_int_equal(res->out_format, res->src_format);
    } else {
        assert_true(res->out != (const uint8_t *)p);
        assert_int_equal(res->out_format, IMG_FMT_JPEG);
        img_probe pr;
        assert_int_equal(img_probe_bytes(res->out, res->out_len, &pr), CC_OK);
        assert_int_equal(pr.format, IMG_FMT_JPEG);
        assert_int_equal(pr.width, res->out_width);
        assert_int_equal(pr.height, res->out_height);
        assert_int_equal(pr.progressive, 0);
    }
}

/* Runs f on a blob and checks the result's invariants. */
static img_reason run(img_filter *f, const ti_blob *b, img_filter_result *res)
{
    cc_status st = img_filter_run(f, b->p, b->n, res);
    if (st != CC_OK)
        fail_msg("img_filter_run returned %s (%s)", cc_status_str(st), cc_errmsg());
    check_result(res, b->p, b->n);
    return res->reason;
}

/* Runs a fresh filter with options o on b and fails unless the reason is want. The result's
 * scalar fields stay meaningful; its out pointer does not (the filter is freed). */
static void expect_with(const img_filter_opts *o, const ti_blob *b, img_reason want,
                        img_filter_result *res)
{
    img_filter *f = filter_new(o);
    img_reason r = run(f, b, res);
    if (r != want)
        fail_msg("expected %s, got %s (%s)", img_reason_name(want), img_reason_name(r),
                 res->message);
    img_filter_free(f);
}

static void expect(const ti_blob *b, img_reason want)
{
    img_filter_opts o = defopts();
    img_filter_result res;
    expect_with(&o, b, want, &res);
}

/* Runs a fresh filter and fails unless the image is accepted with an output of ow x oh; returns
 * the filter (the caller frees it) so that res->out stays valid. */
static img_filter *accept_with(const img_filter_opts *o, const ti_blob *b, uint32_t ow, uint32_t oh,
                               img_filter_result *res)
{
    img_filter *f = filter_new(o);
    img_reason r = run(f, b, res);
    if (r != IMG_OK)
        fail_msg("rejected: %s (%s)", img_reason_name(r), res->message);
    if (res->out_width != ow || res->out_height != oh)
        fail_msg("output %ux%u, expected %ux%u", res->out_width, res->out_height, ow, oh);
    return f;
}

static ti_blob jpeg_px(const uint8_t *px, uint32_t w, uint32_t h, const ti_jpeg_opts *jo)
{
    return ti_jpeg(px, w, h, 3, jo);
}

/* A w x h JPEG (or PNG) of ti_pixels' smooth gradients. */
static ti_blob jpeg_of(uint32_t w, uint32_t h, uint64_t seed, const ti_jpeg_opts *jo)
{
    uint8_t *px = ti_pixels(w, h, 3, seed);
    ti_blob b = jpeg_px(px, w, h, jo);
    free(px);
    return b;
}

static ti_blob png_px(const uint8_t *px, uint32_t w, uint32_t h)
{
    return ti_png(px, w, h, &(ti_png_opts){.color = PNG_COLOR_TYPE_RGB, .depth = 8});
}

/* A w x h PNG of noise-free gradients (libpng takes ~0.5 us a pixel on ti_pixels' noise, which
 * would make this file slow); seed shifts the colours. */
static ti_blob png_of(uint32_t w, uint32_t h, uint64_t seed)
{
    uint8_t *px = malloc((size_t)w * h * 3);
    assert_non_null(px);
    int shift = (int)(seed % 16);
    for (uint32_t y = 0; y < h; y++)
        for (uint32_t x = 0; x < w; x++) {
            uint8_t *q = px + ((size_t)y * w + x) * 3;
            q[0] = (uint8_t)(20 + shift + x * 200 / (w > 1 ? w - 1 : 1));
            q[1] = (uint8_t)(30 + y * 190 / (h > 1 ? h - 1 : 1));
            q[2] = (uint8_t)(220 - shift - (x + y) * 180 / (w + h));
        }
    ti_blob b = png_px(px, w, h);
    free(px);
    return b;
}

/* A picture with structure that differs from seed to seed: a 6 x 6 grid of random colours grown
 * bilinearly to w x h (malloc'd RGB). Two seeds give unrelated pictures, unlike ti_pixels, whose
 * seeds change only the noise. */
static uint8_t *random_picture(uint32_t w, uint32_t h, uint64_t seed)
{
    img_rgb grid = {0}, big = {0};
    assert_int_equal(img_rgb_alloc(&grid, 6, 6, 0), CC_OK);
    uint64_t s = seed * 0x9e3779b97f4a7c15ull + 1;
    for (size_t i = 0; i < 6 * 6 * 3; i++)
        grid.px[i] = (uint8_t)(ti_rng(&s) >> 56);
    assert_int_equal(img_resize(&grid, w, h, &big), CC_OK);
    uint8_t *px = malloc((size_t)w * h * 3);
    assert_non_null(px);
    memcpy(px, big.px, (size_t)w * h * 3);
    img_rgb_free(&grid);
    img_rgb_free(&big);
    return px;
}

/* Decodes a result's output at full size. */
static void decode_out(const img_filter_result *res, img_rgb *im)
{
    img_limits lim;
    img_limits_default(&lim);
    img_reason r = IMG_R_COUNT;
    if (img_decode(res->out, res->out_len, &lim, 0, 0, im, NULL, &r) != CC_OK)
        fail_msg("output does not decode: %s (%s)", img_reason_name(r), cc_errmsg());
    assert_int_equal(im->w, res->out_width);
    assert_int_equal(im->h, res->out_height);
}

static double psnr(const img_rgb *a, const img_rgb *b)
{
    assert_int_equal(a->w, b->w);
    assert_int_equal(a->h, b->h);
    size_t n = (size_t)a->w * a->h * 3;
    double se = 0;
    for (size_t i = 0; i < n; i++) {
        double d = (double)a->px[i] - b->px[i];
        se += d * d;
    }
    return se == 0 ? 99.0 : 10.0 * log10(255.0 * 255.0 * (double)n / se);
}

static const uint8_t *pix(const img_rgb *im, uint32_t x, uint32_t y)
{
    assert_true(x < im->w && y < im->h);
    return im->px + ((size_t)y * im->w + x) * 3;
}

/* Smallest channel value over rows [y0, y1) of im. */
static int min_in_rows(const img_rgb *im, uint32_t y0, uint32_t y1)
{
    int lo = 255;
    for (uint32_t y = y0; y < y1; y++)
        for (uint32_t x = 0; x < im->w; x++)
            for (int c = 0; c < 3; c++)
                if (pix(im, x, y)[c] < lo)
                    lo = pix(im, x, y)[c];
    return lo;
}

/* A copy of the result's output bytes (valid after the filter's next call). */
static ti_blob out_copy(const img_filter_result *res)
{
    return ti_blob_copy(res->out, res->out_len);
}

static int blob_equal(const ti_blob *a, const ti_blob *b)
{
    return a->n == b->n && memcmp(a->p, b->p, a->n) == 0;
}

/* ---- step 1: bytes ------------------------------------------------------------------------- */

static void test_reject_empty_and_too_large(void **state)
{
    (void)state;
    ti_blob b = jpeg_of(300, 300, 1, NULL);
    img_filter_opts o = defopts();
    img_filter *f = filter_new(&o);
    img_filter_result res;

    /* zero bytes at a valid pointer, and at NULL */
    assert_int_equal(img_filter_run(f, b.p, 0, &res), CC_OK);
    check_result(&res, b.p, 0);
    assert_int_equal(res.reason, IMG_R_EMPTY);
    assert_string_equal(img_reason_name(res.reason), "empty");
    assert_int_equal(res.src_format, IMG_FMT_UNKNOWN);
    assert_int_equal(res.src_width, 0);
    assert_int_equal(img_filter_run(f, NULL, 0, &res), CC_OK);
    check_result(&res, NULL, 0);
    assert_int_equal(res.reason, IMG_R_EMPTY);
    img_filter_free(f);

    /* max_bytes is inclusive; a larger input is refused before the probe (src_* are 0, "not
     * probed") */
    o.limits.max_bytes = b.n - 1;
    expect_with(&o, &b, IMG_R_TOO_LARGE, &res);
    assert_string_equal(img_reason_name(res.reason), "too_large");
    assert_int_equal(res.src_format, IMG_FMT_UNKNOWN);
    assert_int_equal(res.src_width, 0);
    o.limits.max_bytes = b.n;
    expect_with(&o, &b, IMG_OK, &res);
    ti_blob_free(&b);
}

/* ---- step 2: probe ------------------------------------------------------------------------- */

static void test_reject_unsupported(void **state)
{
    (void)state;
    /* GIF89a, 300 x 300, a global colour table of 2, an empty image */
    static const uint8_t gif[] = {'G',  'I', 'F',  '8', '9', 'a', 0x2c, 0x01, 0x2c, 0x01, 0x80, 0,
                                  0,    0,   0,    0,   255, 255, 255,  0x2c, 0,    0,    0,    0,
                                  0x2c, 1,   0x2c, 1,   0,   2,   2,    0x44, 1,    0,    0x3b};
    static const char svg[] = "<?xml version=\"1.0\"?>\n<svg xmlns=\"http://www.w3.org/2000/svg\" "
                              "width=\"300\" height=\"300\"><rect width=\"300\" height=\"300\" "
                              "fill=\"red\"/></svg>\n";
    static const char html[] = "<!DOCTYPE html><html><body>Not Found</body></html>";
    const struct {
        const void *p;
        size_t n;
    } cases[] = {{gif, sizeof gif}, {svg, sizeof svg - 1}, {html, sizeof html - 1}};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        ti_blob b = ti_blob_copy(cases[i].p, cases[i].n);
        img_filter_opts o = defopts();
        img_filter_result res;
        expect_with(&o, &b, IMG_R_UNSUPPORTED, &res);
        assert_string_equal(img_reason_name(res.reason), "unsupported_format");
        assert_int_equal(res.src_format, IMG_FMT_UNKNOWN);
        assert_int_equal(res.src_width, 0);
        /* the exact hash is computed for everything past step 1 */
        assert_true(cc_hash128_eq(res.content_hash, cc_hash128_of(b.p, b.n)));
        ti_blob_free(&b);
    }
}

static void test_reject_undecodable(void **state)
{
    (void)state;
    img_filter_opts o = defopts();
    img_filter_result res;

    /* SOI then garbage: the probe finds no frame header */
    uint8_t junk[400];
    uint64_t s = 99;
    for (size_t i = 0; i < sizeof junk; i++)
        junk[i] = (uint8_t)(ti_rng(&s) >> 56);
    memcpy(junk, "\xff\xd8\xff\xe0\x00\x10JFIF\0", 11);
    junk[20] = 0x12; /* a segment "marker" that is not FF xx */
    ti_blob b = ti_blob_copy(junk, sizeof junk);
    expect_with(&o, &b, IMG_R_UNDECODABLE, &res);
    assert_string_equal(img_reason_name(res.reason), "undecodable");
    assert_int_equal(res.src_format, IMG_FMT_JPEG);
    assert_int_equal(res.src_width, 0);
    assert_true(cc_hash128_eq(res.content_hash, cc_hash128_of(b.p, b.n)));
    ti_blob_free(&b);

    /* valid headers, garbage entropy data: the header checks pass, the decoder refuses */
    ti_blob j = jpeg_of(300, 300, 2, NULL);
    size_t ss, se;
    assert_true(ti_jpeg_find_sos(&j, 0, &ss, &se));
    size_t data = ti_jpeg_segment_end(&j, ss);
    for (size_t i = data; i < se; i++) {
        j.p[i] = (uint8_t)(ti_rng(&s) >> 56);
        if (j.p[i] == 0xff)
            j.p[i] = 0xfe;
    }
    expect_with(&o, &j, IMG_R_UNDECODABLE, &res);
    assert_int_equal(res.src_format, IMG_FMT_JPEG);
    assert_int_equal(res.src_width, 300);
    assert_int_equal(res.src_height, 300);
    ti_blob_free(&j);

    /* a PNG whose first IDAT has a bad CRC */
    ti_blob p = png_of(300, 300, 3);
    size_t idat = 8;
    while (memcmp(p.p + idat + 4, "IDAT", 4) != 0)
        idat += 12 + ((size_t)p.p[idat] << 24 | (size_t)p.p[idat + 1] << 16 |
                      (size_t)p.p[idat + 2] << 8 | p.p[idat + 3]);
    size_t idat_len = (size_t)p.p[idat] << 24 | (size_t)p.p[idat + 1] << 16 |
                      (size_t)p.p[idat + 2] << 8 | p.p[idat + 3];
    p.p[idat + 8 + idat_len] ^= 1;
    expect_with(&o, &p, IMG_R_UNDECODABLE, &res);
    assert_int_equal(res.src_format, IMG_FMT_PNG);
    ti_blob_free(&p);
}

/* ---- step 3: header checks ----------------------------------------------------------------- */

static void test_reject_animated(void **state)
{
    (void)state;
    ti_blob a = ti_webp_animated();
    img_filter_opts o = defopts();
    img_filter_result res;
    /* refused as animated, before min_size would refuse its 8 x 8 canvas */
    expect_with(&o, &a, IMG_R_ANIMATED, &res);
    assert_string_equal(img_reason_name(res.reason), "animated");
    assert_int_equal(res.src_format, IMG_FMT_WEBP);
    o.min_size = 0;
    expect_with(&o, &a, IMG_R_ANIMATED, &res);
    ti_blob_free(&a);

    /* a still WebP of the same pipeline passes */
    uint8_t *px = ti_pixels(300, 240, 3, 7);
    ti_blob w = ti_webp(px, 300, 240, 0, 0, 90);
    free(px);
    o = defopts();
    img_filter *f = accept_with(&o, &w, 256, 256, &res);
    assert_int_equal(res.src_format, IMG_FMT_WEBP);
    assert_int_equal(res.reencoded, 1);
    img_filter_free(f);
    ti_blob_free(&w);
}

static void test_reject_pixel_and_side_limits(void **state)
{
    (void)state;
    img_filter_opts o = defopts();
    img_filter_result res;

    /* a PNG bomb of 10000 x 8948 = 89,480,000 pixels, just over the default 89,478,485 */
    ti_blob bomb = ti_png_bomb(10000, 8948);
    expect_with(&o, &bomb, IMG_R_TOO_MANY_PIXELS, &res);
    assert_string_equal(img_reason_name(res.reason), "too_many_pixels");
    assert_int_equal(res.src_format, IMG_FMT_PNG);
    assert_int_equal(res.src_width, 10000);
    assert_int_equal(res.src_height, 8948);
    ti_blob_free(&bomb);

    /* a JPEG whose frame header claims 20000 x 20000 */
    ti_blob j = jpeg_of(300, 250, 8, NULL);
    ti_blob huge = ti_jpeg_set_size(&j, 20000, 20000);
    expect_with(&o, &huge, IMG_R_TOO_MANY_PIXELS, &res);
    assert_int_equal(res.src_width, 20000);
    ti_blob_free(&huge);

    /* a side past max_side (30000): too_wide, for either side and either format, and before
     * too_many_pixels when both apply */
    ti_blob wide = ti_jpeg_set_size(&j, 60000, 300);
    expect_with(&o, &wide, IMG_R_TOO_WIDE, &res);
    assert_string_equal(img_reason_name(res.reason), "too_wide");
    assert_int_equal(res.src_width, 60000);
    ti_blob_free(&wide);
    ti_blob tall = ti_jpeg_set_size(&j, 300, 40000);
    expect_with(&o, &tall, IMG_R_TOO_WIDE, &res);
    ti_blob_free(&tall);
    ti_blob both = ti_jpeg_set_size(&j, 60000, 60000);
    expect_with(&o, &both, IMG_R_TOO_WIDE, &res);
    ti_blob_free(&both);
    ti_blob pwide = ti_png_bomb(40000, 300);
    expect_with(&o, &pwide, IMG_R_TOO_WIDE, &res);
    assert_int_equal(res.src_format, IMG_FMT_PNG);
    ti_blob_free(&pwide);

    /* both limits are inclusive */
    o.limits.max_pixels = 300 * 250 - 1;
    expect_with(&o, &j, IMG_R_TOO_MANY_PIXELS, &res);
    o.limits.max_pixels = 300 * 250;
    expect_with(&o, &j, IMG_OK, &res);
    o.limits.max_side = 299;
    expect_with(&o, &j, IMG_R_TOO_WIDE, &res);
    o.limits.max_side = 300;
    expect_with(&o, &j, IMG_OK, &res);
    ti_blob_free(&j);
}

static void test_too_small_boundary(void **state)
{
    (void)state;
    img_filter_opts o = defopts();
    img_filter_result res;
    assert_int_equal(o.min_size, 200);
    const uint32_t sizes[][3] = {
        /* w, h, accepted */
        {199, 300, 0}, {300, 199, 0}, {199, 199, 0}, {200, 300, 1}, {300, 200, 1}, {200, 200, 1},
    };
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        ti_blob b = i % 2 ? png_of(sizes[i][0], sizes[i][1], 10 + i)
                          : jpeg_of(sizes[i][0], sizes[i][1], 10 + i, NULL);
        expect_with(&o, &b, sizes[i][2] ? IMG_OK : IMG_R_TOO_SMALL, &res);
        assert_int_equal(res.src_width, sizes[i][0]);
        assert_int_equal(res.src_height, sizes[i][1]);
        if (!sizes[i][2])
            assert_string_equal(img_reason_name(res.reason), "too_small");
        else
            assert_int_equal(res.out_width, 256); /* center_crop upscales 200 to 256 */
        ti_blob_free(&b);
    }
    /* min_size 0 turns the check off; another value moves the boundary */
    ti_blob small = jpeg_of(64, 48, 20, NULL);
    expect(&small, IMG_R_TOO_SMALL);
    o.min_size = 0;
    expect_with(&o, &small, IMG_OK, &res);
    assert_int_equal(res.out_width, 256);
    assert_int_equal(res.out_height, 256);
    ti_blob_free(&small);
    ti_blob b = jpeg_of(300, 250, 21, NULL);
    o.min_size = 251;
    expect_with(&o, &b, IMG_R_TOO_SMALL, &res);
    o.min_size = 250;
    expect_with(&o, &b, IMG_OK, &res);
    ti_blob_free(&b);
}

static void test_aspect_boundary(void **state)
{
    (void)state;
    img_filter_opts o = defopts();
    img_filter_result res;
    assert_true(o.max_aspect == 3.0);
    ti_blob b601 = jpeg_of(601, 200, 30, NULL), b600 = jpeg_of(600, 200, 31, NULL);
    ti_blob t601 = jpeg_of(200, 601, 32, NULL), t600 = jpeg_of(200, 600, 33, NULL);
    expect_with(&o, &b601, IMG_R_ASPECT, &res);
    assert_string_equal(img_reason_name(res.reason), "aspect_ratio");
    assert_int_equal(res.src_width, 601);
    assert_int_equal(res.src_height, 200);
    expect_with(&o, &t601, IMG_R_ASPECT, &res);
    expect_with(&o, &b600, IMG_OK, &res);
    assert_int_equal(res.out_width, 256);
    assert_int_equal(res.out_height, 256);
    expect_with(&o, &t600, IMG_OK, &res);
    /* 0 turns it off */
    o.max_aspect = 0;
    expect_with(&o, &b601, IMG_OK, &res);
    /* 1 allows only squares */
    o.max_aspect = 1.0;
    ti_blob sq = png_of(200, 200, 34), nsq = png_of(201, 200, 35);
    expect_with(&o, &sq, IMG_OK, &res);
    expect_with(&o, &nsq, IMG_R_ASPECT, &res);
    ti_blob *all[] = {&b601, &b600, &t601, &t600, &sq, &nsq};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
        ti_blob_free(all[i]);
}

/* ---- step 4: decode ------------------------------------------------------------------------ */

static void test_reject_truncated(void **state)
{
    (void)state;
    img_filter_opts o = defopts();
    img_filter_result res;
    /* a JPEG cut in the middle of its entropy-coded data */
    ti_blob j = jpeg_of(300, 300, 4, &(ti_jpeg_opts){.quality = 95});
    size_t ss, se;
    assert_true(ti_jpeg_find_sos(&j, 0, &ss, &se));
    ti_blob cut = ti_blob_copy(j.p, ss + (se - ss) / 2);
    expect_with(&o, &cut, IMG_R_TRUNCATED, &res);
    assert_string_equal(img_reason_name(res.reason), "truncated");
    assert_int_equal(res.src_format, IMG_FMT_JPEG);
    assert_int_equal(res.src_width, 300); /* from the probe */
    assert_int_equal(res.src_height, 300);
    assert_true(cc_hash128_eq(res.content_hash, cc_hash128_of(cut.p, cut.n)));
    /* the whole file passes */
    expect_with(&o, &j, IMG_OK, &res);
    ti_blob_free(&cut);
    ti_blob_free(&j);

    /* a PNG cut inside its IDAT */
    ti_blob p = png_of(300, 300, 5);
    cut = ti_blob_copy(p.p, p.n - 30);
    expect_with(&o, &cut, IMG_R_TRUNCATED, &res);
    assert_int_equal(res.src_format, IMG_FMT_PNG);
    ti_blob_free(&cut);
    ti_blob_free(&p);
}

static void test_reject_too_many_scans(void **state)
{
    (void)state;
    ti_blob j = jpeg_of(256, 256, 6, &(ti_jpeg_opts){.progressive = 1});
    ti_blob many = ti_jpeg_repeat_scan(&j, 200); /* 210 scans > max_scans 100 */
    img_filter_opts o = defopts();
    img_filter_result res;
    expect_with(&o, &many, IMG_R_TOO_MANY_SCANS, &res);
    assert_string_equal(img_reason_name(res.reason), "too_many_scans");
    assert_int_equal(res.src_width, 256);
    assert_int_equal(res.src_height, 256);
    /* the plain progressive file (10 scans) passes; max_scans is inclusive */
    expect_with(&o, &j, IMG_OK, &res);
    o.limits.max_scans = 9;
    expect_with(&o, &j, IMG_R_TOO_MANY_SCANS, &res);
    o.limits.max_scans = 10;
    expect_with(&o, &j, IMG_OK, &res);
    ti_blob_free(&many);
    ti_blob_free(&j);
}

/* ---- step 6: blank ------------------------------------------------------------------------- */

static void test_blank(void **state)
{
    (void)state;
    const uint32_t w = 300, h = 300;
    uint8_t *px = malloc((size_t)w * h * 3);
    assert_non_null(px);
    img_filter_opts o = defopts();
    img_filter_result res;

    /* uniform grey, as PNG and as JPEG */
    memset(px, 128, (size_t)w * h * 3);
    ti_blob p = png_px(px, w, h), j = jpeg_px(px, w, h, NULL);
    expect_with(&o, &p, IMG_R_BLANK, &res);
    assert_string_equal(img_reason_name(res.reason), "blank");
    assert_int_equal(res.src_width, w);
    expect_with(&o, &j, IMG_R_BLANK, &res);
    /* blank_stddev 0 turns the check off */
    o.blank_stddev = 0;
    expect_with(&o, &p, IMG_OK, &res);
    assert_int_equal(res.out_width, 256);
    o = defopts();
    ti_blob_free(&p);
    ti_blob_free(&j);

    /* near-uniform: 128 + {-1, 0, +1} per sample (standard deviation ~0.8 < 2) */
    uint64_t s = 40;
    for (size_t i = 0; i < (size_t)w * h * 3; i++)
        px[i] = (uint8_t)(127 + ti_rng(&s) % 3);
    p = png_px(px, w, h);
    expect_with(&o, &p, IMG_R_BLANK, &res);
    ti_blob_free(&p);

    /* low contrast but real: a horizontal ramp over 11 grey levels (stddev ~3.2) passes, and is
     * blank for a threshold above its spread */
    for (uint32_t y = 0; y < h; y++)
        for (uint32_t x = 0; x < w; x++)
            memset(px + ((size_t)y * w + x) * 3, 120 + (int)(x * 11 / w), 3);
    p = png_px(px, w, h);
    expect_with(&o, &p, IMG_OK, &res);
    o.blank_stddev = 4.0;
    expect_with(&o, &p, IMG_R_BLANK, &res);
    ti_blob_free(&p);

    /* one channel is enough: grey in R and G, a ramp of 11 levels in B */
    for (uint32_t y = 0; y < h; y++)
        for (uint32_t x = 0; x < w; x++) {
            uint8_t *q = px + ((size_t)y * w + x) * 3;
            q[0] = q[1] = 90;
            q[2] = (uint8_t)(60 + y * 11 / h);
        }
    p = png_px(px, w, h);
    o = defopts();
    expect_with(&o, &p, IMG_OK, &res);
    ti_blob_free(&p);
    free(px);
}

/* ---- step 7: outputs ----------------------------------------------------------------------- */

static void test_output_center_crop_default(void **state)
{
    (void)state;
    img_filter_opts o = defopts();
    assert_int_equal(o.mode, IMG_RESIZE_CENTER_CROP);
    assert_int_equal(o.size, 256);
    assert_int_equal(o.quality, 90);
    ti_blob j = jpeg_of(600, 400, 50, NULL);
    img_filter_result res;
    img_filter *f = accept_with(&o, &j, 256, 256, &res);
    assert_int_equal(res.reencoded, 1);
    assert_int_equal(res.out_format, IMG_FMT_JPEG);
    assert_int_equal(res.src_format, IMG_FMT_JPEG);
    assert_int_equal(res.src_width, 600);
    assert_int_equal(res.src_height, 400);
    img_probe pr;
    assert_int_equal(img_probe_bytes(res.out, res.out_len, &pr), CC_OK);
    assert_int_equal(pr.width, 256);
    assert_int_equal(pr.height, 256);

    /* the pixels are the centre crop of the input scaled to a shorter side of 256, exactly as
     * img_resize_mode_apply makes it from a full decode, and the JPEG holds them well */
    const img_rgb *fin = img_filter_pixels(f);
    assert_int_equal(fin->w, 256);
    assert_int_equal(fin->h, 256);
    img_limits lim;
    img_limits_default(&lim);
    img_rgb full = {0}, want = {0}, tmp = {0}, got = {0};
    img_reason r;
    assert_int_equal(img_decode(j.p, j.n, &lim, 0, 0, &full, NULL, &r), CC_OK);
    assert_int_equal(img_resize_mode_apply(&full, IMG_RESIZE_CENTER_CROP, 256, &tmp, &want), CC_OK);
    assert_int_equal(want.w, 256);
    assert_memory_equal(fin->px, want.px, (size_t)256 * 256 * 3);
    decode_out(&res, &got);
    double q = psnr(&got, fin);
    if (q < 35.0)
        fail_msg("re-encoded output PSNR %.1f dB < 35", q);
    img_filter_free(f);
    img_rgb_free(&full);
    img_rgb_free(&want);
    img_rgb_free(&tmp);
    img_rgb_free(&got);
    ti_blob_free(&j);
}

static void test_output_modes(void **state)
{
    (void)state;
    ti_blob j = jpeg_of(600, 400, 51, NULL), t = jpeg_of(400, 600, 52, NULL);
    ti_blob p = png_of(600, 400, 53);
    img_filter_opts o = defopts();
    img_filter_result res;
    img_filter *f;

    o.mode = IMG_RESIZE_KEEP_RATIO;
    f = accept_with(&o, &j, 384, 256, &res);
    assert_int_equal(res.reencoded, 1);
    assert_int_equal(img_filter_pixels(f)->w, 384);
    assert_int_equal(img_filter_pixels(f)->h, 256);
    img_filter_free(f);
    f = accept_with(&o, &t, 256, 384, &res);
    img_filter_free(f);

    o.mode = IMG_RESIZE_KEEP_RATIO_LARGEST;
    f = accept_with(&o, &j, 256, 171, &res);
    assert_int_equal(res.reencoded, 1);
    img_filter_free(f);
    f = accept_with(&o, &t, 171, 256, &res);
    img_filter_free(f);

    /* no resize: size 0, or mode "no" whatever the size; a JPEG is kept, a PNG re-encoded at its
     * own size */
    const img_resize_mode modes[2] = {IMG_RESIZE_CENTER_CROP, IMG_RESIZE_NO};
    const uint32_t sizes[2] = {0, 256};
    for (int i = 0; i < 2; i++) {
        o = defopts();
        o.mode = modes[i];
        o.size = sizes[i];
        f = accept_with(&o, &j, 600, 400, &res);
        assert_int_equal(res.reencoded, 0);
        assert_ptr_equal(res.out, j.p);
        img_filter_free(f);
        f = accept_with(&o, &p, 600, 400, &res);
        assert_int_equal(res.reencoded, 1);
        assert_int_equal(res.out_format, IMG_FMT_JPEG);
        assert_int_equal(img_filter_pixels(f)->w, 600);
        img_filter_free(f);
        o.keep_jpeg = 0;
        f = accept_with(&o, &j, 600, 400, &res);
        assert_int_equal(res.reencoded, 1);
        img_filter_free(f);
    }
    ti_blob_free(&j);
    ti_blob_free(&t);
    ti_blob_free(&p);
}

static void test_output_border(void **state)
{
    (void)state;
    ti_blob j = jpeg_of(600, 400, 54, NULL);
    img_filter_opts o = defopts();
    o.mode = IMG_RESIZE_BORDER;
    img_filter_result res;
    img_filter *f = accept_with(&o, &j, 256, 256, &res);
    assert_int_equal(res.reencoded, 1);

    /* 600 x 400 scales to 256 x 171, centred: 42 white rows above, 43 below */
    const img_rgb *fin = img_filter_pixels(f);
    assert_int_equal(fin->w, 256);
    assert_int_equal(fin->h, 256);
    assert_int_equal(min_in_rows(fin, 0, 42), 255);
    assert_int_equal(min_in_rows(fin, 213, 256), 255);
    assert_true(min_in_rows(fin, 42, 43) < 100); /* the picture starts on row 42 */
    assert_true(min_in_rows(fin, 212, 213) < 255);

    /* in the JPEG: the 8 x 8 blocks wholly inside the padding stay near-white; the middle is
     * the picture (ti_pixels' values lie within 17..223) */
    img_rgb got = {0};
    decode_out(&res, &got);
    int lo = min_in_rows(&got, 0, 32);
    if (lo < 250)
        fail_msg("top padding has a sample of %d", lo);
    lo = min_in_rows(&got, 224, 256);
    if (lo < 250)
        fail_msg("bottom padding has a sample of %d", lo);
    assert_true(min_in_rows(&got, 120, 136) < 200);
    assert_true(psnr(&got, fin) > 35.0);
    img_rgb_free(&got);
    img_filter_free(f);

    /* a tall picture is padded left and right */
    ti_blob t = jpeg_of(400, 600, 55, NULL);
    f = accept_with(&o, &t, 256, 256, &res);
    fin = img_filter_pixels(f);
    for (uint32_t y = 0; y < 256; y++) {
        assert_memory_equal(pix(fin, 0, y), "\xff\xff\xff", 3);
        assert_memory_equal(pix(fin, 41, y), "\xff\xff\xff", 3);
        assert_memory_equal(pix(fin, 213, y), "\xff\xff\xff", 3);
    }
    img_filter_free(f);
    ti_blob_free(&t);
    ti_blob_free(&j);
}

static void test_keep_jpeg_and_original(void **state)
{
    (void)state;
    img_filter_opts o = defopts();
    img_filter_result res;
    img_filter *f;

    /* a JPEG already 256 x 256: stored as it is */
    ti_blob j = jpeg_of(256, 256, 60, NULL);
    f = accept_with(&o, &j, 256, 256, &res);
    assert_ptr_equal(res.out, j.p);
    assert_int_equal(res.out_len, j.n);
    assert_int_equal(res.reencoded, 0);
    assert_int_equal(res.out_format, IMG_FMT_JPEG);
    assert_int_equal(img_filter_pixels(f)->w, 256);
    assert_int_equal(img_filter_pixels(f)->h, 256);
    img_filter_free(f);
    /* ... also for border (nothing to pad) */
    o.mode = IMG_RESIZE_BORDER;
    f = accept_with(&o, &j, 256, 256, &res);
    assert_int_equal(res.reencoded, 0);
    img_filter_free(f);
    /* ... and keep_ratio of a picture whose shorter side is already the size */
    ti_blob j2 = jpeg_of(256, 300, 61, NULL);
    o.mode = IMG_RESIZE_KEEP_RATIO;
    f = accept_with(&o, &j2, 256, 300, &res);
    assert_int_equal(res.reencoded, 0);
    assert_ptr_equal(res.out, j2.p);
    img_filter_free(f);
    /* ... but center_crop of it crops */
    o.mode = IMG_RESIZE_CENTER_CROP;
    f = accept_with(&o, &j2, 256, 256, &res);
    assert_int_equal(res.reencoded, 1);
    img_filter_free(f);
    ti_blob_free(&j2);

    /* keep_jpeg 0 re-encodes it */
    o = defopts();
    o.keep_jpeg = 0;
    f = accept_with(&o, &j, 256, 256, &res);
    assert_int_equal(res.reencoded, 1);
    assert_true(res.out != j.p);
    img_filter_free(f);

    /* a PNG of the target size is always re-encoded to JPEG */
    ti_blob p = png_of(256, 256, 62);
    o = defopts();
    f = accept_with(&o, &p, 256, 256, &res);
    assert_int_equal(res.reencoded, 1);
    assert_int_equal(res.src_format, IMG_FMT_PNG);
    assert_int_equal(res.out_format, IMG_FMT_JPEG);
    img_filter_free(f);
    ti_blob_free(&p);

    /* keep_original stores any accepted input unchanged, described by its header */
    o.keep_original = 1;
    p = png_of(600, 400, 63);
    f = accept_with(&o, &p, 600, 400, &res);
    assert_ptr_equal(res.out, p.p);
    assert_int_equal(res.out_len, p.n);
    assert_int_equal(res.out_format, IMG_FMT_PNG);
    assert_int_equal(res.reencoded, 0);
    assert_int_equal(res.src_width, 600);
    assert_int_equal(img_filter_pixels(f)->w, 600); /* the decoded picture */
    assert_int_equal(img_filter_pixels(f)->h, 400);
    img_filter_free(f);
    uint8_t *px = ti_pixels(300, 240, 3, 64);
    ti_blob w = ti_webp(px, 300, 240, 0, 0, 90);
    free(px);
    f = accept_with(&o, &w, 300, 240, &res);
    assert_int_equal(res.out_format, IMG_FMT_WEBP);
    assert_ptr_equal(res.out, w.p);
    img_filter_free(f);
    ti_blob_free(&w);
    /* the checks still run */
    ti_blob small = png_of(100, 100, 65);
    expect_with(&o, &small, IMG_R_TOO_SMALL, &res);
    ti_blob_free(&small);
    ti_blob cut = ti_blob_copy(p.p, p.n - 30);
    expect_with(&o, &cut, IMG_R_TRUNCATED, &res);
    ti_blob_free(&cut);
    ti_blob_free(&p);
    ti_blob_free(&j);
}

/* ---- EXIF orientation ---------------------------------------------------------------------- */

static void test_exif_orientation(void **state)
{
    (void)state;
    img_filter_opts o = defopts();
    img_filter_result res;
    img_filter *f;

    /* stored 600 x 400, displayed 400 x 600 (turned 90 degrees clockwise) */
    ti_blob j = jpeg_of(600, 400, 70, &(ti_jpeg_opts){.orientation = 6});
    o.mode = IMG_RESIZE_KEEP_RATIO;
    f = accept_with(&o, &j, 256, 384, &res);
    assert_int_equal(res.src_width, 400);
    assert_int_equal(res.src_height, 600);
    assert_int_equal(res.reencoded, 1);
    assert_int_equal(img_filter_decoded(f)->w, 400);
    assert_int_equal(img_filter_decoded(f)->h, 600);
    /* the picture is turned: the stored left column (red 20) is now the top row, the stored
     * right column (red 220) the bottom row */
    img_rgb got = {0};
    decode_out(&res, &got);
    for (uint32_t x = 8; x < 256; x += 40) {
        assert_true(pix(&got, x, 0)[0] < 40);
        assert_true(pix(&got, x, 383)[0] > 200);
    }
    img_rgb_free(&got);
    img_filter_free(f);

    /* center_crop of the displayed picture */
    o = defopts();
    f = accept_with(&o, &j, 256, 256, &res);
    assert_int_equal(res.src_width, 400);
    assert_int_equal(res.src_height, 600);
    img_filter_free(f);

    /* never stored unchanged: the bytes would display turned, but the output must be upright */
    ti_blob sq = jpeg_of(256, 256, 71, &(ti_jpeg_opts){.orientation = 6});
    f = accept_with(&o, &sq, 256, 256, &res);
    assert_int_equal(res.reencoded, 1);
    assert_true(res.out != sq.p);
    img_filter_free(f);
    o.mode = IMG_RESIZE_NO;
    f = accept_with(&o, &sq, 256, 256, &res);
    assert_int_equal(res.reencoded, 1);
    img_filter_free(f);
    ti_blob_free(&sq);
    /* a 180-degree turn keeps the size and is re-encoded too; orientation 1 is kept */
    sq = jpeg_of(256, 256, 72, &(ti_jpeg_opts){.orientation = 3});
    o = defopts();
    f = accept_with(&o, &sq, 256, 256, &res);
    assert_int_equal(res.reencoded, 1);
    img_filter_free(f);
    ti_blob_free(&sq);
    sq = jpeg_of(256, 256, 73, &(ti_jpeg_opts){.orientation = 1});
    f = accept_with(&o, &sq, 256, 256, &res);
    assert_int_equal(res.reencoded, 0);
    img_filter_free(f);
    ti_blob_free(&sq);

    /* keep_original keeps the bytes and describes them in their stored frame */
    o.keep_original = 1;
    f = accept_with(&o, &j, 600, 400, &res);
    assert_int_equal(res.reencoded, 0);
    assert_int_equal(res.src_width, 400);
    assert_int_equal(res.src_height, 600);
    img_filter_free(f);

    /* min_size and max_aspect do not depend on the turn */
    o = defopts();
    ti_blob thin = jpeg_of(600, 199, 74, &(ti_jpeg_opts){.orientation = 8});
    expect_with(&o, &thin, IMG_R_TOO_SMALL, &res);
    ti_blob_free(&thin);
    thin = jpeg_of(601, 200, 75, &(ti_jpeg_opts){.orientation = 6});
    expect_with(&o, &thin, IMG_R_ASPECT, &res);
    ti_blob_free(&thin);
    ti_blob_free(&j);
}

/* ---- DCT scaling --------------------------------------------------------------------------- */

static void test_dct_scaling_keeps_geometry(void **state)
{
    (void)state;
    ti_blob j = jpeg_of(1600, 1200, 80, NULL);
    img_limits lim;
    img_limits_default(&lim);
    img_rgb full = {0}, want = {0}, tmp = {0}, got = {0};
    img_reason r;
    assert_int_equal(img_decode(j.p, j.n, &lim, 0, 0, &full, NULL, &r), CC_OK);
    const img_resize_mode modes[] = {IMG_RESIZE_KEEP_RATIO, IMG_RESIZE_CENTER_CROP,
                                     IMG_RESIZE_KEEP_RATIO_LARGEST, IMG_RESIZE_BORDER};
    for (size_t i = 0; i < sizeof modes / sizeof modes[0]; i++) {
        img_filter_opts o = defopts();
        o.mode = modes[i];
        uint32_t sw, sh, ow, oh;
        img_fit_size(1600, 1200, modes[i], 256, &sw, &sh, &ow, &oh);
        if (modes[i] == IMG_RESIZE_KEEP_RATIO) {
            assert_int_equal(ow, 341);
            assert_int_equal(oh, 256);
        }
        img_filter_result res;
        img_filter *f = accept_with(&o, &j, ow, oh, &res);
        assert_int_equal(res.src_width, 1600); /* full size, not the decoded scale */
        assert_int_equal(res.src_height, 1200);
        /* decoded at 2/8 (400 x 300): the smallest scale covering the scaled size */
        assert_int_equal(img_filter_decoded(f)->w, 400);
        assert_int_equal(img_filter_decoded(f)->h, 300);
        /* and still close to the full-size path */
        assert_int_equal(img_resize_mode_apply(&full, modes[i], 256, &tmp, &want), CC_OK);
        double q = psnr(img_filter_pixels(f), &want);
        if (q < 45.0)
            fail_msg("%s: PSNR %.1f dB against the full-size path", img_resize_mode_name(modes[i]),
                     q);
        decode_out(&res, &got);
        img_filter_free(f);
    }

    /* turned by EXIF, the fit is computed in the displayed frame */
    ti_blob rot = jpeg_of(1600, 1200, 81, &(ti_jpeg_opts){.orientation = 6});
    img_filter_opts o = defopts();
    o.mode = IMG_RESIZE_KEEP_RATIO;
    img_filter_result res;
    img_filter *f = accept_with(&o, &rot, 256, 341, &res);
    assert_int_equal(res.src_width, 1200);
    assert_int_equal(res.src_height, 1600);
    assert_int_equal(img_filter_decoded(f)->w, 300);
    img_filter_free(f);
    ti_blob_free(&rot);

    /* 2048 x 2048 to 256: 1/8 is exactly the target */
    ti_blob sq = jpeg_of(2048, 2048, 82, NULL);
    o = defopts();
    f = accept_with(&o, &sq, 256, 256, &res);
    assert_int_equal(img_filter_decoded(f)->w, 256);
    assert_int_equal(res.src_width, 2048);
    assert_int_equal(res.reencoded, 1);
    img_filter_free(f);
    ti_blob_free(&sq);

    img_rgb_free(&full);
    img_rgb_free(&want);
    img_rgb_free(&tmp);
    img_rgb_free(&got);
    ti_blob_free(&j);
}

/* ---- hashes -------------------------------------------------------------------------------- */

/* The pHash imgfilter.h promises for the last accepted run of f: that of a 32 x 32 area thumbnail
 * of the decoded picture scaled to the mode's size (before crop or border). */
static uint64_t expected_phash(const img_filter *f, const img_filter_opts *o,
                               const img_filter_result *res)
{
    const img_rgb *dec = img_filter_decoded(f);
    img_rgb scaled = {0}, thumb = {0};
    const img_rgb *whole = dec;
    if (o->mode != IMG_RESIZE_NO && o->size > 0) {
        uint32_t sw, sh, ow, oh;
        img_fit_size(res->src_width, res->src_height, o->mode, o->size, &sw, &sh, &ow, &oh);
        if (dec->w != sw || dec->h != sh) {
            assert_int_equal(img_resize(dec, sw, sh, &scaled), CC_OK);
            whole = &scaled;
        }
    }
    assert_int_equal(img_resize(whole, 32, 32, &thumb), CC_OK);
    uint64_t h = img_phash(&thumb);
    img_rgb_free(&scaled);
    img_rgb_free(&thumb);
    return h;
}

static void test_hashes(void **state)
{
    (void)state;
    img_filter_opts o = defopts();
    img_filter *f = filter_new(&o), *g = filter_new(&o);
    img_filter_result a, b;

    /* the same picture as PNG and as JPEG q95 */
    uint8_t *px = random_picture(400, 300, 1);
    ti_blob p = png_px(px, 400, 300);
    ti_blob j = jpeg_px(px, 400, 300, &(ti_jpeg_opts){.quality = 95});
    free(px);
    assert_int_equal(run(f, &p, &a), IMG_OK);
    assert_true(cc_hash128_eq(a.content_hash, cc_hash128_of(p.p, p.n)));
    assert_int_equal(run(f, &p, &b), IMG_OK);
    assert_true(a.phash == b.phash);
    assert_true(cc_hash128_eq(a.content_hash, b.content_hash));
    assert_int_equal(run(g, &p, &b), IMG_OK);
    assert_true(a.phash == b.phash);
    assert_true(b.phash == expected_phash(g, &o, &b));
    /* in every mode, also when the JPEG decode is DCT-scaled */
    ti_blob big = jpeg_of(1600, 1200, 9, NULL);
    const img_resize_mode modes[] = {IMG_RESIZE_NO, IMG_RESIZE_KEEP_RATIO, IMG_RESIZE_CENTER_CROP,
                                     IMG_RESIZE_BORDER, IMG_RESIZE_KEEP_RATIO_LARGEST};
    for (size_t i = 0; i < sizeof modes / sizeof modes[0]; i++) {
        img_filter_opts om = defopts();
        om.mode = modes[i];
        img_filter *m = filter_new(&om);
        assert_int_equal(run(m, &big, &b), IMG_OK);
        assert_true(b.phash == expected_phash(m, &om, &b));
        assert_int_equal(run(m, &p, &b), IMG_OK);
        assert_true(b.phash == expected_phash(m, &om, &b));
        img_filter_free(m);
    }
    ti_blob_free(&big);

    assert_int_equal(run(g, &j, &b), IMG_OK);
    assert_false(cc_hash128_eq(a.content_hash, b.content_hash));
    assert_true(cc_hash128_eq(b.content_hash, cc_hash128_of(j.p, j.n)));
    int d = phash_distance(a.phash, b.phash);
    if (d > 6)
        fail_msg("PNG and JPEG of one picture are %d bits apart", d);
    ti_blob_free(&p);
    ti_blob_free(&j);

    /* different pictures are far apart */
    uint64_t h[3];
    for (int i = 0; i < 3; i++) {
        px = random_picture(400, 300, (uint64_t)(10 + i));
        p = png_px(px, 400, 300);
        free(px);
        assert_int_equal(run(f, &p, &a), IMG_OK);
        h[i] = a.phash;
        ti_blob_free(&p);
    }
    for (int i = 0; i < 3; i++)
        for (int k = i + 1; k < 3; k++) {
            d = phash_distance(h[i], h[k]);
            if (d <= 10)
                fail_msg("pictures %d and %d are only %d bits apart", i, k, d);
        }

    /* a rejection after the decode still has the content hash */
    uint8_t *grey = malloc(300 * 300 * 3);
    assert_non_null(grey);
    memset(grey, 200, 300 * 300 * 3);
    ti_blob blank = png_px(grey, 300, 300);
    free(grey);
    assert_int_equal(run(f, &blank, &a), IMG_R_BLANK);
    assert_true(cc_hash128_eq(a.content_hash, cc_hash128_of(blank.p, blank.n)));
    assert_int_equal(a.src_width, 300);
    ti_blob_free(&blank);
    img_filter_free(f);
    img_filter_free(g);
}

/* ---- determinism and reuse ----------------------------------------------------------------- */

static void test_determinism_and_reuse(void **state)
{
    (void)state;
    img_filter_opts o = defopts();
    o.mode = IMG_RESIZE_KEEP_RATIO;
    ti_blob big = jpeg_of(1600, 1200, 90, NULL);
    ti_blob small = png_of(300, 250, 91);
    ti_blob rot = jpeg_of(800, 600, 92, &(ti_jpeg_opts){.orientation = 6, .progressive = 1});
    ti_blob bad = ti_blob_copy(big.p, big.n / 2);
    const ti_blob *seq[] = {&big, &small, &bad, &rot, &big, &small};
    const size_t nseq = sizeof seq / sizeof seq[0];

    /* two filters with the same options give the same bytes */
    img_filter *f1 = filter_new(&o), *f2 = filter_new(&o);
    img_filter_result r1, r2;
    assert_int_equal(run(f1, &big, &r1), IMG_OK);
    assert_int_equal(run(f2, &big, &r2), IMG_OK);
    assert_int_equal(r1.out_len, r2.out_len);
    assert_memory_equal(r1.out, r2.out, r1.out_len);
    assert_true(r1.phash == r2.phash);
    img_filter_free(f1);
    img_filter_free(f2);

    /* one filter over images of different sizes gives what fresh filters give */
    img_filter *shared = filter_new(&o);
    for (size_t i = 0; i < nseq; i++) {
        img_filter *fresh = filter_new(&o);
        img_reason want = run(fresh, seq[i], &r1);
        assert_int_equal(run(shared, seq[i], &r2), want);
        assert_int_equal(r2.out_width, r1.out_width);
        assert_int_equal(r2.out_height, r1.out_height);
        assert_int_equal(r2.src_width, r1.src_width);
        assert_int_equal(r2.src_height, r1.src_height);
        assert_true(r2.phash == r1.phash);
        assert_int_equal(r2.reencoded, r1.reencoded);
        if (want == IMG_OK) {
            assert_int_equal(r2.out_len, r1.out_len);
            assert_memory_equal(r2.out, r1.out, r1.out_len);
            const img_rgb *a = img_filter_pixels(fresh), *b = img_filter_pixels(shared);
            assert_int_equal(a->w, b->w);
            assert_int_equal(a->h, b->h);
            assert_memory_equal(a->px, b->px, (size_t)a->w * a->h * 3);
        } else {
            assert_string_equal(r2.message, r1.message);
        }
        img_filter_free(fresh);
    }
    img_filter_free(shared);

    /* big, small, big on one handle: the bytes of the first run (copied, as they are valid only
     * until the next call) equal those of the third */
    img_filter *f = filter_new(&o);
    assert_int_equal(run(f, &big, &r1), IMG_OK);
    ti_blob first = out_copy(&r1);
    assert_int_equal(run(f, &small, &r1), IMG_OK);
    assert_int_equal(run(f, &big, &r1), IMG_OK);
    ti_blob again = out_copy(&r1);
    assert_true(blob_equal(&first, &again));
    ti_blob_free(&first);
    ti_blob_free(&again);
    img_filter_free(f);

    ti_blob *all[] = {&big, &small, &rot, &bad};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
        ti_blob_free(all[i]);
}

/* ---- options ------------------------------------------------------------------------------- */

static void expect_inval(const img_filter_opts *o, const char *what)
{
    img_filter *f = (img_filter *)(uintptr_t)1; /* must be overwritten with NULL */
    cc_clear_error();
    cc_status st = img_filter_new(o, &f);
    if (st != CC_E_INVAL)
        fail_msg("%s: img_filter_new gave %s", what, cc_status_str(st));
    assert_null(f);
    assert_true(cc_errmsg()[0] != '\0');
}

static void test_filter_new_rejects_bad_options(void **state)
{
    (void)state;
    img_filter_opts o;
    img_filter *f = NULL;
    assert_int_equal(img_filter_new(NULL, &f), CC_E_INVAL);
    o = defopts();
    assert_int_equal(img_filter_new(&o, NULL), CC_E_INVAL);
    img_filter_free(NULL);

#define BAD(field, value)                                                                          \
    do {                                                                                           \
        o = defopts();                                                                             \
        o.field = (value);                                                                         \
        expect_inval(&o, #field " = " #value);                                                     \
    } while (0)
    BAD(quality, 0);
    BAD(quality, 101);
    BAD(quality, -1);
    BAD(max_aspect, 0.5);
    BAD(max_aspect, -3.0);
    BAD(max_aspect, NAN);
    BAD(blank_stddev, -0.5);
    BAD(blank_stddev, NAN);
    BAD(mode, (img_resize_mode)5);
    BAD(mode, (img_resize_mode)-1);
    BAD(size, 16385);
    BAD(size, UINT32_MAX);
    BAD(limits.max_bytes, 0);
    BAD(limits.max_pixels, 0);
    BAD(limits.max_side, 0);
#undef BAD

    /* the edges of the valid ranges */
#define GOOD(field, value)                                                                         \
    do {                                                                                           \
        o = defopts();                                                                             \
        o.field = (value);                                                                         \
        f = NULL;                                                                                  \
        assert_int_equal(img_filter_new(&o, &f), CC_OK);                                           \
        assert_non_null(f);                                                                        \
        img_filter_free(f);                                                                        \
    } while (0)
    GOOD(quality, 1);
    GOOD(quality, 100);
    GOOD(max_aspect, 0.0);
    GOOD(max_aspect, 1.0);
    GOOD(blank_stddev, 0.0);
    GOOD(size, 0);
    GOOD(size, 16384);
    GOOD(mode, IMG_RESIZE_NO);
    GOOD(mode, IMG_RESIZE_KEEP_RATIO_LARGEST);
#undef GOOD

    /* quality reaches the encoder: 30 gives a smaller file than 95 */
    ti_blob j = jpeg_of(600, 400, 100, NULL);
    img_filter_result res;
    o = defopts();
    o.quality = 30;
    f = accept_with(&o, &j, 256, 256, &res);
    size_t n30 = res.out_len;
    img_filter_free(f);
    o.quality = 95;
    f = accept_with(&o, &j, 256, 256, &res);
    assert_true(n30 < res.out_len);
    img_filter_free(f);
    ti_blob_free(&j);
}

/* ---- img_filter_pixels --------------------------------------------------------------------- */

static void test_filter_pixels(void **state)
{
    (void)state;
    img_filter_opts o = defopts();
    img_filter *f = filter_new(&o);
    img_filter_result res;
    ti_blob j = jpeg_of(600, 400, 110, NULL);
    assert_int_equal(run(f, &j, &res), IMG_OK);
    const img_rgb *fin = img_filter_pixels(f);
    assert_int_equal(fin->w, res.out_width);
    assert_int_equal(fin->h, res.out_height);
    assert_true(fin->cap >= (size_t)fin->w * fin->h * 3);
    img_rgb got = {0};
    decode_out(&res, &got);
    assert_true(psnr(&got, fin) > 35.0);
    assert_int_equal(img_filter_decoded(f)->w, 600);
    assert_int_equal(img_filter_decoded(f)->h, 400);
    img_filter_free(f);

    /* every mode: the output's size and pixels */
    img_limits lim;
    img_limits_default(&lim);
    img_rgb full = {0}, want = {0}, tmp = {0};
    img_reason r;
    assert_int_equal(img_decode(j.p, j.n, &lim, 0, 0, &full, NULL, &r), CC_OK);
    const img_resize_mode modes[] = {IMG_RESIZE_KEEP_RATIO, IMG_RESIZE_KEEP_RATIO_LARGEST,
                                     IMG_RESIZE_BORDER, IMG_RESIZE_NO};
    for (size_t i = 0; i < sizeof modes / sizeof modes[0]; i++) {
        o = defopts();
        o.mode = modes[i];
        o.keep_jpeg = 0;
        f = filter_new(&o);
        assert_int_equal(run(f, &j, &res), IMG_OK);
        fin = img_filter_pixels(f);
        assert_int_equal(fin->w, res.out_width);
        assert_int_equal(fin->h, res.out_height);
        /* exactly the mode applied to the filter's own decode (DCT-scaled to 300 x 200 for
         * keep_ratio_largest and border, whose scaled size is 256 x 171) */
        const img_rgb *dec = img_filter_decoded(f);
        assert_int_equal(
            dec->w,
            modes[i] == IMG_RESIZE_KEEP_RATIO_LARGEST || modes[i] == IMG_RESIZE_BORDER ? 300 : 600);
        assert_int_equal(img_resize_mode_apply(dec, modes[i], 256, &tmp, &want), CC_OK);
        assert_int_equal(want.w, fin->w);
        assert_int_equal(want.h, fin->h);
        assert_memory_equal(fin->px, want.px, (size_t)fin->w * fin->h * 3);
        /* and close to it applied to the full-size decode */
        assert_int_equal(img_resize_mode_apply(&full, modes[i], 256, &tmp, &want), CC_OK);
        assert_true(psnr(fin, &want) > 45.0);
        decode_out(&res, &got);
        assert_true(psnr(&got, fin) > 35.0);
        img_filter_free(f);
    }
    /* a rejection right after an acceptance on the same handle has no output (check_result) */
    ti_blob cut = ti_blob_copy(j.p, j.n / 2);
    f = filter_new(&o);
    assert_int_equal(run(f, &j, &res), IMG_OK);
    assert_int_equal(run(f, &cut, &res), IMG_R_TRUNCATED);
    img_filter_free(f);
    ti_blob_free(&cut);
    img_rgb_free(&full);
    img_rgb_free(&want);
    img_rgb_free(&tmp);
    img_rgb_free(&got);
    ti_blob_free(&j);
}

/* ---- a real photo -------------------------------------------------------------------------- */

static void test_real_photo(void **state)
{
    (void)state;
    DIR *dir = opendir(PHOTO_DIR);
    if (dir == NULL)
        fail_msg("%s is missing: run ops/deps.sh (it installs mate-backgrounds)", PHOTO_DIR);
    /* the first .jpg by name, so that every run takes the same one */
    char best[256] = "";
    struct dirent *de;
    while ((de = readdir(dir)) != NULL) {
        size_t nl = strlen(de->d_name);
        if (nl < 5 || nl >= sizeof best || strcmp(de->d_name + nl - 4, ".jpg") != 0)
            continue;
        if (best[0] == '\0' || strcmp(de->d_name, best) < 0)
            snprintf(best, sizeof best, "%s", de->d_name);
    }
    closedir(dir);
    if (best[0] == '\0')
        fail_msg("no .jpg in %s: run ops/deps.sh (it installs mate-backgrounds)", PHOTO_DIR);
    char path[512];
    assert_int_equal(cc_path_join(path, sizeof path, PHOTO_DIR, best), CC_OK);
    cc_buf buf;
    cc_buf_init(&buf, 32u << 20);
    if (cc_read_file(path, &buf) != CC_OK)
        fail_msg("cannot read %s: %s", path, cc_errmsg());
    ti_blob b = ti_blob_copy(buf.data, buf.len);
    cc_buf_free(&buf);
    img_probe pr;
    assert_int_equal(img_probe_bytes(b.p, b.n, &pr), CC_OK);

    img_filter_opts o = defopts();
    img_filter_result res;
    img_filter *f = accept_with(&o, &b, 256, 256, &res);
    assert_int_equal(res.src_format, IMG_FMT_JPEG);
    assert_int_equal(res.src_width, pr.width);
    assert_int_equal(res.src_height, pr.height);
    assert_int_equal(res.reencoded, 1);
    assert_true(res.out_len < b.n);
    assert_true(res.phash != 0 && res.phash != 0x8000000000000000ull);
    img_rgb got = {0};
    decode_out(&res, &got);
    assert_true(psnr(&got, img_filter_pixels(f)) > 30.0);
    /* its pHash, made from the scaled copy, is within the 0-4 bits that rescaling costs of the
     * pHash of the full-size picture */
    img_limits lim;
    img_limits_default(&lim);
    img_rgb full = {0};
    img_reason r;
    assert_int_equal(img_decode(b.p, b.n, &lim, 0, 0, &full, NULL, &r), CC_OK);
    int d = phash_distance(res.phash, img_phash(&full));
    if (d > 4)
        fail_msg("pHash %d bits from that of the full-size picture", d);
    img_rgb_free(&full);
    print_message("%s (%ux%u, %zu bytes) -> %zu bytes, decode %.2f ms, resize %.2f ms, "
                  "encode %.2f ms\n",
                  best, pr.width, pr.height, b.n, res.out_len, (double)res.ns_decode / 1e6,
                  (double)res.ns_resize / 1e6, (double)res.ns_encode / 1e6);
    img_rgb_free(&got);
    img_filter_free(f);
    ti_blob_free(&b);
}

/* ---- large outputs ------------------------------------------------------------------------- */

/* A JPEG (quality 100) of w x h uniformly random samples: about the most bytes a picture of that
 * size takes when re-encoded. */
static ti_blob noise_jpeg(uint32_t w, uint32_t h, uint64_t seed, int orientation)
{
    uint8_t *px = malloc((size_t)w * h * 3);
    assert_non_null(px);
    uint64_t s = seed;
    for (size_t i = 0; i < (size_t)w * h * 3; i++)
        px[i] = (uint8_t)(ti_rng(&s) >> 56);
    ti_blob b = jpeg_px(px, w, h, &(ti_jpeg_opts){.quality = 100, .orientation = orientation});
    free(px);
    return b;
}

/* The size of the re-encoded output follows from the mode, not from `size` alone: mode "no"
 * keeps the decoded size whatever `size` is (its default is 256), and keep_ratio with the aspect
 * check off gives size x (size * aspect); with size 0 it is bounded by max_pixels, whatever that
 * is. A detailed picture must not be refused as encode_failed because its JPEG is larger than a
 * buffer sized for 4 x size^2 pixels (or for a max_pixels whose 3 x overflows). Every case is
 * checked before failing, so the message names every one that is refused. */
static void test_large_outputs_not_refused(void **state)
{
    (void)state;
    char failures[512] = "";
    size_t used = 0;
    img_filter_result res;

    /* mode "no" with the default size 256: a 1200 x 1000 photo turned by EXIF (so never kept
     * as it is) is re-encoded at its own size, as with size 0 */
    ti_blob j = noise_jpeg(1200, 1000, 120, 6);
    img_filter_opts o = defopts();
    o.size = 0;
    img_filter *f = accept_with(&o, &j, 1000, 1200, &res);
    assert_int_equal(res.reencoded, 1);
    ti_blob want = out_copy(&res);
    assert_true(want.n > (size_t)256 * 256 * 4 * 3 + 65536);
    img_filter_free(f);
    o = defopts();
    o.mode = IMG_RESIZE_NO;
    f = filter_new(&o);
    run(f, &j, &res);
    if (res.reason != IMG_OK || res.out_len != want.n || memcmp(res.out, want.p, want.n) != 0)
        used += (size_t)snprintf(failures + used, sizeof failures - used,
                                 "mode no, size 256, 1200x1000 JPEG (orientation 6): %s (%s); ",
                                 img_reason_name(res.reason), res.message);
    img_filter_free(f);

    /* size 0 with the pixel limit lifted (UINT64_MAX, as "no limit"): the same output */
    o = defopts();
    o.size = 0;
    o.limits.max_pixels = UINT64_MAX;
    f = filter_new(&o);
    run(f, &j, &res);
    if (res.reason != IMG_OK || res.out_len != want.n || memcmp(res.out, want.p, want.n) != 0)
        used += (size_t)snprintf(failures + used, sizeof failures - used,
                                 "size 0, max_pixels UINT64_MAX: %s (%s); ",
                                 img_reason_name(res.reason), res.message);
    img_filter_free(f);
    ti_blob_free(&want);
    ti_blob_free(&j);

    /* keep_ratio 256 with max_aspect 0 of a 6000 x 200 picture: 7680 x 256 */
    j = noise_jpeg(6000, 200, 121, 0);
    o = defopts();
    o.mode = IMG_RESIZE_KEEP_RATIO;
    o.max_aspect = 0;
    f = filter_new(&o);
    run(f, &j, &res);
    if (res.reason != IMG_OK || res.out_width != 7680 || res.out_height != 256)
        used += (size_t)snprintf(failures + used, sizeof failures - used,
                                 "keep_ratio 256, max_aspect 0, 6000x200 JPEG: %s (%s); ",
                                 img_reason_name(res.reason), res.message);
    img_filter_free(f);
    ti_blob_free(&j);
    if (used > 0)
        fail_msg("refused: %s", failures);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_reject_empty_and_too_large),
        cmocka_unit_test(test_reject_unsupported),
        cmocka_unit_test(test_reject_undecodable),
        cmocka_unit_test(test_reject_animated),
        cmocka_unit_test(test_reject_pixel_and_side_limits),
        cmocka_unit_test(test_too_small_boundary),
        cmocka_unit_test(test_aspect_boundary),
        cmocka_unit_test(test_reject_truncated),
        cmocka_unit_test(test_reject_too_many_scans),
        cmocka_unit_test(test_blank),
        cmocka_unit_test(test_output_center_crop_default),
        cmocka_unit_test(test_output_modes),
        cmocka_unit_test(test_output_border),
        cmocka_unit_test(test_keep_jpeg_and_original),
        cmocka_unit_test(test_exif_orientation),
        cmocka_unit_test(test_dct_scaling_keeps_geometry),
        cmocka_unit_test(test_hashes),
        cmocka_unit_test(test_determinism_and_reuse),
        cmocka_unit_test(test_filter_new_rejects_bad_options),
        cmocka_unit_test(test_filter_pixels),
        cmocka_unit_test(test_real_photo),
        cmocka_unit_test(test_large_outputs_not_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
