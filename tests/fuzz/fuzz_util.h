/* tests/fuzz/fuzz_util.h — shared by the fuzz targets: the invariant check and seed writing.
 *
 * FUZZ_CHECK(name, cond) aborts with the target's name, the condition and the last error message
 * of the thread when cond is false (libFuzzer then saves the input as a crash).
 * fuzz_write_seed writes one seed file into dir; fuzz_write_text_seeds writes seeds[0..n) as
 * DIR/seed-<target>-NN, where DIR is $CLIPCRAWL_FUZZ_SEED_DIR (nothing happens when it is unset).
 * Included by each target (static functions, one translation unit each).
 */
#ifndef CC_FUZZ_UTIL_H
#define CC_FUZZ_UTIL_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/status.h"

#define FUZZ_CHECK(name, cond)                                                                     \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "%s: check failed: %s (%s)\n", name, #cond, cc_errmsg());              \
            abort();                                                                               \
        }                                                                                          \
    } while (0)

static inline void fuzz_write_seed(const char *dir, const char *name, const void *p, size_t n)
{
    char path[4096];
    if (snprintf(path, sizeof path, "%s/%s", dir, name) >= (int)sizeof path)
        return;
    FILE *f = fopen(path, "wb");
    if (f == NULL)
        return;
    fwrite(p, 1, n, f);
    fclose(f);
}

/* lens may be NULL (every seed is a C string); else lens[i] is the length of seeds[i] when
 * nonzero (for seeds holding NUL bytes). */
static inline void fuzz_write_text_seeds(const char *target, const char *const *seeds,
                                         const size_t *lens, size_t n)
{
    const char *dir = getenv("CLIPCRAWL_FUZZ_SEED_DIR");
    if (dir == NULL || dir[0] == '\0')
        return;
    for (size_t i = 0; i < n; i++) {
        char name[128];
        snprintf(name, sizeof name, "seed-%s-%02zu", target, i);
        size_t len = lens && lens[i] ? lens[i] : strlen(seeds[i]);
        fuzz_write_seed(dir, name, seeds[i], len);
    }
}

#endif
