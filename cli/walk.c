/* cli/walk.c — the record walk the dataset commands share (see cli.h). */
#include <inttypes.h>

#include "cli/cli.h"

/* Calls fn for every record of every shard in m (in manifest and index order). fn returning
 * nonzero stops the walk (that value is returned). Shard errors are reported and returned. */
int cli_walk_records(const char *cmd, const shard_manifest *m, cli_record_fn fn, void *ctx)
{
    for (size_t i = 0; i < m->n; i++) {
        char path[4096];
        shard_reader *r = NULL;
        shard_view *v = NULL;
        cc_status st = shard_manifest_shard_path(m, i, path, sizeof path);
        if (st == CC_OK)
            st = shard_reader_open(path, &m->entries[i], &r);
        if (st == CC_OK)
            st = shard_view_open(r, &v);
        int rc = 0;
        for (uint64_t k = 0; st == CC_OK && rc == 0 && k < shard_reader_count(r); k++) {
            shard_record rec;
            uint64_t at;
            st = shard_view_next(v, &at, &rec);
            if (st == CC_OK && at != k)
                st = cc_fail(CC_E_FORMAT, "%s: record %" PRIu64 " is missing", m->entries[i].name,
                             k);
            if (st == CC_OK)
                rc = fn(ctx, &m->entries[i], k, &rec);
        }
        shard_view_close(v);
        shard_reader_close(r);
        if (st != CC_OK)
            return cli_fail(cmd, st);
        if (rc)
            return rc;
    }
    return 0;
}
