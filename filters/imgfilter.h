/* filters/imgfilter.h — the per-pair image path: probe → checks → decode → checks → resize →
 * encode → hashes, each rejection with a named reason.
 *
 * Steps, in order (the first failing one decides the reason):
 *   1. bytes: empty, or more than limits.max_bytes                       IMG_R_EMPTY / TOO_LARGE
 *   2. probe (header only): format by magic bytes, dimensions            UNSUPPORTED / UNDECODABLE
 *   3. header checks, before any pixel is decoded: max_side, max_pixels, ANIMATED / TOO_WIDE /
 *      min_size on the shorter side, max_aspect                          TOO_MANY_PIXELS /
 *                                                                        TOO_SMALL / ASPECT
 *   4. decode with limits (JPEG at the smallest DCT scale, of 1/8, 2/8, 4/8, 8/8, that
 *      still covers the resize's scaled size and 32 x 32)               UNDECODABLE / TRUNCATED /
 *                                                                        TOO_MANY_SCANS / MEMORY
 *   5. scale to the mode's size: the whole picture, before crop or border (area average)
 *   6. a 32 x 32 area thumbnail of the whole picture: blank check (the largest per-channel
 *      standard deviation below blank_stddev), then the pHash of that thumbnail   BLANK
 *   7. output: the original bytes when keep_original is set, or when keep_jpeg is set, the input is
 * a JPEG, its EXIF orientation is 1 and the resize would not change its size (or mode is "no");
 *      otherwise crop (center_crop) or pad (border), and re-encode as JPEG at quality  ENCODE
 *   The exact hash (XXH3-128 of the input bytes) is computed for every input that passes step 1.
 *
 * Usage: one img_filter per thread (it owns the scratch buffers); the result's pointers stay valid
 * until the next call on the same handle or its free.
 */
#ifndef CC_IMGFILTER_H
#define CC_IMGFILTER_H

#include <stddef.h>
#include <stdint.h>

#include "common/hash.h"
#include "common/status.h"
#include "filters/image.h"

typedef struct img_filter_opts {
    img_limits limits; /* see filters/image.h */
    uint32_t min_size; /* 200: shorter side at least this (DataComp basic); 0 = off */
    double max_aspect; /* 3.0: longer / shorter side at most this; 0 = off */
    img_resize_mode mode; /* IMG_RESIZE_CENTER_CROP */
    uint32_t size; /* 256: target size for the mode; 0 = no resize */
    int quality; /* 90: JPEG quality of re-encoded output */
    int keep_jpeg; /* 1: store a JPEG input unchanged when no resize is needed */
    int keep_original; /* 0: 1 = store every accepted input unchanged (any format, no resize,
                          no re-encode; img2dataset's disable_all_reencoding); the checks,
                          the decode and the hashes still run */
    double blank_stddev; /* 2.0: below this the image is "blank"; 0 = off */
} img_filter_opts;

void img_filter_opts_default(img_filter_opts *o);

typedef struct img_filter_result {
    img_reason reason; /* IMG_OK, or why it was rejected (then only the fields filled up to the
                          failing step are meaningful; message says more) */
    char message[160]; /* human detail for a rejection, "" when accepted */
    uint8_t src_format; /* enum img_format of the input (0 if unknown) */
    uint32_t src_width, src_height; /* input size after EXIF orientation once decoded; for a
                                       rejection before decoding, the header's (stored) size;
                                       0 if not probed */
    cc_hash128 content_hash; /* XXH3-128 of the input bytes */
    uint64_t phash; /* pHash of the decoded picture */
    const uint8_t *out; /* the bytes to store: the input itself or the re-encoded JPEG */
    size_t out_len;
    uint8_t out_format; /* enum img_format of out (IMG_FMT_JPEG) */
    uint32_t out_width, out_height;
    int reencoded; /* 0 when out is the input bytes unchanged */
    /* Per-stage CPU time in nanoseconds (for bench/), filled on every call. */
    uint64_t ns_probe, ns_decode, ns_check, ns_resize, ns_encode, ns_hash;
} img_filter_result;

typedef struct img_filter img_filter;

/* A new filter with a copy of opts (validated: CC_E_INVAL with the reason). */
cc_status img_filter_new(const img_filter_opts *opts, img_filter **out);
void img_filter_free(img_filter *f); /* accepts NULL */

/* Runs the whole path on the n bytes at p. Returns CC_OK whether the image was accepted or
 * rejected (see res->reason); CC_E_NOMEM only for our own allocation failures. */
cc_status img_filter_run(img_filter *f, const void *p, size_t n, img_filter_result *res);

/* The decoded picture of the last successful run (before resize), valid until the next call. */
const img_rgb *img_filter_decoded(const img_filter *f);
/* The pixels the last successful run encoded (after resize and crop or border), or its decoded
 * picture when the original bytes were kept; valid until the next call. For quality checks. */
const img_rgb *img_filter_pixels(const img_filter *f);

#endif
