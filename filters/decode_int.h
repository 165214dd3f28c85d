/* filters/decode_int.h — internal to filters/decode*.c: the per-format decoders behind
 * img_decode() and the checks they share. Not a public header: nothing outside filters/decode*.c
 * includes it.
 *
 * Division of work: img_decode() (decode.c) has already rejected empty and oversized inputs,
 * probed the header (img_probe_bytes) and checked the probe's width and height against max_side
 * and max_pixels before it calls a per-format function, so these run only on inputs whose header
 * is sane. Each per-format function re-checks the size its own library reports, fills info's
 * width, height, orientation, scale_num and scans, and on failure sets *reason and the message.
 */
#ifndef CC_DECODE_INT_H
#define CC_DECODE_INT_H

#include <stddef.h>
#include <stdint.h>

#include "common/status.h"
#include "filters/image.h"

/* The status that goes with a reason, as img_decode() documents: the limit reasons are
 * CC_E_LIMIT, unsupported and animated inputs CC_E_UNSUPPORTED, the rest CC_E_FORMAT. */
cc_status img_dec_status_of(img_reason r);

/* Sets *reason = r and the thread's message, and returns img_dec_status_of(r). */
cc_status img_dec_fail(img_reason *reason, img_reason r, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* w x h against max_side (IMG_R_TOO_WIDE, checked first) and max_pixels (IMG_R_TOO_MANY_PIXELS). */
cc_status img_dec_check_size(uint32_t w, uint32_t h, const img_limits *lim, img_reason *reason);

/* Makes out hold w x h RGB pixels with room for bpp (3 or 4) bytes per pixel, so that a decoder
 * may write RGBA into out->px and composite it down in place (img_dec_over_white). Reuses the
 * allocation when it is large enough. IMG_R_MEMORY with CC_E_LIMIT past lim->max_memory (0 = no
 * limit), with CC_E_NOMEM when malloc fails. Sets out->w and out->h. */
cc_status img_dec_reserve(img_rgb *out, uint32_t w, uint32_t h, unsigned bpp, const img_limits *lim,
                          img_reason *reason);

/* Composites npx RGBA pixels over white into RGB: c' = (c*a + 255*(255-a) + 127) / 255.
 * dst may equal src (in place): pixel i is written to bytes 3i..3i+2, which lie before pixel
 * i+1's source bytes 4i+4.. . */
void img_dec_over_white(const uint8_t *src, size_t npx, uint8_t *dst);

/* Per-format decoders over the whole input (p, n), already probed into info->probe. */
cc_status img_dec_jpeg(const uint8_t *p, size_t n, const img_limits *lim, uint32_t min_w,
                       uint32_t min_h, img_rgb *out, img_decode_info *info, img_reason *reason);
cc_status img_dec_png(const uint8_t *p, size_t n, const img_limits *lim, img_rgb *out,
                      img_decode_info *info, img_reason *reason);
cc_status img_dec_webp(const uint8_t *p, size_t n, const img_limits *lim, img_rgb *out,
                       img_decode_info *info, img_reason *reason);

#endif
