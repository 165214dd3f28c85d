/* filters/probe.c — format, size and flags of JPEG, PNG and WebP from their headers.
 *
 * Every parser below works on (b, n) and checks each offset against n before it reads; offsets are
 * size_t and are compared as "n - pos < need" after establishing pos <= n, so nothing overflows.
 * The specifications followed: ITU T.81 (JPEG markers, B.1), PNG (ISO 15948, 5.3 and 11.2.2),
 * RFC 9649 (WebP container, VP8L header) and RFC 6386 (VP8 key frame header, 9.1).
 */
#include "filters/probe.h"

#include <inttypes.h>
#include <string.h>

#include "common/buf.h"

static const uint8_t png_sig[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};

static uint16_t load_be16(const uint8_t *p)
{
    return (uint16_t)(p[0] << 8 | p[1]);
}

static uint32_t load_be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | (uint32_t)p[3];
}

static uint32_t load_le24(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16;
}

uint8_t img_sniff(const void *p, size_t n)
{
    const uint8_t *b = p;
    if (b == NULL)
        return IMG_FMT_UNKNOWN;
    if (n >= 3 && b[0] == 0xff && b[1] == 0xd8 && b[2] == 0xff)
        return IMG_FMT_JPEG;
    if (n >= 8 && memcmp(b, png_sig, 8) == 0)
        return IMG_FMT_PNG;
    if (n >= 12 && memcmp(b, "RIFF", 4) == 0 && memcmp(b + 8, "WEBP", 4) == 0)
        return IMG_FMT_WEBP;
    return IMG_FMT_UNKNOWN;
}

/* ---- JPEG ---------------------------------------------------------------------------------- */

/* Frame header markers: C0..CF except DHT (C4), JPG (C8) and DAC (CC). */
static int jpeg_is_sof(uint8_t m)
{
    return m >= 0xc0 && m <= 0xcf && m != 0xc4 && m != 0xc8 && m != 0xcc;
}

static cc_status probe_jpeg(const uint8_t *b, size_t n, img_probe *out)
{
    size_t pos = 2; /* after SOI */
    for (;;) {
        /* Like libjpeg's next_marker(): bytes that are not 0xFF between segments are skipped
         * (libjpeg warns "extraneous bytes"), then any run of 0xFF fill bytes. */
        while (pos < n && b[pos] != 0xff)
            pos++;
        while (pos < n && b[pos] == 0xff)
            pos++;
        if (pos >= n)
            return cc_fail(CC_E_FORMAT, "JPEG: truncated before the frame header (%zu bytes)", n);
        uint8_t m = b[pos++];
        if (m == 0x00)
            continue; /* a stuffed 0xFF00 is data, not a marker */
        if (m == 0x01 || (m >= 0xd0 && m <= 0xd8))
            continue; /* TEM, RST0..7 and SOI stand alone, without a length */
        if (m == 0xd9)
            return cc_fail(CC_E_FORMAT, "JPEG: end of image before any frame header");
        if (m == 0xda)
            return cc_fail(CC_E_FORMAT, "JPEG: scan data (SOS) before any frame header");
        if (n - pos < 2)
            return cc_fail(CC_E_FORMAT, "JPEG: truncated in marker FF%02X", m);
        size_t len = load_be16(b + pos); /* counts its own two bytes */
        if (len < 2)
            return cc_fail(CC_E_FORMAT, "JPEG: marker FF%02X has bad length %zu", m, len);
        if (n - pos < len)
            return cc_fail(CC_E_FORMAT,
                           "JPEG: truncated in marker FF%02X at offset %zu (needs %zu bytes, %zu "
                           "left)",
                           m, pos - 2, len, n - pos);
        if (jpeg_is_sof(m)) {
            /* Lf(2) P(1) Y(2) X(2) Nf(1), then Nf component specs of 3 bytes (T.81 B.2.2). */
            if (len < 8)
                return cc_fail(CC_E_FORMAT, "JPEG: frame header FF%02X too short (%zu)", m, len);
            const uint8_t *f = b + pos;
            unsigned precision = f[2], ncomp = f[7];
            uint32_t h = load_be16(f + 3), w = load_be16(f + 5);
            if (ncomp == 0 || len != 8 + 3 * (size_t)ncomp)
                return cc_fail(CC_E_FORMAT,
                               "JPEG: frame header length %zu does not match %u components", len,
                               ncomp);
            if (precision < 2 || precision > 16)
                return cc_fail(CC_E_FORMAT, "JPEG: sample precision %u", precision);
            if (w == 0 || h == 0)
                return cc_fail(CC_E_FORMAT,
                               "JPEG: zero %s in frame header (height defined by DNL is not "
                               "supported)",
                               w == 0 ? "width" : "height");
            out->width = w;
            out->height = h;
            out->progressive = m == 0xc2 || m == 0xc6 || m == 0xca || m == 0xce;
            return CC_OK;
        }
        pos += len;
    }
}

/* ---- PNG ----------------------------------------------------------------------------------- */

/* CRC-32 (ISO 3309, reflected 0xEDB88320) of n bytes; bitwise, since only IHDR is checked. */
static uint32_t png_crc(const uint8_t *p, size_t n)
{
    uint32_t c = 0xffffffffu;
    for (size_t i = 0; i < n; i++) {
        c ^= p[i];
        for (int k = 0; k < 8; k++)
            c = (c >> 1) ^ (0xedb88320u & (0u - (c & 1)));
    }
    return c ^ 0xffffffffu;
}

static int png_depth_ok(unsigned color, unsigned depth)
{
    switch (color) {
    case 0:
        return depth == 1 || depth == 2 || depth == 4 || depth == 8 || depth == 16;
    case 3:
        return depth == 1 || depth == 2 || depth == 4 || depth == 8;
    case 2:
    case 4:
    case 6:
        return depth == 8 || depth == 16;
    default:
        return 0;
    }
}

static cc_status probe_png(const uint8_t *b, size_t n, img_probe *out)
{
    /* signature(8) length(4) "IHDR"(4) data(13) crc(4) */
    if (n < 33)
        return cc_fail(CC_E_FORMAT, "PNG: truncated before the end of IHDR (%zu bytes)", n);
    if (load_be32(b + 8) != 13 || memcmp(b + 12, "IHDR", 4) != 0)
        return cc_fail(CC_E_FORMAT, "PNG: first chunk is not IHDR of length 13");
    const uint8_t *d = b + 16;
    if (png_crc(b + 12, 17) != load_be32(b + 29))
        return cc_fail(CC_E_FORMAT, "PNG: IHDR CRC mismatch");
    uint32_t w = load_be32(d), h = load_be32(d + 4);
    unsigned depth = d[8], color = d[9], interlace = d[12];
    if (w == 0 || h == 0)
        return cc_fail(CC_E_FORMAT, "PNG: zero %s in IHDR", w == 0 ? "width" : "height");
    if (w > IMG_PROBE_MAX_SIDE || h > IMG_PROBE_MAX_SIDE)
        return cc_fail(CC_E_FORMAT, "PNG: size %" PRIu32 "x%" PRIu32 " exceeds 2^31-1", w, h);
    if (!png_depth_ok(color, depth))
        return cc_fail(CC_E_FORMAT, "PNG: invalid bit depth %u for colour type %u", depth, color);
    if (d[10] != 0 || d[11] != 0 || interlace > 1)
        return cc_fail(CC_E_FORMAT, "PNG: unknown compression %u, filter %u or interlace %u", d[10],
                       d[11], interlace);
    out->width = w;
    out->height = h;
    out->progressive = interlace == 1;
    out->has_alpha = color == 4 || color == 6;
    /* tRNS, when present, precedes IDAT. Scan the chunks that lie within the input; each step
     * advances at least 12 bytes, so the walk is linear in n. */
    size_t pos = 33;
    while (!out->has_alpha && n - pos >= 8) {
        uint32_t len = load_be32(b + pos);
        const uint8_t *type = b + pos + 4;
        if (memcmp(type, "IDAT", 4) == 0 || memcmp(type, "IEND", 4) == 0)
            break;
        if (memcmp(type, "tRNS", 4) == 0)
            out->has_alpha = 1;
        if (len > n - pos - 8 || n - pos - 8 - len < 4)
            break; /* the rest is not in the input */
        pos += 12 + (size_t)len;
    }
    return CC_OK;
}

/* ---- WebP ---------------------------------------------------------------------------------- */

/* A chunk tag as printable text for messages: bytes outside ' '..'~' become '?'. */
typedef struct fourcc {
    char s[5];
} fourcc;

static fourcc fourcc_of(const uint8_t *tag)
{
    fourcc f;
    for (int i = 0; i < 4; i++)
        f.s[i] = tag[i] >= 0x20 && tag[i] < 0x7f ? (char)tag[i] : '?';
    f.s[4] = '\0';
    return f;
}

/* Size of a VP8 key frame (RFC 6386 9.1) from the first bytes of its chunk. avail bytes of the
 * chunk's csize are in the input. *have = 1 when parsed, 0 when avail is too short. */
static cc_status webp_vp8_size(const uint8_t *d, size_t avail, size_t csize, uint32_t *w,
                               uint32_t *h, int *have)
{
    *have = 0;
    if (csize < 10)
        return cc_fail(CC_E_FORMAT, "WebP: VP8 chunk too short (%zu bytes)", csize);
    if (avail < 10)
        return CC_OK;
    uint32_t bits = load_le24(d);
    if (bits & 1)
        return cc_fail(CC_E_FORMAT, "WebP: VP8 frame is not a key frame");
    if (((bits >> 1) & 7) > 3)
        return cc_fail(CC_E_FORMAT, "WebP: VP8 profile %u is invalid", (unsigned)(bits >> 1) & 7);
    if (!((bits >> 4) & 1))
        return cc_fail(CC_E_FORMAT, "WebP: VP8 frame is not shown");
    if ((bits >> 5) >= csize)
        return cc_fail(CC_E_FORMAT, "WebP: VP8 partition size exceeds its chunk");
    if (d[3] != 0x9d || d[4] != 0x01 || d[5] != 0x2a)
        return cc_fail(CC_E_FORMAT, "WebP: VP8 start code missing");
    /* 14 bits of size, 2 bits of upscaling hint (ignored: the decoded size is the coded size). */
    *w = cc_load_u16(d + 6) & 0x3fffu;
    *h = cc_load_u16(d + 8) & 0x3fffu;
    if (*w == 0 || *h == 0)
        return cc_fail(CC_E_FORMAT, "WebP: zero %s in VP8 frame", *w == 0 ? "width" : "height");
    *have = 1;
    return CC_OK;
}

/* Size and alpha hint of a VP8L image (RFC 9649 3.2); *have as for webp_vp8_size. */
static cc_status webp_vp8l_size(const uint8_t *d, size_t avail, size_t csize, uint32_t *w,
                                uint32_t *h, int *alpha, int *have)
{
    *have = 0;
    if (csize < 5)
        return cc_fail(CC_E_FORMAT, "WebP: VP8L chunk too short (%zu bytes)", csize);
    if (avail < 5)
        return CC_OK;
    if (d[0] != 0x2f)
        return cc_fail(CC_E_FORMAT, "WebP: VP8L signature 0x%02x, expected 0x2f", d[0]);
    uint32_t bits = cc_load_u32(d + 1);
    if (bits >> 29 != 0)
        return cc_fail(CC_E_UNSUPPORTED, "WebP: VP8L version %u", (unsigned)(bits >> 29));
    *w = (bits & 0x3fffu) + 1;
    *h = ((bits >> 14) & 0x3fffu) + 1;
    *alpha = (bits >> 28) & 1;
    *have = 1;
    return CC_OK;
}

/* After the VP8X chunk of a still image: finds the VP8/VP8L chunk (skipping ALPH, ICCP and
 * unknown chunks) and checks that its size is the canvas size. Stops quietly where the input
 * ends before the RIFF does; fails when the whole RIFF is present and has no image chunk. */
static cc_status webp_check_still(const uint8_t *b, size_t n, size_t pos, size_t riff_end,
                                  const img_probe *out)
{
    size_t end = n < riff_end ? n : riff_end;
    int complete = n >= riff_end;
    while (pos <= end && end - pos >= 8) {
        const uint8_t *tag = b + pos;
        size_t csize = cc_load_u32(b + pos + 4), avail = end - pos - 8;
        int is_vp8 = memcmp(tag, "VP8 ", 4) == 0, is_vp8l = memcmp(tag, "VP8L", 4) == 0;
        if (is_vp8 || is_vp8l) {
            uint32_t w = 0, h = 0;
            int alpha = 0, have = 0;
            size_t got = avail < csize ? avail : csize;
            if (complete && csize > avail)
                return cc_fail(CC_E_FORMAT, "WebP: image chunk overruns the RIFF");
            if (is_vp8)
                CC_TRY(webp_vp8_size(b + pos + 8, got, csize, &w, &h, &have));
            else
                CC_TRY(webp_vp8l_size(b + pos + 8, got, csize, &w, &h, &alpha, &have));
            if (have && (w != out->width || h != out->height))
                return cc_fail(CC_E_FORMAT,
                               "WebP: image is %" PRIu32 "x%" PRIu32 " but the canvas is %" PRIu32
                               "x%" PRIu32,
                               w, h, out->width, out->height);
            return CC_OK;
        }
        if (csize > avail || avail - csize < (csize & 1)) {
            if (complete)
                return cc_fail(CC_E_FORMAT, "WebP: chunk '%s' overruns the RIFF", fourcc_of(tag).s);
            return CC_OK;
        }
        pos += 8 + csize + (csize & 1); /* chunks are padded to even sizes */
    }
    if (complete)
        return cc_fail(CC_E_FORMAT, "WebP: extended file has no VP8/VP8L image chunk");
    return CC_OK;
}

static cc_status probe_webp(const uint8_t *b, size_t n, img_probe *out)
{
    /* "RIFF" size(4, counts from "WEBP") "WEBP", then the first chunk: tag(4) size(4) data. */
    size_t riff_size = cc_load_u32(b + 4);
    if (riff_size < 12)
        return cc_fail(CC_E_FORMAT, "WebP: RIFF size %zu is too small", riff_size);
    if (n < 20)
        return cc_fail(CC_E_FORMAT, "WebP: truncated before the first chunk (%zu bytes)", n);
    const uint8_t *tag = b + 12;
    size_t csize = cc_load_u32(b + 16);
    if (csize > riff_size - 12)
        return cc_fail(CC_E_FORMAT, "WebP: chunk '%s' (%zu bytes) overruns the RIFF (%zu)",
                       fourcc_of(tag).s, csize, riff_size);
    const uint8_t *d = b + 20;
    size_t avail = n - 20 < csize ? n - 20 : csize;
    int have = 0;
    if (memcmp(tag, "VP8 ", 4) == 0) {
        CC_TRY(webp_vp8_size(d, avail, csize, &out->width, &out->height, &have));
    } else if (memcmp(tag, "VP8L", 4) == 0) {
        CC_TRY(webp_vp8l_size(d, avail, csize, &out->width, &out->height, &out->has_alpha, &have));
    } else if (memcmp(tag, "VP8X", 4) == 0) {
        if (csize != 10)
            return cc_fail(CC_E_FORMAT, "WebP: VP8X chunk size %zu, expected 10", csize);
        if (avail < 10)
            return cc_fail(CC_E_FORMAT, "WebP: truncated in the VP8X chunk");
        /* flags(1: ICC 0x20, alpha 0x10, EXIF 0x08, XMP 0x04, animation 0x02) reserved(3)
         * canvas width-1(3) canvas height-1(3) */
        out->has_alpha = (d[0] & 0x10) != 0;
        out->animated = (d[0] & 0x02) != 0;
        out->width = load_le24(d + 4) + 1;
        out->height = load_le24(d + 7) + 1;
        if ((uint64_t)out->width * out->height >= (uint64_t)1 << 32)
            return cc_fail(CC_E_FORMAT, "WebP: canvas %" PRIu32 "x%" PRIu32 " is too large",
                           out->width, out->height);
        if (!out->animated)
            CC_TRY(webp_check_still(b, n, 30, riff_size + 8, out));
        return CC_OK;
    } else {
        return cc_fail(CC_E_FORMAT, "WebP: unknown first chunk '%s'", fourcc_of(tag).s);
    }
    if (!have)
        return cc_fail(CC_E_FORMAT, "WebP: truncated in the '%s' header", fourcc_of(tag).s);
    return CC_OK;
}

/* ---- entry points -------------------------------------------------------------------------- */

/* A message for bytes that are no format we read: names the common ones, or says the input is
 * too short to be one of ours. */
static cc_status probe_unknown(const uint8_t *b, size_t n)
{
    static const struct {
        const char *magic;
        size_t len;
        const char *name;
    } other[] = {
        {"GIF8", 4, "GIF"},
        {"BM", 2, "BMP"},
        {"II*\0", 4, "TIFF"},
        {"MM\0*", 4, "TIFF"},
        {"\0\0\1\0", 4, "ICO"},
        {"\xff\x0a", 2, "JPEG XL"},
        {"\0\0\0\x0cJXL ", 8, "JPEG XL"},
    };
    if (n == 0)
        return cc_fail(CC_E_FORMAT, "empty input is not an image");
    /* A prefix of one of our signatures: a truncated download rather than another format. */
    if ((n < 3 && memcmp(b, "\xff\xd8\xff", n) == 0) || (n < 8 && memcmp(b, png_sig, n) == 0) ||
        (n < 12 && memcmp(b, "RIFF", n < 4 ? n : 4) == 0 &&
         (n <= 8 || memcmp(b + 8, "WEBP", n - 8) == 0)))
        return cc_fail(CC_E_FORMAT, "truncated image: %zu bytes are too few to tell its format", n);
    for (size_t i = 0; i < sizeof other / sizeof other[0]; i++)
        if (n >= other[i].len && memcmp(b, other[i].magic, other[i].len) == 0)
            return cc_fail(CC_E_UNSUPPORTED, "%s images are not supported (JPEG, PNG, WebP are)",
                           other[i].name);
    if (n >= 12 && memcmp(b + 4, "ftyp", 4) == 0)
        return cc_fail(CC_E_UNSUPPORTED,
                       "ISO media file (brand '%s', e.g. AVIF/HEIF) is not supported",
                       fourcc_of(b + 8).s);
    uint8_t head[4] = {0};
    memcpy(head, b, n < 4 ? n : 4);
    return cc_fail(CC_E_UNSUPPORTED,
                   "not a JPEG, PNG or WebP image (first bytes %02x %02x %02x %02x, %zu bytes)",
                   head[0], head[1], head[2], head[3], n);
}

cc_status img_probe_bytes(const void *p, size_t n, img_probe *out)
{
    if (out == NULL)
        return cc_fail(CC_E_INVAL, "img_probe_bytes: out is NULL");
    memset(out, 0, sizeof *out);
    if (p == NULL && n > 0)
        return cc_fail(CC_E_INVAL, "img_probe_bytes: NULL bytes with length %zu", n);
    const uint8_t *b = p;
    uint8_t fmt = img_sniff(b, n);
    cc_status st;
    switch (fmt) {
    case IMG_FMT_JPEG:
        st = probe_jpeg(b, n, out);
        break;
    case IMG_FMT_PNG:
        st = probe_png(b, n, out);
        break;
    case IMG_FMT_WEBP:
        st = probe_webp(b, n, out);
        break;
    default:
        return probe_unknown(b, n);
    }
    if (st != CC_OK)
        memset(out, 0, sizeof *out);
    out->format = fmt;
    return st;
}
