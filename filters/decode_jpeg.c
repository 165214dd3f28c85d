/* filters/decode_jpeg.c — JPEG through libjpeg (libjpeg-turbo 2.1), hardened for untrusted bytes.
 *
 * Defences, in the order they act:
 *   1. Scans are counted in the bytes before libjpeg starts (jpeg_count_scans): marker segments
 *      are skipped by their lengths, so every SOS counted is one libjpeg would read, and an EXIF
 *      thumbnail's SOS is not. A file past max_scans costs one O(n) pass. A progress monitor
 *      checks input_scan_number as well, should libjpeg ever see a scan the count missed.
 *   2. cinfo.mem->max_memory_to_use = max_memory: libjpeg's whole-image buffers (progressive and
 *      multi-scan files) above it need backing store, which this build lacks
 *      (JERR_NO_BACKING_STORE), so that error and JERR_OUT_OF_MEMORY are IMG_R_MEMORY.
 *   3. error_exit longjmps back here; emit_message makes warnings (corrupt data, premature end)
 *      fatal when warnings_fatal is set, keeping libjpeg's text in the message.
 * Colour: grey, YCbCr and RGB files are converted to RGB by libjpeg straight into out->px (when
 * the EXIF orientation is 1); CMYK and YCCK come out as CMYK and are converted here.
 */
#include <inttypes.h>
#include <limits.h>
#include <setjmp.h>
#include <stdio.h>
#include <string.h>

#include <jpeglib.h>
#include <jerror.h>

#include "filters/decode_int.h"

/* Scanlines asked of libjpeg per jpeg_read_scanlines call. */
#define JDEC_ROWS 16

/* Decoder state shared with libjpeg's callbacks; err must come first (cinfo->err points here). */
typedef struct jdec {
    struct jpeg_error_mgr err;
    struct jpeg_progress_mgr progress;
    jmp_buf jmp;
    const img_limits *lim;
    img_reason reason; /* why we longjmp'd */
    char msg[JMSG_LENGTH_MAX + 64];
} jdec;

/* ---- byte-level checks ---------------------------------------------------------------------- */

static size_t load_be16(const uint8_t *p)
{
    return (size_t)p[0] << 8 | p[1];
}

/* Number of SOS markers libjpeg would meet in b[0..n), counting stops at stop. Walks the marker
 * structure as libjpeg's next_marker() does: bytes before an FF are skipped, then fill FFs; a
 * marker with a length is skipped whole (so an EXIF thumbnail's markers are not seen). The same
 * walk is exact inside entropy-coded data, where an FF is always followed by 00 (stuffing) or
 * D0..D7 (restart), both taken as markers without a length. Stops at EOI or at a segment that
 * runs past the end. One pass, O(n), memchr between markers. */
static uint32_t jpeg_count_scans(const uint8_t *b, size_t n, uint32_t stop)
{
    uint32_t scans = 0;
    size_t pos = 2; /* after SOI */
    while (pos < n && scans < stop) {
        const uint8_t *ff = memchr(b + pos, 0xff, n - pos);
        if (ff == NULL)
            break;
        pos = (size_t)(ff - b);
        while (pos < n && b[pos] == 0xff)
            pos++;
        if (pos >= n)
            break;
        uint8_t m = b[pos++];
        if (m == 0x00 || m == 0x01 || (m >= 0xd0 && m <= 0xd8))
            continue; /* no length: stuffed data, TEM, RSTn, SOI */
        if (m == 0xd9)
            break; /* EOI: libjpeg reads nothing after it */
        if (n - pos < 2)
            break;
        size_t len = load_be16(b + pos);
        if (len < 2 || n - pos < len)
            break;
        pos += len;
        scans += m == 0xda;
    }
    return scans;
}

/* EXIF orientation from a TIFF structure t[0..n) (the APP1 payload after "Exif\0\0"): IFD0's tag
 * 0x0112, type SHORT, count 1. 1 when absent or out of range; every read is bounds-checked. */
static int tiff_orientation(const uint8_t *t, size_t n)
{
    if (n < 8)
        return 1;
    int le;
    if (memcmp(t, "II*\0", 4) == 0)
        le = 1;
    else if (memcmp(t, "MM\0*", 4) == 0)
        le = 0;
    else
        return 1;
#define TIFF16(p) (le ? (unsigned)((p)[0] | (p)[1] << 8) : (unsigned)((p)[0] << 8 | (p)[1]))
#define TIFF32(p)                                                                                  \
    (le ? ((uint32_t)(p)[0] | (uint32_t)(p)[1] << 8 | (uint32_t)(p)[2] << 16 |                     \
           (uint32_t)(p)[3] << 24)                                                                 \
        : ((uint32_t)(p)[0] << 24 | (uint32_t)(p)[1] << 16 | (uint32_t)(p)[2] << 8 |               \
           (uint32_t)(p)[3]))
    size_t ifd = TIFF32(t + 4);
    if (ifd > n - 2)
        return 1;
    size_t count = TIFF16(t + ifd), e = ifd + 2;
    /* entry: tag(2) type(2) count(4) value(4, a SHORT sits in its first two bytes) */
    for (size_t i = 0; i < count && n - e >= 12; i++, e += 12) {
        if (TIFF16(t + e) != 0x0112)
            continue;
        if (TIFF16(t + e + 2) != 3 || TIFF32(t + e + 4) != 1)
            return 1;
        unsigned v = TIFF16(t + e + 8);
        return v >= 1 && v <= 8 ? (int)v : 1;
    }
    return 1;
#undef TIFF16
#undef TIFF32
}

static int exif_orientation(jpeg_saved_marker_ptr m)
{
    for (; m != NULL; m = m->next)
        if (m->marker == JPEG_APP0 + 1 && m->data_length >= 6 &&
            memcmp(m->data, "Exif\0\0", 6) == 0)
            return tiff_orientation(m->data + 6, m->data_length - 6);
    return 1;
}

/* ---- pixel loops ---------------------------------------------------------------------------- */

/* CMYK → RGB for one row of w pixels. Adobe (Photoshop) files store inverted CMYK, 255 = no
 * ink, so R = C*K/255 on the stored values; others store ink, R = (255-C)(255-K)/255. */
static void cmyk_row_to_rgb(const uint8_t *s, uint8_t *d, uint32_t w, int inverted)
{
    if (inverted) {
        for (uint32_t x = 0; x < w; x++, s += 4, d += 3) {
            unsigned k = s[3];
            d[0] = (uint8_t)((s[0] * k + 127) / 255);
            d[1] = (uint8_t)((s[1] * k + 127) / 255);
            d[2] = (uint8_t)((s[2] * k + 127) / 255);
        }
    } else {
        for (uint32_t x = 0; x < w; x++, s += 4, d += 3) {
            unsigned k = 255u - s[3];
            d[0] = (uint8_t)(((255u - s[0]) * k + 127) / 255);
            d[1] = (uint8_t)(((255u - s[1]) * k + 127) / 255);
            d[2] = (uint8_t)(((255u - s[2]) * k + 127) / 255);
        }
    }
}

/* Applies EXIF orientation o (2..8) to src (sw x sh RGB) into dst, which is sw x sh for 2..4 and
 * sh x sw for 5..8. Display pixel (x, y) = stored pixel at index start + x*dx + y*dy (in pixels),
 * from the EXIF definitions: e.g. 6 ("row 0 is the visual right side, column 0 the top") reads
 * stored row sh-1-x, column y. Tiles of 64 x 64 keep the transposing cases cache-friendly. */
static void orient_rgb(const uint8_t *src, uint32_t sw, uint32_t sh, int o, uint8_t *dst)
{
    ptrdiff_t w = sw, last_row = (ptrdiff_t)(sh - 1) * w, start, dx, dy;
    switch (o) {
    case 2:
        start = w - 1, dx = -1, dy = w;
        break;
    case 3:
        start = last_row + w - 1, dx = -1, dy = -w;
        break;
    case 4:
        start = last_row, dx = 1, dy = -w;
        break;
    case 5:
        start = 0, dx = w, dy = 1;
        break;
    case 6:
        start = last_row, dx = -w, dy = 1;
        break;
    case 7:
        start = last_row + w - 1, dx = -w, dy = -1;
        break;
    case 8:
        start = w - 1, dx = w, dy = -1;
        break;
    default:
        start = 0, dx = 1, dy = w;
        break;
    }
    uint32_t dw = o >= 5 ? sh : sw, dh = o >= 5 ? sw : sh;
    enum { T = 64 };
    for (uint32_t ty = 0; ty < dh; ty += T) {
        uint32_t yend = dh - ty < T ? dh : ty + T;
        for (uint32_t tx = 0; tx < dw; tx += T) {
            uint32_t n = dw - tx < T ? dw - tx : T;
            for (uint32_t y = ty; y < yend; y++) {
                /* an index, not a pointer, steps through src: after the last pixel it may point
                 * outside the picture, which a pointer must not */
                ptrdiff_t off = start + (ptrdiff_t)tx * dx + (ptrdiff_t)y * dy;
                uint8_t *d = dst + 3 * ((size_t)y * dw + tx);
                for (uint32_t x = 0; x < n; x++, d += 3, off += dx) {
                    const uint8_t *s = src + 3 * off;
                    d[0] = s[0];
                    d[1] = s[1];
                    d[2] = s[2];
                }
            }
        }
    }
}

/* ---- libjpeg callbacks ---------------------------------------------------------------------- */

static void jdec_fail_jmp(j_common_ptr ci, img_reason r, const char *kind)
{
    jdec *d = (jdec *)ci->err;
    char text[JMSG_LENGTH_MAX];
    d->err.format_message(ci, text);
    snprintf(d->msg, sizeof d->msg, "JPEG %s: %s", kind, text);
    d->reason = r;
    longjmp(d->jmp, 1);
}

static void jdec_error_exit(j_common_ptr ci)
{
    int code = ci->err->msg_code;
    int memory = code == JERR_OUT_OF_MEMORY || code == JERR_NO_BACKING_STORE ||
                 code == JERR_TFILE_CREATE || code == JERR_TFILE_READ || code == JERR_TFILE_SEEK ||
                 code == JERR_TFILE_WRITE;
    jdec_fail_jmp(ci, memory ? IMG_R_MEMORY : IMG_R_UNDECODABLE, "error");
}

/* msg_level -1 is a warning (corrupt data, premature end); 0.. are trace messages. */
static void jdec_emit_message(j_common_ptr ci, int msg_level)
{
    jdec *d = (jdec *)ci->err;
    if (msg_level >= 0)
        return;
    d->err.num_warnings++;
    if (d->lim->warnings_fatal)
        jdec_fail_jmp(ci, ci->err->msg_code == JWRN_JPEG_EOF ? IMG_R_TRUNCATED : IMG_R_UNDECODABLE,
                      "warning");
}

static void jdec_output_message(j_common_ptr ci)
{
    (void)ci; /* library code never prints */
}

static void jdec_progress(j_common_ptr ci)
{
    jdec *d = (jdec *)ci->err;
    j_decompress_ptr di = (j_decompress_ptr)ci;
    if (di->input_scan_number > 0 && (uint32_t)di->input_scan_number > d->lim->max_scans) {
        snprintf(d->msg, sizeof d->msg,
                 "JPEG: scan %d is past max_scans %" PRIu32 " (found while decoding)",
                 di->input_scan_number, d->lim->max_scans);
        d->reason = IMG_R_TOO_MANY_SCANS;
        longjmp(d->jmp, 1);
    }
}

/* ---- the decode ----------------------------------------------------------------------------- */

/* Everything between jpeg_create_decompress and jpeg_finish_decompress. libjpeg's errors longjmp
 * to jdec_guarded; checks of ours return a status with *reason set. */
static cc_status jdec_run(jdec *d, struct jpeg_decompress_struct *ci, const uint8_t *p, size_t n,
                          uint32_t min_w, uint32_t min_h, img_rgb *out, img_decode_info *info,
                          img_reason *reason)
{
    const img_limits *lim = d->lim;
    jpeg_create_decompress(ci);
    ci->mem->max_memory_to_use =
        lim->max_memory > (size_t)LONG_MAX ? LONG_MAX : (long)lim->max_memory;
    d->progress.progress_monitor = jdec_progress;
    ci->progress = &d->progress;
    jpeg_mem_src(ci, p, (unsigned long)n);
    jpeg_save_markers(ci, JPEG_APP0 + 1, 0xffff);
    jpeg_read_header(ci, TRUE);
    /* libjpeg read the same frame header as the probe, but this is the size it will decode. */
    CC_TRY(img_dec_check_size(ci->image_width, ci->image_height, lim, reason));
    int o = exif_orientation(ci->marker_list);
    int cmyk = ci->jpeg_color_space == JCS_CMYK || ci->jpeg_color_space == JCS_YCCK;
    ci->out_color_space = cmyk ? JCS_CMYK : JCS_RGB;
    /* JDCT_IFAST measured 4 dB worse (44.0 vs 48.1 dB on re-encoded photos) and no faster */
    ci->dct_method = JDCT_ISLOW;

    /* The smallest M/8 whose output, oriented for display, still covers min_w x min_h, with M in
     * 1, 2, 4, 8: libjpeg-turbo has SIMD inverse DCTs for those. Measured on 12 photos (37.5 MP,
     * ms per source MP): M=1 2.1, 2 2.3, 3 3.2, 4 2.9, 5 4.8, 6 5.3, 7 7.9, 8 3.5, so 5..7 would
     * be slower than no scaling and 3 slower than 4. */
    static const int scales[] = {1, 2, 4};
    int m = 8;
    for (size_t i = 0; min_w != 0 && min_h != 0 && i < sizeof scales / sizeof scales[0]; i++) {
        ci->scale_num = (unsigned)scales[i];
        ci->scale_denom = 8;
        jpeg_calc_output_dimensions(ci);
        uint32_t dw = o >= 5 ? ci->output_height : ci->output_width;
        uint32_t dh = o >= 5 ? ci->output_width : ci->output_height;
        if (dw >= min_w && dh >= min_h) {
            m = scales[i];
            break;
        }
    }
    ci->scale_num = (unsigned)m;
    ci->scale_denom = 8;
    info->width = o >= 5 ? ci->image_height : ci->image_width;
    info->height = o >= 5 ? ci->image_width : ci->image_height;
    info->orientation = o;
    info->scale_num = m;

    jpeg_start_decompress(ci); /* a progressive file is read in whole here */
    uint32_t w = ci->output_width, h = ci->output_height;
    if (ci->output_components != (cmyk ? 4 : 3))
        return img_dec_fail(reason, IMG_R_UNDECODABLE, "JPEG: %d output components",
                            ci->output_components);
    /* Orientation needs the stored picture and the turned one: out gets room for both (6 bytes a
     * pixel, counted against max_memory), libjpeg writes the second half, orient_rgb the first. */
    CC_TRY(img_dec_reserve(out, o >= 5 ? h : w, o >= 5 ? w : h, o == 1 ? 3 : 6, lim, reason));
    size_t stride = (size_t)w * 3;
    uint8_t *dst = o == 1 ? out->px : out->px + stride * h;
    /* CMYK rows go through a small buffer in libjpeg's pool (freed with the decompressor). */
    JSAMPARRAY cmyk_rows = NULL;
    if (cmyk)
        cmyk_rows = ci->mem->alloc_sarray((j_common_ptr)ci, JPOOL_IMAGE, w * 4, JDEC_ROWS);
    int inverted = ci->saw_Adobe_marker;
    while (ci->output_scanline < h) {
        uint32_t y = ci->output_scanline;
        /* Up to 16 rows a call: one whole iMCU row of 4:2:0 at full scale per call. */
        JSAMPROW rows[JDEC_ROWS];
        JDIMENSION want = h - y < JDEC_ROWS ? h - y : JDEC_ROWS, got;
        if (cmyk) {
            got = jpeg_read_scanlines(ci, cmyk_rows, want);
            for (JDIMENSION i = 0; i < got; i++)
                cmyk_row_to_rgb(cmyk_rows[i], dst + (y + i) * stride, w, inverted);
        } else {
            for (JDIMENSION i = 0; i < want; i++)
                rows[i] = dst + (y + i) * stride;
            got = jpeg_read_scanlines(ci, rows, want);
        }
        if (got == 0) /* only a suspending source returns 0; ours never suspends */
            return img_dec_fail(reason, IMG_R_UNDECODABLE, "JPEG: decoder made no progress");
    }
    jpeg_finish_decompress(ci); /* reads up to EOI, so a cut-off tail is noticed */
    info->scans = ci->input_scan_number > 0 ? (uint32_t)ci->input_scan_number : 1;
    if (o != 1)
        orient_rgb(dst, w, h, o, out->px);
    return CC_OK;
}

/* Runs jdec_run under setjmp. d and ci belong to the caller's frame, not to this function, so
 * what jdec_run changed in them before a longjmp is still defined afterwards (C11 7.13.2.1). */
static cc_status jdec_guarded(jdec *d, struct jpeg_decompress_struct *ci, const uint8_t *p,
                              size_t n, uint32_t min_w, uint32_t min_h, img_rgb *out,
                              img_decode_info *info, img_reason *reason)
{
    if (setjmp(d->jmp) != 0) {
        *reason = d->reason;
        return cc_fail(img_dec_status_of(d->reason), "%s", d->msg);
    }
    return jdec_run(d, ci, p, n, min_w, min_h, out, info, reason);
}

cc_status img_dec_jpeg(const uint8_t *p, size_t n, const img_limits *lim, uint32_t min_w,
                       uint32_t min_h, img_rgb *out, img_decode_info *info, img_reason *reason)
{
    if (lim->max_scans < UINT32_MAX) {
        uint32_t scans = jpeg_count_scans(p, n, lim->max_scans + 1);
        if (scans > lim->max_scans)
            return img_dec_fail(reason, IMG_R_TOO_MANY_SCANS,
                                "JPEG has more than max_scans %" PRIu32
                                " scans (SOS markers counted before decoding)",
                                lim->max_scans);
    }
    jdec d;
    struct jpeg_decompress_struct ci;
    memset(&d, 0, sizeof d);
    memset(&ci, 0, sizeof ci);
    d.lim = lim;
    ci.err = jpeg_std_error(&d.err);
    d.err.error_exit = jdec_error_exit;
    d.err.emit_message = jdec_emit_message;
    d.err.output_message = jdec_output_message;
    cc_status st = jdec_guarded(&d, &ci, p, n, min_w, min_h, out, info, reason);
    jpeg_destroy_decompress(&ci); /* safe also when create failed: ci.mem is then NULL */
    return st;
}
