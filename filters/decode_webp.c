/* filters/decode_webp.c — still WebP (lossy VP8, lossless VP8L, VP8X with ALPH) through libwebp.
 *
 * WebPGetFeatures reads the headers; animations are rejected before any pixel is decoded. The
 * decoder writes into out->px through libwebp's external-memory output: RGB directly, or RGBA
 * (non-premultiplied) into out->px with room for 4 bytes a pixel, then composited over white in
 * place. libwebp's own status tells a cut-off file (VP8_STATUS_NOT_ENOUGH_DATA) from a corrupt one.
 */
#include <inttypes.h>

#include <webp/decode.h>

#include "filters/decode_int.h"

static const char *webp_status_text(VP8StatusCode s)
{
    switch (s) {
    case VP8_STATUS_OK:
        return "ok";
    case VP8_STATUS_OUT_OF_MEMORY:
        return "out of memory";
    case VP8_STATUS_INVALID_PARAM:
        return "invalid parameter";
    case VP8_STATUS_BITSTREAM_ERROR:
        return "bitstream error";
    case VP8_STATUS_UNSUPPORTED_FEATURE:
        return "unsupported feature";
    case VP8_STATUS_SUSPENDED:
        return "suspended";
    case VP8_STATUS_USER_ABORT:
        return "user abort";
    case VP8_STATUS_NOT_ENOUGH_DATA:
        return "not enough data";
    }
    return "unknown status";
}

/* libwebp's status as a reason: NOT_ENOUGH_DATA is what a cut-off file gives (the RIFF size
 * says more than there is); OUT_OF_MEMORY is a failed malloc inside libwebp, so CC_E_NOMEM. */
static cc_status webp_fail(VP8StatusCode s, const char *what, img_reason *reason)
{
    img_reason r = s == VP8_STATUS_NOT_ENOUGH_DATA ? IMG_R_TRUNCATED
                   : s == VP8_STATUS_OUT_OF_MEMORY ? IMG_R_MEMORY
                                                   : IMG_R_UNDECODABLE;
    cc_status st = img_dec_fail(reason, r, "WebP %s: %s (libwebp status %d)", what,
                                webp_status_text(s), (int)s);
    return s == VP8_STATUS_OUT_OF_MEMORY ? CC_E_NOMEM : st;
}

cc_status img_dec_webp(const uint8_t *p, size_t n, const img_limits *lim, img_rgb *out,
                       img_decode_info *info, img_reason *reason)
{
    WebPDecoderConfig cfg;
    if (!WebPInitDecoderConfig(&cfg))
        return img_dec_fail(reason, IMG_R_UNDECODABLE, "WebP: libwebp version mismatch");
    /* headers only: size, alpha and animation, before any pixel memory */
    VP8StatusCode s = WebPGetFeatures(p, n, &cfg.input);
    if (s != VP8_STATUS_OK)
        return webp_fail(s, "header", reason);
    if (cfg.input.has_animation)
        return img_dec_fail(reason, IMG_R_ANIMATED, "animated WebP");
    if (cfg.input.width <= 0 || cfg.input.height <= 0)
        return img_dec_fail(reason, IMG_R_UNDECODABLE, "WebP: size %dx%d", cfg.input.width,
                            cfg.input.height);
    uint32_t w = (uint32_t)cfg.input.width, h = (uint32_t)cfg.input.height;
    /* libwebp's view of the size is the one it will decode; the probe's was checked before */
    CC_TRY(img_dec_check_size(w, h, lim, reason));
    unsigned bpp = cfg.input.has_alpha ? 4 : 3;
    CC_TRY(img_dec_reserve(out, w, h, bpp, lim, reason));

    /* MODE_RGBA is straight (not premultiplied) alpha, which img_dec_over_white expects */
    cfg.output.colorspace = bpp == 4 ? MODE_RGBA : MODE_RGB;
    cfg.output.is_external_memory = 1;
    cfg.output.u.RGBA.rgba = out->px;
    cfg.output.u.RGBA.stride = (int)(w * bpp);
    cfg.output.u.RGBA.size = (size_t)w * h * bpp;
    s = WebPDecode(p, n, &cfg);
    WebPFreeDecBuffer(&cfg.output); /* external memory: releases nothing of ours */
    if (s != VP8_STATUS_OK)
        return webp_fail(s, "decode", reason);
    if (bpp == 4)
        img_dec_over_white(out->px, (size_t)w * h, out->px);
    info->width = w;
    info->height = h;
    return CC_OK;
}
