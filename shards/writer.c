/* shards/writer.c — the shard writer: batched durable commits, rolling, sealing, resuming.
 *
 * Files in the run directory (see docs/FORMAT.md):
 *   shard-N.lmdb.open   the shard being written (LMDB, MDB_NOSUBDIR|MDB_NOLOCK; the run's
 *                       writer.lock keeps other writers out)
 *   shard-N.lmdb.tmp    a copy being made by a seal
 *   shard-N.lmdb        a sealed shard; part of the dataset once manifest.tsv lists it
 * Seal order: copy → fsync → hash → rename → fsync dir → manifest append + fsync
 * (the commit point) → delete .open → fsync dir. A crash anywhere leaves either the .open shard
 * (the seal is redone on resume) or a listed shard (the leftover .open is deleted).
 *
 * The encoded values of the uncommitted batch are kept in `pend` so that a batch that overflows
 * the map (MDB_MAP_FULL aborts the whole transaction) can be replayed into the next shard.
 */
#include "shards/shard.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <time.h>
#include <unistd.h>
#include <zdict.h>

#include "common/file.h"
#include "common/log.h"
#include "shards/lmdbx.h"
#include "shards/manifest.h"

#define PATH_CAP 4096
#define PAGE 4096u /* LMDB's page size on Linux x86-64; used only for size estimates */

struct shard_writer {
    char dir[PATH_CAP];
    shard_writer_opts o;
    int lock_fd;
    shard_codec *codec;
    cc_buf enc; /* scratch for one encoded value */

    /* The open shard (env == NULL when none). */
    MDB_env *env;
    MDB_txn *txn; /* write transaction holding the pending batch, or NULL */
    MDB_dbi dbi_meta, dbi_rec, dbi_uid;
    uint32_t shard_no;
    uint64_t n_committed; /* committed records in the open shard */
    uint64_t est_bytes; /* estimated file bytes of the open shard including the pending batch */

    /* Pending batch: [16-byte uid][u32 len][value] per record, in order. */
    cc_buf pend;
    uint32_t n_pending;
    int dict_committed; /* the open shard's meta holds the run's dictionary durably */
    int dict_in_txn; /* the pending transaction writes it */

    uint64_t sealed_total; /* records in sealed shards */
    uint32_t next_no; /* number of the next shard to create */

    /* Dictionary training: raw metadata of the first dict_samples records of the run. */
    int dict_state; /* 0 = collecting, 1 = trained, -1 = off */
    cc_buf samples;
    size_t *sample_sizes;
    uint32_t n_samples;
    uint8_t *dict;
    size_t dict_len;
};

void shard_writer_opts_default(shard_writer_opts *o)
{
    o->max_pairs = 10000;
    o->max_bytes = 1ull << 30;
    o->batch_pairs = 256;
    o->batch_bytes = 64ull << 20;
    o->zstd_level = 3;
    o->dict_samples = 1024;
    o->dict_size = 16384;
    o->roll_early = 1;
}

/* LMDB's largest node inside a leaf for 4 KiB pages: ((4096 - 16) / 2 & ~1) - 2. */
#define LEAF_NODE_MAX 2038u

static uint64_t value_pages(size_t len)
{
    /* A node (8-byte header + 8-byte key + value) too big for a leaf moves the value to its own
     * overflow pages, which carry a 16-byte page header. */
    return len + 16 > LEAF_NODE_MAX ? (len + 16 + PAGE - 1) / PAGE : 0;
}

/* Estimated file bytes one record adds: overflow pages plus its share of the two B-trees. */
static uint64_t record_cost(size_t len)
{
    return value_pages(len) * PAGE + (value_pages(len) ? 0 : len) + 160;
}

static cc_status shard_paths(const shard_writer *w, uint32_t no, const char *suffix, char *out)
{
    char name[SHARD_NAME_MAX + 8];
    snprintf(name, sizeof name, "shard-%06" PRIu32 ".lmdb%s", no, suffix);
    return cc_path_join(out, PATH_CAP, w->dir, name);
}

static cc_status txn_begin(shard_writer *w)
{
    if (w->txn)
        return CC_OK;
    int rc = mdb_txn_begin(w->env, NULL, 0, &w->txn);
    if (rc) {
        w->txn = NULL;
        return shard_mdb_fail(rc, "begin write transaction");
    }
    return CC_OK;
}

static void txn_abort(shard_writer *w)
{
    if (w->txn)
        mdb_txn_abort(w->txn);
    w->txn = NULL;
    w->dict_in_txn = 0;
}

/* Commits the write transaction (which is freed either way). */
static int txn_commit(shard_writer *w)
{
    int rc = mdb_txn_commit(w->txn);
    w->txn = NULL;
    if (rc == 0 && w->dict_in_txn)
        w->dict_committed = 1;
    w->dict_in_txn = 0;
    return rc;
}

/* Opens (or creates) shard number no as the open shard and reads its state. */
static cc_status shard_open(shard_writer *w, uint32_t no)
{
    char path[PATH_CAP];
    CC_TRY(shard_paths(w, no, ".open", path));
    int rc;
    MDB_txn *txn = NULL;
    cc_status st = CC_OK;
    int created = !cc_exists(path);
    if ((rc = mdb_env_create(&w->env)) != 0)
        return shard_mdb_fail(rc, "mdb_env_create");
    mdb_env_set_maxdbs(w->env, 3);
    if ((rc = mdb_env_set_mapsize(w->env, (size_t)w->o.max_bytes)) != 0 ||
        (rc = mdb_env_open(w->env, path, MDB_NOSUBDIR | MDB_NOLOCK, 0644)) != 0) {
        st = shard_mdb_fail(rc, path);
        goto fail;
    }
    if ((rc = mdb_txn_begin(w->env, NULL, 0, &txn)) != 0 ||
        (rc = mdb_dbi_open(txn, SHARD_DB_META, MDB_CREATE, &w->dbi_meta)) != 0 ||
        (rc = mdb_dbi_open(txn, SHARD_DB_REC, MDB_CREATE, &w->dbi_rec)) != 0 ||
        (rc = mdb_dbi_open(txn, SHARD_DB_UID, MDB_CREATE, &w->dbi_uid)) != 0) {
        st = shard_mdb_fail(rc, path);
        goto fail;
    }
    MDB_val k = {6, "format"}, v;
    rc = mdb_get(txn, w->dbi_meta, &k, &v);
    if (rc == MDB_NOTFOUND) {
        v = (MDB_val){strlen(SHARD_FORMAT_VALUE), SHARD_FORMAT_VALUE};
        rc = mdb_put(txn, w->dbi_meta, &k, &v, 0);
    } else if (rc == 0 && (v.mv_size != strlen(SHARD_FORMAT_VALUE) ||
                           memcmp(v.mv_data, SHARD_FORMAT_VALUE, v.mv_size) != 0)) {
        st = cc_fail(CC_E_VERSION, "%s: shard format '%.*s' is not '%s'", path,
                     (int)(v.mv_size < 40 ? v.mv_size : 40), (const char *)v.mv_data,
                     SHARD_FORMAT_VALUE);
        goto fail;
    }
    if (rc) {
        st = shard_mdb_fail(rc, path);
        goto fail;
    }
    /* A shard keeps the dictionary it was written with; a new shard inherits the run's. */
    k = (MDB_val){5, "zdict"};
    rc = mdb_get(txn, w->dbi_meta, &k, &v);
    if (rc == 0) {
        uint8_t *d = malloc(v.mv_size);
        if (!d) {
            st = cc_fail(CC_E_NOMEM, "out of memory");
            goto fail;
        }
        memcpy(d, v.mv_data, v.mv_size);
        free(w->dict);
        w->dict = d;
        w->dict_len = v.mv_size;
        w->dict_state = 1;
        w->dict_committed = 1;
        CC_TRY_GOTO(st, shard_codec_set_dict(w->codec, w->dict, w->dict_len), fail);
    } else if (rc == MDB_NOTFOUND) {
        w->dict_committed = 0; /* written with the first record put (put_value) */
    }
    if (rc && rc != MDB_NOTFOUND) {
        st = shard_mdb_fail(rc, path);
        goto fail;
    }
    MDB_stat ms;
    if ((rc = mdb_stat(txn, w->dbi_rec, &ms)) != 0 || (rc = mdb_txn_commit(txn)) != 0) {
        txn = NULL;
        st = shard_mdb_fail(rc, path);
        goto fail;
    }
    txn = NULL;
    /* The new file's directory entry must be durable before its first commit is reported. */
    if (created && (st = cc_fsync_path(w->dir)) != CC_OK)
        goto fail;
    MDB_envinfo info;
    mdb_env_info(w->env, &info);
    w->shard_no = no;
    w->n_committed = ms.ms_entries;
    w->est_bytes = (uint64_t)(info.me_last_pgno + 1) * PAGE;
    if (no >= w->next_no)
        w->next_no = no + 1;
    return CC_OK;
fail:
    if (txn)
        mdb_txn_abort(txn);
    mdb_env_close(w->env);
    w->env = NULL;
    return st;
}

static void shard_close_env(shard_writer *w)
{
    txn_abort(w);
    if (w->env)
        mdb_env_close(w->env);
    w->env = NULL;
    w->n_committed = 0;
    w->n_pending = 0;
    cc_buf_reset(&w->pend);
}

/* Copies the file at src into fd (at its start) through the kernel (copy_file_range), or read()
 * and write() where the file system cannot. The open shard is copied as a file, not through
 * LMDB's map (mdb_env_copyfd2 reads every page through it, which put the whole shard into the
 * process's resident memory at each seal: 76-110 MiB of a crawl's peak RSS); every transaction
 * is committed and durable here, so the file is a consistent LMDB file whose newest meta page
 * names the last commit. Free pages are kept (compaction saved 0.7% on crawled shards). */
static cc_status copy_file(const char *src, int out, const char *out_path)
{
    int in = open(src, O_RDONLY | O_CLOEXEC);
    CC_CHECK(in >= 0, CC_E_IO, "%s: %s", src, strerror(errno));
    int use_range = 1;
    char *buf = NULL;
    const size_t cap = (size_t)1 << 16;
    for (;;) {
        ssize_t n;
        if (use_range) {
            n = copy_file_range(in, NULL, out, NULL, (size_t)1 << 30, 0);
            if (n < 0 &&
                (errno == EXDEV || errno == ENOSYS || errno == EINVAL || errno == EOPNOTSUPP)) {
                use_range = 0;
                buf = malloc(cap);
                if (!buf) {
                    close(in);
                    return cc_fail(CC_E_NOMEM, "out of memory");
                }
                continue;
            }
        } else {
            n = read(in, buf, cap);
            if (n > 0 && cc_write_all(out, buf, (size_t)n) != CC_OK) {
                free(buf);
                close(in);
                return cc_fail(CC_E_IO, "%s: %s", out_path, cc_errmsg());
            }
        }
        if (n == 0)
            break;
        if (n < 0) {
            if (errno == EINTR)
                continue;
            int e = errno;
            free(buf);
            close(in);
            return cc_fail(CC_E_IO, "copy %s to %s: %s", src, out_path, strerror(e));
        }
    }
    free(buf);
    close(in);
    return CC_OK;
}

/* Seals the open shard (its pending batch must be committed). An empty shard is discarded. */
static cc_status shard_seal(shard_writer *w)
{
    if (!w->env)
        return CC_OK;
    if (w->n_pending)
        return cc_fail(CC_E_INVAL, "seal with an uncommitted batch");
    char open_path[PATH_CAP], tmp[PATH_CAP], final[PATH_CAP], mpath[PATH_CAP];
    CC_TRY(shard_paths(w, w->shard_no, ".open", open_path));
    CC_TRY(shard_paths(w, w->shard_no, ".tmp", tmp));
    CC_TRY(shard_paths(w, w->shard_no, "", final));
    CC_TRY(cc_path_join(mpath, sizeof mpath, w->dir, SHARD_MANIFEST_NAME));
    txn_abort(w);
    if (w->n_committed == 0) {
        shard_close_env(w);
        if (unlink(open_path) != 0 && errno != ENOENT)
            return cc_fail(CC_E_IO, "%s: %s", open_path, strerror(errno));
        return CC_OK;
    }

    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    CC_CHECK(fd >= 0, CC_E_IO, "%s: %s", tmp, strerror(errno));
    cc_status cst = copy_file(open_path, fd, tmp);
    if (cst != CC_OK) {
        close(fd);
        unlink(tmp);
        return cst;
    }
    if (fsync(fd) != 0) {
        int e = errno;
        close(fd);
        unlink(tmp);
        return cc_fail(CC_E_IO, "%s: fsync: %s", tmp, strerror(e));
    }
    close(fd);

    shard_manifest_entry e = {.count = w->n_committed, .sealed_at = (int64_t)time(NULL)};
    snprintf(e.name, sizeof e.name, "%s", cc_path_base(final));
    CC_TRY(cc_hash_file(tmp, &e.checksum, &e.bytes));
    CC_CHECK(rename(tmp, final) == 0, CC_E_IO, "rename %s: %s", tmp, strerror(errno));
    CC_TRY(cc_fsync_path(w->dir));
    CC_TRY(shard_manifest_append(mpath, &e)); /* the commit point */
    cc_log_debug("sealed %s: %" PRIu64 " pairs, %" PRIu64 " bytes", e.name, e.count, e.bytes);

    w->sealed_total += w->n_committed;
    shard_close_env(w);
    CC_CHECK(unlink(open_path) == 0 || errno == ENOENT, CC_E_IO, "%s: %s", open_path,
             strerror(errno));
    return cc_fsync_path(w->dir);
}

/* Puts one encoded value as the next record of the open shard's transaction. Returns the LMDB
 * code: 0, MDB_KEYEXIST (uid already present; nothing written) or a failure. */
static int put_value(shard_writer *w, const uint8_t uid[16], const void *val, size_t len)
{
    if (w->dict_len && !w->dict_committed && !w->dict_in_txn) {
        /* Records encoded with the dictionary commit together with it. */
        MDB_val kd = {5, "zdict"}, vd = {w->dict_len, w->dict};
        int rc = mdb_put(w->txn, w->dbi_meta, &kd, &vd, 0);
        if (rc)
            return rc;
        w->dict_in_txn = 1;
    }
    uint8_t key[8];
    cc_store_be64(key, w->n_committed + w->n_pending);
    uint8_t idx[8];
    memcpy(idx, key, 8);
    MDB_val ku = {16, (void *)uid}, vu = {8, idx};
    int rc = mdb_put(w->txn, w->dbi_uid, &ku, &vu, MDB_NOOVERWRITE);
    if (rc)
        return rc;
    MDB_val kr = {8, key}, vr = {len, (void *)val};
    return mdb_put(w->txn, w->dbi_rec, &kr, &vr, MDB_APPEND);
}

static cc_status roll(shard_writer *w)
{
    CC_TRY(shard_seal(w));
    return shard_open(w, w->next_no);
}

/* After MDB_MAP_FULL aborted the transaction: put the pending records again one at a time,
 * each in its own commit, moving to a new shard where the old one is full. */
static cc_status replay_pending(shard_writer *w)
{
    cc_buf batch = w->pend; /* take the buffer; w->pend starts empty */
    uint32_t n = w->n_pending;
    cc_buf_init(&w->pend, batch.max);
    w->n_pending = 0;
    cc_status st = CC_OK;
    size_t off = 0;
    for (uint32_t i = 0; i < n && st == CC_OK; i++) {
        const uint8_t *uid = batch.data + off;
        size_t len = cc_load_u32(batch.data + off + 16);
        const uint8_t *val = batch.data + off + 20;
        off += 20 + len;
        for (int attempt = 0;; attempt++) {
            CC_TRY_GOTO(st, txn_begin(w), out);
            int rc = put_value(w, uid, val, len);
            if (rc == 0) {
                rc = txn_commit(w);
                if (rc == 0) {
                    w->n_committed++;
                    w->est_bytes += record_cost(len);
                    break;
                }
            } else {
                txn_abort(w);
            }
            if (rc != MDB_MAP_FULL || attempt > 0 || w->n_committed == 0) {
                st = rc == MDB_MAP_FULL ? cc_fail(CC_E_LIMIT,
                                                  "a record of %zu bytes does not fit an empty "
                                                  "shard of %" PRIu64 " bytes",
                                                  len, w->o.max_bytes)
                                        : shard_mdb_fail(rc, "replay into a new shard");
                goto out;
            }
            CC_TRY_GOTO(st, roll(w), out);
        }
    }
out:
    cc_buf_free(&batch);
    return st;
}

static cc_status commit_pending(shard_writer *w)
{
    if (!w->txn)
        return CC_OK;
    int rc = txn_commit(w);
    if (rc == MDB_MAP_FULL)
        return replay_pending(w);
    if (rc) {
        w->n_pending = 0;
        cc_buf_reset(&w->pend);
        return shard_mdb_fail(rc, "commit");
    }
    w->n_committed += w->n_pending;
    w->n_pending = 0;
    cc_buf_reset(&w->pend);
    return CC_OK;
}

cc_status shard_writer_commit(shard_writer *w)
{
    return commit_pending(w);
}

/* Collects raw metadata samples and trains the run's dictionary once enough are in. */
static void dict_sample(shard_writer *w)
{
    if (w->dict_state != 0)
        return;
    const cc_buf *m = shard_codec_last_meta(w->codec);
    if (cc_buf_append(&w->samples, m->data, m->len) != CC_OK) {
        w->dict_state = -1;
        return;
    }
    w->sample_sizes[w->n_samples++] = m->len;
    if (w->n_samples < w->o.dict_samples)
        return;
    uint8_t *d = malloc(w->o.dict_size);
    size_t n =
        d ? ZDICT_trainFromBuffer(d, w->o.dict_size, w->samples.data, w->sample_sizes, w->n_samples)
          : 0;
    if (!d || ZDICT_isError(n)) {
        cc_log_debug("no metadata dictionary: %s", d ? ZDICT_getErrorName(n) : "out of memory");
        free(d);
        w->dict_state = -1;
    } else if (shard_codec_set_dict(w->codec, d, n) != CC_OK) {
        free(d);
        w->dict_state = -1;
    } else {
        /* From the next record on; put_value stores it in the shard with that record. */
        w->dict = d;
        w->dict_len = n;
        w->dict_state = 1;
    }
    cc_buf_free(&w->samples);
    free(w->sample_sizes);
    w->sample_sizes = NULL;
}

cc_status shard_writer_add(shard_writer *w, const shard_record *r)
{
    if (!w->env)
        CC_TRY(shard_open(w, w->next_no));
    if (w->n_committed + w->n_pending >= w->o.max_pairs) {
        CC_TRY(commit_pending(w));
        if (w->n_committed >= w->o.max_pairs)
            CC_TRY(roll(w));
    }
    CC_TRY(shard_codec_encode(w->codec, r, 1, &w->enc));
    size_t len = w->enc.len;
    uint64_t cost = record_cost(len);
    /* A record must fit an empty shard with room to spare, or no shard could ever hold it. */
    CC_CHECK(cost + 64 * PAGE <= w->o.max_bytes / 2, CC_E_LIMIT,
             "record of %zu bytes is too large for shards of %" PRIu64 " bytes", len,
             w->o.max_bytes);
    /* Roll before LMDB would run out of map: keep 2% plus 64 pages for the B-trees' growth and
     * copy-on-write pages. MDB_MAP_FULL remains handled below if the estimate is off. */
    uint64_t room = w->o.max_bytes - w->o.max_bytes / 50 - 64 * PAGE;
    if (w->o.roll_early && w->n_committed + w->n_pending > 0 && w->est_bytes + cost > room) {
        CC_TRY(commit_pending(w));
        if (w->est_bytes + cost > room)
            CC_TRY(roll(w));
    }
    CC_TRY(txn_begin(w));
    int rc = put_value(w, r->uid, w->enc.data, len);
    if (rc == MDB_KEYEXIST) {
        char hex[33];
        cc_hash128_hex(cc_hash128_from_bytes(r->uid), hex);
        return cc_fail(CC_E_EXISTS, "uid %s is already in shard-%06" PRIu32, hex, w->shard_no);
    }
    /* Keep a copy for replay; on MAP_FULL the transaction is gone and this record with it. */
    CC_TRY(cc_buf_append(&w->pend, r->uid, 16));
    CC_TRY(cc_buf_put_u32(&w->pend, (uint32_t)len));
    CC_TRY(cc_buf_append(&w->pend, w->enc.data, len));
    w->n_pending++;
    w->est_bytes += cost;
    if (rc == MDB_MAP_FULL) {
        txn_abort(w);
        CC_TRY(replay_pending(w));
    } else if (rc) {
        /* The transaction is unusable: drop the whole uncommitted batch. */
        shard_writer_abort(w);
        return shard_mdb_fail(rc, "add record");
    } else {
        dict_sample(w);
    }
    if (w->n_pending >= w->o.batch_pairs || w->pend.len >= w->o.batch_bytes)
        return commit_pending(w);
    return CC_OK;
}

void shard_writer_abort(shard_writer *w)
{
    txn_abort(w);
    w->n_pending = 0;
    cc_buf_reset(&w->pend);
    if (w->env) {
        MDB_envinfo info;
        mdb_env_info(w->env, &info);
        w->est_bytes = (uint64_t)(info.me_last_pgno + 1) * PAGE;
    }
}

cc_status shard_writer_seal(shard_writer *w)
{
    CC_TRY(commit_pending(w));
    return shard_seal(w);
}

uint64_t shard_writer_committed(const shard_writer *w)
{
    return w->sealed_total + w->n_committed;
}

/* uid of the record with the highest index in the open shard's committed state. */
static cc_status last_uid_open(shard_writer *w, uint8_t uid[16])
{
    MDB_txn *txn;
    MDB_cursor *cur;
    int rc = mdb_txn_begin(w->env, NULL, MDB_RDONLY, &txn);
    if (rc)
        return shard_mdb_fail(rc, "read transaction");
    MDB_val k, v;
    cc_status st = CC_OK;
    rc = mdb_cursor_open(txn, w->dbi_rec, &cur);
    if (rc == 0) {
        rc = mdb_cursor_get(cur, &k, &v, MDB_LAST);
        mdb_cursor_close(cur);
    }
    if (rc) {
        st = shard_mdb_fail(rc, "last record");
    } else {
        shard_record r;
        st = shard_codec_decode(w->codec, v.mv_data, v.mv_size, &r);
        if (st == CC_OK)
            memcpy(uid, r.uid, 16);
    }
    mdb_txn_abort(txn);
    return st;
}

cc_status shard_writer_last_uid(shard_writer *w, uint8_t uid[16])
{
    CC_CHECK(!w->txn, CC_E_INVAL, "last uid asked with an uncommitted batch");
    if (w->env && w->n_committed)
        return last_uid_open(w, uid);
    shard_manifest *m;
    cc_status st = shard_manifest_load(w->dir, &m);
    if (st == CC_E_NOTFOUND)
        return cc_fail(CC_E_NOTFOUND, "the run holds no pair");
    CC_TRY(st);
    /* The last listed shard holding any pair. */
    size_t i = m->n;
    while (i > 0 && m->entries[i - 1].count == 0)
        i--;
    char path[PATH_CAP];
    shard_reader *r = NULL;
    shard_view *v = NULL;
    if (i == 0)
        st = cc_fail(CC_E_NOTFOUND, "the run holds no pair");
    else if ((st = shard_manifest_shard_path(m, i - 1, path, sizeof path)) == CC_OK &&
             (st = shard_reader_open(path, &m->entries[i - 1], &r)) == CC_OK &&
             (st = shard_view_open(r, &v)) == CC_OK) {
        shard_record rec;
        st = shard_view_get(v, m->entries[i - 1].count - 1, &rec);
        if (st == CC_OK)
            memcpy(uid, rec.uid, 16);
    }
    shard_view_close(v);
    shard_reader_close(r);
    shard_manifest_free(m);
    return st;
}

/* The committed records of the open shard, in index order. */
static cc_status scan_open(shard_writer *w, shard_writer_scan_fn fn, void *ctx, int *stop)
{
    MDB_txn *txn;
    MDB_cursor *cur = NULL;
    int rc = mdb_txn_begin(w->env, NULL, MDB_RDONLY, &txn);
    if (rc)
        return shard_mdb_fail(rc, "read transaction");
    cc_status st = CC_OK;
    rc = mdb_cursor_open(txn, w->dbi_rec, &cur);
    MDB_val k, v;
    for (int op = MDB_FIRST; rc == 0 && !*stop; op = MDB_NEXT) {
        rc = mdb_cursor_get(cur, &k, &v, (MDB_cursor_op)op);
        if (rc)
            break;
        shard_record r;
        if ((st = shard_codec_decode(w->codec, v.mv_data, v.mv_size, &r)) != CC_OK)
            break;
        *stop = fn(ctx, &r) != 0;
    }
    if (st == CC_OK && rc && rc != MDB_NOTFOUND)
        st = shard_mdb_fail(rc, "scan of the open shard");
    mdb_cursor_close(cur);
    mdb_txn_abort(txn);
    return st;
}

cc_status shard_writer_scan(shard_writer *w, shard_writer_scan_fn fn, void *ctx)
{
    CC_CHECK(!w->txn, CC_E_INVAL, "scan asked with an uncommitted batch");
    int stop = 0;
    shard_manifest *m = NULL;
    cc_status st = shard_manifest_load(w->dir, &m);
    if (st == CC_E_NOTFOUND)
        st = CC_OK;
    for (size_t i = 0; st == CC_OK && m && i < m->n && !stop; i++) {
        char path[PATH_CAP];
        shard_reader *r = NULL;
        shard_view *v = NULL;
        if ((st = shard_manifest_shard_path(m, i, path, sizeof path)) == CC_OK &&
            (st = shard_reader_open(path, &m->entries[i], &r)) == CC_OK &&
            (st = shard_view_open(r, &v)) == CC_OK) {
            uint64_t at;
            shard_record rec;
            while (!stop && (st = shard_view_next(v, &at, &rec)) == CC_OK)
                stop = fn(ctx, &rec) != 0;
            if (st == CC_E_NOTFOUND)
                st = CC_OK;
        }
        shard_view_close(v);
        shard_reader_close(r);
    }
    shard_manifest_free(m);
    if (st == CC_OK && !stop && w->env && w->n_committed)
        st = scan_open(w, fn, ctx, &stop);
    return st;
}

/* Parses "shard-N.lmdb<suffix>"; returns 1 and N when name matches. */
static int parse_shard_name(const char *name, const char *suffix, uint32_t *no)
{
    size_t n = strlen(name), sl = strlen(suffix);
    if (n <= 6 + 5 + sl || strncmp(name, "shard-", 6) != 0 ||
        strncmp(name + n - sl - 5, ".lmdb", 5) != 0 || strcmp(name + n - sl, suffix) != 0)
        return 0;
    uint64_t v = 0;
    for (size_t i = 6; i < n - sl - 5; i++) {
        if (name[i] < '0' || name[i] > '9' || v > UINT32_MAX / 10)
            return 0;
        v = v * 10 + (uint64_t)(name[i] - '0');
    }
    if (v >= UINT32_MAX)
        return 0;
    *no = (uint32_t)v;
    return 1;
}

static int in_manifest(const shard_manifest *m, const char *name)
{
    for (size_t i = 0; m && i < m->n; i++)
        if (strcmp(m->entries[i].name, name) == 0)
            return 1;
    return 0;
}

/* Brings the directory to a clean state after any crash and finds the shard to resume. */
static cc_status recover(shard_writer *w, int64_t *resume_no)
{
    shard_manifest *m = NULL;
    cc_status st = shard_manifest_load(w->dir, &m);
    if (st == CC_E_NOTFOUND)
        st = CC_OK;
    CC_TRY(st);
    for (size_t i = 0; m && i < m->n; i++) {
        uint32_t no;
        w->sealed_total += m->entries[i].count;
        if (parse_shard_name(m->entries[i].name, "", &no) && no >= w->next_no)
            w->next_no = no + 1;
    }
    *resume_no = -1;
    DIR *d = opendir(w->dir);
    if (!d) {
        shard_manifest_free(m);
        return cc_fail(CC_E_IO, "%s: %s", w->dir, strerror(errno));
    }
    /* Two passes: first the open shards (to know which sealed files have an .open twin). */
    struct dirent *de;
    char path[PATH_CAP];
    while (st == CC_OK && (de = readdir(d)) != NULL) {
        uint32_t no;
        if (parse_shard_name(de->d_name, ".tmp", &no)) {
            CC_TRY_GOTO(st, cc_path_join(path, sizeof path, w->dir, de->d_name), out);
            cc_log_info("removing %s (left by an interrupted seal)", de->d_name);
            unlink(path);
        } else if (parse_shard_name(de->d_name, ".open", &no)) {
            char sealed[SHARD_NAME_MAX];
            snprintf(sealed, sizeof sealed, "shard-%06" PRIu32 ".lmdb", no);
            CC_TRY_GOTO(st, cc_path_join(path, sizeof path, w->dir, de->d_name), out);
            if (in_manifest(m, sealed)) {
                unlink(path); /* sealed before the crash; the .open copy is redundant */
            } else if (*resume_no >= 0) {
                st = cc_fail(CC_E_FORMAT,
                             "%s: two unsealed shards (%06" PRId64 " and %06" PRIu32
                             "); only one writer may use a folder",
                             w->dir, *resume_no, no);
            } else {
                *resume_no = no;
            }
            if (no >= w->next_no)
                w->next_no = no + 1;
        }
    }
    rewinddir(d);
    while (st == CC_OK && (de = readdir(d)) != NULL) {
        uint32_t no;
        if (!parse_shard_name(de->d_name, "", &no) || in_manifest(m, de->d_name))
            continue;
        if (no >= w->next_no)
            w->next_no = no + 1;
        if (*resume_no == (int64_t)no) {
            /* Renamed but not yet listed: the seal did not commit; redo it from .open. */
            CC_TRY_GOTO(st, cc_path_join(path, sizeof path, w->dir, de->d_name), out);
            unlink(path);
        } else {
            cc_log_warn("%s is not listed in the manifest and is ignored", de->d_name);
        }
    }
out:
    closedir(d);
    shard_manifest_free(m);
    if (st == CC_OK)
        st = cc_fsync_path(w->dir);
    return st;
}

cc_status shard_writer_open(const char *dir, const shard_writer_opts *opts, shard_writer **out)
{
    shard_writer_opts o;
    if (opts)
        o = *opts;
    else
        shard_writer_opts_default(&o);
    CC_CHECK(o.max_pairs > 0 && o.batch_pairs > 0 && o.batch_bytes > 0, CC_E_INVAL,
             "shard writer: max_pairs, batch_pairs and batch_bytes must be positive");
    CC_CHECK(o.max_bytes >= (1u << 20), CC_E_INVAL,
             "shard writer: max_bytes must be at least 1 MiB");
    CC_CHECK(o.dict_samples == 0 || o.dict_size >= 1024, CC_E_INVAL,
             "shard writer: dict_size must be at least 1024 bytes");

    shard_writer *w = calloc(1, sizeof *w);
    CC_CHECK(w, CC_E_NOMEM, "out of memory");
    w->lock_fd = -1;
    w->o = o;
    cc_buf_init(&w->enc, SHARD_MAX_IMAGE + SHARD_MAX_META + 64);
    cc_buf_init(&w->pend, o.batch_bytes + SHARD_MAX_IMAGE + SHARD_MAX_META + 256);
    cc_buf_init(&w->samples, (size_t)o.dict_samples * SHARD_MAX_META);
    w->dict_state = o.dict_samples ? 0 : -1;
    cc_status st;
    int n = snprintf(w->dir, sizeof w->dir, "%s", dir);
    if (n < 0 || (size_t)n >= sizeof w->dir) {
        st = cc_fail(CC_E_LIMIT, "path too long: %s", dir);
        goto fail;
    }
    if (o.dict_samples) {
        w->sample_sizes = calloc(o.dict_samples, sizeof *w->sample_sizes);
        if (!w->sample_sizes) {
            st = cc_fail(CC_E_NOMEM, "out of memory");
            goto fail;
        }
    }
    CC_TRY_GOTO(st, shard_codec_new(o.zstd_level, &w->codec), fail);
    CC_TRY_GOTO(st, cc_mkdir(dir), fail);
    char lock[PATH_CAP];
    CC_TRY_GOTO(st, cc_path_join(lock, sizeof lock, dir, "writer.lock"), fail);
    w->lock_fd = open(lock, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (w->lock_fd < 0) {
        st = cc_fail(CC_E_IO, "%s: %s", lock, strerror(errno));
        goto fail;
    }
    if (flock(w->lock_fd, LOCK_EX | LOCK_NB) != 0) {
        st = errno == EWOULDBLOCK
                 ? cc_fail(CC_E_BUSY, "%s: another clipcrawl process is writing this folder", dir)
                 : cc_fail(CC_E_IO, "%s: lock: %s", lock, strerror(errno));
        goto fail;
    }
    int64_t resume;
    CC_TRY_GOTO(st, recover(w, &resume), fail);
    if (resume >= 0) {
        CC_TRY_GOTO(st, shard_open(w, (uint32_t)resume), fail);
        if (w->n_committed)
            cc_log_info("resuming shard-%06" PRIu32 " with %" PRIu64 " committed pairs",
                        w->shard_no, w->n_committed);
    }
    *out = w;
    return CC_OK;
fail:
    shard_writer_close(w, 0);
    return st;
}

cc_status shard_writer_close(shard_writer *w, int seal)
{
    if (!w)
        return CC_OK;
    cc_status st = CC_OK;
    if (w->env) {
        st = commit_pending(w);
        if (st == CC_OK && seal)
            st = shard_seal(w);
        shard_close_env(w);
    }
    if (w->lock_fd >= 0)
        close(w->lock_fd); /* releases the flock */
    shard_codec_free(w->codec);
    cc_buf_free(&w->enc);
    cc_buf_free(&w->pend);
    cc_buf_free(&w->samples);
    free(w->sample_sizes);
    free(w->dict);
    free(w);
    return st;
}
