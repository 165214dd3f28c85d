/* cli/cli.h — shared by the subcommand files of the clipcrawl binary. The CLI is the only place
 * that prints results to stdout or calls exit(). */
#ifndef CC_CLI_H
#define CC_CLI_H

#include <stdint.h>

#include "common/status.h"

#define CLI_EXIT_OK 0
#define CLI_EXIT_FAIL 1 /* the command ran and failed, or found problems */
#define CLI_EXIT_USAGE 2 /* bad command line */

/* Entry points of the subcommand groups: argv[0] is the group name ("shards"). */
int cli_shards(int argc, char **argv);

/* Prints "clipcrawl: <cmd>: <message>" to stderr. */
void cli_error(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Prints a failure with its status: "clipcrawl: <cmd>: <cc_errmsg() or status name>". Returns
 * CLI_EXIT_FAIL. */
int cli_fail(const char *cmd, cc_status st);
/* Parses a non-negative integer with an optional K/M/G/T suffix (powers of 1024) into out. */
int cli_parse_size(const char *s, uint64_t *out);

#endif
