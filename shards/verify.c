/* shards/verify.c — full check of a run: every shard's checksum, every record's decode, the uid
 * table against the records, and counts against the manifest. */
#include "shards/shard.h"

#include <stdio.h>
#include <string.h>

#include "common/file.h"

/* Checks one opened shard's records; returns the number of bad records. */
static uint64_t verify_records(shard_reader *r, const char *name, shard_verify_fn on_record,
                               shard_problem_fn on_problem, void *ctx)
{
    shard_view *v = NULL;
    if (shard_view_open(r, &v) != CC_OK) {
        on_problem(ctx, name, UINT64_MAX, cc_errmsg());
        return 1;
    }
    shard_view_check_values(v, 1); /* belt and braces: each value against its own checksum */
    uint64_t bad = 0, n = shard_reader_count(r);
    char msg[512];
    for (uint64_t i = 0; i < n; i++) {
        /* get by index, not a scan: a damaged record must not hide the ones after it. */
        shard_record rec;
        cc_status st = shard_view_get(v, i, &rec);
        if (st != CC_OK) {
            on_problem(ctx, name, i, cc_errmsg());
            bad++;
            continue;
        }
        /* The uid table must send this record's uid back to this index. */
        uint64_t at;
        if (shard_view_find(v, rec.uid, &at) != CC_OK || at != i) {
            on_problem(ctx, name, i, "uid table does not point back to this record");
            bad++;
            continue;
        }
        msg[0] = '\0';
        if (on_record && on_record(ctx, &rec, msg, sizeof msg)) {
            on_problem(ctx, name, i, msg[0] ? msg : "rejected by the record check");
            bad++;
        }
    }
    shard_view_close(v);
    return bad;
}

cc_status shard_verify(const shard_manifest *m, shard_verify_fn on_record,
                       shard_problem_fn on_problem, void *ctx, shard_verify_report *rep)
{
    memset(rep, 0, sizeof *rep);
    for (size_t i = 0; i < m->n; i++) {
        const shard_manifest_entry *e = &m->entries[i];
        char path[4096];
        CC_TRY(shard_manifest_shard_path(m, i, path, sizeof path));
        rep->shards++;
        shard_reader *r = NULL;
        if (shard_reader_open(path, e, &r) != CC_OK) {
            on_problem(ctx, e->name, UINT64_MAX, cc_errmsg());
            rep->bad_shards++;
            continue;
        }
        uint64_t bad = verify_records(r, e->name, on_record, on_problem, ctx);
        rep->records += shard_reader_count(r);
        rep->bad_records += bad;
        if (bad)
            rep->bad_shards++;
        shard_reader_close(r);
    }
    return CC_OK;
}
