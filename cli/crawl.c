/* cli/crawl.c — `clipcrawl crawl`: the crawl pipeline (crawler/crawl.h) from the command line.
 * Flags are parsed here (the fetch and filter flags through cli/fetch_flags.h and
 * cli/filter_flags.h, as `clipcrawl fetch` and `shards pack` do); the work is crawl_run's.
 */
#include <errno.h>
#include <inttypes.h>
#include <malloc.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "cli/fetch_flags.h"
#include "cli/filter_flags.h"
#include "common/buf.h"
#include "common/file.h"
#include "common/log.h"
#include "crawler/crawl.h"
#include "crawler/search.h"

#define CLI_CRAWL_MAX_WARC 100000
#define CLI_CRAWL_SEEDS_MAX (256u << 20) /* largest seeds file */

static const char crawl_usage[] =
    "usage: clipcrawl crawl --source search|web|warc --queries queries.tsv --out DIR [options]\n"
    "\n"
    "Crawls image-text pairs whose text contains a query of the list, at most --cap pairs a\n"
    "query, through the text rules, the fetch engine and the image filters, into sealed shards\n"
    "in DIR (with DIR/state.lmdb, DIR/stats.json and DIR/metrics.prom). Re-running the same\n"
    "command resumes, after a stop or a crash. docs/CRAWL.md describes the pipeline.\n"
    "\n"
    "  --source NAME          search (one unit per query, a search API paged) | web | warc\n"
    "                         (web: breadth-first over each seed's site)\n"
    "  --queries FILE         the query list (clipcrawl queries build)\n"
    "  --out DIR              the run folder\n"
    "  --cap N                pairs per query (default 20000)\n"
    "  --concurrency N        image and page transfers in flight in all (default 256)\n"
    "  --parallel-queries N   units worked on at once (default 4; 1 makes the output\n"
    "                         independent of timing)\n"
    "  --search-preset NAME   fixture | openverse | wikimedia (default fixture)\n"
    "  --search-spec FILE     a search spec file (crawler/search.h) instead of a preset\n"
    "  --search-base URL      base URL of a relative template (the fixture web's address)\n"
    "  --seeds FILE           web: seed URLs, one per line (a resumed seed goes on from its\n"
    "                         saved frontier)\n"
    "  --depth N              web: link depth from a seed (default 2)\n"
    "  --max-pages N          web: pages per seed (default 1000)\n"
    "  --warc FILE            warc: a WARC or WAT file (repeatable); pairs of its HTML\n"
    "                         responses and of WAT image links with alt, images fetched live\n"
    "  --shard-pairs N        pairs per shard (default 10000)\n"
    "  --rebuild-state        rebuild the coordinator's counts and claims from the shards\n"
    "  -q, --quiet / -v, --verbose\n"
    "\n";

static volatile sig_atomic_t stop_flag;

static void on_signal(int sig)
{
    (void)sig;
    stop_flag = 1;
}

static void print_summary(const char *out, const crawl_stats *s)
{
    printf("crawled %" PRIu64 " pairs into %s in %.1f s (%" PRIu64 " held before), %" PRIu64
           " candidates, %" PRIu64 " pages\n",
           s->written, out, s->seconds, s->held, s->candidates, s->pages);
    printf("skipped: %" PRIu64 " no query, %" PRIu64 " duplicate pair, %" PRIu64
           " query full, %" PRIu64 " duplicate content, %" PRIu64 " near-duplicate\n",
           s->no_query, s->duplicate_pair, s->query_full, s->duplicate_content, s->near_duplicate);
    cli_print_rejects(s->text, s->fetch, s->image);
}

typedef struct seed_vec {
    char **items;
    size_t n;
} seed_vec;

/* Reads the seeds file: one URL a line, blank lines and '#' comments skipped. The strings point
 * into text. */
static int read_seeds(const char *cmd, const char *path, seed_vec *v, cc_buf *text)
{
    cc_status st = cc_read_file(path, text);
    if (st == CC_OK)
        st = cc_buf_append(text, "", 1);
    if (st != CC_OK)
        return cli_fail(cmd, st);
    size_t lines = 1;
    for (size_t i = 0; i < text->len; i++)
        lines += text->data[i] == '\n';
    v->items = calloc(lines, sizeof *v->items);
    if (!v->items)
        return cli_fail(cmd, cc_fail(CC_E_NOMEM, "out of memory"));
    char *p = (char *)text->data;
    while (p && *p) {
        char *nl = strchr(p, '\n');
        if (nl)
            *nl = '\0';
        char *e = p + strlen(p);
        while (e > p && (e[-1] == '\r' || e[-1] == ' ' || e[-1] == '\t'))
            *--e = '\0';
        while (*p == ' ' || *p == '\t')
            p++;
        if (*p && *p != '#')
            v->items[v->n++] = p;
        p = nl ? nl + 1 : NULL;
    }
    if (v->n == 0) {
        cli_error(cmd, "%s: no seed URL", path);
        return CLI_EXIT_USAGE;
    }
    return CLI_EXIT_OK;
}

static int parse_pos(const char *arg, uint64_t max, uint64_t *out)
{
    return cli_parse_size(arg, out) == 0 && *out > 0 && *out <= max;
}

int cli_crawl(int argc, char **argv)
{
    const char *cmd = "crawl";
    static const struct option lo[] = {{"source", required_argument, 0, 's'},
                                       {"queries", required_argument, 0, 'Q'},
                                       {"out", required_argument, 0, 'o'},
                                       {"cap", required_argument, 0, 'C'},
                                       {"concurrency", required_argument, 0, 'c'},
                                       {"parallel-queries", required_argument, 0, 'u'},
                                       {"search-preset", required_argument, 0, 'p'},
                                       {"search-spec", required_argument, 0, 'S'},
                                       {"search-base", required_argument, 0, 'b'},
                                       {"seeds", required_argument, 0, 'e'},
                                       {"depth", required_argument, 0, 'd'},
                                       {"max-pages", required_argument, 0, 'm'},
                                       {"warc", required_argument, 0, 'w'},
                                       {"shard-pairs", required_argument, 0, 'P'},
                                       {"rebuild-state", no_argument, 0, 'R'},
                                       CLI_FETCH_LONG,
                                       CLI_FILTER_LONG,
                                       CLI_COMMON_LONG,
                                       {0, 0, 0, 0}};
    static char usage[sizeof crawl_usage + 8192];
    snprintf(usage, sizeof usage, "%s%s\n%s", crawl_usage, cli_fetch_usage, cli_filter_usage);
    crawl_opts o;
    crawl_opts_default(&o);
    cli_fetch_flags ff;
    cli_filter_flags fl;
    cli_filter_flags_default(&fl);
    cc_status st = cli_fetch_flags_init(&ff);
    if (st != CC_OK) {
        cli_filter_flags_free(&fl);
        return cli_fail(cmd, st);
    }
    const char *source = NULL, *preset = "fixture", *spec_file = NULL, *base = NULL;
    const char *seeds = NULL;
    static const char *warcs[CLI_CRAWL_MAX_WARC];
    int n_warc = 0;
    uint64_t v, concurrency = 0;
    search_spec *spec = NULL;
    seed_vec seed_list = {0};
    cc_buf seed_text;
    cc_buf_init(&seed_text, CLI_CRAWL_SEEDS_MAX);
    int c, rc = CLI_EXIT_USAGE;
    char err[512];
    while ((c = cli_next_opt(argc, argv, "qvh", lo)) != -1) {
        switch (c) {
        case 0:
            break;
        case 's':
            source = optarg;
            break;
        case 'Q':
            o.queries = optarg;
            break;
        case 'o':
            o.out_dir = optarg;
            break;
        case 'C':
            if (!parse_pos(optarg, UINT32_MAX, &o.cap)) {
                cli_usage_error(cmd, usage, "--cap needs a positive number");
                goto done;
            }
            break;
        case 'c':
            if (!parse_pos(optarg, 100000, &concurrency)) {
                cli_usage_error(cmd, usage, "--concurrency needs a number in 1..100000");
                goto done;
            }
            break;
        case 'u':
            if (!parse_pos(optarg, 10000, &v)) {
                cli_usage_error(cmd, usage, "--parallel-queries needs a number in 1..10000");
                goto done;
            }
            o.parallel_units = (int)v;
            break;
        case 'p':
            preset = optarg;
            break;
        case 'S':
            spec_file = optarg;
            break;
        case 'b':
            base = optarg;
            break;
        case 'e':
            seeds = optarg;
            break;
        case 'd':
            if (cli_parse_size(optarg, &v) || v > 1000) {
                cli_usage_error(cmd, usage, "--depth needs a number in 0..1000");
                goto done;
            }
            o.depth = (int)v;
            break;
        case 'm':
            if (!parse_pos(optarg, 100000000, &o.max_pages)) {
                cli_usage_error(cmd, usage, "--max-pages needs a positive number");
                goto done;
            }
            break;
        case 'w':
            if (n_warc == CLI_CRAWL_MAX_WARC) {
                cli_usage_error(cmd, usage, "too many --warc files (list fewer per crawl)");
                goto done;
            }
            warcs[n_warc++] = optarg;
            break;
        case 'P':
            if (!parse_pos(optarg, UINT32_MAX, &o.shard_pairs)) {
                cli_usage_error(cmd, usage, "--shard-pairs needs a positive number");
                goto done;
            }
            break;
        case 'R':
            o.rebuild_state = 1;
            break;
        case 'h':
            fputs(usage, stdout);
            rc = CLI_EXIT_OK;
            goto done;
        default: {
            int k = cli_fetch_flags_parse(&ff, c, optarg, err, sizeof err);
            if (k == 0)
                k = cli_filter_flags_parse(&fl, c, optarg, err, sizeof err);
            if (k == 1)
                break;
            cli_usage_error(cmd, usage, k < 0 ? err : NULL);
            goto done;
        }
        }
    }
    if (!source || !o.queries || !o.out_dir) {
        cli_usage_error(cmd, usage, "--source, --queries and --out are required");
        goto done;
    }
    if (optind != argc) {
        cli_usage_error(cmd, usage, "unexpected argument");
        goto done;
    }
    if (!strcmp(source, "search")) {
        o.source = CRAWL_SOURCE_SEARCH;
    } else if (!strcmp(source, "web")) {
        o.source = CRAWL_SOURCE_WEB;
        if (!seeds) {
            cli_usage_error(cmd, usage, "--source web needs --seeds FILE");
            goto done;
        }
        rc = read_seeds(cmd, seeds, &seed_list, &seed_text);
        if (rc != CLI_EXIT_OK)
            goto done;
        rc = CLI_EXIT_USAGE;
    } else if (!strcmp(source, "warc")) {
        o.source = CRAWL_SOURCE_WARC;
        if (n_warc == 0) {
            cli_usage_error(cmd, usage, "--source warc needs --warc FILE");
            goto done;
        }
        for (int i = 0; i < n_warc; i++)
            if (access(warcs[i], R_OK) != 0) {
                snprintf(err, sizeof err, "cannot read %s: %s", warcs[i], strerror(errno));
                cli_usage_error(cmd, usage, err);
                goto done;
            }
    } else {
        cli_usage_error(cmd, usage, "--source is search, web or warc");
        goto done;
    }
    rc = CLI_EXIT_FAIL;
    if (o.source == CRAWL_SOURCE_SEARCH) {
        st = spec_file ? search_spec_load(spec_file, &spec) : search_spec_preset(preset, &spec);
        if (st == CC_OK && base)
            st = search_spec_set_base(spec, base);
        if (st != CC_OK) {
            rc = cli_fail(cmd, st);
            goto done;
        }
        if (search_spec_needs_base(spec)) {
            rc = cli_usage_error(cmd, usage,
                                 "this search spec has a relative template: give --search-base");
            goto done;
        }
        o.spec = spec;
    }
    o.seeds = (const char *const *)seed_list.items;
    o.n_seeds = seed_list.n;
    o.warcs = warcs;
    o.n_warcs = (size_t)n_warc;
    o.fetch = ff.opts;
    if (concurrency)
        o.fetch.max_inflight = (int)concurrency;
    o.img = fl.img;
    o.text = fl.text;
    o.dedupe = fl.dedupe;
    o.near_distance = fl.near_distance;
    o.threads = fl.threads;
    o.progress = cc_log_get_level() != CC_LOG_QUIET;
    o.stop = &stop_flag;
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    crawl_stats s;
    /* Image bodies and decode buffers come and go in sizes up to tens of MiB. glibc raises its
     * mmap threshold after each large free, after which such buffers come from the heap and the
     * heap's high-water stays resident; a fixed threshold (which also stops the raising) gives
     * them back to the system when freed, so resident memory follows what is in use. */
    mallopt(M_MMAP_THRESHOLD, 1 << 20);
    st = crawl_run(&o, &s);
    if (st != CC_OK) {
        rc = cli_fail(cmd, st);
        goto done;
    }
    print_summary(o.out_dir, &s);
    if (stop_flag) {
        cli_error(cmd, "stopped; run the same command again to resume");
        rc = CLI_EXIT_FAIL;
    } else if (s.units_left) {
        cli_error(cmd,
                  "%" PRIu64 " units are not done (%" PRIu64 " dead-lettered after repeated "
                  "failures: see the log); run the same command again to retry",
                  s.units_left, s.units_dead);
        rc = CLI_EXIT_FAIL;
    } else {
        rc = CLI_EXIT_OK;
    }
done:
    free(seed_list.items);
    cc_buf_free(&seed_text);
    search_spec_free(spec);
    cli_fetch_flags_free(&ff);
    cli_filter_flags_free(&fl);
    return rc;
}
