/* bench/bench_match.c — the query matcher: build time, memory per query, and captions matched
 * per second on one core.
 *
 * usage: bench_match --queries FILE --captions FILE [--reps R] [--json FILE]
 *
 * --queries is a queries.tsv (query_list_load), --captions a text file with one caption per
 * line (the '\n' is not part of the caption). All captions are read into memory first.
 *
 * Measured, single thread, each figure the median of R repetitions (default 5):
 *   load      query_list_load of the file (once; not the matcher's cost, for scale);
 *   build     qmatcher_build on the loaded list;
 *   memory    qmatcher_bytes, and that over the number of queries (goal <= 64 bytes a query);
 *   match     qmatcher_find on every caption in file order (up to 1024 ids each), as captions
 *             per second by the thread's CPU time (per core; goal >= 2M) and by wall time.
 * Also the matches per caption, the captions with at least one match, the most matches in one
 * caption, and a checksum of every id found, which must be the same in each repetition.
 * Prints a table and writes the same figures as JSON (--json). Exit 0, or 1 on any error.
 * Timings on a shared machine are noisy: compare medians, and run nothing else meanwhile.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "bench/bench_opts.h"
#include "common/buf.h"
#include "common/file.h"
#include "common/status.h"
#include "query_lists/match.h"
#include "query_lists/querylist.h"

#define MAX_QUERIES 100000000u
#define MAX_CAPTIONS_BYTES ((size_t)4 << 30)
#define IDS_CAP 1024

typedef struct opts {
    const char *queries, *captions, *json;
    uint64_t reps;
} opts;

typedef struct caption {
    const char *text;
    size_t len;
} caption;

typedef struct results {
    uint64_t queries, captions, caption_bytes, bytes;
    double load_secs;
    double build[MAX_REPS], cpu[MAX_REPS], wall[MAX_REPS];
    uint64_t matches, matched, most;
} results;

/* ---- small helpers ------------------------------------------------------------------------- */

static double clock_s(clockid_t id)
{
    struct timespec ts;
    clock_gettime(id, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static int fail(const char *what)
{
    fprintf(stderr, "bench_match: %s: %s\n", what, cc_errmsg());
    return 1;
}

/* Splits the file's bytes into lines, in place; *out (malloc'd) points into text. */
static int split_lines(cc_buf *text, caption **out, uint64_t *n)
{
    char *p = (char *)text->data, *end = p + text->len;
    size_t count = 0;
    for (char *q = p; q < end; q++)
        count += *q == '\n';
    count += text->len && end[-1] != '\n';
    caption *c = malloc((count ? count : 1) * sizeof *c);
    if (!c) {
        fprintf(stderr, "bench_match: out of memory for %zu captions\n", count);
        return 1;
    }
    size_t k = 0;
    while (p < end) {
        char *nl = memchr(p, '\n', (size_t)(end - p));
        char *le = nl ? nl : end;
        c[k++] = (caption){p, (size_t)(le - p)};
        p = nl ? nl + 1 : end;
    }
    *out = c;
    *n = k;
    return 0;
}

/* One pass over every caption: seconds of thread CPU and of wall time, and the totals. */
static void match_all(const qmatcher *m, const caption *c, uint64_t n, double *cpu, double *wall,
                      uint64_t *matches, uint64_t *matched, uint64_t *most, uint64_t *sum)
{
    uint32_t ids[IDS_CAP];
    uint64_t total = 0, hit = 0, top = 0, h = 0;
    double w0 = clock_s(CLOCK_MONOTONIC), c0 = clock_s(CLOCK_THREAD_CPUTIME_ID);
    for (uint64_t i = 0; i < n; i++) {
        size_t k = qmatcher_find(m, c[i].text, c[i].len, ids, IDS_CAP);
        total += k;
        hit += k > 0;
        top = k > top ? k : top;
        for (size_t j = 0; j < k && j < IDS_CAP; j++)
            h = (h ^ ids[j]) * 0x100000001B3u;
    }
    *cpu = clock_s(CLOCK_THREAD_CPUTIME_ID) - c0;
    *wall = clock_s(CLOCK_MONOTONIC) - w0;
    *matches = total;
    *matched = hit;
    *most = top;
    *sum = h;
}

/* ---- output -------------------------------------------------------------------------------- */

static void print_json(FILE *f, const opts *o, const results *r)
{
    double n = (double)r->captions, cpu = median(r->cpu, o->reps);
    fprintf(f,
            "{\n  \"queries\": %" PRIu64 ", \"captions\": %" PRIu64 ", \"caption_bytes\": %" PRIu64
            ", \"reps\": %" PRIu64 ",\n  \"load_s\": %.4f, \"build_s\": %.4f, \"bytes\": %" PRIu64
            ", \"bytes_per_query\": %.2f,\n  \"captions_per_s\": %.1f, \"captions_per_s_wall\": "
            "%.1f, \"ns_per_caption\": %.1f,\n  \"matches\": %" PRIu64
            ", \"matches_per_caption\": %.4f, \"matched_captions\": %" PRIu64
            ", \"most_matches\": %" PRIu64 ",\n  \"cpu_seconds\": [",
            r->queries, r->captions, r->caption_bytes, o->reps, r->load_secs,
            median(r->build, o->reps), r->bytes, (double)r->bytes / (double)r->queries, n / cpu,
            n / median(r->wall, o->reps), cpu / n * 1e9, r->matches, (double)r->matches / n,
            r->matched, r->most);
    for (uint64_t i = 0; i < o->reps; i++)
        fprintf(f, "%s%.5f", i ? ", " : "", r->cpu[i]);
    fprintf(f, "],\n  \"build_seconds\": [");
    for (uint64_t i = 0; i < o->reps; i++)
        fprintf(f, "%s%.5f", i ? ", " : "", r->build[i]);
    fprintf(f, "]\n}\n");
}

static void print_table(const opts *o, const results *r)
{
    double n = (double)r->captions, cpu = median(r->cpu, o->reps);
    double bpq = (double)r->bytes / (double)r->queries;
    printf("\nclipcrawl query matcher: %" PRIu64 " queries, %" PRIu64
           " captions (%.1f bytes each), one thread, median of %" PRIu64 "\n",
           r->queries, r->captions, (double)r->caption_bytes / n, o->reps);
    printf("  %-34s %12.3f s\n", "load queries.tsv (for scale)", r->load_secs);
    printf("  %-34s %12.3f s\n", "build matcher", median(r->build, o->reps));
    printf("  %-34s %12.1f MB  %.1f bytes/query (goal <= 64: %s)\n", "matcher memory",
           (double)r->bytes / 1e6, bpq, bpq <= 64 ? "met" : "NOT met");
    printf("  %-34s %12.0f /s  %.0f ns each (goal >= 2M/s: %s)\n", "captions per core (CPU time)",
           n / cpu, cpu / n * 1e9, n / cpu >= 2e6 ? "met" : "NOT met");
    printf("  %-34s %12.0f /s\n", "captions by wall time", n / median(r->wall, o->reps));
    printf("  %-34s %12.3f  (%" PRIu64 " in all, at most %" PRIu64 " in one)\n",
           "matches per caption", (double)r->matches / n, r->matches, r->most);
    printf("  %-34s %12" PRIu64 "  (%.1f%%)\n\n", "captions with a match", r->matched,
           100.0 * (double)r->matched / n);
}

/* ---- main ---------------------------------------------------------------------------------- */

static void usage(void)
{
    fprintf(stderr, "usage: bench_match --queries FILE --captions FILE [--reps R] [--json FILE]\n");
}

static int parse_args(int argc, char **argv, opts *o)
{
    memset(o, 0, sizeof *o);
    o->reps = 5;
    const bench_num nums[] = {{"--reps", 1, MAX_REPS, &o->reps}};
    for (int i = 1; i < argc; i += 2) {
        const char *k = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!v) {
            fprintf(stderr, "bench_match: %s needs a value\n", k);
            return -1;
        }
        if (strcmp(k, "--queries") == 0) {
            o->queries = v;
            continue;
        }
        if (strcmp(k, "--captions") == 0) {
            o->captions = v;
            continue;
        }
        if (strcmp(k, "--json") == 0) {
            o->json = v;
            continue;
        }
        int r = bench_set_num("bench_match", nums, sizeof nums / sizeof nums[0], k, v);
        if (r == 1)
            fprintf(stderr, "bench_match: unknown option %s\n", k);
        if (r != 0)
            return -1;
    }
    if (!o->queries || !o->captions) {
        fprintf(stderr, "bench_match: --queries and --captions are required\n");
        return -1;
    }
    return 0;
}

int main(int argc, char **argv)
{
    opts o;
    if (parse_args(argc, argv, &o) != 0) {
        usage();
        return 2;
    }
    static results res;
    results *r = &res;
    int rc = 1;
    query_list *ql = NULL;
    qmatcher *m = NULL;
    caption *caps = NULL;
    cc_buf text;
    cc_buf_init(&text, MAX_CAPTIONS_BYTES);

    double t0 = clock_s(CLOCK_MONOTONIC);
    if (query_list_load(o.queries, MAX_QUERIES, &ql) != CC_OK) {
        fail("loading the queries");
        goto done;
    }
    r->load_secs = clock_s(CLOCK_MONOTONIC) - t0;
    r->queries = query_list_count(ql);
    if (r->queries == 0) {
        fprintf(stderr, "bench_match: %s holds no query\n", o.queries);
        goto done;
    }
    if (cc_read_file(o.captions, &text) != CC_OK) {
        fail("reading the captions");
        goto done;
    }
    if (split_lines(&text, &caps, &r->captions) != 0)
        goto done;
    if (r->captions == 0) {
        fprintf(stderr, "bench_match: %s holds no caption\n", o.captions);
        goto done;
    }
    for (uint64_t i = 0; i < r->captions; i++)
        r->caption_bytes += caps[i].len;

    for (uint64_t rep = 0; rep < o.reps; rep++) {
        qmatcher_free(m);
        m = NULL;
        t0 = clock_s(CLOCK_MONOTONIC);
        if (qmatcher_build(ql, &m) != CC_OK) {
            fail("building the matcher");
            goto done;
        }
        r->build[rep] = clock_s(CLOCK_MONOTONIC) - t0;
    }
    r->bytes = qmatcher_bytes(m);

    uint64_t first_sum = 0;
    for (uint64_t rep = 0; rep < o.reps; rep++) {
        uint64_t sum;
        match_all(m, caps, r->captions, &r->cpu[rep], &r->wall[rep], &r->matches, &r->matched,
                  &r->most, &sum);
        if (rep == 0)
            first_sum = sum;
        else if (sum != first_sum) {
            fprintf(stderr, "bench_match: repetition %" PRIu64 " found other ids\n", rep + 1);
            goto done;
        }
    }
    print_table(&o, r);
    if (o.json) {
        FILE *f = fopen(o.json, "w");
        if (!f) {
            fprintf(stderr, "bench_match: %s: %s\n", o.json, strerror(errno));
            goto done;
        }
        print_json(f, &o, r);
        if (fclose(f) != 0) {
            fprintf(stderr, "bench_match: %s: write failed\n", o.json);
            goto done;
        }
    }
    rc = 0;
done:
    free(caps);
    cc_buf_free(&text);
    qmatcher_free(m);
    query_list_free(ql);
    return rc;
}
