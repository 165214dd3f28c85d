/* crawler/crawl.h — the crawl pipeline: sources → text rules → query match → coordinator (pair
 * claim, quota reservation) → fetch engine → image filters (a pool of worker threads) → content
 * dedupe → shard writer → quota confirmation. docs/CRAWL.md describes the pipeline, its units,
 * its stats and its crash behaviour in full.
 *
 * Output folder: sealed shards and manifest.tsv (shards/shard.h), the coordinator state
 * (state.lmdb), stats.json at the end of a run and metrics.prom (Prometheus text format) rewritten
 * every few seconds. Running crawl_run again on the same folder with the same options resumes:
 * the shard store is the truth, reservations of committed records are confirmed and the others
 * released (coord_recover), units resume at their cursor.
 *
 * Sources in this version: CRAWL_SOURCE_SEARCH (one unit "query:<id>" per query of the list, the
 * search API paged through crawler/search.h) and CRAWL_SOURCE_WARC (one unit "warc:<path>" per
 * file, HTML responses' pairs through crawler/extract.h and WAT metadata records' image links
 * with alt text, images fetched live) and CRAWL_SOURCE_WEB (one unit "seed:<url>" per seed:
 * breadth-first over the seed's authority up to depth links and max_pages pages; the frontier is
 * kept in the coordinator with the cursor, so a resumed seed goes on where it stopped).
 *
 * Threads: crawl_run runs the fetch loop, the coordinator calls and the writer on the calling
 * thread and starts opts->threads decode workers, joined before it returns.
 */
#ifndef CC_CRAWL_H
#define CC_CRAWL_H

#include <signal.h>
#include <stddef.h>
#include <stdint.h>

#include "common/status.h"
#include "crawler/fetch.h"
#include "crawler/search.h"
#include "filters/imgfilter.h"
#include "filters/text.h"

enum crawl_source { CRAWL_SOURCE_SEARCH, CRAWL_SOURCE_WEB, CRAWL_SOURCE_WARC };
/* Same values as cli/filter_flags.h's enum cli_dedupe. */
enum crawl_dedupe { CRAWL_DEDUPE_NONE, CRAWL_DEDUPE_EXACT, CRAWL_DEDUPE_NEAR };

/* Most matched query ids kept per pair (a record keeps them all up to this many). */
#define CRAWL_MAX_QIDS 64

typedef struct crawl_opts {
    int source; /* enum crawl_source */
    const char *out_dir; /* required: the run folder */
    const char *queries; /* required: queries.tsv (query_lists/querylist.h) */
    uint64_t cap; /* pairs per query: 20000 */
    const search_spec *spec; /* search source: based spec, not owned */
    const char *const *warcs; /* warc source: WARC files (unit "warc:PATH" each), not owned */
    size_t n_warcs;
    const char *const *seeds; /* web source: seed URLs (unit "seed:URL" each), not owned */
    size_t n_seeds;
    int depth; /* web: link depth followed from a seed: 2 */
    uint64_t max_pages; /* web: pages fetched per seed at most: 1000 */
    int parallel_units; /* units worked on at once: 4 (1 makes the output independent of timing) */
    int rebuild_state; /* 1: rebuild the coordinator's counts and claims from the shards first */
    fetch_opts fetch; /* the engine's options (max_inflight = --concurrency) */
    img_filter_opts img; /* image filter options */
    text_rules text; /* caption rules (text.blocklist not owned) */
    int dedupe; /* enum crawl_dedupe: CRAWL_DEDUPE_EXACT */
    int near_distance; /* pHash distance for CRAWL_DEDUPE_NEAR: 4 */
    int threads; /* decode worker threads: 1 */
    uint64_t shard_pairs; /* pairs per shard before it is sealed: 10000 */
    uint32_t commit_pairs; /* pairs per durable commit at most: 256 (and at least once a second) */
    double metrics_seconds; /* metrics.prom rewrite period: 5 */
    int progress; /* 1: draw the progress line (cc_progress; TTY only) */
    /* Set to nonzero (e.g. from a signal handler) to stop: no new work is started, work in flight
     * is finished and committed, the open shard is left unsealed for a resume. May be NULL. */
    volatile sig_atomic_t *stop;
} crawl_opts;

/* Fills o with the defaults above (out_dir, queries, spec, warcs, seeds NULL). */
void crawl_opts_default(crawl_opts *o);

/* What one run did. Every candidate ends in exactly one counter:
 *   candidates = written + no_query + sum(text[1..]) + duplicate_pair + query_full
 *              + sum(fetch[not ok]) + sum(image[1..]) + duplicate_content + near_duplicate
 *              + abandoned
 * and fetch[FETCH_OK] = sum(image[1..]) + query_full_after_fetch + duplicate_content
 *                       + near_duplicate + written + (abandoned after the fetch). */
typedef struct crawl_stats {
    uint64_t candidates; /* (image URL, text) candidates the sources gave */
    uint64_t written; /* pairs committed to a shard and confirmed in this run */
    uint64_t no_query; /* the caption contains no query */
    uint64_t text[TEXT_R_COUNT]; /* caption rejected, by text_reason (text[0] unused) */
    uint64_t duplicate_pair; /* the pair (image URL, text) was seen before */
    uint64_t query_full; /* every matched query is at its cap */
    uint64_t query_full_after_fetch; /* of query_full: fetched, but every matched query filled
                                        up before the item's turn (coord_quota_assign) */
    uint64_t fetch[FETCH_OUTCOME_COUNT]; /* image fetches by outcome, ok included */
    uint64_t image[IMG_R_COUNT]; /* image rejected, by img_reason (image[0] unused) */
    uint64_t duplicate_content; /* the same image bytes as a stored pair */
    uint64_t near_duplicate; /* a perceptual near-duplicate of a stored pair (dedupe near) */
    uint64_t abandoned; /* in flight when the run stopped on an error or a stop request */
    uint64_t pages; /* search pages fetched and parsed, web pages fetched, WARC HTML responses
                       read, or WAT records describing an HTML page */
    uint64_t page_failures; /* search pages that failed (fetch or parse; the unit is retried),
                               or WARC HTML responses extract_html refused */
    uint64_t warc_bad_records; /* malformed WARC records passed over (WAT JSON that does not
                                  parse included) */
    uint64_t wat_records; /* WAT metadata records parsed (warc source) */
    uint64_t wat_pages; /* of those, describing an HTML page (also counted in pages) */
    uint64_t wat_links; /* image links in them (IMG src, srcset candidates, lazy sources) */
    uint64_t wat_pairs; /* candidates made from them: images with a usable URL and alt text */
    uint64_t frontier_resumed; /* web: queued URLs loaded from the coordinator (resumed units) */
    uint64_t search_skipped[SEARCH_SKIP_COUNT]; /* API results skipped by search_parse */
    uint64_t units_done; /* units finished in this run */
    uint64_t held; /* pairs the folder held when the run started */
    uint64_t recovered_confirmed, recovered_released; /* coord_recover at start */
    uint64_t units_left; /* units pending, leased or dead at the end (0: the crawl is complete) */
    uint64_t units_dead; /* of which dead-lettered */
    double seconds; /* wall time of the run */
} crawl_stats;

/* Runs the crawl described by o until every unit is done (or *o->stop is set, or an error).
 * *stats (required) is filled also on failure. The stats are written to OUT/stats.json on
 * success. CC_E_INVAL (bad options), CC_E_UNSUPPORTED (source not written yet), CC_E_BUSY
 * (another crawl holds the folder), and the errors of the modules it drives (cc_errmsg says
 * which). A complete crawl has stats->units_left == 0. */
cc_status crawl_run(const crawl_opts *o, crawl_stats *stats);

/* Writes stats as JSON to path (atomically: a temporary file renamed). CC_E_IO. */
cc_status crawl_stats_write_json(const crawl_stats *stats, const char *path);

#endif
