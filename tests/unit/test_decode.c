/* tests/unit/test_decode.c — img_decode and img_encode_jpeg on images made by the real encoders
 * (tests/unit/testimg.h), on real photos, on hand-built hostile files, and on every truncation
 * and many single-byte corruptions of small files.
 *
 * Every decode runs on an exact-size heap copy of its input (ti_blob), so an over-read is caught
 * by AddressSanitizer, and every result is checked for a consistent status and reason (dec()).
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
#include <time.h>

#include <cmocka.h>

#include "common/buf.h"
#include "common/file.h"
#include "filters/image.h"
#include "tests/unit/testimg.h"

#define PHOTO_DIR "/usr/share/backgrounds/mate/nature"

/* ---- helpers ------------------------------------------------------------------------------- */

/* The status img_decode must return with each reason (filters/image.h). */
static int status_fits_reason(cc_status st, img_reason r)
{
    switch (r) {
    case IMG_OK:
        return st == CC_OK;
    case IMG_R_EMPTY:
    case IMG_R_UNDECODABLE:
    case IMG_R_TRUNCATED:
        return st == CC_E_FORMAT;
    case IMG_R_UNSUPPORTED:
    case IMG_R_ANIMATED:
        return st == CC_E_UNSUPPORTED;
    case IMG_R_TOO_LARGE:
    case IMG_R_TOO_MANY_PIXELS:
    case IMG_R_TOO_WIDE:
    case IMG_R_TOO_MANY_SCANS:
        return st == CC_E_LIMIT;
    case IMG_R_MEMORY:
        return st == CC_E_LIMIT || st == CC_E_NOMEM;
    default:
        return 0; /* the decoder never gives the later pipeline reasons */
    }
}

/* Decodes n bytes of p (from an exact-size copy) and checks that status, reason, message and
 * sizes agree. */
static img_reason dec_bytes(const uint8_t *p, size_t n, const img_limits *lim, uint32_t mw,
                            uint32_t mh, img_rgb *out, img_decode_info *info)
{
    ti_blob c = ti_blob_copy(p, n);
    img_decode_info inf;
    img_reason r = IMG_R_COUNT;
    cc_clear_error();
    cc_status st = img_decode(n ? c.p : NULL, n, lim, mw, mh, out, &inf, &r);
    if (!status_fits_reason(st, r))
        fail_msg("status %s does not fit reason %s (%s)", cc_status_str(st), img_reason_name(r),
                 cc_errmsg());
    if (st != CC_OK) {
        assert_true(cc_errmsg()[0] != '\0');
    } else {
        assert_true(out->w > 0 && out->h > 0);
        assert_true(out->cap >= (size_t)out->w * out->h * 3);
        assert_true(inf.orientation >= 1 && inf.orientation <= 8);
        assert_true(inf.scale_num >= 1 && inf.scale_num <= 8);
        assert_int_equal(inf.probe.format, img_sniff(c.p, n));
    }
    if (info)
        *info = inf;
    ti_blob_free(&c);
    return r;
}

static img_reason dec(const ti_blob *b, const img_limits *lim, uint32_t mw, uint32_t mh,
                      img_rgb *out, img_decode_info *info)
{
    return dec_bytes(b->p, b->n, lim, mw, mh, out, info);
}

/* Decodes with default limits and fails the test with the message unless it succeeds. */
static void dec_ok(const ti_blob *b, uint32_t mw, uint32_t mh, img_rgb *out, img_decode_info *info)
{
    img_limits lim;
    img_limits_default(&lim);
    img_reason r = dec(b, &lim, mw, mh, out, info);
    if (r != IMG_OK)
        fail_msg("decode failed: %s (%s)", img_reason_name(r), cc_errmsg());
}

static void expect_reason(const ti_blob *b, const img_limits *lim, img_reason want)
{
    img_rgb out = {0};
    img_reason r = dec(b, lim, 0, 0, &out, NULL);
    if (r != want)
        fail_msg("expected %s, got %s (%s)", img_reason_name(want), img_reason_name(r),
                 cc_errmsg());
    img_rgb_free(&out);
}

static const uint8_t *pix(const img_rgb *im, uint32_t x, uint32_t y)
{
    assert_true(x < im->w && y < im->h);
    return im->px + ((size_t)y * im->w + x) * 3;
}

static void expect_rgb(const img_rgb *im, uint32_t x, uint32_t y, int r, int g, int b, int tol)
{
    const uint8_t *p = pix(im, x, y);
    if (abs(p[0] - r) > tol || abs(p[1] - g) > tol || abs(p[2] - b) > tol)
        fail_msg("pixel (%u,%u) is (%d,%d,%d), expected (%d,%d,%d) +-%d", x, y, p[0], p[1], p[2], r,
                 g, b, tol);
}

static double psnr(const uint8_t *a, const uint8_t *b, size_t n)
{
    double se = 0;
    for (size_t i = 0; i < n; i++) {
        double d = (double)a[i] - b[i];
        se += d * d;
    }
    if (se == 0)
        return 99.0;
    return 10.0 * log10(255.0 * 255.0 * n / se);
}

/* The blend img_decode promises for alpha: over white, rounded to nearest. */
static uint8_t over_white(unsigned c, unsigned a)
{
    return (uint8_t)((c * a + 255 * (255 - a) + 127) / 255);
}

static img_limits deflim(void)
{
    img_limits l;
    img_limits_default(&l);
    return l;
}

/* ---- API basics ---------------------------------------------------------------------------- */

static void test_names_defaults_and_alloc(void **state)
{
    (void)state;
    assert_string_equal(img_reason_name(IMG_OK), "ok");
    assert_string_equal(img_reason_name(IMG_R_UNSUPPORTED), "unsupported_format");
    assert_string_equal(img_reason_name(IMG_R_TOO_MANY_SCANS), "too_many_scans");
    assert_string_equal(img_reason_name(IMG_R_MEMORY), "decoder_memory");
    assert_string_equal(img_reason_name(IMG_R_ENCODE), "encode_failed");
    assert_string_equal(img_reason_name(IMG_R_COUNT), "unknown");
    assert_string_equal(img_reason_name((img_reason)-1), "unknown");
    for (int r = 0; r < IMG_R_COUNT; r++)
        assert_true(strcmp(img_reason_name((img_reason)r), "unknown") != 0);

    img_limits l = deflim();
    assert_int_equal(l.max_bytes, 32u << 20);
    assert_int_equal(l.max_pixels, 89478485);
    assert_int_equal(l.max_side, 30000);
    assert_int_equal(l.max_scans, 100);
    assert_int_equal(l.max_memory, 512u << 20);
    assert_int_equal(l.warnings_fatal, 1);
    assert_int_equal(l.png_chunk_max, 8u << 20);
    assert_int_equal(l.png_chunk_cache, 128);

    img_rgb im = {0};
    assert_int_equal(img_rgb_alloc(&im, 10, 10, 0), CC_OK);
    assert_true(im.cap >= 300);
    uint8_t *first = im.px;
    memset(im.px, 7, 300); /* the whole of it is usable */
    assert_int_equal(img_rgb_alloc(&im, 5, 4, 1000), CC_OK);
    assert_ptr_equal(im.px, first); /* smaller: reused */
    assert_int_equal(im.w, 5);
    assert_int_equal(im.h, 4);
    assert_int_equal(img_rgb_alloc(&im, 100, 100, 29999), CC_E_LIMIT);
    assert_int_equal(img_rgb_alloc(&im, 100, 100, 30000), CC_OK);
    assert_true(im.cap >= 30000);
    assert_int_equal(img_rgb_alloc(&im, 0xffffffffu, 0xffffffffu, 0), CC_E_LIMIT);
    img_rgb_free(&im);
    assert_null(im.px);
    assert_int_equal(im.cap, 0);
    img_rgb_free(NULL);
    img_rgb_free(&im); /* twice is fine */
}

/* ---- JPEG ---------------------------------------------------------------------------------- */

static void test_jpeg_rgb_and_grey(void **state)
{
    (void)state;
    img_rgb out = {0};
    img_decode_info info;
    uint8_t *px = ti_pixels(67, 45, 3, 1);
    ti_jpeg_opts o = {.quality = 95};
    ti_blob b = ti_jpeg(px, 67, 45, 3, &o);
    dec_ok(&b, 0, 0, &out, &info);
    assert_int_equal(out.w, 67);
    assert_int_equal(out.h, 45);
    assert_int_equal(info.probe.format, IMG_FMT_JPEG);
    assert_int_equal(info.width, 67);
    assert_int_equal(info.height, 45);
    assert_int_equal(info.orientation, 1);
    assert_int_equal(info.scale_num, 8);
    assert_int_equal(info.scans, 1);
    double q = psnr(px, out.px, (size_t)67 * 45 * 3);
    assert_true(q > 35.0);
    free(px);
    ti_blob_free(&b);

    /* grey: R = G = B, close to the source */
    px = ti_pixels(50, 31, 1, 2);
    b = ti_jpeg(px, 50, 31, 1, &o);
    dec_ok(&b, 0, 0, &out, &info);
    assert_int_equal(out.w, 50);
    assert_int_equal(out.h, 31);
    uint8_t *g = malloc((size_t)50 * 31);
    assert_non_null(g);
    for (size_t i = 0; i < (size_t)50 * 31; i++) {
        assert_int_equal(out.px[3 * i], out.px[3 * i + 1]);
        assert_int_equal(out.px[3 * i], out.px[3 * i + 2]);
        g[i] = out.px[3 * i];
    }
    assert_true(psnr(px, g, (size_t)50 * 31) > 35.0);
    free(g);
    free(px);
    ti_blob_free(&b);
    img_rgb_free(&out);
}

/* A w x h image of one CMYK value, as stored in the file. */
static ti_blob cmyk_jpeg(const uint8_t cmyk[4], int no_adobe, int ycck)
{
    enum { W = 32, H = 16 };
    uint8_t px[W * H * 4];
    for (int i = 0; i < W * H; i++)
        memcpy(px + 4 * i, cmyk, 4);
    ti_jpeg_opts o = {.quality = 100, .no_adobe = no_adobe, .ycck = ycck};
    return ti_jpeg(px, W, H, 4, &o);
}

static void test_jpeg_cmyk(void **state)
{
    (void)state;
    img_rgb out = {0};
    static const struct {
        uint8_t stored[4];
        int no_adobe, ycck;
        int r, g, b;
    } k[] = {
        /* Adobe marker: stored values are inverted (255 = no ink), R = C*K/255 */
        {{200, 100, 50, 128}, 0, 0, 100, 50, 25},
        {{200, 100, 50, 255}, 0, 0, 200, 100, 50},
        {{255, 255, 255, 0}, 0, 0, 0, 0, 0},
        /* the same as YCCK (Adobe transform 2) */
        {{200, 100, 50, 128}, 0, 1, 100, 50, 25},
        /* no Adobe marker: stored values are ink, R = (255-C)(255-K)/255 */
        {{55, 155, 205, 0}, 1, 0, 200, 100, 50},
        {{0, 0, 0, 128}, 1, 0, 127, 127, 127},
        {{255, 0, 0, 0}, 1, 0, 0, 255, 255},
    };
    for (size_t i = 0; i < sizeof k / sizeof k[0]; i++) {
        ti_blob b = cmyk_jpeg(k[i].stored, k[i].no_adobe, k[i].ycck);
        dec_ok(&b, 0, 0, &out, NULL);
        assert_int_equal(out.w, 32);
        assert_int_equal(out.h, 16);
        for (uint32_t y = 0; y < 16; y += 5)
            for (uint32_t x = 0; x < 32; x += 7)
                expect_rgb(&out, x, y, k[i].r, k[i].g, k[i].b, 2);
        ti_blob_free(&b);
    }
    img_rgb_free(&out);
}

static void test_jpeg_progressive_and_scan_count(void **state)
{
    (void)state;
    img_rgb out = {0}, base = {0};
    img_decode_info info;
    uint8_t *px = ti_pixels(90, 70, 3, 3);
    ti_jpeg_opts o = {.quality = 92, .progressive = 1};
    ti_blob b = ti_jpeg(px, 90, 70, 3, &o);
    dec_ok(&b, 0, 0, &out, &info);
    assert_int_equal(out.w, 90);
    assert_int_equal(out.h, 70);
    assert_true(info.probe.progressive);
    assert_int_equal(info.scans, 10); /* jpeg_simple_progression for YCbCr */
    assert_true(psnr(px, out.px, (size_t)90 * 70 * 3) > 35.0);
    /* the same picture as a baseline file decodes to nearly the same pixels */
    o.progressive = 0;
    ti_blob bb = ti_jpeg(px, 90, 70, 3, &o);
    dec_ok(&bb, 0, 0, &base, &info);
    assert_int_equal(info.scans, 1);
    assert_true(psnr(base.px, out.px, (size_t)90 * 70 * 3) > 40.0);

    /* the scan limit is exact: 10 scans pass max_scans 10 and fail max_scans 9 */
    img_limits lim = deflim();
    lim.max_scans = 10;
    assert_int_equal(dec(&b, &lim, 0, 0, &out, &info), IMG_OK);
    lim.max_scans = 9;
    assert_int_equal(dec(&b, &lim, 0, 0, &out, &info), IMG_R_TOO_MANY_SCANS);
    assert_non_null(strstr(cc_errmsg(), "counted before decoding")); /* not libjpeg's count */

    /* an APP1 holding a whole JPEG (an EXIF thumbnail) adds no scans to the count */
    ti_blob thumb = ti_blob_copy("Exif\0\0", 6);
    ti_blob_append(&thumb, bb.p, bb.n);
    ti_jpeg_opts ot = {.quality = 92, .progressive = 1, .app1 = thumb.p, .app1_len = thumb.n};
    ti_blob bt = ti_jpeg(px, 90, 70, 3, &ot);
    lim.max_scans = 10;
    assert_int_equal(dec(&bt, &lim, 0, 0, &out, &info), IMG_OK);
    assert_int_equal(info.scans, 10);
    assert_int_equal(info.orientation, 1); /* no TIFF header: no orientation */
    lim.max_scans = 9; /* the thumbnail's EOI does not end the count either */
    assert_int_equal(dec(&bt, &lim, 0, 0, &out, &info), IMG_R_TOO_MANY_SCANS);
    assert_non_null(strstr(cc_errmsg(), "counted before decoding"));

    /* bytes after EOI are not read, even when they hold more scans (a second JPEG appended) */
    ti_blob two = ti_blob_copy(b.p, b.n);
    ti_blob_append(&two, b.p, b.n);
    lim.max_scans = 10;
    assert_int_equal(dec(&two, &lim, 0, 0, &out, &info), IMG_OK);
    assert_int_equal(info.scans, 10);
    ti_blob_free(&two);

    /* restart markers inside the entropy-coded data do not end a scan for the count */
    ti_jpeg_opts orst = {.quality = 92, .progressive = 1, .restart_rows = 1};
    ti_blob br = ti_jpeg(px, 90, 70, 3, &orst);
    assert_non_null(memmem(br.p, br.n, "\xff\xd0", 2));
    lim.max_scans = 9;
    assert_int_equal(dec(&br, &lim, 0, 0, &out, &info), IMG_R_TOO_MANY_SCANS);
    assert_non_null(strstr(cc_errmsg(), "counted before decoding"));
    lim.max_scans = 10;
    assert_int_equal(dec(&br, &lim, 0, 0, &out, &info), IMG_OK);
    assert_int_equal(info.scans, 10);
    assert_true(psnr(px, out.px, (size_t)90 * 70 * 3) > 35.0);
    ti_blob_free(&br);

    /* grey progressive: 6 scans */
    uint8_t *gp = ti_pixels(40, 40, 1, 4);
    ti_jpeg_opts og = {.progressive = 1};
    ti_blob bg = ti_jpeg(gp, 40, 40, 1, &og);
    dec_ok(&bg, 0, 0, &out, &info);
    assert_int_equal(info.scans, 6);
    free(gp);
    ti_blob_free(&bg);
    ti_blob_free(&bt);
    ti_blob_free(&thumb);
    ti_blob_free(&bb);
    ti_blob_free(&b);
    free(px);
    img_rgb_free(&out);
    img_rgb_free(&base);
}

/* Four quadrants of known colours: top-left red, top-right green, bottom-left blue,
 * bottom-right white. */
enum { QR, QG, QB, QW };
static const int qcol[4][3] = {{230, 20, 20}, {20, 230, 20}, {20, 20, 230}, {240, 240, 240}};

static uint8_t *quadrants(uint32_t w, uint32_t h)
{
    uint8_t *px = malloc((size_t)w * h * 3);
    assert_non_null(px);
    for (uint32_t y = 0; y < h; y++)
        for (uint32_t x = 0; x < w; x++) {
            int q = (y >= h / 2) * 2 + (x >= w / 2);
            for (int c = 0; c < 3; c++)
                px[((size_t)y * w + x) * 3 + c] = (uint8_t)qcol[q][c];
        }
    return px;
}

static void expect_corners(const img_rgb *im, const int want[4], int inset)
{
    uint32_t xs[4] = {(uint32_t)inset, im->w - 1 - inset, (uint32_t)inset, im->w - 1 - inset};
    uint32_t ys[4] = {(uint32_t)inset, (uint32_t)inset, im->h - 1 - inset, im->h - 1 - inset};
    for (int i = 0; i < 4; i++)
        expect_rgb(im, xs[i], ys[i], qcol[want[i]][0], qcol[want[i]][1], qcol[want[i]][2], 16);
}

/* Display pixel (x, y) of a stored w x h picture under EXIF orientation o, from the EXIF
 * definitions of where stored row 0 and column 0 go. */
static void ref_stored_xy(int o, uint32_t w, uint32_t h, uint32_t x, uint32_t y, uint32_t *sx,
                          uint32_t *sy)
{
    switch (o) {
    case 1:
        *sx = x, *sy = y;
        break;
    case 2:
        *sx = w - 1 - x, *sy = y;
        break; /* row 0 top, column 0 right */
    case 3:
        *sx = w - 1 - x, *sy = h - 1 - y;
        break; /* row 0 bottom, column 0 right */
    case 4:
        *sx = x, *sy = h - 1 - y;
        break; /* row 0 bottom, column 0 left */
    case 5:
        *sx = y, *sy = x;
        break; /* row 0 left, column 0 top */
    case 6:
        *sx = y, *sy = h - 1 - x;
        break; /* row 0 right, column 0 top */
    case 7:
        *sx = w - 1 - y, *sy = h - 1 - x;
        break; /* row 0 right, column 0 bottom */
    default:
        *sx = w - 1 - y, *sy = x;
        break; /* 8: row 0 left, column 0 bottom */
    }
}

static void test_jpeg_orientations(void **state)
{
    (void)state;
    /* Display corners (TL, TR, BL, BR) for each orientation of the quadrant picture. */
    static const int corners[9][4] = {
        {0},
        {QR, QG, QB, QW}, /* 1 */
        {QG, QR, QW, QB}, /* 2 mirrored */
        {QW, QB, QG, QR}, /* 3 rotated 180 */
        {QB, QW, QR, QG}, /* 4 flipped */
        {QR, QB, QG, QW}, /* 5 transposed */
        {QB, QR, QW, QG}, /* 6 rotated 90 clockwise */
        {QW, QG, QB, QR}, /* 7 transversed */
        {QG, QW, QR, QB}, /* 8 rotated 90 counter-clockwise */
    };
    img_rgb out = {0}, plain = {0};
    img_decode_info info;
    uint8_t *px = quadrants(64, 32);
    for (int le = 0; le < 2; le++)
        for (int o = 1; o <= 8; o++) {
            ti_jpeg_opts opt = {.quality = 95, .orientation = o, .exif_le = le};
            ti_blob b = ti_jpeg(px, 64, 32, 3, &opt);
            dec_ok(&b, 0, 0, &out, &info);
            assert_int_equal(info.orientation, o);
            assert_int_equal(out.w, o >= 5 ? 32 : 64);
            assert_int_equal(out.h, o >= 5 ? 64 : 32);
            assert_int_equal(info.width, out.w);
            assert_int_equal(info.height, out.h);
            assert_int_equal(info.probe.width, 64); /* the probe reports the stored size */
            expect_corners(&out, corners[o], 3);
            ti_blob_free(&b);
        }
    free(px);

    /* Pixel-exact against the EXIF definition: the same stored pixels (identical entropy data),
     * oriented by the decoder and by ref_stored_xy. 150 x 70 crosses the 64-pixel tiles. */
    uint32_t w = 150, h = 70;
    px = ti_pixels(w, h, 3, 9);
    ti_jpeg_opts op = {.quality = 80};
    ti_blob b = ti_jpeg(px, w, h, 3, &op);
    dec_ok(&b, 0, 0, &plain, &info);
    for (int o = 2; o <= 8; o++) {
        op.orientation = o;
        ti_blob bo = ti_jpeg(px, w, h, 3, &op);
        dec_ok(&bo, 0, 0, &out, &info);
        for (uint32_t y = 0; y < out.h; y++)
            for (uint32_t x = 0; x < out.w; x++) {
                uint32_t sx, sy;
                ref_stored_xy(o, w, h, x, y, &sx, &sy);
                if (memcmp(pix(&out, x, y), pix(&plain, sx, sy), 3) != 0)
                    fail_msg("orientation %d: pixel (%u,%u) is not stored (%u,%u)", o, x, y, sx,
                             sy);
            }
        ti_blob_free(&bo);
    }
    ti_blob_free(&b);
    free(px);
    img_rgb_free(&out);
    img_rgb_free(&plain);
}

/* A JPEG whose first APP1 is the given payload. */
static int orientation_of_app1(const uint8_t *app1, size_t n)
{
    uint8_t px[8 * 8 * 3] = {0};
    ti_jpeg_opts o = {.app1 = app1, .app1_len = n};
    ti_blob b = ti_jpeg(px, 8, 8, 3, &o);
    img_rgb out = {0};
    img_decode_info info;
    dec_ok(&b, 0, 0, &out, &info);
    ti_blob_free(&b);
    img_rgb_free(&out);
    return info.orientation;
}

static void test_jpeg_exif_malformed(void **state)
{
    (void)state;
    uint8_t e[44];
    ti_exif_payload(e, 6, 0);
    assert_int_equal(orientation_of_app1(e, 44), 6);
    ti_exif_payload(e, 8, 1);
    assert_int_equal(orientation_of_app1(e, 44), 8);
    ti_exif_payload(e, 9, 0); /* out of range */
    assert_int_equal(orientation_of_app1(e, 44), 1);
    ti_exif_payload(e, 0, 0);
    assert_int_equal(orientation_of_app1(e, 44), 1);
    ti_exif_payload(e, 6, 0);
    assert_int_equal(orientation_of_app1(e, 39), 1); /* the entry is cut off */
    assert_int_equal(orientation_of_app1(e, 40), 6); /* the value is in, next-IFD is not */
    ti_exif_payload(e, 6, 0);
    e[6 + 25] = 4; /* type LONG instead of SHORT */
    assert_int_equal(orientation_of_app1(e, 44), 1);
    ti_exif_payload(e, 6, 0);
    ti_put_be32(e + 6 + 4, 0xfffffff0u); /* IFD offset far past the segment */
    assert_int_equal(orientation_of_app1(e, 44), 1);
    ti_put_be32(e + 6 + 4, 37); /* IFD offset at the last two bytes */
    assert_int_equal(orientation_of_app1(e, 44), 1);
    ti_exif_payload(e, 6, 0);
    ti_put_be16(e + 6 + 8, 0xffff); /* entry count far past the segment */
    assert_int_equal(orientation_of_app1(e, 44), 6); /* the entries present are still read */
    ti_exif_payload(e, 6, 0);
    memcpy(e + 6, "IM*\0", 4); /* no byte order */
    assert_int_equal(orientation_of_app1(e, 44), 1);
    ti_exif_payload(e, 6, 0);
    memcpy(e, "Exig", 4); /* not EXIF */
    assert_int_equal(orientation_of_app1(e, 44), 1);
    assert_int_equal(orientation_of_app1(e, 3), 1);
}

static void test_jpeg_dct_scaling(void **state)
{
    (void)state;
    static const struct {
        uint32_t w, h;
        int orientation;
        uint32_t min_w, min_h;
        int m;
        uint32_t out_w, out_h;
    } k[] = {
        {800, 600, 1, 0, 0, 8, 800, 600}, /* no minimum: full size */
        {800, 600, 1, 200, 150, 2, 200, 150}, /* exactly 2/8 */
        {800, 600, 1, 201, 150, 4, 400, 300}, /* one pixel more: 4/8 (3/8 is not used) */
        {800, 600, 1, 100, 75, 1, 100, 75},
        {800, 600, 1, 1, 1, 1, 100, 75},
        {800, 600, 1, 400, 300, 4, 400, 300},
        {800, 600, 1, 401, 1, 8, 800, 600}, /* 5/8..7/8 are slower than 8/8: not used */
        {800, 600, 1, 799, 1, 8, 800, 600},
        {800, 600, 1, 5000, 5000, 8, 800, 600}, /* never upscaled */
        {800, 600, 1, 0, 300, 8, 800, 600}, /* one zero: no scaling */
        /* orientation 6 shows the 800 x 600 file as 600 x 800 */
        {800, 600, 6, 150, 200, 2, 150, 200},
        {800, 600, 6, 200, 150, 4, 300, 400},
        {800, 600, 8, 151, 1, 4, 300, 400},
        {800, 600, 5, 1, 401, 8, 600, 800},
        /* libjpeg rounds the scaled size up: 801 * 1/8 -> 101 */
        {801, 601, 1, 101, 76, 1, 101, 76},
        {801, 601, 1, 101, 77, 2, 201, 151},
    };
    img_rgb out = {0};
    img_decode_info info;
    for (size_t i = 0; i < sizeof k / sizeof k[0]; i++) {
        uint8_t *px = quadrants(k[i].w, k[i].h);
        ti_jpeg_opts o = {.quality = 90, .orientation = k[i].orientation};
        ti_blob b = ti_jpeg(px, k[i].w, k[i].h, 3, &o);
        dec_ok(&b, k[i].min_w, k[i].min_h, &out, &info);
        if (info.scale_num != k[i].m || out.w != k[i].out_w || out.h != k[i].out_h)
            fail_msg("case %zu: scale %d/8 %ux%u, expected %d/8 %ux%u", i, info.scale_num, out.w,
                     out.h, k[i].m, k[i].out_w, k[i].out_h);
        int o6 = k[i].orientation >= 5;
        assert_int_equal(info.width, o6 ? k[i].h : k[i].w); /* full size, oriented */
        assert_int_equal(info.height, o6 ? k[i].w : k[i].h);
        if (k[i].orientation == 1) {
            static const int q1[4] = {QR, QG, QB, QW};
            expect_corners(&out, q1, 2); /* the scaled picture is the same picture */
        }
        ti_blob_free(&b);
        free(px);
    }
    img_rgb_free(&out);
}

/* ---- PNG ----------------------------------------------------------------------------------- */

/* Decodes a PNG made from raw rows and compares every pixel with want (w*h*3). */
static void png_expect(const uint8_t *raw, uint32_t w, uint32_t h, const ti_png_opts *o,
                       const uint8_t *want)
{
    ti_blob b = ti_png(raw, w, h, o);
    img_rgb out = {0};
    img_decode_info info;
    dec_ok(&b, 0, 0, &out, &info);
    assert_int_equal(out.w, w);
    assert_int_equal(out.h, h);
    assert_int_equal(info.probe.format, IMG_FMT_PNG);
    assert_int_equal(info.probe.progressive, o->interlace);
    for (size_t i = 0; i < (size_t)w * h; i++)
        if (memcmp(out.px + 3 * i, want + 3 * i, 3) != 0)
            fail_msg("colour %d depth %d interlace %d: pixel %zu is (%d,%d,%d), expected "
                     "(%d,%d,%d)",
                     o->color, o->depth, o->interlace, i, out.px[3 * i], out.px[3 * i + 1],
                     out.px[3 * i + 2], want[3 * i], want[3 * i + 1], want[3 * i + 2]);
    img_rgb_free(&out);
    ti_blob_free(&b);
}

/* Writes a sample of `depth` bits at index i of a raw row (MSB first; 16-bit big-endian). */
static void put_sample(uint8_t *row, size_t i, int depth, unsigned v)
{
    if (depth == 16) {
        ti_put_be16(row + 2 * i, v);
    } else if (depth == 8) {
        row[i] = (uint8_t)v;
    } else {
        size_t bit = i * depth;
        row[bit / 8] |= (uint8_t)(v << (8 - depth - bit % 8));
    }
}

/* 16 -> 8 bits as PNG specifies (V * 255 / 65535, rounded). */
static unsigned to8(unsigned v16)
{
    return (v16 + 128) / 257;
}

static void test_png_grey_depths(void **state)
{
    (void)state;
    static const int depths[] = {1, 2, 4, 8, 16};
    for (int interlace = 0; interlace < 2; interlace++)
        for (size_t d = 0; d < 5; d++) {
            int depth = depths[d];
            uint32_t w = 37, h = 19;
            ti_png_opts o = {.color = PNG_COLOR_TYPE_GRAY, .depth = depth, .interlace = interlace};
            size_t rb = ti_png_rowbytes(w, &o);
            uint8_t *raw = calloc(rb * h, 1);
            uint8_t *want = malloc((size_t)w * h * 3);
            assert_true(raw && want);
            unsigned maxv = depth == 16 ? 65535 : (1u << depth) - 1;
            for (uint32_t y = 0; y < h; y++)
                for (uint32_t x = 0; x < w; x++) {
                    unsigned v =
                        depth == 16 ? (x * 1777 + y * 3119) & 0xffff : (x + 3 * y) % (maxv + 1);
                    put_sample(raw + y * rb, x, depth, v);
                    unsigned e = depth == 16 ? to8(v) : v * 255 / maxv;
                    memset(want + ((size_t)y * w + x) * 3, (int)e, 3);
                }
            png_expect(raw, w, h, &o, want);
            free(raw);
            free(want);
        }
    /* grey with a tRNS colour: that grey becomes white, the others stay */
    uint32_t w = 16, h = 4;
    uint8_t raw[64], want[64 * 3];
    for (int i = 0; i < 64; i++) {
        raw[i] = (uint8_t)(i * 4);
        memset(want + 3 * i, raw[i] == 40 ? 255 : raw[i], 3);
    }
    png_color_16 t = {.gray = 40};
    ti_png_opts o = {.color = PNG_COLOR_TYPE_GRAY, .depth = 8, .trns_color = &t};
    png_expect(raw, w, h, &o, want);
}

static void test_png_palette(void **state)
{
    (void)state;
    png_color pal[256];
    uint8_t alpha[200];
    for (int i = 0; i < 256; i++)
        pal[i] = (png_color){(png_byte)i, (png_byte)(255 - i), (png_byte)(i * 3)};
    for (int i = 0; i < 200; i++)
        alpha[i] = (uint8_t)(i * 37);
    static const int depths[] = {1, 2, 4, 8};
    for (int trns = 0; trns < 2; trns++)
        for (int interlace = 0; interlace < 2; interlace++)
            for (size_t d = 0; d < 4; d++) {
                int depth = depths[d];
                int np = 1 << depth;
                uint32_t w = 29, h = 13;
                ti_png_opts o = {.color = PNG_COLOR_TYPE_PALETTE,
                                 .depth = depth,
                                 .interlace = interlace,
                                 .palette = pal,
                                 .npalette = np,
                                 .trns = trns ? alpha : NULL,
                                 .ntrns = trns ? (np < 200 ? np - 1 : 200) : 0};
                size_t rb = ti_png_rowbytes(w, &o);
                uint8_t *raw = calloc(rb * h, 1);
                uint8_t *want = malloc((size_t)w * h * 3);
                assert_true(raw && want);
                for (uint32_t y = 0; y < h; y++)
                    for (uint32_t x = 0; x < w; x++) {
                        unsigned idx = (x * 13 + y * 7) % (unsigned)np;
                        put_sample(raw + y * rb, x, depth, idx);
                        /* entries past the tRNS list are opaque */
                        unsigned a = trns && (int)idx < o.ntrns ? alpha[idx] : 255;
                        uint8_t *q = want + ((size_t)y * w + x) * 3;
                        q[0] = over_white(pal[idx].red, a);
                        q[1] = over_white(pal[idx].green, a);
                        q[2] = over_white(pal[idx].blue, a);
                    }
                png_expect(raw, w, h, &o, want);
                free(raw);
                free(want);
            }
}

/* RGB, RGBA, grey+alpha at 8 and 16 bits, plain and interlaced; tRNS on RGB. */
static void test_png_colour_and_alpha(void **state)
{
    (void)state;
    static const int colors[] = {PNG_COLOR_TYPE_RGB, PNG_COLOR_TYPE_RGBA, PNG_COLOR_TYPE_GA};
    for (int interlace = 0; interlace < 2; interlace++)
        for (size_t c = 0; c < 3; c++)
            for (int depth = 8; depth <= 16; depth += 8) {
                uint32_t w = 33, h = 17;
                ti_png_opts o = {.color = colors[c], .depth = depth, .interlace = interlace};
                int ch = ti_png_channels(o.color);
                size_t rb = ti_png_rowbytes(w, &o);
                uint8_t *raw = calloc(rb * h, 1);
                uint8_t *want = malloc((size_t)w * h * 3);
                assert_true(raw && want);
                uint64_t s = 11;
                for (uint32_t y = 0; y < h; y++)
                    for (uint32_t x = 0; x < w; x++) {
                        unsigned v[4], v8[4];
                        for (int k = 0; k < ch; k++) {
                            v[k] = (unsigned)(ti_rng(&s) & (depth == 16 ? 0xffff : 0xff));
                            if (k == ch - 1 && (o.color != PNG_COLOR_TYPE_RGB) && x < 4)
                                v[k] = x == 0 ? 0 : x == 1 ? (depth == 16 ? 65535 : 255) : v[k];
                            put_sample(raw + y * rb, (size_t)x * ch + k, depth, v[k]);
                            v8[k] = depth == 16 ? to8(v[k]) : v[k];
                        }
                        uint8_t *q = want + ((size_t)y * w + x) * 3;
                        if (o.color == PNG_COLOR_TYPE_RGB) {
                            q[0] = (uint8_t)v8[0], q[1] = (uint8_t)v8[1], q[2] = (uint8_t)v8[2];
                        } else if (o.color == PNG_COLOR_TYPE_RGBA) {
                            for (int k = 0; k < 3; k++)
                                q[k] = over_white(v8[k], v8[3]);
                        } else {
                            memset(q, over_white(v8[0], v8[1]), 3);
                        }
                    }
                png_expect(raw, w, h, &o, want);
                free(raw);
                free(want);
            }

    /* hand-checked blends: black at alpha 128 is 127, any colour at alpha 0 is white */
    uint8_t raw[3 * 4] = {0, 0, 0, 128, 10, 200, 30, 0, 100, 50, 250, 255};
    uint8_t want[3 * 3] = {127, 127, 127, 255, 255, 255, 100, 50, 250};
    ti_png_opts o = {.color = PNG_COLOR_TYPE_RGBA, .depth = 8};
    png_expect(raw, 3, 1, &o, want);

    /* RGB with a tRNS colour */
    uint8_t rgb[4 * 3] = {1, 2, 3, 4, 5, 6, 1, 2, 3, 9, 9, 9};
    uint8_t want2[4 * 3] = {255, 255, 255, 4, 5, 6, 255, 255, 255, 9, 9, 9};
    png_color_16 t = {.red = 1, .green = 2, .blue = 3};
    ti_png_opts o2 = {.color = PNG_COLOR_TYPE_RGB, .depth = 8, .trns_color = &t};
    png_expect(rgb, 2, 2, &o2, want2);

    /* interlaced images smaller than the Adam7 block: some passes are empty */
    for (uint32_t w = 1; w <= 3; w++) {
        uint8_t r[3 * 3 * 3];
        for (int i = 0; i < 27; i++)
            r[i] = (uint8_t)(i * 9 + w);
        ti_png_opts oi = {.color = PNG_COLOR_TYPE_RGB, .depth = 8, .interlace = 1};
        png_expect(r, w, 3, &oi, r);
    }
}

/* Ancillary chunks are skipped; a bad CRC on one, or a broken ICC profile, does not reject. */
static void test_png_ancillary_and_warnings(void **state)
{
    (void)state;
    uint32_t w = 8, h = 4;
    uint8_t filtered[4 * 9];
    uint8_t want[8 * 4 * 3];
    for (uint32_t y = 0; y < h; y++) {
        filtered[y * 9] = 0;
        for (uint32_t x = 0; x < w; x++) {
            filtered[y * 9 + 1 + x] = (uint8_t)(x * 30 + y);
            memset(want + (y * w + x) * 3, x * 30 + y, 3);
        }
    }
    ti_blob extra = {NULL, 0};
    ti_png_chunk(&extra, "tEXt", "Comment\0hello", 13);
    extra.p[extra.n - 1] ^= 1; /* bad CRC */
    ti_png_chunk(&extra, "iCCP", "x\0\0\x78\x9c\x01\x02\x03", 8); /* broken profile */
    ti_png_chunk(&extra, "gAMA", "\0\0\0\0", 4); /* gamma 0 is invalid */
    ti_png_chunk(&extra, "prVt", "anything", 8); /* unknown, private, ancillary */
    ti_blob b = ti_png_build(w, h, 8, PNG_COLOR_TYPE_GRAY, filtered, sizeof filtered, &extra);
    img_rgb out = {0};
    dec_ok(&b, 0, 0, &out, NULL);
    assert_memory_equal(out.px, want, sizeof want);
    ti_blob_free(&b);

    /* a tRNS longer than the palette: libpng drops it with a warning about that ancillary chunk,
     * which is not fatal; the pixels are the opaque palette colours */
    png_color pal[4] = {{1, 2, 3}, {4, 5, 6}, {7, 8, 9}, {10, 11, 12}};
    ti_blob pe = {NULL, 0};
    ti_png_chunk(&pe, "PLTE", pal, sizeof pal);
    ti_png_chunk(&pe, "tRNS", "\1\2\3\4\5\6\7\10\11\12", 10);
    static const uint8_t idx[2 * 3] = {0, 0, 1, 0, 2, 3};
    b = ti_png_build(2, 2, 8, PNG_COLOR_TYPE_PALETTE, idx, sizeof idx, &pe);
    dec_ok(&b, 0, 0, &out, NULL);
    assert_memory_equal(out.px, "\1\2\3\4\5\6\7\10\11\12\13\14", 12);
    ti_blob_free(&b);
    ti_blob_free(&pe);

    /* an unknown critical chunk is an error */
    ti_blob crit = {NULL, 0};
    ti_png_chunk(&crit, "CRIT", "x", 1);
    b = ti_png_build(w, h, 8, PNG_COLOR_TYPE_GRAY, filtered, sizeof filtered, &crit);
    img_limits lim = deflim();
    expect_reason(&b, &lim, IMG_R_UNDECODABLE);
    ti_blob_free(&b);
    ti_blob_free(&crit);

    /* more image data than the image: a warning, fatal only when warnings are */
    uint8_t more[5 * 9] = {0};
    memcpy(more, filtered, sizeof filtered);
    b = ti_png_build(w, h, 8, PNG_COLOR_TYPE_GRAY, more, sizeof more, NULL);
    expect_reason(&b, &lim, IMG_R_UNDECODABLE);
    assert_non_null(strstr(cc_errmsg(), "PNG warning"));
    lim.warnings_fatal = 0;
    assert_int_equal(dec(&b, &lim, 0, 0, &out, NULL), IMG_OK);
    assert_memory_equal(out.px, want, sizeof want);
    ti_blob_free(&b);

    /* less image data than the image: an error either way */
    b = ti_png_build(w, h, 8, PNG_COLOR_TYPE_GRAY, filtered, 3 * 9, NULL);
    expect_reason(&b, &lim, IMG_R_UNDECODABLE);
    ti_blob_free(&b);
    ti_blob_free(&extra);
    img_rgb_free(&out);
}

/* ---- WebP ---------------------------------------------------------------------------------- */

static void test_webp(void **state)
{
    (void)state;
    img_rgb out = {0};
    img_decode_info info;
    uint32_t w = 61, h = 37;
    uint8_t *rgb = ti_pixels(w, h, 3, 21);
    uint8_t *rgba = ti_pixels(w, h, 4, 22);
    uint8_t *want = malloc((size_t)w * h * 3);
    assert_non_null(want);
    for (size_t i = 0; i < (size_t)w * h; i++) {
        if (i % 7 == 0)
            rgba[4 * i + 3] = 0; /* fully transparent */
        else if (i % 7 == 1)
            rgba[4 * i + 3] = 255;
        for (int k = 0; k < 3; k++)
            want[3 * i + k] = over_white(rgba[4 * i + k], rgba[4 * i + 3]);
    }

    ti_blob b = ti_webp(rgb, w, h, 0, 1, 0); /* lossless: exact */
    dec_ok(&b, 0, 0, &out, &info);
    assert_int_equal(info.probe.format, IMG_FMT_WEBP);
    assert_int_equal(out.w, w);
    assert_int_equal(out.h, h);
    assert_memory_equal(out.px, rgb, (size_t)w * h * 3);
    assert_int_equal(info.scale_num, 8);
    ti_blob_free(&b);

    b = ti_webp(rgba, w, h, 1, 1, 0); /* lossless with alpha: exact blend over white */
    dec_ok(&b, 0, 0, &out, &info);
    assert_true(info.probe.has_alpha);
    assert_memory_equal(out.px, want, (size_t)w * h * 3);
    ti_blob_free(&b);

    b = ti_webp(rgb, w, h, 0, 0, 90); /* lossy */
    dec_ok(&b, 0, 0, &out, &info);
    assert_int_equal(out.w, w);
    assert_true(psnr(out.px, rgb, (size_t)w * h * 3) > 30.0);
    ti_blob_free(&b);

    b = ti_webp(rgba, w, h, 1, 0, 90); /* lossy with (lossless) alpha */
    dec_ok(&b, 0, 0, &out, &info);
    for (size_t i = 0; i < (size_t)w * h; i += 7) /* transparent pixels are white */
        assert_memory_equal(out.px + 3 * i, "\xff\xff\xff", 3);
    assert_true(psnr(out.px, want, (size_t)w * h * 3) > 25.0);

    /* cut short: truncated */
    ti_blob cut = ti_blob_copy(b.p, b.n * 2 / 3);
    img_limits lim = deflim();
    expect_reason(&cut, &lim, IMG_R_TRUNCATED);
    ti_blob_free(&cut);
    ti_blob_free(&b);

    /* animated: refused before decoding */
    b = ti_webp_animated();
    expect_reason(&b, &lim, IMG_R_ANIMATED);
    img_reason r;
    assert_int_equal(img_decode(b.p, b.n, &lim, 0, 0, &out, NULL, &r), CC_E_UNSUPPORTED);
    ti_blob_free(&b);
    free(rgb);
    free(rgba);
    free(want);
    img_rgb_free(&out);
}

/* ---- real photos, round trip, reuse -------------------------------------------------------- */

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static void test_real_photos(void **state)
{
    (void)state;
    DIR *dir = opendir(PHOTO_DIR);
    if (dir == NULL) {
        print_message("%s missing (ops/deps.sh installs mate-backgrounds): skipped\n", PHOTO_DIR);
        skip();
    }
    img_rgb out = {0}, small = {0};
    int count = 0;
    double ms_full = 0, ms_scaled = 0, mpx = 0;
    struct dirent *de;
    while ((de = readdir(dir)) != NULL) {
        size_t nl = strlen(de->d_name);
        if (nl < 5 || strcmp(de->d_name + nl - 4, ".jpg") != 0)
            continue;
        char path[512];
        assert_int_equal(cc_path_join(path, sizeof path, PHOTO_DIR, de->d_name), CC_OK);
        cc_buf buf;
        cc_buf_init(&buf, 32u << 20);
        assert_int_equal(cc_read_file(path, &buf), CC_OK);
        ti_blob b = ti_blob_copy(buf.data, buf.len);
        cc_buf_free(&buf);
        img_probe pr;
        assert_int_equal(img_probe_bytes(b.p, b.n, &pr), CC_OK);
        img_decode_info info;
        double t0 = now_ms();
        dec_ok(&b, 0, 0, &out, &info);
        double t1 = now_ms();
        assert_int_equal(info.orientation, 1); /* these photos are all upright */
        assert_int_equal(out.w, pr.width);
        assert_int_equal(out.h, pr.height);
        /* a photo is not flat: its pixels vary */
        unsigned lo = 255, hi = 0;
        for (size_t i = 0; i < (size_t)out.w * out.h * 3; i += 997) {
            lo = out.px[i] < lo ? out.px[i] : lo;
            hi = out.px[i] > hi ? out.px[i] : hi;
        }
        assert_true(hi - lo > 64);
        /* scaled for a 256 x 256 target: smaller, still covering it, and the same picture */
        dec_ok(&b, 256, 256, &small, &info);
        double t2 = now_ms();
        assert_true(info.scale_num < 8);
        assert_true(small.w >= 256 && small.h >= 256);
        assert_true(small.w < out.w);
        /* the centre pixel agrees, allowing for detail lost */
        const uint8_t *a = pix(&out, out.w / 2, out.h / 2);
        const uint8_t *c = pix(&small, small.w / 2, small.h / 2);
        assert_true(abs(a[0] - c[0]) < 80 && abs(a[1] - c[1]) < 80 && abs(a[2] - c[2]) < 80);
        ms_full += t1 - t0;
        ms_scaled += t2 - t1;
        mpx += (double)out.w * out.h / 1e6;
        count++;
        ti_blob_free(&b);
    }
    closedir(dir);
    assert_true(count >= 1);
    print_message("%d photos, %.1f MP: full decode %.1f ms (%.1f ms/MP), scaled to >= 256 %.1f "
                  "ms\n",
                  count, mpx, ms_full, ms_full / mpx, ms_scaled);
    img_rgb_free(&out);
    img_rgb_free(&small);
}

static void test_encode_roundtrip(void **state)
{
    (void)state;
    uint32_t w = 256, h = 192;
    img_rgb im = {0}, back = {0};
    assert_int_equal(img_rgb_alloc(&im, w, h, 0), CC_OK);
    uint8_t *px = ti_pixels(w, h, 3, 5);
    memcpy(im.px, px, (size_t)w * h * 3);
    free(px);
    cc_buf buf;
    cc_buf_init(&buf, 1u << 20);
    assert_int_equal(cc_buf_append(&buf, "abc", 3), CC_OK);
    assert_int_equal(img_encode_jpeg(&im, 90, &buf), CC_OK);
    assert_memory_equal(buf.data, "abc\xff\xd8\xff", 6); /* appended after what was there */
    assert_memory_equal(buf.data + buf.len - 2, "\xff\xd9", 2);
    ti_blob b = ti_blob_copy(buf.data + 3, buf.len - 3);
    img_decode_info info;
    dec_ok(&b, 0, 0, &back, &info);
    assert_int_equal(back.w, w);
    assert_int_equal(back.h, h);
    assert_false(info.probe.progressive);
    double q90 = psnr(im.px, back.px, (size_t)w * h * 3);
    assert_true(q90 > 35.0);
    ti_blob_free(&b);

    /* lower quality: smaller and worse */
    size_t n90 = buf.len - 3;
    cc_buf_reset(&buf);
    assert_int_equal(img_encode_jpeg(&im, 30, &buf), CC_OK);
    assert_true(buf.len < n90);
    b = ti_blob_copy(buf.data, buf.len);
    dec_ok(&b, 0, 0, &back, &info);
    assert_true(psnr(im.px, back.px, (size_t)w * h * 3) < q90);
    ti_blob_free(&b);

    /* 4:2:0: the frame header gives luma 2x2 sampling, chroma 1x1 */
    size_t sof = ti_jpeg_find_sof(&(ti_blob){buf.data, buf.len});
    assert_int_equal(buf.data[sof + 1], 0xc0); /* baseline */
    assert_int_equal(buf.data[sof + 9], 3);
    assert_int_equal(buf.data[sof + 11], 0x22);
    assert_int_equal(buf.data[sof + 14], 0x11);
    assert_int_equal(buf.data[sof + 17], 0x11);

    /* a real photo, decoded at 1/4 and re-encoded */
    cc_buf file;
    cc_buf_init(&file, 32u << 20);
    if (cc_read_file(PHOTO_DIR "/Garden.jpg", &file) == CC_OK) {
        ti_blob pb = ti_blob_copy(file.data, file.len);
        img_rgb photo = {0};
        dec_ok(&pb, 600, 400, &photo, &info);
        cc_buf_reset(&buf);
        assert_int_equal(img_encode_jpeg(&photo, 90, &buf), CC_OK);
        ti_blob eb = ti_blob_copy(buf.data, buf.len);
        dec_ok(&eb, 0, 0, &back, &info);
        assert_int_equal(back.w, photo.w);
        assert_true(psnr(photo.px, back.px, (size_t)photo.w * photo.h * 3) > 35.0);
        ti_blob_free(&eb);
        ti_blob_free(&pb);
        img_rgb_free(&photo);
    }
    cc_buf_free(&file);

    /* errors leave the buffer as it was */
    cc_buf_reset(&buf);
    assert_int_equal(cc_buf_append(&buf, "xy", 2), CC_OK);
    assert_int_equal(img_encode_jpeg(&im, 0, &buf), CC_E_INVAL);
    assert_int_equal(img_encode_jpeg(&im, 101, &buf), CC_E_INVAL);
    img_rgb empty = {0};
    assert_int_equal(img_encode_jpeg(&empty, 90, &buf), CC_E_INVAL);
    assert_int_equal(img_encode_jpeg(NULL, 90, &buf), CC_E_INVAL);
    assert_int_equal(buf.len, 2);
    cc_buf small;
    cc_buf_init(&small, 1000); /* too small for the picture */
    assert_int_equal(cc_buf_append(&small, "xy", 2), CC_OK);
    assert_int_equal(img_encode_jpeg(&im, 90, &small), CC_E_LIMIT);
    assert_int_equal(small.len, 2);
    assert_memory_equal(small.data, "xy", 2);
    assert_non_null(strstr(cc_errmsg(), "maximum"));
    /* the same buffer works for a picture that fits, and grows in more than one step */
    img_rgb tiny = {0};
    assert_int_equal(img_rgb_alloc(&tiny, 8, 8, 0), CC_OK);
    memset(tiny.px, 200, 8 * 8 * 3);
    assert_int_equal(img_encode_jpeg(&tiny, 75, &small), CC_OK);
    assert_true(small.len > 100 && small.len <= 1000);
    cc_buf big;
    cc_buf_init(&big, 64u << 20);
    img_rgb noisy = {0};
    assert_int_equal(img_rgb_alloc(&noisy, 700, 500, 0), CC_OK);
    uint64_t s = 3;
    for (size_t i = 0; i < (size_t)700 * 500 * 3; i++)
        noisy.px[i] = (uint8_t)ti_rng(&s); /* noise at q100 outgrows the first reservation */
    assert_int_equal(img_encode_jpeg(&noisy, 100, &big), CC_OK);
    assert_true(big.len > (size_t)700 * 500 * 3 / 4);
    b = ti_blob_copy(big.data, big.len);
    dec_ok(&b, 0, 0, &back, &info);
    /* noise loses its chroma to 4:2:0, but its luma survives quality 100 */
    uint8_t *ya = malloc((size_t)700 * 500), *yb = malloc((size_t)700 * 500);
    assert_true(ya && yb);
    for (size_t i = 0; i < (size_t)700 * 500; i++) {
        const uint8_t *p = noisy.px + 3 * i, *q = back.px + 3 * i;
        ya[i] = (uint8_t)((77 * p[0] + 150 * p[1] + 29 * p[2]) >> 8);
        yb[i] = (uint8_t)((77 * q[0] + 150 * q[1] + 29 * q[2]) >> 8);
    }
    assert_true(psnr(ya, yb, (size_t)700 * 500) > 35.0);
    free(ya);
    free(yb);
    ti_blob_free(&b);
    cc_buf_free(&big);
    img_rgb_free(&noisy);
    img_rgb_free(&tiny);
    cc_buf_free(&small);
    cc_buf_free(&buf);
    img_rgb_free(&im);
    img_rgb_free(&back);
}

/* One img_rgb serves many decodes: the allocation is kept when large enough. */
static void test_output_reuse(void **state)
{
    (void)state;
    img_rgb out = {0};
    uint8_t *px = ti_pixels(100, 80, 3, 8);
    ti_blob big = ti_jpeg(px, 100, 80, 3, NULL);
    ti_blob small = ti_jpeg(px, 40, 30, 3, NULL); /* the first 40*30 pixels, rewrapped */
    dec_ok(&big, 0, 0, &out, NULL);
    uint8_t *first = out.px;
    size_t cap = out.cap;
    dec_ok(&small, 0, 0, &out, NULL);
    assert_ptr_equal(out.px, first);
    assert_int_equal(out.cap, cap);
    assert_int_equal(out.w, 40);
    ti_blob png = ti_png(px, 20, 10, &(ti_png_opts){.color = PNG_COLOR_TYPE_RGB, .depth = 8});
    dec_ok(&png, 0, 0, &out, NULL);
    assert_ptr_equal(out.px, first);
    assert_memory_equal(out.px, px, 20 * 3); /* PNG is lossless */
    ti_blob_free(&png);
    ti_blob_free(&small);
    ti_blob_free(&big);
    free(px);
    img_rgb_free(&out);
}

/* ---- rejections ---------------------------------------------------------------------------- */

static void test_rejects(void **state)
{
    (void)state;
    img_limits lim = deflim();
    img_rgb out = {0};
    img_reason r;

    /* empty */
    assert_int_equal(img_decode(NULL, 0, &lim, 0, 0, &out, NULL, &r), CC_E_FORMAT);
    assert_int_equal(r, IMG_R_EMPTY);
    assert_int_equal(img_decode("", 0, &lim, 0, 0, &out, NULL, &r), CC_E_FORMAT);
    assert_int_equal(r, IMG_R_EMPTY);
    assert_int_equal(img_decode(NULL, 5, &lim, 0, 0, &out, NULL, &r), CC_E_INVAL);
    assert_true(r != IMG_OK);

    uint8_t *px = ti_pixels(64, 48, 3, 10);
    ti_blob j = ti_jpeg(px, 64, 48, 3, NULL);

    /* too large: the byte limit is inclusive */
    lim.max_bytes = j.n - 1;
    expect_reason(&j, &lim, IMG_R_TOO_LARGE);
    lim.max_bytes = j.n;
    expect_reason(&j, &lim, IMG_OK);
    lim = deflim();

    /* other formats */
    ti_blob gif = ti_blob_copy("GIF89a\x10\0\x10\0\x80\0\0", 13);
    expect_reason(&gif, &lim, IMG_R_UNSUPPORTED);
    assert_non_null(strstr(cc_errmsg(), "GIF"));
    ti_blob html = ti_blob_copy("<!doctype html><html></html>", 28);
    expect_reason(&html, &lim, IMG_R_UNSUPPORTED);

    /* garbage after the SOI */
    uint8_t g[600];
    uint64_t s = 99;
    for (size_t i = 0; i < sizeof g; i++)
        g[i] = (uint8_t)(ti_rng(&s) % 0xff); /* no 0xFF... */
    g[0] = 0xff, g[1] = 0xd8, g[2] = 0xff, g[3] = 0xe0; /* ...but an APP0 of garbage length */
    ti_blob garbage = ti_blob_copy(g, sizeof g);
    expect_reason(&garbage, &lim, IMG_R_UNDECODABLE);
    /* valid headers, then garbage instead of the entropy-coded data */
    size_t ss, se;
    assert_true(ti_jpeg_find_sos(&j, 0, &ss, &se));
    ti_blob jg = ti_blob_copy(j.p, j.n);
    size_t hdr_end = ti_jpeg_segment_end(&jg, ss);
    for (size_t i = hdr_end; i < se; i++)
        jg.p[i] = (uint8_t)(ti_rng(&s) % 0xff); /* never 0xFF: no markers inside */
    expect_reason(&jg, &lim, IMG_R_UNDECODABLE);
    assert_non_null(strstr(cc_errmsg(), "JPEG"));

    /* PNG: a corrupt IHDR CRC; a corrupt IDAT CRC */
    ti_blob p = ti_png(px, 64, 48, &(ti_png_opts){.color = PNG_COLOR_TYPE_RGB, .depth = 8});
    ti_blob pc = ti_blob_copy(p.p, p.n);
    pc.p[29] ^= 0x40;
    expect_reason(&pc, &lim, IMG_R_UNDECODABLE);
    assert_non_null(strstr(cc_errmsg(), "CRC"));
    memcpy(pc.p, p.p, p.n);
    size_t idat = 33;
    while (memcmp(pc.p + idat + 4, "IDAT", 4) != 0)
        idat += 12 + ((size_t)pc.p[idat] << 24 | pc.p[idat + 1] << 16 | pc.p[idat + 2] << 8 |
                      pc.p[idat + 3]);
    size_t idat_len = (size_t)pc.p[idat + 2] << 8 | pc.p[idat + 3];
    pc.p[idat + 8 + idat_len] ^= 1; /* first CRC byte */
    expect_reason(&pc, &lim, IMG_R_UNDECODABLE);

    /* truncated */
    ti_blob jt = ti_blob_copy(j.p, j.n * 3 / 4);
    expect_reason(&jt, &lim, IMG_R_TRUNCATED);
    assert_non_null(strstr(cc_errmsg(), "Premature end"));
    ti_blob pt = ti_blob_copy(p.p, p.n - 30);
    expect_reason(&pt, &lim, IMG_R_TRUNCATED);
    assert_non_null(strstr(cc_errmsg(), "end of data"));

    /* pixel and side limits, inclusive, for each format */
    ti_blob w = ti_webp(px, 64, 48, 0, 1, 0);
    const ti_blob *all[3] = {&j, &p, &w};
    for (int i = 0; i < 3; i++) {
        lim = deflim();
        lim.max_pixels = 64 * 48 - 1;
        expect_reason(all[i], &lim, IMG_R_TOO_MANY_PIXELS);
        lim.max_pixels = 64 * 48;
        expect_reason(all[i], &lim, IMG_OK);
        lim.max_side = 63;
        expect_reason(all[i], &lim, IMG_R_TOO_WIDE);
        lim.max_side = 64;
        expect_reason(all[i], &lim, IMG_OK);
        /* our own pixel buffer counts against max_memory */
        lim.max_memory = 64 * 48 * 3 - 1;
        expect_reason(all[i], &lim, IMG_R_MEMORY);
        lim.max_memory = 64 * 48 * 3;
        expect_reason(all[i], &lim, IMG_OK);
    }
    /* tall images: the height counts against max_side too */
    ti_blob tall = ti_jpeg(px, 16, 192, 3, NULL);
    lim = deflim();
    lim.max_side = 191;
    expect_reason(&tall, &lim, IMG_R_TOO_WIDE);

    /* an EXIF-oriented JPEG holds the stored and the turned picture: 6 bytes a pixel */
    ti_blob rot = ti_jpeg(px, 64, 48, 3, &(ti_jpeg_opts){.orientation = 6});
    lim = deflim();
    lim.max_memory = 64 * 48 * 6 - 1;
    expect_reason(&rot, &lim, IMG_R_MEMORY);
    lim.max_memory = 64 * 48 * 6;
    expect_reason(&rot, &lim, IMG_OK);
    ti_blob_free(&rot);

    /* RGBA needs 4 bytes a pixel while decoding */
    uint8_t *px4 = ti_pixels(64, 48, 4, 12);
    ti_blob p4 = ti_png(px4, 64, 48, &(ti_png_opts){.color = PNG_COLOR_TYPE_RGBA, .depth = 8});
    lim = deflim();
    lim.max_memory = 64 * 48 * 3;
    expect_reason(&p4, &lim, IMG_R_MEMORY);
    lim.max_memory = 64 * 48 * 4;
    expect_reason(&p4, &lim, IMG_OK);
    free(px4);

    /* libjpeg's own memory: a progressive file keeps all its coefficients (about 6 bytes a
     * pixel for 4:2:0), more than 1 MiB here even when the output is scaled to 1/8 */
    uint8_t *bigpx = ti_pixels(1024, 1024, 3, 13);
    ti_blob prog = ti_jpeg(bigpx, 1024, 1024, 3, &(ti_jpeg_opts){.progressive = 1});
    free(bigpx);
    lim = deflim();
    lim.max_memory = 1u << 20;
    assert_int_equal(dec(&prog, &lim, 128, 128, &out, NULL), IMG_R_MEMORY);
    assert_non_null(strstr(cc_errmsg(), "Backing store"));
    lim.max_memory = 8u << 20;
    img_decode_info info;
    assert_int_equal(dec(&prog, &lim, 128, 128, &out, &info), IMG_OK);
    assert_int_equal(out.w, 128);
    assert_int_equal(info.scale_num, 1);

    ti_blob *blobs[] = {&j, &gif, &html, &garbage, &jg, &p, &pc, &jt, &pt, &w, &tall, &p4, &prog};
    for (size_t i = 0; i < sizeof blobs / sizeof blobs[0]; i++)
        ti_blob_free(blobs[i]);
    free(px);
    img_rgb_free(&out);
}

/* A truncated JPEG with warnings not fatal decodes the part present; the rest is grey. */
static void test_jpeg_truncated_lenient(void **state)
{
    (void)state;
    uint8_t *px = ti_pixels(64, 64, 3, 14);
    ti_blob j = ti_jpeg(px, 64, 64, 3, &(ti_jpeg_opts){.quality = 95});
    size_t ss, se;
    assert_true(ti_jpeg_find_sos(&j, 0, &ss, &se));
    ti_blob cut = ti_blob_copy(j.p, ss + (se - ss) / 2);
    img_limits lim = deflim();
    expect_reason(&cut, &lim, IMG_R_TRUNCATED);
    lim.warnings_fatal = 0;
    img_rgb out = {0};
    assert_int_equal(dec(&cut, &lim, 0, 0, &out, NULL), IMG_OK);
    assert_int_equal(out.w, 64);
    assert_int_equal(out.h, 64);
    expect_rgb(&out, 1, 1, px[3 + 64 * 3], px[4 + 64 * 3], px[5 + 64 * 3], 12);
    expect_rgb(&out, 40, 63, 128, 128, 128, 2);
    free(px);
    ti_blob_free(&cut);
    ti_blob_free(&j);
    img_rgb_free(&out);
}

/* ---- attack files -------------------------------------------------------------------------- */

static void test_attack_png_bomb(void **state)
{
    (void)state;
    /* The builder makes real PNGs: a 2000 x 2000 one decodes to black. */
    ti_blob small = ti_png_bomb(2000, 2000);
    img_rgb out = {0};
    dec_ok(&small, 0, 0, &out, NULL);
    assert_int_equal(out.w, 2000);
    for (size_t i = 0; i < (size_t)2000 * 2000 * 3; i += 4099)
        assert_int_equal(out.px[i], 0);
    ti_blob_free(&small);
    img_rgb_free(&out);

    /* 20000 x 20000 = 400 MP of zeros in a few hundred KiB: refused from the header, with no
     * pixel memory allocated and nothing inflated. */
    ti_blob bomb = ti_png_bomb(20000, 20000);
    assert_true(bomb.n < (1u << 20));
    img_limits lim = deflim();
    img_decode_info info;
    double t0 = now_ms();
    assert_int_equal(dec(&bomb, &lim, 0, 0, &out, &info), IMG_R_TOO_MANY_PIXELS);
    double t1 = now_ms();
    assert_null(out.px);
    assert_int_equal(info.probe.width, 20000);
    assert_non_null(strstr(cc_errmsg(), "max_pixels"));
    /* with the pixel limit lifted, max_memory still refuses it before inflating */
    lim.max_pixels = UINT64_MAX;
    lim.max_memory = 64u << 20;
    assert_int_equal(dec(&bomb, &lim, 0, 0, &out, NULL), IMG_R_MEMORY);
    assert_null(out.px);
    print_message("PNG bomb (%zu bytes, 400 MP) refused in %.3f ms\n", bomb.n, t1 - t0);
    ti_blob_free(&bomb);
}

static void test_attack_jpeg_huge_sof(void **state)
{
    (void)state;
    uint8_t *px = ti_pixels(32, 32, 3, 15);
    ti_blob j = ti_jpeg(px, 32, 32, 3, NULL);
    free(px);
    ti_blob huge = ti_jpeg_set_size(&j, 60000, 60000);
    img_limits lim = deflim();
    img_rgb out = {0};
    img_decode_info info;
    assert_int_equal(dec(&huge, &lim, 0, 0, &out, &info), IMG_R_TOO_WIDE);
    assert_int_equal(info.probe.width, 60000);
    lim.max_side = 65535;
    assert_int_equal(dec(&huge, &lim, 0, 0, &out, &info), IMG_R_TOO_MANY_PIXELS);
    lim.max_pixels = UINT64_MAX;
    assert_int_equal(dec(&huge, &lim, 0, 0, &out, &info), IMG_R_MEMORY);
    assert_null(out.px);
    /* a huge width with a small height passes the limits; its data ends at EOI long before the
     * picture does ("premature end of data segment"), which is corrupt data */
    ti_blob wide = ti_jpeg_set_size(&j, 60000, 16);
    assert_int_equal(dec(&wide, &lim, 0, 0, &out, &info), IMG_R_UNDECODABLE);
    assert_non_null(strstr(cc_errmsg(), "premature end of data segment"));
    ti_blob_free(&wide);
    ti_blob_free(&huge);
    ti_blob_free(&j);
    img_rgb_free(&out);
}

static void test_attack_jpeg_many_scans(void **state)
{
    (void)state;
    uint8_t *px = ti_pixels(48, 48, 3, 16);
    ti_blob j = ti_jpeg(px, 48, 48, 3, &(ti_jpeg_opts){.progressive = 1});
    free(px);
    ti_blob many = ti_jpeg_repeat_scan(&j, 5000);
    assert_true(many.n > 5000 * 10);
    img_limits lim = deflim();
    img_rgb out = {0};
    double t0 = now_ms();
    assert_int_equal(dec(&many, &lim, 0, 0, &out, NULL), IMG_R_TOO_MANY_SCANS);
    double t1 = now_ms();
    assert_null(out.px); /* refused before libjpeg ran */
    /* the limit applies however lenient the rest is */
    lim.warnings_fatal = 0;
    assert_int_equal(dec(&many, &lim, 0, 0, &out, NULL), IMG_R_TOO_MANY_SCANS);
    print_message("JPEG with 5010 scans (%zu bytes) refused in %.3f ms\n", many.n, t1 - t0);
    ti_blob_free(&many);
    /* 50 repeats stay under the limit of 100 and decode once warnings are not fatal (libjpeg
     * warns about the repeated progression) */
    ti_blob some = ti_jpeg_repeat_scan(&j, 50);
    img_decode_info info;
    assert_int_equal(dec(&some, &lim, 0, 0, &out, &info), IMG_OK);
    assert_int_equal(info.scans, 60);
    lim.warnings_fatal = 1;
    assert_int_equal(dec(&some, &lim, 0, 0, &out, &info), IMG_R_UNDECODABLE);
    ti_blob_free(&some);
    ti_blob_free(&j);
    img_rgb_free(&out);
}

/* ---- every truncation, many corruptions ---------------------------------------------------- */

/* Every prefix: the whole file succeeds, every strict prefix fails; once the probe can read the
 * header, the reason is "truncated". full_from: the shortest prefix that decodes (the whole file
 * for JPEG, which is read up to EOI; the end of the last IDAT for PNG). */
static void check_prefixes(const ti_blob *b, size_t full_from)
{
    img_limits lim = deflim();
    img_limits lenient = lim;
    lenient.warnings_fatal = 0;
    img_rgb out = {0};
    img_decode_info info;
    dec_ok(b, 0, 0, &out, &info);
    uint32_t full_w = out.w, full_h = out.h; /* after orientation */
    for (size_t n = 0; n <= b->n; n++) {
        img_reason r = dec_bytes(b->p, n, &lim, 0, 0, &out, &info);
        img_probe pn;
        int header_ok = n > 0 && img_probe_bytes(b->p, n, &pn) == CC_OK;
        if (n >= full_from) {
            if (r != IMG_OK)
                fail_msg("prefix %zu of %zu: %s (%s)", n, b->n, img_reason_name(r), cc_errmsg());
            assert_int_equal(out.w, full_w);
            assert_int_equal(out.h, full_h);
        } else if (header_ok) {
            if (r != IMG_R_TRUNCATED)
                fail_msg("prefix %zu of %zu: %s (%s)", n, b->n, img_reason_name(r), cc_errmsg());
        } else {
            assert_int_equal(r, n == 0 ? IMG_R_EMPTY : IMG_R_UNDECODABLE);
        }
        /* lenient decoding of a prefix whose header is complete gives the full size or fails */
        r = dec_bytes(b->p, n, &lenient, 0, 0, &out, &info);
        if (r == IMG_OK) {
            assert_int_equal(out.w, full_w);
            assert_int_equal(out.h, full_h);
        }
    }
    img_rgb_free(&out);
}

/* Each byte in turn xor'd with a few patterns, strict and lenient: never crashes (ASan), the
 * status fits the reason (dec), a success has a sane size. */
static void check_corruptions(const ti_blob *b)
{
    static const uint8_t xors[] = {0x01, 0x10, 0x80, 0xff};
    img_limits lim = deflim();
    img_rgb out = {0};
    ti_blob m = ti_blob_copy(b->p, b->n);
    int ok = 0;
    for (int lenient = 0; lenient < 2; lenient++) {
        lim.warnings_fatal = !lenient;
        for (size_t i = 0; i < b->n; i++)
            for (size_t k = 0; k < sizeof xors; k++) {
                memcpy(m.p, b->p, b->n);
                m.p[i] ^= xors[k];
                if (dec(&m, &lim, 0, 0, &out, NULL) == IMG_OK) {
                    assert_true(out.w <= lim.max_side && out.h <= lim.max_side);
                    ok++;
                }
            }
    }
    assert_true(ok > 0); /* e.g. flips inside the JFIF/tEXt payload or pixel values */
    ti_blob_free(&m);
    img_rgb_free(&out);
}

static void test_truncations_and_corruptions(void **state)
{
    (void)state;
    uint8_t *px = ti_pixels(24, 16, 4, 17);
    /* JPEG: baseline with EXIF orientation, and progressive */
    uint8_t *rgb = malloc(24 * 16 * 3);
    assert_non_null(rgb);
    for (int i = 0; i < 24 * 16; i++)
        memcpy(rgb + 3 * i, px + 4 * i, 3);
    ti_blob jb = ti_jpeg(rgb, 24, 16, 3, &(ti_jpeg_opts){.quality = 80, .orientation = 6});
    ti_blob jp = ti_jpeg(rgb, 24, 16, 3, &(ti_jpeg_opts){.quality = 80, .progressive = 1});
    check_prefixes(&jb, jb.n);
    check_prefixes(&jp, jp.n);
    check_corruptions(&jb);
    check_corruptions(&jp);

    /* PNG: RGBA interlaced with a text chunk; decodes once the last IDAT (and its CRC) is in */
    ti_blob pp = ti_png(px, 24, 16,
                        &(ti_png_opts){.color = PNG_COLOR_TYPE_RGBA, .depth = 8, .interlace = 1});
    size_t pos = 8, idat_end = 0;
    while (pos + 8 <= pp.n) {
        size_t len =
            (size_t)pp.p[pos] << 24 | pp.p[pos + 1] << 16 | pp.p[pos + 2] << 8 | pp.p[pos + 3];
        if (memcmp(pp.p + pos + 4, "IDAT", 4) == 0)
            idat_end = pos + 12 + len;
        pos += 12 + len;
    }
    assert_true(idat_end > 33 && idat_end < pp.n);
    check_prefixes(&pp, idat_end);
    check_corruptions(&pp);

    /* WebP: every prefix and corruption of a small lossy and a lossless file: consistent */
    ti_blob wl = ti_webp(px, 24, 16, 1, 1, 0);
    ti_blob wy = ti_webp(rgb, 24, 16, 0, 0, 70);
    const ti_blob *webps[2] = {&wl, &wy};
    img_limits lim = deflim();
    img_rgb out = {0};
    for (int k = 0; k < 2; k++) {
        for (size_t n = 0; n < webps[k]->n; n++) {
            img_reason r = dec_bytes(webps[k]->p, n, &lim, 0, 0, &out, NULL);
            assert_true(r != IMG_OK);
        }
        check_corruptions(webps[k]);
    }
    img_rgb_free(&out);
    ti_blob_free(&wl);
    ti_blob_free(&wy);
    ti_blob_free(&pp);
    ti_blob_free(&jb);
    ti_blob_free(&jp);
    free(rgb);
    free(px);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_names_defaults_and_alloc),
        cmocka_unit_test(test_jpeg_rgb_and_grey),
        cmocka_unit_test(test_jpeg_cmyk),
        cmocka_unit_test(test_jpeg_progressive_and_scan_count),
        cmocka_unit_test(test_jpeg_orientations),
        cmocka_unit_test(test_jpeg_exif_malformed),
        cmocka_unit_test(test_jpeg_dct_scaling),
        cmocka_unit_test(test_png_grey_depths),
        cmocka_unit_test(test_png_palette),
        cmocka_unit_test(test_png_colour_and_alpha),
        cmocka_unit_test(test_png_ancillary_and_warnings),
        cmocka_unit_test(test_webp),
        cmocka_unit_test(test_real_photos),
        cmocka_unit_test(test_encode_roundtrip),
        cmocka_unit_test(test_output_reuse),
        cmocka_unit_test(test_rejects),
        cmocka_unit_test(test_jpeg_truncated_lenient),
        cmocka_unit_test(test_attack_png_bomb),
        cmocka_unit_test(test_attack_jpeg_huge_sof),
        cmocka_unit_test(test_attack_jpeg_many_scans),
        cmocka_unit_test(test_truncations_and_corruptions),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
