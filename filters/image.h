/* filters/image.h — hardened decode of untrusted JPEG, PNG and WebP bytes, area resize, JPEG
 * encode.
 *
 * The low layer of the image path: each function does one step over memory, with every limit a
 * named field of img_limits. The whole per-pair pipeline (probe → checks → decode → resize →
 * encode → hashes, with reject reasons) is filters/imgfilter.h, built from these.
 *
 * Decoding always yields 8-bit RGB, 3 bytes per pixel, rows packed (stride = 3 * w):
 *   JPEG  libjpeg (libjpeg-turbo 2.1): grey, YCbCr, RGB, CMYK and YCCK (Adobe inverted CMYK is
 *         handled); EXIF orientation (APP1 "Exif", tag 0x0112) applied after decoding; DCT-domain
 *         scaling to the smallest M/8 (M = 1, 2, 4, 8) that still covers the requested minimum
 *         size (libjpeg-turbo 2.1 has fast paths for these; 3/8 and 5/8..7/8 measured slower
 *         than 4/8 and even than 8/8).
 *         libjpeg's error manager longjmps back into the decoder; no error aborts the process.
 *   PNG   libpng 1.6: palette, grey, grey+alpha, 16-bit, tRNS, interlaced; alpha composited
 *         over white. Width/height, chunk cache and chunk malloc limits set before reading.
 *   WebP  libwebp: still lossy and lossless, with alpha composited over white; animations are
 *         rejected (IMG_R_ANIMATED).
 *
 * Thread safety: every function is reentrant; handles are not shared between threads.
 */
#ifndef CC_IMAGE_H
#define CC_IMAGE_H

#include <stddef.h>
#include <stdint.h>

#include "common/buf.h"
#include "common/status.h"
#include "filters/probe.h"

/* Why an image was rejected. Stable names (img_reason_name) are what stats and logs print. */
typedef enum img_reason {
    IMG_OK = 0,
    IMG_R_EMPTY, /* "empty": zero bytes */
    IMG_R_TOO_LARGE, /* "too_large": more bytes than max_bytes */
    IMG_R_UNSUPPORTED, /* "unsupported_format": not JPEG/PNG/WebP (GIF, SVG, HTML, ...) */
    IMG_R_UNDECODABLE, /* "undecodable": malformed header or data, decoder error */
    IMG_R_TRUNCATED, /* "truncated": the data ends before the image does */
    IMG_R_ANIMATED, /* "animated": an animated WebP */
    IMG_R_TOO_MANY_PIXELS, /* "too_many_pixels": width * height > max_pixels */
    IMG_R_TOO_WIDE, /* "too_wide": width or height > max_side */
    IMG_R_TOO_MANY_SCANS, /* "too_many_scans": progressive JPEG past max_scans */
    IMG_R_MEMORY, /* "decoder_memory": the decoder wanted more than max_memory */
    IMG_R_TOO_SMALL, /* "too_small": shorter side < min_size */
    IMG_R_ASPECT, /* "aspect_ratio": longer / shorter side > max_aspect */
    IMG_R_BLANK, /* "blank": uniform or near-uniform picture */
    IMG_R_ENCODE, /* "encode_failed": re-encoding failed (out of memory) */
    IMG_R_COUNT
} img_reason;

/* The stable snake_case name of a reason ("ok", "too_small", ...); "unknown" when out of range. */
const char *img_reason_name(img_reason r);

/* Untrusted-input limits. img_limits_default() gives the documented defaults, also listed in
 * docs/FILTERS.md. A zero field means "no limit" only where said. */
typedef struct img_limits {
    size_t max_bytes; /* 32 MiB: larger inputs are IMG_R_TOO_LARGE before any parsing */
    uint64_t max_pixels; /* 89,478,485 (PIL's bomb limit, LAION's ~89.5 MP) */
    uint32_t max_side; /* 30,000 px: width and height each */
    uint32_t max_scans; /* 100: progressive JPEG scans (libjpeg-turbo's tj limit is 500;
                           real encoders emit ≤ 12) */
    size_t max_memory; /* 512 MiB: libjpeg max_memory_to_use and our own buffers */
    int warnings_fatal; /* 1: a libjpeg/libpng warning (corrupt data, premature end) rejects */
    size_t png_chunk_max; /* 8 MiB: png_set_chunk_malloc_max (ancillary chunk size) */
    uint32_t png_chunk_cache; /* 128: png_set_chunk_cache_max (number of ancillary chunks) */
} img_limits;

void img_limits_default(img_limits *l);

/* An 8-bit RGB image, rows packed: pixel (x, y) channel c at px[(y * w + x) * 3 + c]. */
typedef struct img_rgb {
    uint8_t *px; /* owned by whoever filled the struct; img_rgb_free releases it */
    uint32_t w, h;
    size_t cap; /* bytes allocated at px; functions that fill an img_rgb reuse it when
                   large enough (so one img_rgb can serve many calls) */
} img_rgb;

/* Makes room for w x h pixels (may reallocate: old px is invalid). CC_E_LIMIT when 3*w*h >
 * max_bytes (0 = no limit), CC_E_NOMEM. Sets w and h. */
cc_status img_rgb_alloc(img_rgb *im, uint32_t w, uint32_t h, size_t max_bytes);
/* Frees px and zeroes the struct. Accepts NULL. */
void img_rgb_free(img_rgb *im);

/* What the decoder saw. */
typedef struct img_decode_info {
    img_probe probe; /* format, stored width/height (before orientation), flags */
    uint32_t width, height; /* full-size dimensions after EXIF orientation */
    int orientation; /* EXIF orientation 1..8 that was applied (1 when none) */
    int scale_num; /* JPEG DCT scale used: scale_num/8 (8 when not scaled or not JPEG) */
    uint32_t scans; /* JPEG scans read (1 for baseline) */
} img_decode_info;

/* Decodes the n bytes at p into *out (RGB, EXIF orientation applied). If min_w and min_h are
 * nonzero, a JPEG may be decoded at a reduced DCT scale M/8 (M = 1, 2, 4) as long as the result is
 * at least min_w x min_h (after orientation); other formats decode at full size. Limits are checked
 * from the header before any pixel memory is allocated. On success returns CC_OK with *reason =
 * IMG_OK. On failure returns CC_E_FORMAT, CC_E_LIMIT, CC_E_UNSUPPORTED or CC_E_NOMEM with *reason
 * saying why (never IMG_OK) and the detail in cc_errmsg(); *out keeps its allocation but its
 * contents are unspecified. info may be NULL. */
cc_status img_decode(const void *p, size_t n, const img_limits *lim, uint32_t min_w, uint32_t min_h,
                     img_rgb *out, img_decode_info *info, img_reason *reason);

/* Resizes src to exactly w x h into *dst (reusing dst's allocation; dst != src). Downscaling
 * averages each destination pixel's exact footprint in the source (area / box filter with
 * fractional edge weights, as OpenCV's INTER_AREA); upscaling, and axes that grow, interpolate
 * bilinearly with pixel centres aligned (as INTER_LINEAR). CC_E_INVAL for a zero size,
 * CC_E_NOMEM. */
cc_status img_resize(const img_rgb *src, uint32_t w, uint32_t h, img_rgb *dst);

/* Resize modes, named as img2dataset names them. */
typedef enum img_resize_mode {
    IMG_RESIZE_NO = 0, /* "no": keep the decoded size */
    IMG_RESIZE_KEEP_RATIO, /* "keep_ratio": shorter side = size */
    IMG_RESIZE_CENTER_CROP, /* "center_crop": shorter side = size, then the centre size x size */
    IMG_RESIZE_BORDER, /* "border": longer side = size, then padded to size x size with white,
                         as img2dataset pads */
    IMG_RESIZE_KEEP_RATIO_LARGEST, /* "keep_ratio_largest": longer side = size */
} img_resize_mode;

/* Parses a mode name; CC_E_INVAL (with the list of names in the message) when unknown. */
cc_status img_resize_mode_parse(const char *name, img_resize_mode *out);
const char *img_resize_mode_name(img_resize_mode m);

/* The size the image of w x h should be scaled to (*sw x *sh, before any crop or border) and the
 * final output size (*ow x *oh) for a mode and target size. Scaled sides are rounded to nearest
 * and at least 1. For IMG_RESIZE_NO, or size 0, everything equals w x h. */
void img_fit_size(uint32_t w, uint32_t h, img_resize_mode mode, uint32_t size, uint32_t *sw,
                  uint32_t *sh, uint32_t *ow, uint32_t *oh);

/* Applies a mode: scales src as img_fit_size says, then crops (centre) or pads (white, centred)
 * into *dst, computing only the pixels that are kept (center_crop) or placed (border). tmp is
 * reserved scratch, unused today (may be NULL). When the mode asks for no change (same size, no
 * crop/pad) dst receives a copy. */
cc_status img_resize_mode_apply(const img_rgb *src, img_resize_mode mode, uint32_t size,
                                img_rgb *tmp, img_rgb *dst);

/* Encodes im as a baseline JPEG (4:2:0, quality 1..100, optimized Huffman tables off) appended to
 * *out (cc_buf's maximum applies: CC_E_LIMIT). CC_E_INVAL for a bad quality or empty image. */
cc_status img_encode_jpeg(const img_rgb *im, int quality, cc_buf *out);

#endif
