/* filters/decode_png.c — PNG through libpng 1.6, hardened for untrusted bytes.
 *
 * Limits set before the first chunk is read: png_set_user_limits(max_side, max_side), the chunk
 * cache (png_chunk_cache) and the ancillary chunk allocation limit (png_chunk_max). Every
 * ancillary chunk except tRNS is skipped unread (PNG_HANDLE_CHUNK_NEVER), so text, ICC and EXIF
 * chunks cost neither inflation nor memory, and their CRCs are not checked
 * (PNG_CRC_QUIET_USE). Critical chunks keep libpng's default: a CRC error there is fatal.
 *
 * Warnings, when warnings_fatal is set: fatal, except those libpng prefixes with the name of an
 * ancillary chunk ("tRNS: invalid", "iCCP: known incorrect sRGB profile"): libpng drops that
 * chunk and the pixels are unaffected, so rejecting the image would be a false positive. Warnings
 * about the image data (e.g. "IDAT: Too much image data") are fatal.
 *
 * Pixels: expand (palette, grey below 8 bits, tRNS → alpha), 16 → 8 bits by rounding
 * (png_set_scale_16), grey → RGB. Rows are read straight into out->px: RGB at 3 bytes a pixel,
 * or RGBA at 4 (out is allocated with room) and then composited over white in place. Adam7
 * interlacing is undone by libpng passing over the same rows (png_read_row with a row pointer
 * writes only the pass's pixels).
 */
#include <inttypes.h>
#include <setjmp.h>
#include <stdio.h>
#include <string.h>

#include <png.h>

#include "filters/decode_int.h"

typedef struct pdec {
    const uint8_t *p;
    size_t n, pos;
    int eof; /* the reader ran out of bytes: the file is truncated */
    const img_limits *lim;
    char msg[256];
} pdec;

static void pdec_read(png_structp png, png_bytep data, size_t len)
{
    pdec *d = png_get_io_ptr(png);
    if (len > d->n - d->pos) {
        d->eof = 1;
        png_error(png, "unexpected end of data");
    }
    memcpy(data, d->p + d->pos, len);
    d->pos += len;
}

static void pdec_error(png_structp png, png_const_charp msg)
{
    pdec *d = png_get_error_ptr(png);
    snprintf(d->msg, sizeof d->msg, "PNG error: %s", msg);
    png_longjmp(png, 1);
}

/* "xXxX: text" where the first letter is lowercase (PNG's ancillary bit). */
static int is_ancillary_chunk_message(const char *m)
{
    for (int i = 0; i < 4; i++) {
        char c = m[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')))
            return 0;
    }
    return m[0] >= 'a' && m[0] <= 'z' && m[4] == ':';
}

static void pdec_warning(png_structp png, png_const_charp msg)
{
    pdec *d = png_get_error_ptr(png);
    if (!d->lim->warnings_fatal || is_ancillary_chunk_message(msg))
        return;
    snprintf(d->msg, sizeof d->msg, "PNG warning: %s", msg);
    png_longjmp(png, 1);
}

/* Everything from png_read_info to the last row. Errors longjmp to pdec_guarded. */
static cc_status pdec_run(pdec *d, png_structp png, png_infop pinfo, img_rgb *out,
                          img_decode_info *info, img_reason *reason)
{
    const img_limits *lim = d->lim;
    uint32_t side = lim->max_side < PNG_UINT_31_MAX ? lim->max_side : PNG_UINT_31_MAX;
    png_set_read_fn(png, d, pdec_read);
    png_set_user_limits(png, side, side);
    png_set_chunk_cache_max(png, lim->png_chunk_cache);
    png_set_chunk_malloc_max(png, lim->png_chunk_max);
    png_set_keep_unknown_chunks(png, PNG_HANDLE_CHUNK_NEVER, NULL, -1);
    png_set_crc_action(png, PNG_CRC_DEFAULT, PNG_CRC_QUIET_USE);
    png_set_option(png, PNG_SKIP_sRGB_CHECK_PROFILE, PNG_OPTION_ON);
    png_read_info(png, pinfo);

    png_uint_32 w = png_get_image_width(png, pinfo), h = png_get_image_height(png, pinfo);
    CC_TRY(img_dec_check_size(w, h, lim, reason));
    int color = png_get_color_type(png, pinfo), depth = png_get_bit_depth(png, pinfo);
    if (color == PNG_COLOR_TYPE_PALETTE || depth < 8 || png_get_valid(png, pinfo, PNG_INFO_tRNS))
        png_set_expand(png);
    if (depth == 16)
        png_set_scale_16(png);
    if (color == PNG_COLOR_TYPE_GRAY || color == PNG_COLOR_TYPE_GRAY_ALPHA)
        png_set_gray_to_rgb(png);
    png_set_packing(png);
    int passes = png_set_interlace_handling(png);
    png_read_update_info(png, pinfo);

    unsigned ch = png_get_channels(png, pinfo);
    if ((ch != 3 && ch != 4) || png_get_bit_depth(png, pinfo) != 8 ||
        png_get_rowbytes(png, pinfo) != (size_t)w * ch)
        return img_dec_fail(reason, IMG_R_UNDECODABLE,
                            "PNG: unexpected row layout after transforms (%u channels)", ch);
    CC_TRY(img_dec_reserve(out, w, h, ch, lim, reason));
    size_t stride = (size_t)w * ch;
    for (int pass = 0; pass < passes; pass++)
        for (png_uint_32 y = 0; y < h; y++)
            png_read_row(png, out->px + y * stride, NULL);
    /* The rest of the file (chunks after IDAT, IEND) is not needed for the pixels. */
    if (ch == 4)
        img_dec_over_white(out->px, (size_t)w * h, out->px);
    info->width = w;
    info->height = h;
    return CC_OK;
}

/* pdec_run under setjmp; png and pinfo are not changed by this function after setjmp. */
static cc_status pdec_guarded(pdec *d, png_structp png, png_infop pinfo, img_rgb *out,
                              img_decode_info *info, img_reason *reason)
{
    if (setjmp(png_jmpbuf(png)) != 0) {
        *reason = d->eof ? IMG_R_TRUNCATED : IMG_R_UNDECODABLE;
        return cc_fail(CC_E_FORMAT, "%s", d->msg);
    }
    return pdec_run(d, png, pinfo, out, info, reason);
}

cc_status img_dec_png(const uint8_t *p, size_t n, const img_limits *lim, img_rgb *out,
                      img_decode_info *info, img_reason *reason)
{
    pdec d = {.p = p, .n = n, .lim = lim};
    png_structp png = png_create_read_struct(PNG_LIBPNG_VER_STRING, &d, pdec_error, pdec_warning);
    png_infop pinfo = png ? png_create_info_struct(png) : NULL;
    cc_status st;
    if (pinfo == NULL) {
        *reason = IMG_R_MEMORY;
        st = cc_fail(CC_E_NOMEM, "PNG: out of memory creating the decoder");
    } else {
        st = pdec_guarded(&d, png, pinfo, out, info, reason);
    }
    png_destroy_read_struct(png ? &png : NULL, pinfo ? &pinfo : NULL, NULL);
    return st;
}
