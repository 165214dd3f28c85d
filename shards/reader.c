/* shards/reader.c — read-only access to sealed shards, verified before LMDB maps them.
 *
 * LMDB trusts its file, so a damaged page could crash it: the reader first checks the file's
 * size and XXH3-128 against the manifest entry, and only then opens it (MDB_RDONLY | MDB_NOLOCK
 * | MDB_NOTLS: sealed shards are immutable, and read transactions may move between threads).
 * Each view owns one read transaction and one codec, so views in different threads share
 * nothing but the map.
 */
#include "shards/shard.h"

#include <inttypes.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "common/file.h"
#include "shards/lmdbx.h"

struct shard_reader {
    MDB_env *env;
    MDB_dbi dbi_rec, dbi_uid;
    uint64_t count;
    uint8_t *dict;
    size_t dict_len;
    char name[SHARD_NAME_MAX];
    int file_verified; /* the whole file matched its manifest checksum at open */
};

struct shard_view {
    shard_reader *r;
    MDB_txn *txn;
    shard_codec *codec;
    MDB_cursor *cur; /* scan cursor, opened by the first shard_view_next */
    int positioned; /* cur stands on the last record returned */
    uint64_t scan_start; /* where the next unpositioned scan starts */
};

static cc_status check_file(const char *path, const char *name, const shard_manifest_entry *e)
{
    struct stat sb;
    CC_CHECK(stat(path, &sb) == 0, errno == ENOENT ? CC_E_NOTFOUND : CC_E_IO, "%s: %s", name,
             strerror(errno));
    CC_CHECK((uint64_t)sb.st_size == e->bytes, CC_E_CHECKSUM,
             "%s: size is %lld bytes, the manifest says %llu (file truncated or changed since "
             "sealing)",
             name, (long long)sb.st_size, (unsigned long long)e->bytes);
    cc_hash128 h;
    uint64_t size;
    CC_TRY(cc_hash_file(path, &h, &size));
    CC_CHECK(size == e->bytes && cc_hash128_eq(h, e->checksum), CC_E_CHECKSUM,
             "%s: checksum mismatch (file changed or truncated since sealing)", name);
    return CC_OK;
}

cc_status shard_reader_open(const char *path, const shard_manifest_entry *expect,
                            shard_reader **out)
{
    const char *name = cc_path_base(path);
    if (expect)
        CC_TRY(check_file(path, name, expect));
    shard_reader *r = calloc(1, sizeof *r);
    CC_CHECK(r, CC_E_NOMEM, "out of memory");
    snprintf(r->name, sizeof r->name, "%s", name);
    r->file_verified = expect != NULL;
    cc_status st = CC_OK;
    MDB_txn *txn = NULL;
    MDB_dbi dbi_meta;
    int rc = mdb_env_create(&r->env);
    if (rc) {
        free(r);
        return shard_mdb_fail(rc, name);
    }
    mdb_env_set_maxdbs(r->env, 3);
    if ((rc = mdb_env_open(r->env, path, MDB_RDONLY | MDB_NOLOCK | MDB_NOTLS | MDB_NOSUBDIR,
                           0644)) != 0 ||
        (rc = mdb_txn_begin(r->env, NULL, MDB_RDONLY, &txn)) != 0) {
        st = rc == MDB_INVALID || rc == MDB_VERSION_MISMATCH
                 ? cc_fail(CC_E_FORMAT, "%s: not an LMDB shard file (%s)", name, mdb_strerror(rc))
                 : shard_mdb_fail(rc, name);
        goto fail;
    }
    if ((rc = mdb_dbi_open(txn, SHARD_DB_META, 0, &dbi_meta)) != 0 ||
        (rc = mdb_dbi_open(txn, SHARD_DB_REC, 0, &r->dbi_rec)) != 0 ||
        (rc = mdb_dbi_open(txn, SHARD_DB_UID, 0, &r->dbi_uid)) != 0) {
        st = cc_fail(CC_E_FORMAT, "%s: not a clipcrawl shard (missing table: %s)", name,
                     mdb_strerror(rc));
        goto fail;
    }
    MDB_val k = {6, "format"}, v;
    if (mdb_get(txn, dbi_meta, &k, &v) != 0 || v.mv_size < strlen(SHARD_FORMAT_PREFIX) ||
        memcmp(v.mv_data, SHARD_FORMAT_PREFIX, strlen(SHARD_FORMAT_PREFIX)) != 0) {
        st = cc_fail(CC_E_FORMAT, "%s: not a clipcrawl shard (no format mark)", name);
        goto fail;
    }
    if (v.mv_size != strlen(SHARD_FORMAT_VALUE) ||
        memcmp(v.mv_data, SHARD_FORMAT_VALUE, v.mv_size) != 0) {
        st = cc_fail(CC_E_VERSION,
                     "%s: shard format '%.*s' is newer than this build reads ('%s'): "
                     "upgrade clipcrawl",
                     name, (int)(v.mv_size < 40 ? v.mv_size : 40), (const char *)v.mv_data,
                     SHARD_FORMAT_VALUE);
        goto fail;
    }
    k = (MDB_val){5, "zdict"};
    rc = mdb_get(txn, dbi_meta, &k, &v);
    if (rc == 0 && v.mv_size) {
        r->dict = malloc(v.mv_size);
        if (!r->dict) {
            st = cc_fail(CC_E_NOMEM, "out of memory");
            goto fail;
        }
        memcpy(r->dict, v.mv_data, v.mv_size);
        r->dict_len = v.mv_size;
    }
    MDB_stat ms, mu;
    if ((rc = mdb_stat(txn, r->dbi_rec, &ms)) != 0 || (rc = mdb_stat(txn, r->dbi_uid, &mu)) != 0) {
        st = shard_mdb_fail(rc, name);
        goto fail;
    }
    r->count = ms.ms_entries;
    if (expect && r->count != expect->count) {
        st = cc_fail(CC_E_FORMAT, "%s: holds %llu records, the manifest says %llu", name,
                     (unsigned long long)r->count, (unsigned long long)expect->count);
        goto fail;
    }
    if (mu.ms_entries != ms.ms_entries) {
        st = cc_fail(CC_E_FORMAT, "%s: %llu records but %llu uids", name,
                     (unsigned long long)ms.ms_entries, (unsigned long long)mu.ms_entries);
        goto fail;
    }
    /* Commit, not abort: a committed transaction keeps the table handles it opened. */
    rc = mdb_txn_commit(txn);
    txn = NULL;
    if (rc) {
        st = shard_mdb_fail(rc, name);
        goto fail;
    }
    *out = r;
    return CC_OK;
fail:
    if (txn)
        mdb_txn_abort(txn);
    shard_reader_close(r);
    return st;
}

void shard_reader_close(shard_reader *r)
{
    if (!r)
        return;
    if (r->env)
        mdb_env_close(r->env);
    free(r->dict);
    free(r);
}

uint64_t shard_reader_count(const shard_reader *r)
{
    return r->count;
}

cc_status shard_view_open(shard_reader *r, shard_view **out)
{
    shard_view *v = calloc(1, sizeof *v);
    CC_CHECK(v, CC_E_NOMEM, "out of memory");
    v->r = r;
    cc_status st = shard_codec_new(3, &v->codec);
    if (st == CC_OK && r->dict_len)
        st = shard_codec_set_dict(v->codec, r->dict, r->dict_len);
    if (st == CC_OK)
        shard_codec_check_values(v->codec, !r->file_verified);
    if (st == CC_OK) {
        int rc = mdb_txn_begin(r->env, NULL, MDB_RDONLY, &v->txn);
        if (rc) {
            v->txn = NULL;
            st = shard_mdb_fail(rc, r->name);
        }
    }
    if (st != CC_OK) {
        shard_view_close(v);
        return st;
    }
    *out = v;
    return CC_OK;
}

void shard_view_close(shard_view *v)
{
    if (!v)
        return;
    if (v->cur)
        mdb_cursor_close(v->cur);
    if (v->txn)
        mdb_txn_abort(v->txn);
    shard_codec_free(v->codec);
    free(v);
}

cc_status shard_view_get(shard_view *v, uint64_t index, shard_record *out)
{
    uint8_t key[8];
    cc_store_be64(key, index);
    MDB_val k = {8, key}, val;
    int rc = mdb_get(v->txn, v->r->dbi_rec, &k, &val);
    if (rc == MDB_NOTFOUND)
        return cc_fail(CC_E_NOTFOUND, "%s: no record %llu (the shard holds %llu)", v->r->name,
                       (unsigned long long)index, (unsigned long long)v->r->count);
    if (rc)
        return shard_mdb_fail(rc, v->r->name);
    cc_status st = shard_codec_decode(v->codec, val.mv_data, val.mv_size, out);
    if (st != CC_OK)
        return cc_wrap(st, "%s: record %llu", v->r->name, (unsigned long long)index);
    return CC_OK;
}

cc_status shard_view_seek(shard_view *v, uint64_t index)
{
    v->scan_start = index;
    v->positioned = 0;
    return CC_OK;
}

cc_status shard_view_next(shard_view *v, uint64_t *index, shard_record *out)
{
    int rc = 0;
    if (!v->cur)
        rc = mdb_cursor_open(v->txn, v->r->dbi_rec, &v->cur);
    uint8_t key[8];
    MDB_val k = {8, key}, val;
    if (rc == 0) {
        if (v->positioned) {
            rc = mdb_cursor_get(v->cur, &k, &val, MDB_NEXT);
        } else {
            cc_store_be64(key, v->scan_start);
            rc = mdb_cursor_get(v->cur, &k, &val, MDB_SET_RANGE);
        }
    }
    if (rc == MDB_NOTFOUND)
        return cc_fail(CC_E_NOTFOUND, "%s: end of shard", v->r->name);
    if (rc)
        return shard_mdb_fail(rc, v->r->name);
    v->positioned = 1;
    CC_CHECK(k.mv_size == 8, CC_E_FORMAT, "%s: record key of %zu bytes", v->r->name, k.mv_size);
    uint64_t at = cc_load_be64(k.mv_data);
    cc_status st = shard_codec_decode(v->codec, val.mv_data, val.mv_size, out);
    if (st != CC_OK)
        return cc_wrap(st, "%s: record %llu", v->r->name, (unsigned long long)at);
    *index = at;
    return CC_OK;
}

void shard_view_check_values(shard_view *v, int on)
{
    shard_codec_check_values(v->codec, on);
}

cc_status shard_view_find(shard_view *v, const uint8_t uid[16], uint64_t *index)
{
    MDB_val k = {16, (void *)uid}, val;
    int rc = mdb_get(v->txn, v->r->dbi_uid, &k, &val);
    if (rc == MDB_NOTFOUND)
        return cc_fail(CC_E_NOTFOUND, "%s: no record with that uid", v->r->name);
    if (rc)
        return shard_mdb_fail(rc, v->r->name);
    CC_CHECK(val.mv_size == 8, CC_E_FORMAT, "%s: uid table entry of %zu bytes", v->r->name,
             val.mv_size);
    *index = cc_load_be64(val.mv_data);
    return CC_OK;
}

cc_status shard_manifest_walk(const shard_manifest *m, shard_walk_fn fn, void *ctx, int *stopped)
{
    int rc = 0;
    cc_status st = CC_OK;
    for (size_t i = 0; st == CC_OK && rc == 0 && i < m->n; i++) {
        char path[4096];
        shard_reader *r = NULL;
        shard_view *v = NULL;
        st = shard_manifest_shard_path(m, i, path, sizeof path);
        if (st == CC_OK)
            st = shard_reader_open(path, &m->entries[i], &r);
        if (st == CC_OK)
            st = shard_view_open(r, &v);
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
    }
    if (stopped)
        *stopped = rc;
    return st;
}
