/* cli/fetch.c — `clipcrawl fetch`: the fetch engine on a list of URLs, one outcome line per URL.
 * A tool for checking a site's politeness settings, for benchmarks and for the hostile-server
 * tests; the crawler uses the same engine and the same flags. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cli/cli.h"
#include "cli/fetch_flags.h"
#include "common/hash.h"
#include "common/log.h"
#include "crawler/fetch.h"
#include "crawler/url.h"

static const char usage_head[] =
    "usage: clipcrawl fetch [OPTIONS] [URL...]\n"
    "\n"
    "Fetches URLs through the crawler's engine (robots.txt, per-host politeness, SSRF guard,\n"
    "limits, retries) and prints one tab-separated line per URL as it completes:\n"
    "  outcome  http_status  body_bytes  attempts  redirects  seconds  url  final_url  detail\n"
    "Exit status 0 when the run completed, whatever the outcomes.\n"
    "\n"
    "  --urls FILE            URLs, one per line ('-' = stdin); blank and '#' lines skipped\n"
    "  --kind image|html|any  content class: body limit and accepted types (default image)\n"
    "  --out DIR              save each ok body as DIR/<XXH3-64 of the URL as given, 16 hex>.bin\n"
    "  --stats FILE           write the final counts as JSON\n"
    "\n";

typedef struct run {
    FILE *urls;
    const char *out_dir;
    uint64_t lines;
    int write_failed;
    char errmsg[512];
} run;

static void on_done(void *user, const fetch_result *r)
{
    char *orig = user;
    run *ru = *(run **)orig;
    const char *given = orig + sizeof(run *);
    if (r->outcome == FETCH_OK && ru->out_dir && !ru->write_failed) {
        char path[4096];
        uint64_t h = cc_hash64(given, strlen(given));
        snprintf(path, sizeof path, "%s/%016" PRIx64 ".bin", ru->out_dir, h);
        int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        size_t off = 0;
        while (fd >= 0 && off < r->body_len) {
            ssize_t w = write(fd, r->body + off, r->body_len - off);
            if (w < 0 && errno == EINTR)
                continue;
            if (w <= 0)
                break;
            off += (size_t)w;
        }
        if (fd < 0 || off < r->body_len || close(fd) != 0) {
            snprintf(ru->errmsg, sizeof ru->errmsg, "%.400s: %s", path, strerror(errno));
            ru->write_failed = 1;
        }
    }
    /* one line per URL; tabs and newlines in the detail would break the columns */
    char detail[200];
    size_t n = 0;
    for (const char *p = r->detail; *p && n < sizeof detail - 1; p++)
        detail[n++] = (*p == '\t' || *p == '\n' || *p == '\r') ? ' ' : *p;
    detail[n] = 0;
    printf("%s\t%d\t%zu\t%d\t%d\t%.3f\t%s\t%s\t%s\n", fetch_outcome_name(r->outcome),
           r->http_status, r->body_len, r->attempts, r->redirects, r->seconds, given, r->final_url,
           detail);
    free(orig);
}

/* Queues one URL; the callback context is [run*][the URL as given]. */
static cc_status submit_one(fetch_engine *e, run *ru, const char *url, fetch_kind kind)
{
    size_t n = strlen(url);
    char *ctx = malloc(sizeof(run *) + n + 1);
    if (!ctx)
        return cc_fail(CC_E_NOMEM, "out of memory");
    memcpy(ctx, &ru, sizeof ru);
    memcpy(ctx + sizeof(run *), url, n + 1);
    cc_status st = fetch_submit(e, url, kind, on_done, ctx);
    if (st != CC_OK)
        free(ctx);
    return st;
}

/* Reads the next URL of the list into buf; 0 at the end. Lines are trimmed; blank lines and '#'
 * comments skipped. */
static int next_url(run *ru, char *buf, size_t cap, cc_status *st)
{
    *st = CC_OK;
    while (fgets(buf, (int)cap, ru->urls)) {
        ru->lines++;
        size_t n = strlen(buf);
        if (n == cap - 1 && buf[n - 1] != '\n' && !feof(ru->urls)) {
            /* Longer than any URL we fetch: skip the rest of the line and submit the first
             * cap - 1 bytes as they are, which the engine reports as bad_url (too long). */
            int ch;
            while ((ch = fgetc(ru->urls)) != EOF && ch != '\n')
                ;
            return 1;
        }
        while (n && (buf[n - 1] == '\n' || buf[n - 1] == '\r' || buf[n - 1] == ' ' ||
                     buf[n - 1] == '\t'))
            buf[--n] = 0;
        char *p = buf;
        while (*p == ' ' || *p == '\t')
            p++;
        if (!*p || *p == '#')
            continue;
        memmove(buf, p, strlen(p) + 1);
        return 1;
    }
    if (ferror(ru->urls))
        *st = cc_fail(CC_E_IO, "reading the URL list: %s", strerror(errno));
    return 0;
}

static int write_stats(const char *path, const fetch_stats *s, double secs)
{
    FILE *f = fopen(path, "w");
    if (!f)
        return -1;
    fprintf(f,
            "{\"submitted\":%" PRIu64 ",\"done\":%" PRIu64 ",\"requests\":%" PRIu64
            ",\"retries\":%" PRIu64 ",\"redirects\":%" PRIu64 ",\"robots_fetched\":%" PRIu64
            ",\"body_bytes\":%" PRIu64 ",\"hosts\":%" PRIu64
            ",\"max_inflight\":%zu,\"seconds\":%.3f,\"outcomes\":{",
            s->submitted, s->done, s->requests, s->retries, s->redirects, s->robots_fetched,
            s->body_bytes, s->hosts, s->max_inflight_seen, secs);
    for (int o = 0; o < FETCH_OUTCOME_COUNT; o++)
        fprintf(f, "%s\"%s\":%" PRIu64, o ? "," : "", fetch_outcome_name(o), s->outcome[o]);
    fputs("}}\n", f);
    return fclose(f) == 0 ? 0 : -1;
}

int cli_fetch(int argc, char **argv)
{
    static const char cmd[] = "fetch";
    enum { O_URLS = 0x2000, O_KIND, O_OUT, O_STATS };
    static const struct option longopts[] = {
        {"urls", required_argument, 0, O_URLS},
        {"kind", required_argument, 0, O_KIND},
        {"out", required_argument, 0, O_OUT},
        {"stats", required_argument, 0, O_STATS},
        CLI_FETCH_LONG,
        CLI_COMMON_LONG,
        {0, 0, 0, 0},
    };
    char usage[8192];
    snprintf(usage, sizeof usage, "%s%s", usage_head, cli_fetch_usage);
    cli_fetch_flags ff;
    cc_status st = cli_fetch_flags_init(&ff);
    if (st != CC_OK)
        return cli_fail(cmd, st);
    const char *urls_path = NULL, *stats_path = NULL;
    fetch_kind kind = FETCH_KIND_IMAGE;
    run ru = {0};
    int rc = CLI_EXIT_OK, c;
    char err[512];
    fetch_engine *e = NULL;
    optind = 1;
    while ((c = cli_next_opt(argc, argv, "qvh", longopts)) != -1) {
        if (c == 0)
            continue;
        if (c == 'h') {
            fputs(usage, stdout);
            goto done;
        }
        int r = cli_fetch_flags_parse(&ff, c, optarg, err, sizeof err);
        if (r < 0) {
            rc = cli_usage_error(cmd, usage, err);
            goto done;
        }
        if (r > 0)
            continue;
        switch (c) {
        case O_URLS:
            urls_path = optarg;
            break;
        case O_KIND:
            if (!strcmp(optarg, "image"))
                kind = FETCH_KIND_IMAGE;
            else if (!strcmp(optarg, "html"))
                kind = FETCH_KIND_HTML;
            else if (!strcmp(optarg, "any"))
                kind = FETCH_KIND_ANY;
            else {
                rc = cli_usage_error(cmd, usage, "--kind takes image, html or any");
                goto done;
            }
            break;
        case O_OUT:
            ru.out_dir = optarg;
            break;
        case O_STATS:
            stats_path = optarg;
            break;
        default:
            rc = cli_usage_error(cmd, usage, NULL);
            goto done;
        }
    }
    if (!urls_path && optind >= argc) {
        rc = cli_usage_error(cmd, usage, "give URLs or --urls FILE");
        goto done;
    }
    if (ru.out_dir && mkdir(ru.out_dir, 0755) != 0 && errno != EEXIST) {
        cli_error(cmd, "%s: %s", ru.out_dir, strerror(errno));
        rc = CLI_EXIT_FAIL;
        goto done;
    }
    if (urls_path) {
        ru.urls = strcmp(urls_path, "-") ? fopen(urls_path, "r") : stdin;
        if (!ru.urls) {
            cli_error(cmd, "%s: %s", urls_path, strerror(errno));
            rc = CLI_EXIT_FAIL;
            goto done;
        }
    }
    st = fetch_engine_new(&ff.opts, &e);
    if (st != CC_OK) {
        rc = cli_fail(cmd, st);
        goto done;
    }
    /* one line per URL as it completes, also into a pipe */
    setvbuf(stdout, NULL, _IOLBF, 0);
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (int i = optind; i < argc && st == CC_OK; i++)
        st = submit_one(e, &ru, argv[i], kind);
    /* Keep a window of URLs queued: enough for every host to have work, bounded memory. */
    size_t window = (size_t)ff.opts.max_inflight * 64 + 4096;
    char line[URL_MAX + 2];
    int more = ru.urls != NULL;
    while (st == CC_OK && !ru.write_failed) {
        while (more && fetch_pending(e) < window) {
            more = next_url(&ru, line, sizeof line, &st);
            if (!more || st != CC_OK)
                break;
            st = submit_one(e, &ru, line, kind);
            if (st != CC_OK)
                break;
        }
        if (st != CC_OK)
            break;
        size_t pending;
        st = fetch_run(e, more ? 0.05 : -1, &pending);
        if (!more && pending == 0)
            break;
    }
    fflush(stdout);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double secs = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) * 1e-9;
    if (st != CC_OK) {
        rc = cli_fail(cmd, st);
        goto done;
    }
    if (ru.write_failed) {
        cli_error(cmd, "%s", ru.errmsg);
        rc = CLI_EXIT_FAIL;
        goto done;
    }
    fetch_stats s;
    fetch_get_stats(e, &s);
    if (stats_path && write_stats(stats_path, &s, secs) != 0) {
        cli_error(cmd, "%s: %s", stats_path, strerror(errno));
        rc = CLI_EXIT_FAIL;
        goto done;
    }
    cc_log_info("fetch: %" PRIu64 " URLs in %.2f s (%.0f/s), %" PRIu64 " requests, %" PRIu64
                " robots.txt, %" PRIu64 " retries, %" PRIu64 " redirects, %.1f MB",
                s.done, secs, secs > 0 ? (double)s.done / secs : 0.0, s.requests, s.robots_fetched,
                s.retries, s.redirects, (double)s.body_bytes / 1e6);
    for (int o = 0; o < FETCH_OUTCOME_COUNT; o++)
        if (s.outcome[o])
            cc_log_info("  %-20s %" PRIu64, fetch_outcome_name(o), s.outcome[o]);
done:
    fetch_engine_free(e);
    if (ru.urls && ru.urls != stdin)
        fclose(ru.urls);
    cli_fetch_flags_free(&ff);
    return rc;
}
