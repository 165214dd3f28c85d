/* tests/unit/testimg.h — images made in memory by the real encoders (libjpeg, libpng, libwebp,
 * zlib) for unit tests, and the hand-built hostile files the decoder must refuse.
 *
 * Include after <cmocka.h> (the helpers assert). Every function here is static and marked
 * unused, so a test includes this header and uses what it needs. Every blob is a malloc'd copy of
 * exactly its n bytes (free with ti_blob_free), so a decoder that reads past the end of the input
 * is caught by AddressSanitizer.
 *
 *   ti_pixels       smooth test pixels (gradients plus a little noise), any channel count
 *   ti_jpeg         grey / RGB / CMYK / YCCK, baseline or progressive, EXIF orientation APP1,
 *                   Adobe APP14 on or off, an extra APP1 payload
 *   ti_png          every colour type and bit depth from raw PNG rows, PLTE, tRNS, Adam7
 *   ti_png_build    a PNG from raw filtered scanline bytes (deflated here), extra chunks allowed
 *   ti_webp         lossy or lossless, with or without alpha
 *   ti_webp_animated  a two-frame animated WebP (VP8X + ANIM + ANMF), built by hand
 *   ti_png_bomb     a valid PNG claiming w x h grey whose IDAT is deflated zeros (streamed)
 *   ti_jpeg_set_size, ti_jpeg_repeat_scan  a JPEG whose SOF claims another size; one whose last
 *                   scan is repeated many times
 */
#ifndef CC_TESTIMG_H
#define CC_TESTIMG_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jpeglib.h>
#include <png.h>
#include <webp/encode.h>
#include <zlib.h>

#define TI_FN static __attribute__((unused))

typedef struct ti_blob {
    uint8_t *p;
    size_t n;
} ti_blob;

TI_FN void ti_blob_free(ti_blob *b)
{
    free(b->p);
    b->p = NULL;
    b->n = 0;
}

/* An exact-size heap copy of n bytes (malloc(1) for n = 0, so p is never NULL). */
TI_FN ti_blob ti_blob_copy(const void *p, size_t n)
{
    ti_blob b = {malloc(n ? n : 1), n};
    assert_non_null(b.p);
    if (n)
        memcpy(b.p, p, n);
    return b;
}

/* Appends n bytes, keeping the allocation exactly b->n bytes long. */
TI_FN void ti_blob_append(ti_blob *b, const void *p, size_t n)
{
    uint8_t *q = realloc(b->p, b->n + n ? b->n + n : 1);
    assert_non_null(q);
    if (n)
        memcpy(q + b->n, p, n);
    b->p = q;
    b->n += n;
}

TI_FN void ti_put_be16(uint8_t *p, unsigned v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}

TI_FN void ti_put_be32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

TI_FN void ti_put_le(uint8_t *p, uint32_t v, int bytes)
{
    for (int i = 0; i < bytes; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

/* Deterministic xorshift64*. */
TI_FN uint64_t ti_rng(uint64_t *s)
{
    *s ^= *s >> 12;
    *s ^= *s << 25;
    *s ^= *s >> 27;
    return *s * 0x2545f4914f6cdd1dull;
}

/* w x h pixels of c channels: smooth gradients (one direction per channel) with +-3 of noise, so
 * that lossy encoders keep them well (PSNR > 35 dB at quality 90) and lossless ones still work. */
TI_FN uint8_t *ti_pixels(uint32_t w, uint32_t h, int c, uint64_t seed)
{
    uint8_t *px = malloc((size_t)w * h * c);
    assert_non_null(px);
    uint64_t s = seed | 1;
    for (uint32_t y = 0; y < h; y++)
        for (uint32_t x = 0; x < w; x++)
            for (int k = 0; k < c; k++) {
                int v;
                switch (k % 4) {
                case 0:
                    v = 20 + (int)(x * 200 / (w > 1 ? w - 1 : 1));
                    break;
                case 1:
                    v = 30 + (int)(y * 190 / (h > 1 ? h - 1 : 1));
                    break;
                case 2:
                    v = 220 - (int)((x + y) * 180 / (w + h));
                    break;
                default:
                    v = 40 + (int)((x * 7 + y * 3) % 160);
                    break;
                }
                v += (int)(ti_rng(&s) % 7) - 3;
                px[((size_t)y * w + x) * c + k] = (uint8_t)(v < 0 ? 0 : v > 255 ? 255 : v);
            }
    return px;
}

/* ---- JPEG --------------------------------------------------------------------------------- */

typedef struct ti_jpeg_opts {
    int quality; /* 1..100; 0 = 90 */
    int progressive; /* jpeg_simple_progression: 10 scans for 3 components, 6 for grey */
    int orientation; /* 1..8 (or any value up to 65535): an EXIF APP1 with tag 0x0112; 0: none */
    int exif_le; /* EXIF in Intel byte order ("II") rather than Motorola ("MM") */
    int no_adobe; /* 4 components: leave out the Adobe APP14 marker (libjpeg writes it) */
    int ycck; /* 4 components: store as YCCK instead of CMYK */
    int restart_rows; /* a restart marker every this many MCU rows; 0: none */
    const uint8_t *app1; /* an extra APP1 payload, written first */
    size_t app1_len;
} ti_jpeg_opts;

/* "Exif\0\0" + a TIFF header + IFD0 with Make ("ti") and Orientation = v. 44 bytes. */
TI_FN size_t ti_exif_payload(uint8_t *b, unsigned v, int le)
{
    memset(b, 0, 44);
    memcpy(b, "Exif\0\0", 6);
    uint8_t *t = b + 6;
    /* put a 16/32-bit value in the file's byte order */
#define TI_P16(p, x) (le ? ti_put_le((p), (x), 2) : ti_put_be16((p), (x)))
#define TI_P32(p, x) (le ? ti_put_le((p), (x), 4) : ti_put_be32((p), (x)))
    memcpy(t, le ? "II*\0" : "MM\0*", 4);
    TI_P32(t + 4, 8);
    TI_P16(t + 8, 2);
    TI_P16(t + 10, 0x010f); /* Make, ASCII, 3 bytes inline */
    TI_P16(t + 12, 2);
    TI_P32(t + 14, 3);
    memcpy(t + 18, "ti", 3);
    TI_P16(t + 22, 0x0112); /* Orientation, SHORT, 1 */
    TI_P16(t + 24, 3);
    TI_P32(t + 26, 1);
    TI_P16(t + 30, v);
    TI_P32(t + 34, 0); /* no next IFD */
#undef TI_P16
#undef TI_P32
    return 44;
}

/* Encodes w x h pixels of comps channels (1 grey, 3 RGB, 4 CMYK as stored in the file). */
TI_FN ti_blob ti_jpeg(const uint8_t *px, uint32_t w, uint32_t h, int comps, const ti_jpeg_opts *o)
{
    static const ti_jpeg_opts none = {0};
    if (o == NULL)
        o = &none;
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
    ci.in_color_space = comps == 1 ? JCS_GRAYSCALE : comps == 3 ? JCS_RGB : JCS_CMYK;
    jpeg_set_defaults(&ci);
    if (comps == 4 && o->ycck)
        jpeg_set_colorspace(&ci, JCS_YCCK);
    if (comps == 4 && o->no_adobe)
        ci.write_Adobe_marker = FALSE;
    jpeg_set_quality(&ci, o->quality ? o->quality : 90, TRUE);
    if (o->progressive)
        jpeg_simple_progression(&ci);
    ci.restart_in_rows = o->restart_rows;
    jpeg_start_compress(&ci, TRUE);
    if (o->app1 != NULL)
        jpeg_write_marker(&ci, JPEG_APP0 + 1, o->app1, (unsigned)o->app1_len);
    if (o->orientation) {
        uint8_t exif[44];
        size_t n = ti_exif_payload(exif, (unsigned)o->orientation, o->exif_le);
        jpeg_write_marker(&ci, JPEG_APP0 + 1, exif, (unsigned)n);
    }
    while (ci.next_scanline < ci.image_height) {
        JSAMPROW row = (JSAMPROW)px + (size_t)ci.next_scanline * w * comps;
        jpeg_write_scanlines(&ci, &row, 1);
    }
    jpeg_finish_compress(&ci);
    jpeg_destroy_compress(&ci);
    ti_blob b = ti_blob_copy(mem, len);
    free(mem);
    return b;
}

/* Offset of the first byte after the marker segment starting at b[pos] (an FF xx with a
 * length). */
TI_FN size_t ti_jpeg_segment_end(const ti_blob *j, size_t pos)
{
    assert_true(pos + 4 <= j->n && j->p[pos] == 0xff);
    return pos + 2 + ((size_t)j->p[pos + 2] << 8 | j->p[pos + 3]);
}

/* Finds the k-th SOS (0-based) of a JPEG made by ti_jpeg: *start at its FF DA, *end at the
 * marker that follows its entropy-coded data. Returns 0 when there are not that many. */
TI_FN int ti_jpeg_find_sos(const ti_blob *j, int k, size_t *start, size_t *end)
{
    size_t pos = 2;
    int seen = 0;
    while (pos + 4 <= j->n) {
        assert_int_equal(j->p[pos], 0xff);
        uint8_t m = j->p[pos + 1];
        if (m == 0xd9)
            return 0;
        size_t next = ti_jpeg_segment_end(j, pos);
        if (m != 0xda) {
            pos = next;
            continue;
        }
        /* entropy data: up to an FF not followed by 00 or a restart marker */
        size_t q = next;
        while (q + 1 < j->n &&
               !(j->p[q] == 0xff && j->p[q + 1] != 0 && (j->p[q + 1] < 0xd0 || j->p[q + 1] > 0xd7)))
            q++;
        if (seen++ == k) {
            *start = pos;
            *end = q;
            return 1;
        }
        pos = q;
    }
    return 0;
}

/* Offset of the frame header (FF C0 / FF C2) of a JPEG made by ti_jpeg. */
TI_FN size_t ti_jpeg_find_sof(const ti_blob *j)
{
    size_t pos = 2;
    while (pos + 4 <= j->n && j->p[pos + 1] != 0xc0 && j->p[pos + 1] != 0xc2)
        pos = ti_jpeg_segment_end(j, pos);
    assert_true(pos + 9 <= j->n);
    return pos;
}

/* A copy of j whose frame header claims w x h. */
TI_FN ti_blob ti_jpeg_set_size(const ti_blob *j, unsigned w, unsigned h)
{
    ti_blob b = ti_blob_copy(j->p, j->n);
    size_t sof = ti_jpeg_find_sof(&b);
    ti_put_be16(b.p + sof + 5, h); /* FF Cx len(2) P(1) Y(2) X(2) */
    ti_put_be16(b.p + sof + 7, w);
    return b;
}

/* A copy of j with its last scan (SOS header and entropy data) repeated `times` more times
 * before EOI. */
TI_FN ti_blob ti_jpeg_repeat_scan(const ti_blob *j, size_t times)
{
    size_t s = 0, e = 0, s2, e2;
    int k = 0;
    while (ti_jpeg_find_sos(j, k, &s2, &e2)) {
        s = s2;
        e = e2;
        k++;
    }
    assert_true(k > 0);
    ti_blob b = ti_blob_copy(j->p, e);
    uint8_t *many = malloc((e - s) * times);
    assert_non_null(many);
    for (size_t i = 0; i < times; i++)
        memcpy(many + i * (e - s), j->p + s, e - s);
    ti_blob_append(&b, many, (e - s) * times);
    free(many);
    ti_blob_append(&b, j->p + e, j->n - e);
    return b;
}

/* ---- PNG ---------------------------------------------------------------------------------- */

typedef struct ti_png_opts {
    int color; /* PNG_COLOR_TYPE_* */
    int depth; /* 1, 2, 4, 8, 16 */
    int interlace; /* Adam7 */
    const png_color *palette;
    int npalette;
    const uint8_t *trns; /* palette: one alpha per entry */
    int ntrns;
    const png_color_16 *trns_color; /* grey / RGB: the transparent colour */
} ti_png_opts;

TI_FN void ti_png_write_cb(png_structp png, png_bytep data, size_t len)
{
    ti_blob_append(png_get_io_ptr(png), data, len);
}

TI_FN void ti_png_flush_cb(png_structp png)
{
    (void)png;
}

TI_FN int ti_png_channels(int color)
{
    return color == PNG_COLOR_TYPE_RGB    ? 3
           : color == PNG_COLOR_TYPE_RGBA ? 4
           : color == PNG_COLOR_TYPE_GA   ? 2
                                          : 1;
}

/* Bytes of one raw PNG row: samples packed MSB first below 8 bits, 16-bit samples big-endian. */
TI_FN size_t ti_png_rowbytes(uint32_t w, const ti_png_opts *o)
{
    return ((size_t)w * ti_png_channels(o->color) * o->depth + 7) / 8;
}

/* Encodes raw rows (ti_png_rowbytes each, h of them) with libpng. */
TI_FN ti_blob ti_png(const uint8_t *raw, uint32_t w, uint32_t h, const ti_png_opts *o)
{
    ti_blob b = {NULL, 0};
    png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, NULL, NULL, NULL);
    assert_non_null(png);
    png_infop info = png_create_info_struct(png);
    assert_non_null(info);
    if (setjmp(png_jmpbuf(png)))
        fail_msg("libpng failed to encode a test image");
    png_set_write_fn(png, &b, ti_png_write_cb, ti_png_flush_cb);
    png_set_IHDR(png, info, w, h, o->depth, o->color,
                 o->interlace ? PNG_INTERLACE_ADAM7 : PNG_INTERLACE_NONE,
                 PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
    if (o->palette)
        png_set_PLTE(png, info, o->palette, o->npalette);
    if (o->trns || o->trns_color)
        png_set_tRNS(png, info, o->trns, o->ntrns, o->trns_color);
    png_write_info(png, info);
    int passes = png_set_interlace_handling(png);
    size_t rb = ti_png_rowbytes(w, o);
    for (int pass = 0; pass < passes; pass++)
        for (uint32_t y = 0; y < h; y++)
            png_write_row(png, raw + (size_t)y * rb);
    png_write_end(png, info);
    png_destroy_write_struct(&png, &info);
    return b;
}

/* Appends a chunk: length, type, data, CRC-32 over type and data. */
TI_FN void ti_png_chunk(ti_blob *b, const char *type, const void *data, uint32_t len)
{
    uint8_t hdr[8], crc[4];
    ti_put_be32(hdr, len);
    memcpy(hdr + 4, type, 4);
    uLong c = crc32(0, (const Bytef *)type, 4);
    if (len)
        c = crc32(c, data, len);
    ti_put_be32(crc, (uint32_t)c);
    ti_blob_append(b, hdr, 8);
    ti_blob_append(b, data, len);
    ti_blob_append(b, crc, 4);
}

/* Signature and IHDR. */
TI_FN ti_blob ti_png_head(uint32_t w, uint32_t h, int depth, int color, int interlace)
{
    ti_blob b = ti_blob_copy("\x89PNG\r\n\x1a\n", 8);
    uint8_t ihdr[13];
    ti_put_be32(ihdr, w);
    ti_put_be32(ihdr + 4, h);
    ihdr[8] = (uint8_t)depth;
    ihdr[9] = (uint8_t)color;
    ihdr[10] = ihdr[11] = 0;
    ihdr[12] = (uint8_t)interlace;
    ti_png_chunk(&b, "IHDR", ihdr, 13);
    return b;
}

/* A non-interlaced PNG whose IDAT is zlib(filtered) exactly as given (the caller writes the
 * filter bytes, may give too much or too little data); extra (a full chunk, or NULL) goes
 * between IHDR and IDAT. */
TI_FN ti_blob ti_png_build(uint32_t w, uint32_t h, int depth, int color, const uint8_t *filtered,
                           size_t len, const ti_blob *extra)
{
    ti_blob b = ti_png_head(w, h, depth, color, 0);
    if (extra)
        ti_blob_append(&b, extra->p, extra->n);
    uLongf zn = compressBound((uLong)len);
    uint8_t *z = malloc(zn);
    assert_non_null(z);
    assert_int_equal(compress2(z, &zn, filtered, (uLong)len, 9), Z_OK);
    ti_png_chunk(&b, "IDAT", z, (uint32_t)zn);
    free(z);
    ti_png_chunk(&b, "IEND", NULL, 0);
    return b;
}

/* A valid PNG claiming w x h 8-bit grey whose one IDAT holds h zero rows, deflated row by row
 * (memory stays small: one row in, ~1/1000 of the data out). */
TI_FN ti_blob ti_png_bomb(uint32_t w, uint32_t h)
{
    ti_blob b = ti_png_head(w, h, 8, PNG_COLOR_TYPE_GRAY, 0);
    uint8_t *row = calloc((size_t)w + 1, 1); /* filter byte 0, then w zero samples */
    assert_non_null(row);
    size_t cap = 1 << 16, zlen = 0;
    uint8_t *z = malloc(cap);
    assert_non_null(z);
    z_stream zs;
    memset(&zs, 0, sizeof zs);
    assert_int_equal(deflateInit2(&zs, 9, Z_DEFLATED, 15, 9, Z_RLE), Z_OK);
    for (uint32_t y = 0; y <= h; y++) {
        int last = y == h;
        zs.next_in = row;
        zs.avail_in = last ? 0 : (uInt)w + 1;
        int rc;
        do {
            if (cap - zlen < 4096) {
                cap *= 2;
                z = realloc(z, cap);
                assert_non_null(z);
            }
            zs.next_out = z + zlen;
            zs.avail_out = (uInt)(cap - zlen);
            rc = deflate(&zs, last ? Z_FINISH : Z_NO_FLUSH);
            zlen = cap - zs.avail_out;
        } while (zs.avail_in > 0 || (last && rc != Z_STREAM_END));
    }
    deflateEnd(&zs);
    ti_png_chunk(&b, "IDAT", z, (uint32_t)zlen);
    ti_png_chunk(&b, "IEND", NULL, 0);
    free(z);
    free(row);
    return b;
}

/* ---- WebP --------------------------------------------------------------------------------- */

/* px has 4 channels (RGBA) when alpha, else 3. quality applies to lossy. */
TI_FN ti_blob ti_webp(const uint8_t *px, uint32_t w, uint32_t h, int alpha, int lossless,
                      int quality)
{
    uint8_t *out = NULL;
    size_t n;
    int stride = (int)w * (alpha ? 4 : 3);
    if (lossless)
        n = alpha ? WebPEncodeLosslessRGBA(px, (int)w, (int)h, stride, &out)
                  : WebPEncodeLosslessRGB(px, (int)w, (int)h, stride, &out);
    else
        n = alpha ? WebPEncodeRGBA(px, (int)w, (int)h, stride, (float)quality, &out)
                  : WebPEncodeRGB(px, (int)w, (int)h, stride, (float)quality, &out);
    assert_true(n > 0);
    ti_blob b = ti_blob_copy(out, n);
    WebPFree(out);
    return b;
}

/* An animated WebP of two 8 x 8 lossless frames: VP8X (animation flag, canvas 8 x 8), ANIM and two
 * ANMF chunks, each wrapping the VP8L chunk of a still image. */
TI_FN ti_blob ti_webp_animated(void)
{
    uint8_t *px = ti_pixels(8, 8, 3, 7);
    ti_blob still = ti_webp(px, 8, 8, 0, 1, 0);
    free(px);
    assert_memory_equal(still.p + 12, "VP8L", 4);
    const uint8_t *frame = still.p + 12; /* the VP8L chunk with its header and padding */
    size_t flen = still.n - 12;
    ti_blob b = ti_blob_copy("RIFF\0\0\0\0WEBP", 12);
    uint8_t vp8x[18] = {'V', 'P', '8', 'X', 10, 0, 0, 0, 0x02, 0, 0, 0, 7, 0, 0, 7, 0, 0};
    ti_blob_append(&b, vp8x, sizeof vp8x);
    /* ANIM: background colour (4), loop count (2) */
    static const uint8_t anim[14] = {'A', 'N', 'I', 'M', 6, 0, 0, 0, 255, 255, 255, 255, 0, 0};
    ti_blob_append(&b, anim, sizeof anim);
    for (int i = 0; i < 2; i++) {
        /* ANMF: x/2 (3), y/2 (3), width-1 (3), height-1 (3), duration ms (3), flags (1) */
        uint8_t anmf[24] = {'A', 'N', 'M', 'F'};
        ti_put_le(anmf + 4, (uint32_t)(16 + flen), 4);
        ti_put_le(anmf + 8, 0, 3);
        ti_put_le(anmf + 11, 0, 3);
        ti_put_le(anmf + 14, 7, 3);
        ti_put_le(anmf + 17, 7, 3);
        ti_put_le(anmf + 20, 100, 3);
        anmf[23] = 0;
        ti_blob_append(&b, anmf, sizeof anmf);
        ti_blob_append(&b, frame, flen);
    }
    ti_put_le(b.p + 4, (uint32_t)(b.n - 8), 4);
    ti_blob_free(&still);
    return b;
}

#endif
