/* cli/cli.h — shared by the subcommand files of the clipcrawl binary. The CLI is the only place
 * that prints results to stdout or calls exit(). */
#ifndef CC_CLI_H
#define CC_CLI_H

#include <getopt.h>
#include <stdint.h>

#include "common/status.h"
#include "shards/shard.h"

#define CLI_EXIT_OK 0
#define CLI_EXIT_FAIL 1 /* the command ran and failed, or found problems */
#define CLI_EXIT_USAGE 2 /* bad command line */

/* Entry points of the subcommand groups: argv[0] is the group name ("shards"). */
int cli_shards(int argc, char **argv);
/* `clipcrawl shards pack` (cli/pack.c); argv[0] is "pack". */
int cli_shards_pack(int argc, char **argv);
/* `clipcrawl queries build|stats|match|histogram` (cli/queries.c). */
int cli_queries(int argc, char **argv);
/* `clipcrawl fetch` (cli/fetch.c). */
int cli_fetch(int argc, char **argv);
/* `clipcrawl crawl` (cli/crawl.c). */
int cli_crawl(int argc, char **argv);
/* `clipcrawl tokenizer train|encode|stat` (cli/tokenizer.c). */
int cli_tokenizer(int argc, char **argv);

/* `clipcrawl train` (cli/train.c). */
int cli_train(int argc, char **argv);
/* `clipcrawl eval retrieval` (cli/eval.c). */
int cli_eval(int argc, char **argv);

/* Calls fn for every record of every shard in m, in manifest and index order (cli/walk.c). fn
 * returning nonzero stops the walk and is returned; shard errors are printed (cli_fail) and
 * CLI_EXIT_FAIL returned. */
typedef shard_walk_fn cli_record_fn; /* shards/shard.h's walk callback */
int cli_walk_records(const char *cmd, const shard_manifest *m, cli_record_fn fn, void *ctx);

/* One subcommand of a group ("shards pack"): its name and entry point (argv[0] = the name). */
typedef struct cli_subcommand {
    const char *name;
    int (*fn)(int argc, char **argv);
} cli_subcommand;

/* Runs the subcommand of a group named by argv[1] (argv[0] is the group), with getopt reset;
 * --help/-h prints usage to stdout; no argument, or an unknown one, prints usage to stderr and
 * returns CLI_EXIT_USAGE. */
int cli_dispatch(const char *group, const char *usage, const cli_subcommand *cmds, size_t n,
                 int argc, char **argv);

/* getopt_long with -q/-v/-h handled in one place. Returns the option, or 0 when it consumed a
 * common one, -1 at the end; '?' on error (getopt printed why) or 'h' for --help. */
int cli_next_opt(int argc, char **argv, const char *shortopts, const struct option *longopts);

/* The long options every subcommand takes; "qvh" are their short forms. */
#define CLI_COMMON_LONG                                                                            \
    {"quiet", no_argument, 0, 'q'}, {"verbose", no_argument, 0, 'v'},                              \
    {                                                                                              \
        "help", no_argument, 0, 'h'                                                                \
    }

/* Prints "clipcrawl: <cmd>: <what>" (when what is not NULL) and the usage to stderr. Returns
 * CLI_EXIT_USAGE. */
int cli_usage_error(const char *cmd, const char *usage, const char *what);

/* Prints "clipcrawl: <cmd>: <message>" to stderr. */
void cli_error(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Prints a failure with its status: "clipcrawl: <cmd>: <cc_errmsg() or status name>". Returns
 * CLI_EXIT_FAIL. */
int cli_fail(const char *cmd, cc_status st);
/* Draws a PNG at png with gnuplot: the terminal and output are set, then the script (printf
 * format) is sent as it is, inline data included. CC_E_IO when gnuplot is missing or fails. */
cc_status cli_plot(const char *png, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Parses a non-negative integer with an optional K/M/G/T suffix (powers of 1024) into out. */
int cli_parse_size(const char *s, uint64_t *out);

#endif
