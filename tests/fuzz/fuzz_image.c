/* tests/fuzz/fuzz_image.c — libFuzzer target for the whole image path: probe → decode → checks →
 * resize → encode → pHash (img_filter_run), on arbitrary bytes.
 *
 * The last input byte, when there is one, picks the options (resize mode, target size, whether
 * warnings are fatal), so one corpus explores every branch; the image is everything before it.
 * Limits are small (1 megapixel, 4096 px a side, 32 scans, 64 MiB decoder memory) so that an
 * input cannot make an execution slow by asking for a large picture the normal way.
 *
 * Properties checked beyond "no crash, no out-of-bounds access" (ASan/UBSan):
 *   - the reason is a known one; a rejection has a message, an acceptance has output bytes;
 *   - an accepted output is a JPEG that probes to the reported size, or the input itself;
 *   - the same input run twice gives the same reason, hashes and output bytes (determinism).
 * With CLIPCRAWL_FUZZ_SEED_DIR set, the initializer writes seed images (tests/fuzz/seeds.h).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "filters/imgfilter.h"
#include "filters/probe.h"
#include "tests/fuzz/seeds.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond)                                                                                \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "fuzz_image: check failed: %s\n", #cond);                              \
            abort();                                                                               \
        }                                                                                          \
    } while (0)

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    return fuzz_write_image_seeds();
}

static img_filter *filters[2 * 5 * 4];

static img_filter *filter_for(uint8_t sel)
{
    /* sel: bit 0 warnings fatal, bits 1..3 mode, bits 4..5 size */
    static const uint32_t sizes[4] = {0, 17, 64, 256};
    unsigned mode = (sel >> 1) % 5, size = (sel >> 4) & 3, fatal = sel & 1;
    unsigned idx = (fatal * 5 + mode) * 4 + size;
    if (filters[idx])
        return filters[idx];
    img_filter_opts o;
    img_filter_opts_default(&o);
    o.limits.max_pixels = 1u << 20;
    o.limits.max_side = 4096;
    o.limits.max_scans = 32;
    o.limits.max_memory = 64u << 20;
    o.limits.warnings_fatal = (int)fatal;
    o.min_size = 0;
    o.max_aspect = 0;
    o.blank_stddev = (sel & 0x40) ? 2.0 : 0;
    o.mode = (img_resize_mode)mode;
    o.size = sizes[size];
    o.quality = 75;
    CHECK(img_filter_new(&o, &filters[idx]) == CC_OK);
    return filters[idx];
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0)
        return 0;
    uint8_t sel = data[size - 1];
    size--;
    /* An exact-size heap copy so that ASan sees any read past the end of the image. */
    uint8_t *img = malloc(size ? size : 1);
    if (!img)
        return 0;
    memcpy(img, data, size);
    img_filter *f = filter_for(sel);

    img_filter_result a, b;
    CHECK(img_filter_run(f, img, size, &a) == CC_OK);
    CHECK(a.reason >= IMG_OK && a.reason < IMG_R_COUNT);
    uint8_t *first = NULL;
    if (a.reason == IMG_OK) {
        CHECK(a.message[0] == '\0');
        CHECK(a.out != NULL && a.out_len > 0);
        CHECK(a.out_width >= 1 && a.out_height >= 1);
        img_probe p;
        CHECK(img_probe_bytes(a.out, a.out_len, &p) == CC_OK);
        CHECK(p.format == IMG_FMT_JPEG);
        CHECK(p.width == a.out_width && p.height == a.out_height);
        CHECK(a.reencoded || (a.out == img && a.out_len == size));
        first = malloc(a.out_len);
        CHECK(first != NULL);
        memcpy(first, a.out, a.out_len);
    } else {
        CHECK(a.message[0] != '\0');
    }

    CHECK(img_filter_run(f, img, size, &b) == CC_OK);
    CHECK(b.reason == a.reason);
    CHECK(cc_hash128_eq(a.content_hash, b.content_hash) || size == 0);
    if (a.reason == IMG_OK) {
        CHECK(b.phash == a.phash);
        CHECK(b.out_len == a.out_len && memcmp(b.out, first, b.out_len) == 0);
    }
    free(first);
    free(img);
    return 0;
}
