/* filters/decode.c — img_decode(): the checks every format shares, then the per-format decoder
 * (decode_jpeg.c, decode_png.c, decode_webp.c); reason names, default limits and img_rgb.
 *
 * Order of the checks, cheapest first, all before any pixel memory exists:
 *   empty → max_bytes → probe (format from the magic bytes, size from the header) → animated →
 *   max_side → max_pixels → per-format decoder (which checks max_memory before allocating).
 * A header the probe cannot read is IMG_R_UNDECODABLE, also when it is cut short: without a
 * frame header there is no picture to call "truncated".
 */
#include "filters/image.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "filters/decode_int.h"

static const char *const reason_names[IMG_R_COUNT] = {
    [IMG_OK] = "ok",
    [IMG_R_EMPTY] = "empty",
    [IMG_R_TOO_LARGE] = "too_large",
    [IMG_R_UNSUPPORTED] = "unsupported_format",
    [IMG_R_UNDECODABLE] = "undecodable",
    [IMG_R_TRUNCATED] = "truncated",
    [IMG_R_ANIMATED] = "animated",
    [IMG_R_TOO_MANY_PIXELS] = "too_many_pixels",
    [IMG_R_TOO_WIDE] = "too_wide",
    [IMG_R_TOO_MANY_SCANS] = "too_many_scans",
    [IMG_R_MEMORY] = "decoder_memory",
    [IMG_R_TOO_SMALL] = "too_small",
    [IMG_R_ASPECT] = "aspect_ratio",
    [IMG_R_BLANK] = "blank",
    [IMG_R_ENCODE] = "encode_failed",
};

const char *img_reason_name(img_reason r)
{
    if ((unsigned)r >= IMG_R_COUNT)
        return "unknown";
    return reason_names[r];
}

/* The one place the defaults live (docs/FILTERS.md lists the same numbers). */
void img_limits_default(img_limits *l)
{
    l->max_bytes = (size_t)32 << 20;
    l->max_pixels = 89478485; /* PIL's Image.MAX_IMAGE_PIXELS */
    l->max_side = 30000;
    l->max_scans = 100; /* real encoders write at most about 12 */
    l->max_memory = (size_t)512 << 20; /* 0 would mean no limit, as in libjpeg */
    l->warnings_fatal = 1;
    l->png_chunk_max = (size_t)8 << 20;
    l->png_chunk_cache = 128;
}

/* ---- img_rgb --------------------------------------------------------------------------------- */

/* Room for bytes at im->px. The old contents are not kept, so grow by free + malloc instead of
 * realloc (which would copy pixels about to be overwritten). */
static cc_status rgb_room(img_rgb *im, size_t bytes)
{
    if (bytes <= im->cap && (im->px != NULL || bytes == 0))
        return CC_OK;
    free(im->px);
    im->px = NULL;
    im->cap = 0;
    uint8_t *p = malloc(bytes);
    if (p == NULL)
        return cc_fail(CC_E_NOMEM, "out of memory allocating %zu bytes of pixels", bytes);
    im->px = p;
    im->cap = bytes;
    return CC_OK;
}

cc_status img_rgb_alloc(img_rgb *im, uint32_t w, uint32_t h, size_t max_bytes)
{
    if (im == NULL)
        return cc_fail(CC_E_INVAL, "img_rgb_alloc: im is NULL");
    /* 3 * (2^32-1)^2 < 2^66 overflows uint64_t; compare the pixel count first. */
    uint64_t px = (uint64_t)w * h;
    if (px > SIZE_MAX / 3 || (max_bytes != 0 && px * 3 > max_bytes))
        return cc_fail(CC_E_LIMIT,
                       "%" PRIu32 "x%" PRIu32 " RGB pixels exceed the limit of %zu bytes", w, h,
                       max_bytes);
    CC_TRY(rgb_room(im, (size_t)px * 3));
    im->w = w;
    im->h = h;
    return CC_OK;
}

void img_rgb_free(img_rgb *im)
{
    if (im == NULL)
        return;
    free(im->px);
    memset(im, 0, sizeof *im);
}

/* ---- shared by the per-format decoders ------------------------------------------------------- */

/* Limits are CC_E_LIMIT so that a caller can tell "we chose not to" from "it is broken". */
cc_status img_dec_status_of(img_reason r)
{
    switch (r) {
    case IMG_R_TOO_LARGE:
    case IMG_R_TOO_MANY_PIXELS:
    case IMG_R_TOO_WIDE:
    case IMG_R_TOO_MANY_SCANS:
    case IMG_R_MEMORY:
        return CC_E_LIMIT;
    case IMG_R_UNSUPPORTED:
    case IMG_R_ANIMATED:
        return CC_E_UNSUPPORTED;
    default:
        return CC_E_FORMAT;
    }
}

cc_status img_dec_fail(img_reason *reason, img_reason r, const char *fmt, ...)
{
    /* formatted here first: cc_fail takes a format, not a va_list */
    char msg[384];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    *reason = r;
    return cc_fail(img_dec_status_of(r), "%s", msg);
}

cc_status img_dec_check_size(uint32_t w, uint32_t h, const img_limits *lim, img_reason *reason)
{
    if (w > lim->max_side || h > lim->max_side)
        return img_dec_fail(reason, IMG_R_TOO_WIDE,
                            "image is %" PRIu32 "x%" PRIu32 ", more than max_side %" PRIu32 " px",
                            w, h, lim->max_side);
    if ((uint64_t)w * h > lim->max_pixels)
        return img_dec_fail(reason, IMG_R_TOO_MANY_PIXELS,
                            "image is %" PRIu32 "x%" PRIu32 " = %" PRIu64
                            " pixels, more than max_pixels %" PRIu64,
                            w, h, (uint64_t)w * h, lim->max_pixels);
    return CC_OK;
}

cc_status img_dec_reserve(img_rgb *out, uint32_t w, uint32_t h, unsigned bpp, const img_limits *lim,
                          img_reason *reason)
{
    /* w * h < 2^64 always; the product with bpp is formed only once it cannot overflow */
    uint64_t px = (uint64_t)w * h;
    if (px > SIZE_MAX / bpp || (lim->max_memory != 0 && px * bpp > lim->max_memory))
        return img_dec_fail(reason, IMG_R_MEMORY,
                            "%" PRIu32 "x%" PRIu32 " pixels at %u bytes each exceed max_memory %zu",
                            w, h, bpp, lim->max_memory);
    if (rgb_room(out, (size_t)px * bpp) != CC_OK) {
        /* malloc itself failed: not a limit of ours, so CC_E_NOMEM (message set by rgb_room) */
        *reason = IMG_R_MEMORY;
        return CC_E_NOMEM;
    }
    out->w = w;
    out->h = h;
    return CC_OK;
}

void img_dec_over_white(const uint8_t *src, size_t npx, uint8_t *dst)
{
    /* Integer blend, exact to the nearest value; "/ 255" compiles to a multiply and shift. */
    for (size_t i = 0; i < npx; i++, src += 4, dst += 3) {
        unsigned a = src[3], wa = 255 * (255 - a) + 127;
        unsigned r = src[0], g = src[1], b = src[2];
        dst[0] = (uint8_t)((r * a + wa) / 255);
        dst[1] = (uint8_t)((g * a + wa) / 255);
        dst[2] = (uint8_t)((b * a + wa) / 255);
    }
}

/* ---- img_decode ------------------------------------------------------------------------------ */

/* Beyond the header's contract: lim NULL means the defaults and reason may be NULL. */
cc_status img_decode(const void *p, size_t n, const img_limits *lim, uint32_t min_w, uint32_t min_h,
                     img_rgb *out, img_decode_info *info, img_reason *reason)
{
    img_reason reason_local;
    img_decode_info info_local;
    img_limits lim_default;
    if (reason == NULL)
        reason = &reason_local;
    if (info == NULL)
        info = &info_local;
    if (lim == NULL) {
        img_limits_default(&lim_default);
        lim = &lim_default;
    }
    /* info says "nothing seen" until a decoder fills it; scans stay 0 for PNG and WebP */
    memset(info, 0, sizeof *info);
    info->orientation = 1;
    info->scale_num = 8;
    *reason = IMG_R_UNDECODABLE;
    if (out == NULL || (p == NULL && n > 0))
        return cc_fail(CC_E_INVAL, "img_decode: %s is NULL", out == NULL ? "out" : "p");
    if (n == 0)
        return img_dec_fail(reason, IMG_R_EMPTY, "empty input (0 bytes)");
    if (n > lim->max_bytes)
        return img_dec_fail(reason, IMG_R_TOO_LARGE, "input of %zu bytes exceeds max_bytes %zu", n,
                            lim->max_bytes);
    cc_status st = img_probe_bytes(p, n, &info->probe);
    if (st != CC_OK) {
        /* The probe's message stays; only the reason is ours to add. */
        *reason = st == CC_E_UNSUPPORTED ? IMG_R_UNSUPPORTED : IMG_R_UNDECODABLE;
        return img_dec_status_of(*reason);
    }
    if (info->probe.animated)
        return img_dec_fail(reason, IMG_R_ANIMATED, "animated WebP (%" PRIu32 "x%" PRIu32 ")",
                            info->probe.width, info->probe.height);
    /* From the header alone: a bomb is refused here, before any decoder allocates. */
    CC_TRY(img_dec_check_size(info->probe.width, info->probe.height, lim, reason));
    switch (info->probe.format) {
    case IMG_FMT_JPEG:
        st = img_dec_jpeg(p, n, lim, min_w, min_h, out, info, reason);
        break;
    case IMG_FMT_PNG:
        st = img_dec_png(p, n, lim, out, info, reason);
        break;
    case IMG_FMT_WEBP:
        st = img_dec_webp(p, n, lim, out, info, reason);
        break;
    default: /* the probe succeeds only for the three formats above */
        st = img_dec_fail(reason, IMG_R_UNSUPPORTED, "format %u", info->probe.format);
        break;
    }
    if (st == CC_OK)
        *reason = IMG_OK;
    else if (*reason == IMG_OK)
        *reason = IMG_R_UNDECODABLE; /* a decoder that forgot its reason still reports one */
    return st;
}
