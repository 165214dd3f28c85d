/* cli/queries.c — `clipcrawl queries build|stats|match|histogram`. */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli/cli.h"
#include "common/buf.h"
#include "common/log.h"
#include "query_lists/match.h"
#include "query_lists/normalize.h"
#include "query_lists/querylist.h"
#include "query_lists/quota.h"
#include "query_lists/wiki.h"
#include "query_lists/wordnet.h"

#define DEFAULT_WORDNET "/usr/share/wordnet"
/* Upper bound of a list's size: CLIP's 500K with room for unusual builds. */
#define QUERIES_MAX (50u * 1000 * 1000)
#define LINE_MAX_BYTES 65536

static const char queries_usage[] =
    "usage: clipcrawl queries COMMAND [ARGS]\n"
    "\n"
    "  build -o queries.tsv [--wiki DUMP] ...  the query list from WordNet and Wikipedia\n"
    "  stats queries.tsv                       counts per source, length distribution\n"
    "  match queries.tsv [CAPTION...]          the queries each caption contains (stdin lines\n"
    "                                          when no caption is given)\n"
    "  histogram DIR|MANIFEST                  pairs per query of a dataset, Gini, PNG plot\n"
    "\n"
    "Each command takes --help.\n";

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* ---- build --------------------------------------------------------------------------------- */

static const char build_usage[] =
    "usage: clipcrawl queries build -o queries.tsv [options]\n"
    "\n"
    "Builds CLIP's query list: the lemmas of every WordNet synset, and from a Wikipedia dump\n"
    "(MediaWiki XML export: plain, .bz2, .gz or .zst) every word occurring at least --min-count\n"
    "times, the bigrams with high pointwise mutual information, and the article titles (those\n"
    "with at least --min-views views when --pageviews is given). Duplicates are merged keeping\n"
    "every source; the list is ranked (Wikipedia count, then number of sources, then text) and\n"
    "the strongest --max are written.\n"
    "\n"
    "  -o, --out FILE          where to write queries.tsv (required)\n"
    "  --wordnet DIR           WordNet data files (default " DEFAULT_WORDNET ")\n"
    "  --no-wordnet            leave WordNet out\n"
    "  --wiki DUMP             a pages-articles dump\n"
    "  --min-count N           words: at least N occurrences (default 100)\n"
    "  --bigram-min-count N    bigrams: at least N occurrences (default 30)\n"
    "  --min-pmi X             bigrams: PMI at least X (default 5.0)\n"
    "  --pageviews FILE        Wikimedia pageviews file for the titles\n"
    "  --min-views N           titles: at least N views (default 0)\n"
    "  --max-memory SIZE       bound of the Wikipedia n-gram counters (default 2G)\n"
    "  --max-pages N           read only the first N articles (for trials)\n"
    "  --add FILE              extra queries, one per line (source \"user\")\n"
    "  --max N                 keep the strongest N queries (default 500000; 0 = all)\n"
    "  -q, --quiet / -v, --verbose\n";

/* Adds the lines of a user file as queries. */
static cc_status add_user_file(const char *path, query_list *ql, uint64_t *added)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return cc_fail(errno == ENOENT ? CC_E_NOTFOUND : CC_E_IO, "%s: %s", path, strerror(errno));
    char *line = malloc(LINE_MAX_BYTES);
    cc_status st = line ? CC_OK : cc_fail(CC_E_NOMEM, "out of memory");
    uint64_t lineno = 0;
    while (st == CC_OK && fgets(line, LINE_MAX_BYTES, f)) {
        lineno++;
        size_t n = strlen(line);
        if (n == LINE_MAX_BYTES - 1 && line[n - 1] != '\n') {
            st = cc_fail(CC_E_FORMAT, "%s:%" PRIu64 ": line longer than %d bytes", path, lineno,
                         LINE_MAX_BYTES);
            break;
        }
        if (line[0] == '#')
            continue;
        int a = 0;
        st = query_list_add(ql, line, n, QSRC_USER, 0, NAN, NULL, &a);
        *added += a == 1;
    }
    if (st == CC_OK && ferror(f))
        st = cc_fail(CC_E_IO, "%s: read error", path);
    free(line);
    fclose(f);
    return st;
}

static int cmd_build(int argc, char **argv)
{
    const char *cmd = "queries build";
    static const struct option lo[] = {{"out", required_argument, 0, 'o'},
                                       {"wordnet", required_argument, 0, 'W'},
                                       {"no-wordnet", no_argument, 0, 'N'},
                                       {"wiki", required_argument, 0, 'w'},
                                       {"min-count", required_argument, 0, 'c'},
                                       {"bigram-min-count", required_argument, 0, 'b'},
                                       {"min-pmi", required_argument, 0, 'p'},
                                       {"pageviews", required_argument, 0, 'P'},
                                       {"min-views", required_argument, 0, 'V'},
                                       {"max-memory", required_argument, 0, 'M'},
                                       {"max-pages", required_argument, 0, 'g'},
                                       {"add", required_argument, 0, 'a'},
                                       {"max", required_argument, 0, 'm'},
                                       CLI_COMMON_LONG,
                                       {0, 0, 0, 0}};
    const char *out = NULL, *wordnet = DEFAULT_WORDNET, *wiki = NULL, *add = NULL;
    uint64_t max = 500000, v;
    wiki_opts wo;
    wiki_opts_default(&wo);
    int c;
    while ((c = cli_next_opt(argc, argv, "o:qvh", lo)) != -1) {
        switch (c) {
        case 0:
            break;
        case 'o':
            out = optarg;
            break;
        case 'W':
            wordnet = optarg;
            break;
        case 'N':
            wordnet = NULL;
            break;
        case 'w':
            wiki = optarg;
            break;
        case 'c':
            if (cli_parse_size(optarg, &wo.min_count) || wo.min_count == 0)
                return cli_usage_error(cmd, build_usage, "--min-count needs a positive number");
            break;
        case 'b':
            if (cli_parse_size(optarg, &wo.bigram_min_count) || wo.bigram_min_count == 0)
                return cli_usage_error(cmd, build_usage,
                                       "--bigram-min-count needs a positive number");
            break;
        case 'p': {
            char *end;
            errno = 0;
            wo.min_pmi = strtod(optarg, &end);
            if (errno || end == optarg || *end || !isfinite(wo.min_pmi))
                return cli_usage_error(cmd, build_usage, "--min-pmi needs a number");
            break;
        }
        case 'P':
            wo.pageviews = optarg;
            break;
        case 'V':
            if (cli_parse_size(optarg, &wo.min_views))
                return cli_usage_error(cmd, build_usage, "--min-views needs a number");
            break;
        case 'M':
            if (cli_parse_size(optarg, &v) || v < (1u << 20))
                return cli_usage_error(cmd, build_usage, "--max-memory needs a size >= 1M");
            wo.max_memory = (size_t)v;
            break;
        case 'g':
            if (cli_parse_size(optarg, &wo.max_pages) || wo.max_pages == 0)
                return cli_usage_error(cmd, build_usage, "--max-pages needs a positive number");
            break;
        case 'a':
            add = optarg;
            break;
        case 'm':
            if (cli_parse_size(optarg, &max))
                return cli_usage_error(cmd, build_usage, "--max needs a number");
            break;
        case 'h':
            fputs(build_usage, stdout);
            return CLI_EXIT_OK;
        default:
            return cli_usage_error(cmd, build_usage, NULL);
        }
    }
    if (!out)
        return cli_usage_error(cmd, build_usage, "-o FILE is required");
    if (optind != argc)
        return cli_usage_error(cmd, build_usage, "unexpected argument");
    if (!wordnet && !wiki && !add)
        return cli_usage_error(cmd, build_usage,
                               "nothing to build from (--no-wordnet without "
                               "--wiki or --add)");
    if (wo.min_views && !wo.pageviews)
        return cli_usage_error(cmd, build_usage, "--min-views needs --pageviews");

    query_list *ql = NULL;
    cc_status st = query_list_new(QUERIES_MAX, &ql);
    double t0 = now_s();
    if (st == CC_OK && wiki) {
        wiki_stats ws;
        st = wiki_build(wiki, &wo, ql, &ws);
        if (st == CC_OK)
            printf("wikipedia: %" PRIu64 " articles (%" PRIu64 " redirects, %" PRIu64
                   " other namespaces skipped), %" PRIu64 " words; added %" PRIu64
                   " words, %" PRIu64 " bigrams, %" PRIu64 " titles%s (%.1f s)\n",
                   ws.articles, ws.redirects, ws.other_ns, ws.words, ws.words_added,
                   ws.bigrams_added, ws.titles_added,
                   ws.prune_floor ? "; counts approximate (counters pruned)" : "", now_s() - t0);
    }
    if (st == CC_OK && wordnet) {
        wordnet_stats wn;
        t0 = now_s();
        st = wordnet_load(wordnet, ql, &wn);
        if (st == CC_OK)
            printf("wordnet: %" PRIu64 " synsets, %" PRIu64 " lemmas: %" PRIu64
                   " new queries, %" PRIu64 " already in the list (%.1f s)\n",
                   wn.synsets, wn.lemmas, wn.added, wn.merged, now_s() - t0);
    }
    if (st == CC_OK && add) {
        uint64_t n = 0;
        st = add_user_file(add, ql, &n);
        if (st == CC_OK)
            printf("%s: %" PRIu64 " new queries\n", add, n);
    }
    if (st == CC_OK) {
        uint64_t all = query_list_count(ql);
        query_list_finish(ql, max);
        st = query_list_save(ql, out);
        if (st == CC_OK)
            printf("wrote %" PRIu64 " queries to %s (of %" PRIu64 " distinct)\n",
                   query_list_count(ql), out, all);
    }
    query_list_free(ql);
    return st == CC_OK ? CLI_EXIT_OK : cli_fail(cmd, st);
}

/* ---- stats --------------------------------------------------------------------------------- */

static const char stats_usage[] = "usage: clipcrawl queries stats queries.tsv\n"
                                  "\n"
                                  "Queries per source, words per query, counts.\n";

/* Parses "COMMAND [opts] FILE" for the commands that take one query list. */
static int one_list_args(int argc, char **argv, const char *cmd, const char *usage, query_list **ql)
{
    static const struct option lo[] = {CLI_COMMON_LONG, {0, 0, 0, 0}};
    int c;
    *ql = NULL;
    while ((c = cli_next_opt(argc, argv, "qvh", lo)) != -1) {
        if (c == 0)
            continue;
        if (c == 'h') {
            fputs(usage, stdout);
            return CLI_EXIT_OK;
        }
        return cli_usage_error(cmd, usage, NULL);
    }
    if (optind >= argc)
        return cli_usage_error(cmd, usage, "missing queries.tsv");
    cc_status st = query_list_load(argv[optind], QUERIES_MAX, ql);
    if (st != CC_OK)
        return cli_fail(cmd, st);
    return CLI_EXIT_OK;
}

static int cmd_stats(int argc, char **argv)
{
    const char *cmd = "queries stats";
    query_list *ql;
    int rc = one_list_args(argc, argv, cmd, stats_usage, &ql);
    if (!ql)
        return rc;
    if (optind + 1 != argc) {
        query_list_free(ql);
        return cli_usage_error(cmd, stats_usage, "too many arguments");
    }
    uint64_t n = query_list_count(ql), by_src[QSRC_COUNT] = {0}, only[QSRC_COUNT] = {0};
    uint64_t by_len[QN_MAX_WORDS + 1] = {0}, multi = 0, counted = 0;
    for (uint64_t i = 0; i < n; i++) {
        const query *q = query_list_get(ql, i);
        size_t words = 1;
        for (const char *p = q->text; *p; p++)
            words += *p == ' ';
        by_len[words <= QN_MAX_WORDS ? words : QN_MAX_WORDS]++;
        int nsrc = 0;
        for (int s = 0; s < QSRC_COUNT; s++)
            if (q->sources & (1u << s)) {
                by_src[s]++;
                nsrc++;
            }
        if (nsrc == 1)
            only[__builtin_ctz(q->sources)]++;
        multi += nsrc > 1;
        counted += q->count > 0;
    }
    printf("queries:            %" PRIu64 "\n", n);
    printf("%-20s %10s %10s\n", "source", "queries", "only");
    for (int s = 0; s < QSRC_COUNT; s++)
        printf("%-20s %10" PRIu64 " %10" PRIu64 "\n", query_source_name(1u << s), by_src[s],
               only[s]);
    printf("in several sources: %" PRIu64 "\n", multi);
    printf("with a count:       %" PRIu64 "\n", counted);
    printf("words per query:   ");
    for (int k = 1; k <= QN_MAX_WORDS; k++)
        if (by_len[k])
            printf(" %d:%" PRIu64, k, by_len[k]);
    printf("\n");
    if (n) {
        const query *top = query_list_get(ql, 0), *last = query_list_get(ql, n - 1);
        printf("strongest:          \"%s\" (count %" PRIu64 ")\n", top->text, top->count);
        printf("weakest:            \"%s\" (count %" PRIu64 ")\n", last->text, last->count);
    }
    query_list_free(ql);
    return CLI_EXIT_OK;
}

/* ---- match --------------------------------------------------------------------------------- */

static const char match_usage[] =
    "usage: clipcrawl queries match queries.tsv [CAPTION...]\n"
    "\n"
    "Prints, for each caption (the arguments, or each line of stdin), the queries it contains as\n"
    "whole words: CAPTION<TAB>query; query; ... and, when there are several, the one the pair\n"
    "would count for on an empty dataset (the lowest id, i.e. the strongest).\n";

static void match_one(const qmatcher *m, const query_list *ql, const char *caption, size_t n,
                      uint32_t *ids, size_t cap)
{
    size_t k = qmatcher_find(m, caption, n, ids, cap);
    if (k > cap)
        k = cap;
    printf("%.*s\t", (int)n, caption);
    for (size_t i = 0; i < k; i++)
        printf("%s%s", i ? "; " : "", query_list_get(ql, ids[i])->text);
    printf("\n");
}

static int cmd_match(int argc, char **argv)
{
    const char *cmd = "queries match";
    query_list *ql;
    int rc = one_list_args(argc, argv, cmd, match_usage, &ql);
    if (!ql)
        return rc;
    qmatcher *m = NULL;
    cc_status st = qmatcher_build(ql, &m);
    if (st != CC_OK) {
        query_list_free(ql);
        return cli_fail(cmd, st);
    }
    uint32_t ids[256];
    if (optind + 1 < argc) {
        for (int i = optind + 1; i < argc; i++)
            match_one(m, ql, argv[i], strlen(argv[i]), ids, 256);
    } else {
        char *line = malloc(LINE_MAX_BYTES);
        while (line && fgets(line, LINE_MAX_BYTES, stdin)) {
            size_t n = strlen(line);
            while (n && (line[n - 1] == '\n' || line[n - 1] == '\r'))
                n--;
            match_one(m, ql, line, n, ids, 256);
        }
        free(line);
    }
    qmatcher_free(m);
    query_list_free(ql);
    return CLI_EXIT_OK;
}

/* ---- histogram ----------------------------------------------------------------------------- */

static const char histogram_usage[] =
    "usage: clipcrawl queries histogram DIR|MANIFEST [--queries FILE] [--cap N] [--png FILE]\n"
    "\n"
    "Pairs per query of a dataset (each pair counts for its query_id): how many queries hold\n"
    "pairs, how many are at the cap, the Gini coefficient of the counts (0 = perfectly balanced,\n"
    "1 = one query holds everything; over every query of --queries when given, so empty queries\n"
    "count), the largest queries, and a PNG histogram drawn with gnuplot.\n"
    "\n"
    "  --queries FILE   the run's queries.tsv (names, and the queries with no pair)\n"
    "  --cap N          pairs per query at which a query is full (default 20000)\n"
    "  --png FILE       where to draw the histogram (default: none; needs gnuplot)\n";

typedef struct hist_ctx {
    uint64_t *counts; /* indexed by query id */
    uint64_t n_ids, pairs, no_query;
    int too_big; /* a query id beyond the bound */
} hist_ctx;

static int hist_rec(void *ctx, const shard_manifest_entry *e, uint64_t index, const shard_record *r)
{
    (void)e;
    (void)index;
    hist_ctx *h = ctx;
    h->pairs++;
    if (r->query_id == SHARD_NO_QUERY) {
        h->no_query++;
        return 0;
    }
    if (r->query_id >= h->n_ids) {
        uint64_t n = h->n_ids ? h->n_ids : 1024;
        while (n <= r->query_id)
            n *= 2;
        if (n > QUERIES_MAX) {
            h->too_big = 1;
            return 1;
        }
        uint64_t *c = realloc(h->counts, n * sizeof *c);
        if (!c)
            return 1;
        memset(c + h->n_ids, 0, (n - h->n_ids) * sizeof *c);
        h->counts = c;
        h->n_ids = n;
    }
    h->counts[r->query_id]++;
    return 0;
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

/* Gini of v[0..n) (sorted ascending): sum((2i - n + 1) v_i) / (n sum v), i from 0. */
static double gini_sorted(const uint64_t *v, uint64_t n)
{
    double num = 0, sum = 0;
    for (uint64_t i = 0; i < n; i++) {
        num += (2.0 * (double)i - (double)n + 1.0) * (double)v[i];
        sum += (double)v[i];
    }
    return n && sum > 0 ? num / ((double)n * sum) : 0;
}

/* Writes the data and asks gnuplot for a PNG: queries per bucket of pairs per query. */
static cc_status draw_png(const char *png, const uint64_t *sorted, uint64_t n, uint64_t cap)
{
    /* 40 buckets over [0, max] of pairs per query */
    uint64_t hi = n ? sorted[n - 1] : 0, bins[40] = {0};
    for (uint64_t i = 0; i < n; i++)
        bins[(sorted[i] * 40) / (hi + 1)]++; /* bucket b holds [b w, (b + 1) w) */
    double w = (double)(hi + 1) / 40.0;
    char data[40 * 48];
    size_t len = 0;
    for (int b = 0; b < 40; b++)
        if (bins[b])
            len += (size_t)snprintf(data + len, sizeof data - len, "%f %" PRIu64 "\n",
                                    (b + 0.5) * w, bins[b]);
    return cli_plot(png,
                    "set title 'pairs per query (%" PRIu64 " queries, cap %" PRIu64 ")'\n"
                    "set xlabel 'pairs per query'\nset ylabel 'queries'\nset logscale y\n"
                    "set yrange [0.7:*]\nset xrange [0:%f]\nset style fill solid 0.8\n"
                    "set boxwidth %f absolute\nunset key\n"
                    "set arrow from %" PRIu64 ", graph 0 to %" PRIu64 ", graph 1 nohead dt 2\n"
                    "plot '-' using 1:2 with boxes\n%se\n",
                    n, cap, (double)(hi > cap ? hi : cap) * 1.05 + 1, w * 0.9, cap, cap, data);
}

static int cmd_histogram(int argc, char **argv)
{
    const char *cmd = "queries histogram";
    static const struct option lo[] = {{"queries", required_argument, 0, 'Q'},
                                       {"cap", required_argument, 0, 'c'},
                                       {"png", required_argument, 0, 'p'},
                                       CLI_COMMON_LONG,
                                       {0, 0, 0, 0}};
    const char *queries = NULL, *png = NULL;
    uint64_t cap = QUOTA_DEFAULT_CAP;
    int c;
    while ((c = cli_next_opt(argc, argv, "qvh", lo)) != -1) {
        switch (c) {
        case 0:
            break;
        case 'Q':
            queries = optarg;
            break;
        case 'c':
            if (cli_parse_size(optarg, &cap) || cap == 0)
                return cli_usage_error(cmd, histogram_usage, "--cap needs a positive number");
            break;
        case 'p':
            png = optarg;
            break;
        case 'h':
            fputs(histogram_usage, stdout);
            return CLI_EXIT_OK;
        default:
            return cli_usage_error(cmd, histogram_usage, NULL);
        }
    }
    if (optind + 1 != argc)
        return cli_usage_error(cmd, histogram_usage,
                               optind >= argc ? "missing DIR or MANIFEST" : "too many arguments");
    query_list *ql = NULL;
    shard_manifest *m = NULL;
    cc_status st = CC_OK;
    if (queries)
        st = query_list_load(queries, QUERIES_MAX, &ql);
    if (st == CC_OK)
        st = shard_manifest_load(argv[optind], &m);
    if (st != CC_OK) {
        query_list_free(ql);
        return cli_fail(cmd, st);
    }
    hist_ctx h = {0};
    int rc = cli_walk_records(cmd, m, hist_rec, &h);
    shard_manifest_free(m);
    if (h.too_big)
        cli_error(cmd, "a record's query id is above %u: not a query id", QUERIES_MAX);
    /* The population: every query of the list when given, else the ids seen. */
    uint64_t n = ql ? query_list_count(ql) : 0;
    for (uint64_t i = n; i < h.n_ids; i++)
        if (h.counts[i])
            n = i + 1;
    if (rc == 0 && !h.too_big && ql && n > query_list_count(ql)) {
        cli_error(cmd,
                  "the dataset has query ids up to %" PRIu64 " but %s lists %" PRIu64
                  " queries: another list?",
                  n - 1, queries, query_list_count(ql));
        rc = CLI_EXIT_FAIL;
    }
    uint64_t *sorted = NULL;
    if (rc == 0 && !h.too_big) {
        sorted = calloc(n ? n : 1, sizeof *sorted);
        if (!sorted) {
            rc = cli_fail(cmd, cc_fail(CC_E_NOMEM, "out of memory"));
        } else {
            uint64_t with = 0, at_cap = 0, over = 0, m = 0;
            for (uint64_t i = 0; i < n; i++) {
                uint64_t v = i < h.n_ids ? h.counts[i] : 0;
                /* without the list, the population is the queries seen */
                if (v || ql)
                    sorted[m++] = v;
                with += v > 0;
                at_cap += v == cap;
                over += v > cap;
            }
            n = m;
            qsort(sorted, n, sizeof *sorted, cmp_u64);
            printf("pairs:              %" PRIu64 " (%" PRIu64 " without a query)\n", h.pairs,
                   h.no_query);
            printf("queries:            %" PRIu64 "%s, %" PRIu64 " with pairs, %" PRIu64
                   " at the cap of %" PRIu64 ", %" PRIu64 " over it\n",
                   n, ql ? " in the list" : " seen", with, at_cap, cap, over);
            if (n)
                printf("pairs per query:    median %" PRIu64 ", p90 %" PRIu64 ", max %" PRIu64 "\n",
                       sorted[n / 2], sorted[(n * 9) / 10 < n ? (n * 9) / 10 : n - 1],
                       sorted[n - 1]);
            printf("gini:               %.4f\n", gini_sorted(sorted, n));
            /* the five largest (ties: lowest id), by name when the list is there */
            printf("largest:           ");
            for (int k = 0; k < 5; k++) {
                uint64_t best = 0, bv = 0;
                for (uint64_t i = 0; i < n && i < h.n_ids; i++)
                    if (h.counts[i] > bv) {
                        best = i;
                        bv = h.counts[i];
                    }
                if (bv == 0)
                    break;
                const query *q = ql ? query_list_get(ql, best) : NULL;
                if (q)
                    printf(" \"%s\" %" PRIu64 ";", q->text, bv);
                else
                    printf(" #%" PRIu64 " %" PRIu64 ";", best, bv);
                h.counts[best] = 0; /* taken */
            }
            printf("\n");
            if (png) {
                st = draw_png(png, sorted, n, cap);
                if (st != CC_OK)
                    rc = cli_fail(cmd, st);
                else
                    printf("histogram:          %s\n", png);
            }
        }
    }
    free(sorted);
    free(h.counts);
    query_list_free(ql);
    return rc ? rc : (h.too_big ? CLI_EXIT_FAIL : CLI_EXIT_OK);
}

int cli_queries(int argc, char **argv)
{
    static const cli_subcommand cmds[] = {{"build", cmd_build},
                                          {"stats", cmd_stats},
                                          {"match", cmd_match},
                                          {"histogram", cmd_histogram}};
    return cli_dispatch("queries", queries_usage, cmds, sizeof cmds / sizeof cmds[0], argc, argv);
}
