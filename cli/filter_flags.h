/* cli/filter_flags.h — the image and text filter flags, parsed the same way by every command that
 * runs the filter path (`shards pack` today, `crawl` next), so that flag names, defaults and
 * error messages are one thing.
 *
 *   --resize N            target size in pixels (default 256; 0 = keep the decoded size)
 *   --resize-mode MODE    no | keep_ratio | center_crop | border | keep_ratio_largest
 *                         (default center_crop)
 *   --min-size N          reject images whose shorter side is below N (default 200; 0 = off)
 *   --max-aspect R        reject images whose side ratio is above R (default 3; 0 = off)
 *   --quality Q           JPEG quality of re-encoded images, 1..100 (default 90)
 *   --reencode            always re-encode (by default a JPEG that needs no resize is kept)
 *   --keep-original       store the image bytes as they are (after the checks): no resize,
 *                         no re-encode
 *   --max-pixels N        reject images with more pixels (default 89478485)
 *   --min-chars N         captions need at least N characters (default 6)
 *   --min-words N         captions need at least N words (default 3)
 *   --blocklist FILE      reject captions containing a listed word or phrase
 *   --english-only        reject captions CLD2 reliably identifies as another language
 *   --no-boilerplate      keep file names, bare URLs, "image", "click here" ... as captions
 *   --dedupe MODE         none | exact | near (default exact: identical image bytes; near adds
 *                         perceptual near-duplicates)
 *   --near-distance K     pHash Hamming distance counted as near-duplicate (default 4)
 *   --threads N           worker threads for decode/resize/encode (default: CPUs online)
 */
#ifndef CC_CLI_FILTER_FLAGS_H
#define CC_CLI_FILTER_FLAGS_H

#include <getopt.h>
#include <stddef.h>
#include <stdint.h>

#include "filters/imgfilter.h"
#include "filters/text.h"

enum cli_dedupe { CLI_DEDUPE_NONE, CLI_DEDUPE_EXACT, CLI_DEDUPE_NEAR };

typedef struct cli_filter_flags {
    img_filter_opts img;
    text_rules text;
    text_blocklist *blocklist; /* owned; text.blocklist points at it */
    int dedupe; /* enum cli_dedupe */
    int near_distance;
    int threads;
} cli_filter_flags;

/* Option codes start here so that they do not collide with a command's own short options. */
#define CLI_FILTER_OPT_BASE 0x1000

/* The long options above, to be placed in a command's option table before its terminator. */
#define CLI_FILTER_LONG                                                                            \
    {"resize", required_argument, 0, CLI_FILTER_OPT_BASE + 0},                                     \
        {"resize-mode", required_argument, 0, CLI_FILTER_OPT_BASE + 1},                            \
        {"min-size", required_argument, 0, CLI_FILTER_OPT_BASE + 2},                               \
        {"max-aspect", required_argument, 0, CLI_FILTER_OPT_BASE + 3},                             \
        {"quality", required_argument, 0, CLI_FILTER_OPT_BASE + 4},                                \
        {"reencode", no_argument, 0, CLI_FILTER_OPT_BASE + 5},                                     \
        {"max-pixels", required_argument, 0, CLI_FILTER_OPT_BASE + 6},                             \
        {"min-chars", required_argument, 0, CLI_FILTER_OPT_BASE + 7},                              \
        {"min-words", required_argument, 0, CLI_FILTER_OPT_BASE + 8},                              \
        {"blocklist", required_argument, 0, CLI_FILTER_OPT_BASE + 9},                              \
        {"english-only", no_argument, 0, CLI_FILTER_OPT_BASE + 10},                                \
        {"no-boilerplate", no_argument, 0, CLI_FILTER_OPT_BASE + 11},                              \
        {"dedupe", required_argument, 0, CLI_FILTER_OPT_BASE + 12},                                \
        {"near-distance", required_argument, 0, CLI_FILTER_OPT_BASE + 13},                         \
        {"keep-original", no_argument, 0, CLI_FILTER_OPT_BASE + 15},                               \
    {                                                                                              \
        "threads", required_argument, 0, CLI_FILTER_OPT_BASE + 14                                  \
    }

/* The usage text of the flags (the list at the top of this file). */
extern const char cli_filter_usage[];

void cli_filter_flags_default(cli_filter_flags *f);

/* Handles option code c with argument arg. Returns 1 when c was one of ours and arg is good,
 * 0 when c is not ours, -1 when arg is bad (err receives the message for the usage error). */
int cli_filter_flags_parse(cli_filter_flags *f, int c, const char *arg, char *err, size_t cap);

void cli_filter_flags_free(cli_filter_flags *f);

/* Prints one line "rejected N: caption R n, fetch O n, image R n, ..." to stdout with every nonzero
 * count (index 0, the OK slot, skipped); nothing when all are zero. fetch (FETCH_OUTCOME_COUNT
 * counts) may be NULL. Shared by `shards pack` and `crawl`. */
void cli_print_rejects(const uint64_t *text, const uint64_t *fetch, const uint64_t *image);

#endif
