/* tests/fuzz/fuzz_probe.c — libFuzzer target for img_sniff / img_probe_bytes.
 *
 * Properties checked on every input, beyond "no crash, no out-of-bounds read" (ASan/UBSan):
 *   - the probe returns CC_E_FORMAT or CC_E_UNSUPPORTED, or CC_OK with both sides >= 1;
 *   - on success the format is img_sniff()'s answer; on failure width and height are 0;
 *   - a prefix of an input that probes OK either fails or reports the same format and size.
 * With CLIPCRAWL_FUZZ_SEED_DIR set, LLVMFuzzerInitialize first writes small JPEG (baseline and
 * progressive), PNG and WebP (lossy, lossless, alpha) images made by the real encoders into that
 * directory, so that the corpus starts from valid headers of every kind.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "filters/probe.h"
#include "tests/fuzz/seeds.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond)                                                                                \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "fuzz_probe: check failed: %s (%s)\n", #cond, cc_errmsg());            \
            abort();                                                                               \
        }                                                                                          \
    } while (0)

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    return fuzz_write_image_seeds();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    uint8_t fmt = img_sniff(data, size);
    img_probe p;
    cc_status st = img_probe_bytes(data, size, &p);
    if (st != CC_OK) {
        CHECK(st == CC_E_FORMAT || st == CC_E_UNSUPPORTED);
        CHECK(p.width == 0 && p.height == 0);
        CHECK(p.format == fmt);
        return 0;
    }
    CHECK(p.format == fmt && fmt != IMG_FMT_UNKNOWN);
    CHECK(p.width >= 1 && p.height >= 1);
    CHECK(p.width <= IMG_PROBE_MAX_SIDE && p.height <= IMG_PROBE_MAX_SIDE);

    /* Two prefixes, each from an exact-size heap copy so that ASan sees reads past its end. */
    size_t cuts[2] = {size / 2, size - 1};
    for (int i = 0; i < 2; i++) {
        size_t n = cuts[i];
        uint8_t *copy = malloc(n ? n : 1);
        if (copy == NULL)
            return 0;
        memcpy(copy, data, n);
        img_probe q;
        if (img_probe_bytes(copy, n, &q) == CC_OK) {
            CHECK(q.format == p.format);
            CHECK(q.width == p.width && q.height == p.height);
        }
        free(copy);
    }
    return 0;
}
