/* tests/unit/test_probe.c — img_sniff / img_probe_bytes on images made by the real encoders
 * (libjpeg, libpng, libwebp) in this process, on every truncation of them, on hand-made headers
 * with bad or extreme fields, and on garbage.
 *
 * Every probe of a byte string runs on a heap copy of exactly that many bytes, so that an
 * over-read past the end is caught by AddressSanitizer (make check).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jpeglib.h>
#include <png.h>
#include <webp/encode.h>

#include "filters/probe.h"

/* ---- helpers ------------------------------------------------------------------------------- */

typedef struct blob {
    uint8_t *p;
    size_t n;
} blob;

static void blob_free(blob *b)
{
    free(b->p);
    b->p = NULL;
    b->n = 0;
}

/* Probes the first n bytes of p from an exact-size heap copy. */
static cc_status probe_exact(const uint8_t *p, size_t n, img_probe *out)
{
    uint8_t *copy = malloc(n ? n : 1);
    assert_non_null(copy);
    if (n)
        memcpy(copy, p, n);
    cc_status st = img_probe_bytes(n ? copy : NULL, n, out);
    if (st == CC_OK) {
        /* the message channel is irrelevant on success; the sniff must agree with the probe */
        assert_int_equal(img_sniff(copy, n), out->format);
    }
    free(copy);
    return st;
}

/* Deterministic xorshift64* for pixels and garbage. */
static uint64_t rng_next(uint64_t *s)
{
    *s ^= *s >> 12;
    *s ^= *s << 25;
    *s ^= *s >> 27;
    return *s * 0x2545f4914f6cdd1dull;
}

/* w*h pixels of c channels: a gradient with some noise, so encoders make real entropy data. */
static uint8_t *make_pixels(uint32_t w, uint32_t h, int c, uint64_t seed)
{
    uint8_t *px = malloc((size_t)w * h * c);
    assert_non_null(px);
    uint64_t s = seed | 1;
    for (uint32_t y = 0; y < h; y++)
        for (uint32_t x = 0; x < w; x++)
            for (int k = 0; k < c; k++) {
                unsigned v = (x * 255 / w + y * 127 / h + 40 * k + (rng_next(&s) & 15)) & 255;
                if (c == 4 && k == 3)
                    v = (x * 255 / w) & 255; /* alpha ramp */
                px[((size_t)y * w + x) * c + k] = (uint8_t)v;
            }
    return px;
}

static blob enc_jpeg(uint32_t w, uint32_t h, int comps, int progressive)
{
    struct jpeg_compress_struct ci;
    struct jpeg_error_mgr jerr;
    unsigned char *mem = NULL;
    unsigned long len = 0;
    ci.err = jpeg_std_error(&jerr);
    jpeg_create_compress(&ci);
    jpeg_mem_dest(&ci, &mem, &len);
    ci.image_width = w;
    ci.image_height = h;
    ci.input_components = comps;
    ci.in_color_space = comps == 1 ? JCS_GRAYSCALE : JCS_RGB;
    jpeg_set_defaults(&ci);
    jpeg_set_quality(&ci, 85, TRUE);
    if (progressive)
        jpeg_simple_progression(&ci);
    jpeg_start_compress(&ci, TRUE);
    /* an EXIF-sized APP1 and a comment before the frame header, as cameras write them */
    uint8_t app1[3000];
    memset(app1, 0xff, sizeof app1); /* 0xFF inside a segment must not be taken for a marker */
    memcpy(app1, "Exif\0\0", 6);
    jpeg_write_marker(&ci, JPEG_APP0 + 1, app1, sizeof app1);
    jpeg_write_marker(&ci, JPEG_COM, (const JOCTET *)"made by test_probe", 18);
    uint8_t *px = make_pixels(w, h, comps, w * 31 + h);
    while (ci.next_scanline < ci.image_height) {
        JSAMPROW row = px + (size_t)ci.next_scanline * w * comps;
        jpeg_write_scanlines(&ci, &row, 1);
    }
    jpeg_finish_compress(&ci);
    jpeg_destroy_compress(&ci);
    free(px);
    return (blob){mem, len};
}

static void png_write_cb(png_structp png, png_bytep data, png_size_t len)
{
    blob *b = png_get_io_ptr(png);
    uint8_t *p = realloc(b->p, b->n + len);
    if (p == NULL)
        png_error(png, "out of memory");
    memcpy(p + b->n, data, len);
    b->p = p;
    b->n += len;
}

static void png_flush_cb(png_structp png)
{
    (void)png;
}

/* color: PNG_COLOR_TYPE_*; depth 8 or 16; trns adds a tRNS chunk (palette only). */
static blob enc_png(uint32_t w, uint32_t h, int color, int depth, int interlace, int trns)
{
    blob b = {NULL, 0};
    png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, NULL, NULL, NULL);
    png_infop info = png_create_info_struct(png);
    assert_non_null(png);
    assert_non_null(info);
    int chans = color == PNG_COLOR_TYPE_RGB    ? 3
                : color == PNG_COLOR_TYPE_RGBA ? 4
                : color == PNG_COLOR_TYPE_GA   ? 2
                                               : 1;
    int bpc = depth == 16 ? 2 : 1;
    uint8_t *px = make_pixels(w, h, chans * bpc, w + h * 7);
    if (setjmp(png_jmpbuf(png)))
        fail_msg("libpng failed to encode");
    png_set_write_fn(png, &b, png_write_cb, png_flush_cb);
    png_set_IHDR(png, info, w, h, depth, color,
                 interlace ? PNG_INTERLACE_ADAM7 : PNG_INTERLACE_NONE, PNG_COMPRESSION_TYPE_DEFAULT,
                 PNG_FILTER_TYPE_DEFAULT);
    png_color pal[256];
    png_byte alpha[256];
    if (color == PNG_COLOR_TYPE_PALETTE) {
        for (int i = 0; i < 256; i++) {
            pal[i] = (png_color){(png_byte)i, (png_byte)(255 - i), (png_byte)(i * 3)};
            alpha[i] = (png_byte)i;
        }
        png_set_PLTE(png, info, pal, 256);
        if (trns)
            png_set_tRNS(png, info, alpha, 256, NULL);
    }
    png_write_info(png, info);
    int passes = png_set_interlace_handling(png);
    for (int pass = 0; pass < passes; pass++)
        for (uint32_t y = 0; y < h; y++)
            png_write_row(png, px + (size_t)y * w * chans * bpc);
    png_write_end(png, info);
    png_destroy_write_struct(&png, &info);
    free(px);
    return b;
}

enum webp_kind { WEBP_LOSSY, WEBP_LOSSY_ALPHA, WEBP_LOSSLESS, WEBP_LOSSLESS_ALPHA };

static blob enc_webp(uint32_t w, uint32_t h, enum webp_kind kind)
{
    int alpha = kind == WEBP_LOSSY_ALPHA || kind == WEBP_LOSSLESS_ALPHA;
    int c = alpha ? 4 : 3;
    uint8_t *px = make_pixels(w, h, c, w * 3 + h);
    uint8_t *out = NULL;
    size_t n = 0;
    switch (kind) {
    case WEBP_LOSSY:
        n = WebPEncodeRGB(px, (int)w, (int)h, (int)w * c, 80, &out);
        break;
    case WEBP_LOSSY_ALPHA:
        n = WebPEncodeRGBA(px, (int)w, (int)h, (int)w * c, 80, &out);
        break;
    case WEBP_LOSSLESS:
        n = WebPEncodeLosslessRGB(px, (int)w, (int)h, (int)w * c, &out);
        break;
    case WEBP_LOSSLESS_ALPHA:
        n = WebPEncodeLosslessRGBA(px, (int)w, (int)h, (int)w * c, &out);
        break;
    }
    free(px);
    assert_true(n > 0);
    /* copy into malloc memory so that blob_free() can release every kind of blob alike */
    blob b = {malloc(n), n};
    assert_non_null(b.p);
    memcpy(b.p, out, n);
    WebPFree(out);
    return b;
}

static void expect_probe(const blob *b, uint8_t fmt, uint32_t w, uint32_t h, int alpha,
                         int progressive, int animated)
{
    img_probe pr;
    cc_status st = probe_exact(b->p, b->n, &pr);
    if (st != CC_OK)
        fail_msg("probe failed: %s (%s)", cc_status_str(st), cc_errmsg());
    assert_int_equal(img_sniff(b->p, b->n), fmt);
    assert_int_equal(pr.format, fmt);
    assert_int_equal(pr.width, w);
    assert_int_equal(pr.height, h);
    assert_int_equal(pr.has_alpha, alpha);
    assert_int_equal(pr.progressive, progressive);
    assert_int_equal(pr.animated, animated);
}

/* Every prefix of b: never crashes; a success reports b's format and size. Returns the length
 * of the shortest prefix that succeeds. */
static size_t check_prefixes(const blob *b, uint8_t fmt, uint32_t w, uint32_t h)
{
    size_t shortest = 0;
    for (size_t n = 0; n <= b->n; n++) {
        img_probe pr;
        cc_status st = probe_exact(b->p, n, &pr);
        if (st == CC_OK) {
            assert_int_equal(pr.format, fmt);
            assert_int_equal(pr.width, w);
            assert_int_equal(pr.height, h);
            if (shortest == 0)
                shortest = n;
        } else {
            assert_true(st == CC_E_FORMAT || st == CC_E_UNSUPPORTED);
            assert_true(cc_errmsg()[0] != '\0');
            assert_int_equal(pr.width, 0);
            assert_int_equal(pr.height, 0);
        }
    }
    assert_true(shortest > 0); /* at least the whole image succeeds */
    return shortest;
}

/* Flips each byte of the header region in turn (and a few bit patterns): never crashes, and
 * a success always reports nonzero dimensions. */
static void check_mutations(const blob *b, size_t upto)
{
    static const uint8_t xors[] = {0x01, 0x80, 0xff, 0x10};
    uint8_t *m = malloc(b->n);
    assert_non_null(m);
    if (upto > b->n)
        upto = b->n;
    for (size_t i = 0; i < upto; i++)
        for (size_t k = 0; k < sizeof xors; k++) {
            memcpy(m, b->p, b->n);
            m[i] ^= xors[k];
            img_probe pr;
            if (probe_exact(m, b->n, &pr) == CC_OK) {
                assert_true(pr.width > 0 && pr.height > 0);
                assert_true(pr.format >= IMG_FMT_JPEG && pr.format <= IMG_FMT_WEBP);
            }
        }
    free(m);
}

/* The PNG CRC-32, for hand-made chunks. */
static uint32_t crc32_png(const uint8_t *p, size_t n)
{
    uint32_t c = 0xffffffffu;
    for (size_t i = 0; i < n; i++) {
        c ^= p[i];
        for (int k = 0; k < 8; k++)
            c = (c & 1) ? (c >> 1) ^ 0xedb88320u : c >> 1;
    }
    return ~c;
}

static void put_be32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

static void put_le32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

/* Signature + IHDR (with a correct CRC) + an empty IEND: 45 bytes into out. */
static size_t make_png_header(uint8_t *out, uint32_t w, uint32_t h, uint8_t depth, uint8_t color,
                              uint8_t interlace)
{
    static const uint8_t sig[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
    memcpy(out, sig, 8);
    put_be32(out + 8, 13);
    memcpy(out + 12, "IHDR", 4);
    put_be32(out + 16, w);
    put_be32(out + 20, h);
    out[24] = depth;
    out[25] = color;
    out[26] = 0;
    out[27] = 0;
    out[28] = interlace;
    put_be32(out + 29, crc32_png(out + 12, 17));
    put_be32(out + 33, 0);
    memcpy(out + 37, "IEND", 4);
    put_be32(out + 41, crc32_png(out + 37, 4));
    return 45;
}

static cc_status probe_buf(const uint8_t *p, size_t n, img_probe *pr)
{
    return probe_exact(p, n, pr);
}

/* ---- real images --------------------------------------------------------------------------- */

static void test_jpeg_baseline(void **state)
{
    (void)state;
    blob b = enc_jpeg(123, 45, 3, 0);
    expect_probe(&b, IMG_FMT_JPEG, 123, 45, 0, 0, 0);
    size_t shortest = check_prefixes(&b, IMG_FMT_JPEG, 123, 45);
    assert_true(shortest > 3000 && shortest < b.n); /* after APP1, before the scan data */
    /* exactly the end of SOF0 (3 components): the next byte starts a marker */
    assert_memory_equal(b.p + shortest - 19, "\xff\xc0\x00\x11\x08", 5);
    assert_int_equal(b.p[shortest], 0xff);
    check_mutations(&b, shortest + 16);
    blob_free(&b);
}

static void test_jpeg_progressive(void **state)
{
    (void)state;
    blob b = enc_jpeg(77, 300, 3, 1);
    expect_probe(&b, IMG_FMT_JPEG, 77, 300, 0, 1, 0);
    check_prefixes(&b, IMG_FMT_JPEG, 77, 300);
    blob_free(&b);
}

static void test_jpeg_grey_and_odd_sizes(void **state)
{
    (void)state;
    static const uint32_t sizes[][2] = {{1, 1}, {1, 500}, {500, 1}, {17, 9}, {640, 480}};
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        blob b = enc_jpeg(sizes[i][0], sizes[i][1], 1, (int)(i & 1));
        expect_probe(&b, IMG_FMT_JPEG, sizes[i][0], sizes[i][1], 0, (int)(i & 1), 0);
        blob_free(&b);
    }
}

static void test_jpeg_fill_bytes_and_standalone_markers(void **state)
{
    (void)state;
    blob b = enc_jpeg(40, 30, 3, 0);
    /* insert after SOI: fill bytes, an RST0 and a TEM, more fill bytes, then the original rest */
    static const uint8_t extra[] = {0xff, 0xff, 0xff, 0xd0, 0xff, 0x01, 0xff, 0xff};
    blob c = {malloc(b.n + sizeof extra), b.n + sizeof extra};
    assert_non_null(c.p);
    memcpy(c.p, b.p, 2);
    memcpy(c.p + 2, extra, sizeof extra);
    memcpy(c.p + 2 + sizeof extra, b.p + 2, b.n - 2);
    expect_probe(&c, IMG_FMT_JPEG, 40, 30, 0, 0, 0);
    check_prefixes(&c, IMG_FMT_JPEG, 40, 30);
    blob_free(&c);
    blob_free(&b);
}

static void test_png_kinds(void **state)
{
    (void)state;
    static const struct {
        int color, depth, interlace, trns, alpha;
    } k[] = {
        {PNG_COLOR_TYPE_RGB, 8, 0, 0, 0},     {PNG_COLOR_TYPE_RGBA, 8, 0, 0, 1},
        {PNG_COLOR_TYPE_GRAY, 8, 0, 0, 0},    {PNG_COLOR_TYPE_GA, 8, 0, 0, 1},
        {PNG_COLOR_TYPE_PALETTE, 8, 0, 0, 0}, {PNG_COLOR_TYPE_PALETTE, 8, 0, 1, 1},
        {PNG_COLOR_TYPE_RGB, 16, 0, 0, 0},    {PNG_COLOR_TYPE_RGBA, 8, 1, 0, 1},
    };
    for (size_t i = 0; i < sizeof k / sizeof k[0]; i++) {
        uint32_t w = 33 + (uint32_t)i * 5, h = 21 + (uint32_t)i;
        blob b = enc_png(w, h, k[i].color, k[i].depth, k[i].interlace, k[i].trns);
        expect_probe(&b, IMG_FMT_PNG, w, h, k[i].alpha, k[i].interlace, 0);
        size_t shortest = check_prefixes(&b, IMG_FMT_PNG, w, h);
        assert_int_equal(shortest, 33); /* exactly signature + IHDR */
        check_mutations(&b, 40);
        blob_free(&b);
    }
}

static void test_webp_kinds(void **state)
{
    (void)state;
    static const struct {
        enum webp_kind kind;
        int alpha;
        const char *chunk;
    } k[] = {
        {WEBP_LOSSY, 0, "VP8 "},
        {WEBP_LOSSLESS, 0, "VP8L"},
        {WEBP_LOSSLESS_ALPHA, 1, "VP8L"},
        {WEBP_LOSSY_ALPHA, 1, "VP8X"},
    };
    for (size_t i = 0; i < sizeof k / sizeof k[0]; i++) {
        uint32_t w = 50 + (uint32_t)i * 13, h = 19 + (uint32_t)i * 7;
        blob b = enc_webp(w, h, k[i].kind);
        assert_memory_equal(b.p + 12, k[i].chunk, 4); /* the container layout we mean to test */
        expect_probe(&b, IMG_FMT_WEBP, w, h, k[i].alpha, 0, 0);
        check_prefixes(&b, IMG_FMT_WEBP, w, h);
        check_mutations(&b, 64);
        blob_free(&b);
    }
    /* the largest size VP8 and VP8L can code */
    blob b = enc_webp(16383, 1, WEBP_LOSSLESS);
    expect_probe(&b, IMG_FMT_WEBP, 16383, 1, 0, 0, 0);
    blob_free(&b);
}

/* ---- hand-made headers ---------------------------------------------------------------------- */

static void test_webp_extended_by_hand(void **state)
{
    (void)state;
    /* RIFF, VP8X(animation + alpha, canvas 300x200), ANIM: animated, size from the canvas */
    uint8_t a[64] = {0};
    memcpy(a, "RIFF", 4);
    memcpy(a + 8, "WEBPVP8X", 8);
    put_le32(a + 16, 10);
    a[20] = 0x12;
    a[24] = (300 - 1) & 0xff;
    a[25] = (300 - 1) >> 8;
    a[27] = 200 - 1;
    memcpy(a + 30, "ANIM", 4);
    put_le32(a + 34, 6);
    put_le32(a + 4, 44 - 8);
    img_probe pr;
    assert_int_equal(probe_buf(a, 44, &pr), CC_OK);
    assert_int_equal(pr.width, 300);
    assert_int_equal(pr.height, 200);
    assert_true(pr.has_alpha && pr.animated);

    /* largest canvas side 2^24 (width) with height 1: area below 2^32 */
    a[20] = 0x02;
    a[24] = a[25] = a[26] = 0xff;
    a[27] = 0;
    assert_int_equal(probe_buf(a, 44, &pr), CC_OK);
    assert_int_equal(pr.width, 1u << 24);
    assert_int_equal(pr.height, 1);
    assert_false(pr.has_alpha);
    assert_true(pr.animated);
    put_le32(a + 16, 12); /* VP8X is always 10 bytes */
    assert_int_equal(probe_buf(a, 44, &pr), CC_E_FORMAT);
    put_le32(a + 16, 10);
    /* 2^24 x 2^24 has an area of 2^48: refused */
    a[27] = a[28] = a[29] = 0xff;
    assert_int_equal(probe_buf(a, 44, &pr), CC_E_FORMAT);

    /* a still VP8X whose VP8L image is not the canvas size */
    blob l = enc_webp(30, 20, WEBP_LOSSLESS);
    size_t vl = l.n - 12; /* the VP8L chunk with its header */
    uint8_t *s = malloc(30 + vl);
    assert_non_null(s);
    memcpy(s, a, 30);
    s[20] = 0;
    s[24] = 30 - 1;
    s[25] = s[26] = 0;
    s[27] = 20 - 1;
    s[28] = s[29] = 0;
    memcpy(s + 30, l.p + 12, vl);
    put_le32(s + 4, (uint32_t)(30 + vl - 8));
    assert_int_equal(probe_buf(s, 30 + vl, &pr), CC_OK);
    assert_int_equal(pr.width, 30);
    assert_int_equal(pr.height, 20);
    assert_false(pr.animated);
    s[24] = 31 - 1; /* canvas 31x20, image 30x20 */
    assert_int_equal(probe_buf(s, 30 + vl, &pr), CC_E_FORMAT);
    assert_non_null(strstr(cc_errmsg(), "canvas"));
    /* still VP8X with no image chunk at all */
    put_le32(s + 4, 30 - 8);
    s[24] = 30 - 1;
    assert_int_equal(probe_buf(s, 30, &pr), CC_E_FORMAT);
    free(s);
    blob_free(&l);
}

static void test_zero_dimensions(void **state)
{
    (void)state;
    img_probe pr;
    uint8_t p[45];
    make_png_header(p, 0, 10, 8, 2, 0);
    assert_int_equal(probe_buf(p, sizeof p, &pr), CC_E_FORMAT);
    assert_int_equal(pr.format, IMG_FMT_PNG);
    assert_int_equal(pr.width, 0);
    make_png_header(p, 10, 0, 8, 2, 0);
    assert_int_equal(probe_buf(p, sizeof p, &pr), CC_E_FORMAT);

    /* JPEG: SOI, SOF0 with height 0 (DNL) and with width 0 */
    uint8_t j[] = {0xff, 0xd8, 0xff, 0xc0, 0, 11, 8, 0, 0, 0, 5, 1, 1, 0x11, 0, 0xff, 0xd9};
    assert_int_equal(probe_buf(j, sizeof j, &pr), CC_E_FORMAT);
    assert_non_null(strstr(cc_errmsg(), "height"));
    j[8] = 5; /* height 5 */
    j[10] = 0; /* width 0 */
    assert_int_equal(probe_buf(j, sizeof j, &pr), CC_E_FORMAT);
    assert_non_null(strstr(cc_errmsg(), "width"));
    j[10] = 7;
    assert_int_equal(probe_buf(j, sizeof j, &pr), CC_OK);
    assert_int_equal(pr.width, 7);
    assert_int_equal(pr.height, 5);

    /* VP8 key frame with width 0 */
    blob v = enc_webp(20, 20, WEBP_LOSSY);
    v.p[26] = v.p[27] = 0;
    assert_int_equal(probe_buf(v.p, v.n, &pr), CC_E_FORMAT);
    blob_free(&v);
}

static void test_png_extremes_and_errors(void **state)
{
    (void)state;
    img_probe pr;
    uint8_t p[45];
    make_png_header(p, 0x7fffffffu, 0x7fffffffu, 8, 6, 0);
    assert_int_equal(probe_buf(p, sizeof p, &pr), CC_OK);
    assert_int_equal(pr.width, 0x7fffffffu);
    assert_int_equal(pr.height, 0x7fffffffu);
    assert_true(pr.has_alpha);
    make_png_header(p, 0x80000000u, 1, 8, 6, 0);
    assert_int_equal(probe_buf(p, sizeof p, &pr), CC_E_FORMAT);
    make_png_header(p, 1, 1, 16, 3, 0); /* 16-bit palette does not exist */
    assert_int_equal(probe_buf(p, sizeof p, &pr), CC_E_FORMAT);
    make_png_header(p, 1, 1, 8, 5, 0); /* colour type 5 does not exist */
    assert_int_equal(probe_buf(p, sizeof p, &pr), CC_E_FORMAT);
    make_png_header(p, 1, 1, 8, 2, 2); /* interlace method 2 does not exist */
    assert_int_equal(probe_buf(p, sizeof p, &pr), CC_E_FORMAT);
    make_png_header(p, 1, 1, 1, 0, 1); /* 1-bit grey, interlaced: fine */
    assert_int_equal(probe_buf(p, sizeof p, &pr), CC_OK);
    assert_true(pr.progressive);
    p[20] ^= 1; /* CRC no longer matches */
    assert_int_equal(probe_buf(p, sizeof p, &pr), CC_E_FORMAT);
    assert_non_null(strstr(cc_errmsg(), "CRC"));
    make_png_header(p, 1, 1, 8, 2, 0);
    memcpy(p + 12, "IHDr", 4); /* IHDR must be the first chunk */
    assert_int_equal(probe_buf(p, sizeof p, &pr), CC_E_FORMAT);
    make_png_header(p, 1, 1, 8, 2, 0);
    put_be32(p + 8, 14);
    assert_int_equal(probe_buf(p, sizeof p, &pr), CC_E_FORMAT);
}

static void test_jpeg_errors(void **state)
{
    (void)state;
    img_probe pr;
    /* scan before any frame header */
    static const uint8_t sos[] = {0xff, 0xd8, 0xff, 0xda, 0, 2, 0xff, 0xd9};
    assert_int_equal(probe_buf(sos, sizeof sos, &pr), CC_E_FORMAT);
    assert_non_null(strstr(cc_errmsg(), "SOS"));
    static const uint8_t eoi[] = {0xff, 0xd8, 0xff, 0xd9};
    assert_int_equal(probe_buf(eoi, sizeof eoi, &pr), CC_E_FORMAT);
    /* segment length below 2 */
    static const uint8_t len1[] = {0xff, 0xd8, 0xff, 0xe0, 0, 1, 0xff, 0xc0};
    assert_int_equal(probe_buf(len1, sizeof len1, &pr), CC_E_FORMAT);
    /* a segment length running past the end */
    static const uint8_t over[] = {0xff, 0xd8, 0xff, 0xe0, 0xff, 0xff, 0xff, 0xc0, 0, 11};
    assert_int_equal(probe_buf(over, sizeof over, &pr), CC_E_FORMAT);
    /* DHT (C4), JPG (C8) and DAC (CC) are not frame headers, however well formed */
    uint8_t notsof[] = {0xff, 0xd8, 0xff, 0xc4, 0, 11, 8, 0, 5, 0, 7, 1, 1, 0x11, 0, 0xff, 0xd9};
    static const uint8_t others[] = {0xc4, 0xc8, 0xcc};
    for (size_t i = 0; i < sizeof others; i++) {
        notsof[3] = others[i];
        assert_int_equal(probe_buf(notsof, sizeof notsof, &pr), CC_E_FORMAT);
    }
    /* every real SOF is, and the progressive ones say so */
    for (unsigned m = 0xc0; m <= 0xcf; m++) {
        if (m == 0xc4 || m == 0xc8 || m == 0xcc)
            continue;
        notsof[3] = (uint8_t)m;
        assert_int_equal(probe_buf(notsof, sizeof notsof, &pr), CC_OK);
        assert_int_equal(pr.width, 7);
        assert_int_equal(pr.height, 5);
        assert_int_equal(pr.progressive, m == 0xc2 || m == 0xc6 || m == 0xca || m == 0xce);
    }
    /* component count that does not match the length */
    notsof[3] = 0xc0;
    notsof[11] = 3;
    assert_int_equal(probe_buf(notsof, sizeof notsof, &pr), CC_E_FORMAT);
    /* largest JPEG */
    uint8_t big[] = {0xff, 0xd8, 0xff, 0xc0, 0, 11, 8, 0xff, 0xff, 0xff, 0xff, 1, 1, 0x11, 0};
    assert_int_equal(probe_buf(big, sizeof big, &pr), CC_OK);
    assert_int_equal(pr.width, 65535);
    assert_int_equal(pr.height, 65535);
    assert_int_equal(probe_buf(big, sizeof big - 1, &pr), CC_E_FORMAT);
    /* a frame header too short to hold its fields, at the very end of the input */
    static const uint8_t tiny[] = {0xff, 0xd8, 0xff, 0xc0, 0, 6, 8, 0, 5, 0, 7};
    assert_int_equal(probe_buf(tiny, sizeof tiny, &pr), CC_E_FORMAT);
}

static void test_webp_errors(void **state)
{
    (void)state;
    img_probe pr;
    blob l = enc_webp(9, 9, WEBP_LOSSLESS);
    uint8_t *m = malloc(l.n);
    assert_non_null(m);

    memcpy(m, l.p, l.n);
    m[24] |= 0x20; /* VP8L version 1 */
    assert_int_equal(probe_buf(m, l.n, &pr), CC_E_UNSUPPORTED);
    memcpy(m, l.p, l.n);
    m[20] = 0x2e; /* VP8L signature */
    assert_int_equal(probe_buf(m, l.n, &pr), CC_E_FORMAT);
    memcpy(m, l.p, l.n);
    memcpy(m + 12, "VP9 ", 4); /* unknown first chunk */
    assert_int_equal(probe_buf(m, l.n, &pr), CC_E_FORMAT);
    memcpy(m, l.p, l.n);
    put_le32(m + 4, 4); /* RIFF size too small */
    assert_int_equal(probe_buf(m, l.n, &pr), CC_E_FORMAT);
    memcpy(m, l.p, l.n);
    put_le32(m + 16, 0x7fffffff); /* chunk larger than the RIFF */
    assert_int_equal(probe_buf(m, l.n, &pr), CC_E_FORMAT);
    free(m);
    blob_free(&l);

    blob v = enc_webp(24, 16, WEBP_LOSSY);
    m = malloc(v.n);
    assert_non_null(m);
    memcpy(m, v.p, v.n);
    m[20] |= 1; /* interframe */
    assert_int_equal(probe_buf(m, v.n, &pr), CC_E_FORMAT);
    memcpy(m, v.p, v.n);
    m[24] = 0x9c; /* start code */
    assert_int_equal(probe_buf(m, v.n, &pr), CC_E_FORMAT);
    memcpy(m, v.p, v.n);
    m[20] &= (uint8_t)~0x10; /* not shown */
    assert_int_equal(probe_buf(m, v.n, &pr), CC_E_FORMAT);
    memcpy(m, v.p, v.n);
    m[22] = 0xff; /* first partition larger than the chunk */
    assert_int_equal(probe_buf(m, v.n, &pr), CC_E_FORMAT);
    assert_non_null(strstr(cc_errmsg(), "partition"));
    memcpy(m, v.p, v.n);
    m[27] |= 0xc0; /* the two scaling bits do not change the size */
    assert_int_equal(probe_buf(m, v.n, &pr), CC_OK);
    assert_int_equal(pr.width, 24);
    free(m);
    blob_free(&v);
}

/* ---- garbage and API edges ----------------------------------------------------------------- */

static void test_sniff(void **state)
{
    (void)state;
    assert_int_equal(img_sniff(NULL, 100), IMG_FMT_UNKNOWN);
    assert_int_equal(img_sniff("\xff\xd8\xff", 3), IMG_FMT_JPEG);
    assert_int_equal(img_sniff("\xff\xd8\xff", 2), IMG_FMT_UNKNOWN);
    assert_int_equal(img_sniff("\x89PNG\r\n\x1a\n", 8), IMG_FMT_PNG);
    assert_int_equal(img_sniff("\x89PNG\r\n\x1a\r", 8), IMG_FMT_UNKNOWN);
    assert_int_equal(img_sniff("RIFF\0\0\0\0WEBP", 12), IMG_FMT_WEBP);
    assert_int_equal(img_sniff("RIFF\0\0\0\0WAVE", 12), IMG_FMT_UNKNOWN);
    assert_int_equal(img_sniff("GIF89a", 6), IMG_FMT_UNKNOWN);
}

static void test_unknown_and_api(void **state)
{
    (void)state;
    img_probe pr;
    assert_int_equal(img_probe_bytes("x", 1, NULL), CC_E_INVAL);
    assert_int_equal(img_probe_bytes(NULL, 5, &pr), CC_E_INVAL);
    assert_int_equal(img_probe_bytes(NULL, 0, &pr), CC_E_FORMAT);
    assert_int_equal(probe_buf((const uint8_t *)"GIF89a\1\0\1\0", 10, &pr), CC_E_UNSUPPORTED);
    assert_non_null(strstr(cc_errmsg(), "GIF"));
    assert_int_equal(pr.format, IMG_FMT_UNKNOWN);
    static const uint8_t avif[] = {0, 0, 0, 0x1c, 'f', 't', 'y', 'p', 'a', 'v', 'i', 'f'};
    assert_int_equal(probe_buf(avif, sizeof avif, &pr), CC_E_UNSUPPORTED);
    assert_non_null(strstr(cc_errmsg(), "avif"));
    assert_int_equal(probe_buf((const uint8_t *)"<html>", 6, &pr), CC_E_UNSUPPORTED);
    /* a prefix of a signature is a truncated image, not another format */
    assert_int_equal(probe_buf((const uint8_t *)"\x89PN", 3, &pr), CC_E_FORMAT);
    assert_int_equal(probe_buf((const uint8_t *)"RIFF\1\0\0\0WE", 10, &pr), CC_E_FORMAT);
    assert_int_equal(probe_buf((const uint8_t *)"\xff\xd8", 2, &pr), CC_E_FORMAT);
}

static void test_garbage(void **state)
{
    (void)state;
    static const char *const heads[] = {"", "\xff\xd8\xff", "\x89PNG\r\n\x1a\n", "RIFF"};
    uint64_t s = 0x9e3779b97f4a7c15ull;
    uint8_t buf[600];
    for (int round = 0; round < 4000; round++) {
        size_t n = (size_t)(rng_next(&s) % sizeof buf);
        for (size_t i = 0; i < n; i++) {
            uint64_t r = rng_next(&s);
            /* lean towards bytes that steer the parsers: marker prefixes and small lengths */
            buf[i] = (r & 3) == 0 ? 0xff : (r & 7) == 1 ? 0 : (uint8_t)(r >> 8);
        }
        const char *h = heads[round % 4];
        size_t hl = strlen(h);
        if (round % 4 == 2)
            hl = 8;
        if (hl <= n)
            memcpy(buf, h, hl);
        if (round % 4 == 3 && n >= 12)
            memcpy(buf + 8, "WEBP", 4);
        img_probe pr;
        cc_status st = probe_buf(buf, n, &pr);
        if (st == CC_OK) {
            assert_true(pr.width > 0 && pr.height > 0);
        } else {
            assert_true(st == CC_E_FORMAT || st == CC_E_UNSUPPORTED);
            assert_true(strlen(cc_errmsg()) > 0);
        }
        if (round % 4 == 0 && n >= 12 && img_sniff(buf, n) == IMG_FMT_UNKNOWN)
            assert_int_equal(st, CC_E_UNSUPPORTED);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_jpeg_baseline),
        cmocka_unit_test(test_jpeg_progressive),
        cmocka_unit_test(test_jpeg_grey_and_odd_sizes),
        cmocka_unit_test(test_jpeg_fill_bytes_and_standalone_markers),
        cmocka_unit_test(test_png_kinds),
        cmocka_unit_test(test_webp_kinds),
        cmocka_unit_test(test_webp_extended_by_hand),
        cmocka_unit_test(test_zero_dimensions),
        cmocka_unit_test(test_png_extremes_and_errors),
        cmocka_unit_test(test_jpeg_errors),
        cmocka_unit_test(test_webp_errors),
        cmocka_unit_test(test_sniff),
        cmocka_unit_test(test_unknown_and_api),
        cmocka_unit_test(test_garbage),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
