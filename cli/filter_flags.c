/* cli/filter_flags.c — parsing of the shared image and text filter flags (filter_flags.h). */
#include "cli/filter_flags.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "crawler/fetch.h"

const char cli_filter_usage[] =
    "Image and text filters (the same flags as `clipcrawl crawl`):\n"
    "  --resize N            target size in pixels (default 256; 0 = keep the decoded size)\n"
    "  --resize-mode MODE    no | keep_ratio | center_crop | border | keep_ratio_largest\n"
    "                        (default center_crop)\n"
    "  --min-size N          reject images whose shorter side is below N (default 200; 0 = off)\n"
    "  --max-aspect R        reject images whose side ratio is above R (default 3; 0 = off)\n"
    "  --quality Q           JPEG quality of re-encoded images, 1..100 (default 90)\n"
    "  --reencode            always re-encode (by default a JPEG needing no resize is kept)\n"
    "  --keep-original       store the image bytes as they are, after the checks (no resize,\n"
    "                        no re-encode)\n"
    "  --max-pixels N        reject images with more pixels (default 89478485)\n"
    "  --min-chars N         captions need at least N characters (default 6)\n"
    "  --min-words N         captions need at least N words (default 3)\n"
    "  --blocklist FILE      reject captions containing a listed word or phrase\n"
    "  --english-only        reject captions CLD2 reliably identifies as another language\n"
    "  --no-boilerplate      keep file names, bare URLs, \"image\", \"click here\"... as captions\n"
    "  --dedupe MODE         none | exact | near (default exact: identical image bytes;\n"
    "                        near also drops perceptual near-duplicates)\n"
    "  --near-distance K     pHash distance counted as a near-duplicate, 0..16 (default 4)\n"
    "  --threads N           worker threads for decode/resize/encode (default: CPUs online)\n";

void cli_filter_flags_default(cli_filter_flags *f)
{
    memset(f, 0, sizeof *f);
    img_filter_opts_default(&f->img);
    text_rules_default(&f->text);
    f->dedupe = CLI_DEDUPE_EXACT;
    f->near_distance = 4;
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    f->threads = n < 1 ? 1 : n > 64 ? 64 : (int)n;
}

void cli_filter_flags_free(cli_filter_flags *f)
{
    if (!f)
        return;
    text_blocklist_free(f->blocklist);
    f->blocklist = NULL;
    f->text.blocklist = NULL;
}

/* A whole number in lo..hi. */
static int uint_arg(const char *arg, uint64_t lo, uint64_t hi, uint64_t *out)
{
    uint64_t v;
    if (cli_parse_size(arg, &v) || v < lo || v > hi)
        return -1;
    *out = v;
    return 0;
}

static int real_arg(const char *arg, double lo, double hi, double *out)
{
    char *end;
    errno = 0;
    double v = strtod(arg, &end);
    if (errno || end == arg || *end || !(v >= lo && v <= hi))
        return -1;
    *out = v;
    return 0;
}

int cli_filter_flags_parse(cli_filter_flags *f, int c, const char *arg, char *err, size_t cap)
{
    uint64_t v;
    double d;
    switch (c - CLI_FILTER_OPT_BASE) {
    case 0:
        if (uint_arg(arg, 0, 16384, &v))
            goto bad_size;
        f->img.size = (uint32_t)v;
        return 1;
    case 1:
        if (img_resize_mode_parse(arg, &f->img.mode) != CC_OK) {
            snprintf(err, cap, "--resize-mode: %s", cc_errmsg());
            return -1;
        }
        return 1;
    case 2:
        if (uint_arg(arg, 0, 65535, &v)) {
            snprintf(err, cap, "--min-size needs a number of pixels in 0..65535");
            return -1;
        }
        f->img.min_size = (uint32_t)v;
        return 1;
    case 3:
        if (real_arg(arg, 0, 1e6, &d) || (d > 0 && d < 1)) {
            snprintf(err, cap, "--max-aspect needs a ratio >= 1 (or 0 for no limit)");
            return -1;
        }
        f->img.max_aspect = d;
        return 1;
    case 4:
        if (uint_arg(arg, 1, 100, &v)) {
            snprintf(err, cap, "--quality needs a number in 1..100");
            return -1;
        }
        f->img.quality = (int)v;
        return 1;
    case 5:
        f->img.keep_jpeg = 0;
        return 1;
    case 6:
        if (uint_arg(arg, 1, 1ull << 40, &v)) {
            snprintf(err, cap, "--max-pixels needs a positive number");
            return -1;
        }
        f->img.limits.max_pixels = v;
        return 1;
    case 7:
        if (uint_arg(arg, 0, 100000, &v)) {
            snprintf(err, cap, "--min-chars needs a number in 0..100000");
            return -1;
        }
        f->text.min_chars = (size_t)v;
        return 1;
    case 8:
        if (uint_arg(arg, 0, 10000, &v)) {
            snprintf(err, cap, "--min-words needs a number in 0..10000");
            return -1;
        }
        f->text.min_words = (size_t)v;
        return 1;
    case 9:
        text_blocklist_free(f->blocklist);
        f->blocklist = NULL;
        if (text_blocklist_load(arg, &f->blocklist) != CC_OK) {
            snprintf(err, cap, "--blocklist: %s", cc_errmsg());
            return -1;
        }
        f->text.blocklist = f->blocklist;
        return 1;
    case 10:
        f->text.english_only = 1;
        return 1;
    case 11:
        f->text.boilerplate = 0;
        return 1;
    case 12:
        if (strcmp(arg, "none") == 0)
            f->dedupe = CLI_DEDUPE_NONE;
        else if (strcmp(arg, "exact") == 0)
            f->dedupe = CLI_DEDUPE_EXACT;
        else if (strcmp(arg, "near") == 0)
            f->dedupe = CLI_DEDUPE_NEAR;
        else {
            snprintf(err, cap, "--dedupe is none, exact or near, not '%s'", arg);
            return -1;
        }
        return 1;
    case 13:
        if (uint_arg(arg, 0, 16, &v)) {
            snprintf(err, cap, "--near-distance needs a number in 0..16");
            return -1;
        }
        f->near_distance = (int)v;
        return 1;
    case 14:
        if (uint_arg(arg, 1, 256, &v)) {
            snprintf(err, cap, "--threads needs a number in 1..256");
            return -1;
        }
        f->threads = (int)v;
        return 1;
    case 15:
        f->img.keep_original = 1;
        return 1;
    default:
        return 0;
    }
bad_size:
    snprintf(err, cap, "--resize needs a number of pixels in 0..16384");
    return -1;
}

void cli_print_rejects(const uint64_t *text, const uint64_t *fetch, const uint64_t *image)
{
    uint64_t n = 0;
    for (int i = 1; i < TEXT_R_COUNT; i++)
        n += text[i];
    for (int i = 1; fetch && i < FETCH_OUTCOME_COUNT; i++)
        n += fetch[i];
    for (int i = 1; i < IMG_R_COUNT; i++)
        n += image[i];
    if (n == 0)
        return;
    printf("rejected %" PRIu64 ":", n);
    const char *sep = " ";
    for (int i = 1; i < TEXT_R_COUNT; i++)
        if (text[i]) {
            printf("%scaption %s %" PRIu64, sep, text_reason_name((text_reason)i), text[i]);
            sep = ", ";
        }
    for (int i = 1; fetch && i < FETCH_OUTCOME_COUNT; i++)
        if (fetch[i]) {
            printf("%sfetch %s %" PRIu64, sep, fetch_outcome_name((fetch_outcome)i), fetch[i]);
            sep = ", ";
        }
    for (int i = 1; i < IMG_R_COUNT; i++)
        if (image[i]) {
            printf("%simage %s %" PRIu64, sep, img_reason_name((img_reason)i), image[i]);
            sep = ", ";
        }
    printf("\n");
}
