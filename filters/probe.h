/* filters/probe.h — image format and dimensions from the header bytes, without decoding.
 *
 * The probe answers "what is this and how big is it" for untrusted bytes before any decoder runs:
 * the format from the magic bytes only (never from a file name or a Content-Type), and the pixel
 * size, alpha, progressive and animation flags from the first headers of the stream. It reads at
 * most the bytes it is given, so a caller may pass just the first few kilobytes of a download
 * (a JPEG's frame header usually lies within the first 64 KiB, after EXIF and ICC segments).
 *
 * What is read, per format:
 *   JPEG  SOI, then the marker segments up to the first frame header (SOF0..SOF15 except DHT,
 *         JPG and DAC). Segment lengths are checked against the input; bytes between segments
 *         are skipped as libjpeg does. progressive = SOF2/6/10/14. has_alpha = 0.
 *   PNG   the signature and the IHDR chunk, which must come first with length 13 and a valid
 *         CRC; then, if present in the input, the chunks before IDAT are scanned for tRNS.
 *         has_alpha = colour type 4/6 or a tRNS chunk. progressive = Adam7 interlacing.
 *   WebP  RIFF/WEBP with a first chunk of VP8 (lossy key frame), VP8L (lossless) or VP8X
 *         (extended: canvas size, alpha and animation flags). For a still VP8X image whose
 *         VP8/VP8L chunk lies within the input, that chunk's size must equal the canvas.
 *
 * Nothing is allocated; every read is bounds-checked; any input of any length gets a status.
 * Thread safety: reentrant (error messages are per thread, see common/status.h).
 */
#ifndef CC_PROBE_H
#define CC_PROBE_H

#include <stddef.h>
#include <stdint.h>

#include "common/status.h"

/* Image formats. The numbers equal enum shard_image_format (shards/shard.h) so that a probe's
 * format can be stored in a record as it is. */
enum img_format {
    IMG_FMT_UNKNOWN = 0,
    IMG_FMT_JPEG = 1,
    IMG_FMT_PNG = 2,
    IMG_FMT_WEBP = 3,
};

/* Largest width or height a probe reports (PNG's limit; JPEG and WebP are smaller). */
#define IMG_PROBE_MAX_SIDE 0x7fffffffu

typedef struct img_probe {
    uint8_t format; /* enum img_format */
    uint32_t width, height; /* pixels; both >= 1 on success */
    int has_alpha; /* 1 if the image carries transparency */
    int progressive; /* 1 for progressive JPEG or interlaced (Adam7) PNG */
    int animated; /* 1 for an animated WebP (VP8X animation flag) */
} img_probe;

/* The format of the n bytes at p from their magic bytes alone: IMG_FMT_JPEG for FF D8 FF,
 * IMG_FMT_PNG for the 8-byte PNG signature, IMG_FMT_WEBP for "RIFF" <size> "WEBP", and
 * IMG_FMT_UNKNOWN otherwise (also when n is too short to tell, or p is NULL). */
uint8_t img_sniff(const void *p, size_t n);

/* Fills *out with the format, size and flags of the image in the n bytes at p, without decoding.
 * On failure *out is zeroed except out->format, which holds img_sniff()'s answer.
 * Returns CC_OK;
 *   CC_E_INVAL        p is NULL with n > 0, or out is NULL;
 *   CC_E_UNSUPPORTED  not a JPEG, PNG or WebP (the message names GIF, BMP, TIFF, ICO,
 *                     JPEG XL and AVIF/HEIF when it recognises them), or a lossless WebP of
 *                     an unknown version;
 *   CC_E_FORMAT       empty input, a recognised format with a malformed, truncated or
 *                     inconsistent header, or a zero width or height.
 * The reason is in cc_errmsg(). */
cc_status img_probe_bytes(const void *p, size_t n, img_probe *out);

#endif
