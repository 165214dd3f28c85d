/* cli/main.c — the clipcrawl binary: global options, then one subcommand group. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "common/log.h"

#define CLIPCRAWL_VERSION "0.1.0"

static const char usage[] =
    "usage: clipcrawl [--quiet | --verbose] COMMAND [ARGS]\n"
    "\n"
    "Builds CLIP-style image-text datasets into zstd-compressed LMDB shards.\n"
    "\n"
    "commands:\n"
    "  shards     pack, inspect, verify and export shard folders (clipcrawl shards --help)\n"
    "  queries    build the query list (WordNet, Wikipedia), match captions, histograms\n"
    "             (clipcrawl queries --help)\n"
    "  fetch      fetch URLs politely and safely: robots.txt, per-host queues, SSRF guard\n"
    "             (clipcrawl fetch --help)\n"
    "  crawl      crawl image-text pairs for a query list into shards, resumable\n"
    "             (clipcrawl crawl --help)\n"
    "  tokenizer  train, apply and inspect the trainer's BPE tokenizer\n"
    "             (clipcrawl tokenizer --help)\n"
    "  train      train a CLIP model on shards, on the CPU (clipcrawl train --help)\n"
    "  eval       evaluate a trained model: retrieval (clipcrawl eval --help)\n"
    "\n"
    "options:\n"
    "  -q, --quiet     errors only\n"
    "  -v, --verbose   debug messages too\n"
    "  -h, --help      this text\n"
    "      --version   print the version\n";

void cli_error(const char *cmd, const char *fmt, ...)
{
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    cc_progress_done();
    fprintf(stderr, "clipcrawl: %s: %s\n", cmd, msg);
}

int cli_fail(const char *cmd, cc_status st)
{
    const char *m = cc_errmsg();
    cli_error(cmd, "%s", m[0] ? m : cc_status_str(st));
    return CLI_EXIT_FAIL;
}

int cli_next_opt(int argc, char **argv, const char *shortopts, const struct option *longopts)
{
    int c = getopt_long(argc, argv, shortopts, longopts, NULL);
    if (c == 'q')
        cc_log_set_level(CC_LOG_QUIET);
    else if (c == 'v')
        cc_log_set_level(CC_LOG_DEBUG);
    else
        return c;
    return 0;
}

int cli_dispatch(const char *group, const char *usage, const cli_subcommand *cmds, size_t n,
                 int argc, char **argv)
{
    if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
        fputs(usage, argc < 2 ? stderr : stdout);
        return argc < 2 ? CLI_EXIT_USAGE : CLI_EXIT_OK;
    }
    for (size_t i = 0; i < n; i++) {
        if (!strcmp(argv[1], cmds[i].name)) {
            optind = 1;
            return cmds[i].fn(argc - 1, argv + 1);
        }
    }
    cli_error(group, "unknown command '%s'", argv[1]);
    fputs(usage, stderr);
    return CLI_EXIT_USAGE;
}

int cli_usage_error(const char *cmd, const char *usage, const char *what)
{
    if (what)
        cli_error(cmd, "%s", what);
    fputs(usage, stderr);
    return CLI_EXIT_USAGE;
}

int cli_parse_size(const char *s, uint64_t *out)
{
    if (!s || *s < '0' || *s > '9')
        return -1;
    char *end;
    unsigned long long v = strtoull(s, &end, 10);
    int shift = 0;
    switch (*end) {
    case 'K':
    case 'k':
        shift = 10;
        break;
    case 'M':
    case 'm':
        shift = 20;
        break;
    case 'G':
    case 'g':
        shift = 30;
        break;
    case 'T':
    case 't':
        shift = 40;
        break;
    case '\0':
        break;
    default:
        return -1;
    }
    if (shift && end[1] != '\0' && strcmp(end + 1, "iB") != 0 && strcmp(end + 1, "B") != 0)
        return -1;
    if (v > (UINT64_MAX >> shift))
        return -1;
    *out = (uint64_t)v << shift;
    return 0;
}

int main(int argc, char **argv)
{
    int i = 1;
    for (; i < argc && argv[i][0] == '-'; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "-q") || !strcmp(a, "--quiet")) {
            cc_log_set_level(CC_LOG_QUIET);
        } else if (!strcmp(a, "-v") || !strcmp(a, "--verbose")) {
            cc_log_set_level(CC_LOG_DEBUG);
        } else if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            fputs(usage, stdout);
            return CLI_EXIT_OK;
        } else if (!strcmp(a, "--version")) {
            printf("clipcrawl %s\n", CLIPCRAWL_VERSION);
            return CLI_EXIT_OK;
        } else {
            fprintf(stderr, "clipcrawl: unknown option '%s'\n%s", a, usage);
            return CLI_EXIT_USAGE;
        }
    }
    if (i >= argc) {
        fputs(usage, stderr);
        return CLI_EXIT_USAGE;
    }
    const char *cmd = argv[i];
    if (!strcmp(cmd, "shards"))
        return cli_shards(argc - i, argv + i);
    if (!strcmp(cmd, "queries"))
        return cli_queries(argc - i, argv + i);
    if (!strcmp(cmd, "fetch"))
        return cli_fetch(argc - i, argv + i);
    if (!strcmp(cmd, "crawl"))
        return cli_crawl(argc - i, argv + i);
    if (!strcmp(cmd, "tokenizer"))
        return cli_tokenizer(argc - i, argv + i);
    if (!strcmp(cmd, "train"))
        return cli_train(argc - i, argv + i);
    if (!strcmp(cmd, "eval"))
        return cli_eval(argc - i, argv + i);
    fprintf(stderr, "clipcrawl: unknown command '%s' (try clipcrawl --help)\n", cmd);
    return CLI_EXIT_USAGE;
}
