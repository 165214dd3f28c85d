/* tests/fuzz/seeds.h — small valid images of every kind, written as seeds for the image fuzzers.
 *
 * With CLIPCRAWL_FUZZ_SEED_DIR set, fuzz_write_image_seeds() writes small JPEG (baseline and
 * progressive), PNG and WebP (lossy, lossless, with and without alpha) images made by the real
 * encoders into that directory, so that a corpus starts from valid headers of every kind.
 * Included by one fuzz target each (static functions).
 */
#ifndef CC_FUZZ_SEEDS_H
#define CC_FUZZ_SEEDS_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jpeglib.h>
#include <png.h>
#include <webp/encode.h>

#include "tests/fuzz/fuzz_util.h"

static void seed_jpeg(const char *dir, const uint8_t *rgb, int w, int h, int progressive)
{
    struct jpeg_compress_struct ci;
    struct jpeg_error_mgr jerr;
    unsigned char *mem = NULL;
    unsigned long len = 0;
    ci.err = jpeg_std_error(&jerr);
    jpeg_create_compress(&ci);
    jpeg_mem_dest(&ci, &mem, &len);
    ci.image_width = (JDIMENSION)w;
    ci.image_height = (JDIMENSION)h;
    ci.input_components = 3;
    ci.in_color_space = JCS_RGB;
    jpeg_set_defaults(&ci);
    if (progressive)
        jpeg_simple_progression(&ci);
    jpeg_start_compress(&ci, TRUE);
    while (ci.next_scanline < ci.image_height) {
        JSAMPROW row = (JSAMPROW)(rgb + (size_t)ci.next_scanline * (size_t)w * 3);
        jpeg_write_scanlines(&ci, &row, 1);
    }
    jpeg_finish_compress(&ci);
    jpeg_destroy_compress(&ci);
    fuzz_write_seed(dir, progressive ? "seed-progressive.jpg" : "seed-baseline.jpg", mem, len);
    free(mem);
}

static void seed_png(const char *dir, const uint8_t *rgb, int w, int h)
{
    png_image img;
    memset(&img, 0, sizeof img);
    img.version = PNG_IMAGE_VERSION;
    img.width = (png_uint_32)w;
    img.height = (png_uint_32)h;
    img.format = PNG_FORMAT_RGB;
    png_alloc_size_t len = 0;
    if (!png_image_write_to_memory(&img, NULL, &len, 0, rgb, 0, NULL))
        return;
    void *mem = malloc(len);
    if (mem && png_image_write_to_memory(&img, mem, &len, 0, rgb, 0, NULL))
        fuzz_write_seed(dir, "seed.png", mem, len);
    free(mem);
}

static void seed_webp(const char *dir, const uint8_t *rgb, const uint8_t *rgba, int w, int h)
{
    uint8_t *out = NULL;
    size_t n;
    if ((n = WebPEncodeRGB(rgb, w, h, w * 3, 75, &out)) > 0)
        fuzz_write_seed(dir, "seed-lossy.webp", out, n);
    WebPFree(out);
    if ((n = WebPEncodeLosslessRGB(rgb, w, h, w * 3, &out)) > 0)
        fuzz_write_seed(dir, "seed-lossless.webp", out, n);
    WebPFree(out);
    if ((n = WebPEncodeLosslessRGBA(rgba, w, h, w * 4, &out)) > 0)
        fuzz_write_seed(dir, "seed-lossless-alpha.webp", out, n);
    WebPFree(out);
    if ((n = WebPEncodeRGBA(rgba, w, h, w * 4, 75, &out)) > 0)
        fuzz_write_seed(dir, "seed-lossy-alpha.webp", out, n); /* VP8X + ALPH + VP8 */
    WebPFree(out);
}

/* Writes the seed images into $CLIPCRAWL_FUZZ_SEED_DIR when it is set. */
static int fuzz_write_image_seeds(void)
{
    const char *dir = getenv("CLIPCRAWL_FUZZ_SEED_DIR");
    if (dir == NULL || dir[0] == '\0')
        return 0;
    enum { W = 13, H = 7 };
    uint8_t rgb[W * H * 3], rgba[W * H * 4];
    for (int i = 0; i < W * H; i++) {
        for (int k = 0; k < 3; k++)
            rgb[i * 3 + k] = rgba[i * 4 + k] = (uint8_t)(i * 7 + k * 40);
        rgba[i * 4 + 3] = (uint8_t)(i * 3);
    }
    seed_jpeg(dir, rgb, W, H, 0);
    seed_jpeg(dir, rgb, W, H, 1);
    seed_png(dir, rgb, W, H);
    seed_webp(dir, rgb, rgba, W, H);
    return 0;
}

#endif
