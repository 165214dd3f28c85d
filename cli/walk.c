/* cli/walk.c — the record walk the dataset commands share (see cli.h). */
#include "cli/cli.h"

/* Calls fn for every record of every shard in m (in manifest and index order). fn returning
 * nonzero stops the walk (that value is returned). Shard errors are reported and returned. */
int cli_walk_records(const char *cmd, const shard_manifest *m, cli_record_fn fn, void *ctx)
{
    int rc = 0;
    cc_status st = shard_manifest_walk(m, fn, ctx, &rc);
    return st != CC_OK ? cli_fail(cmd, st) : rc;
}
