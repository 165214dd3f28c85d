/* crawler/coord_lmdb.c — the coordinator's LMDB backend ("lmdb:PATH"). docs/COORD.md has the
 * layout byte by byte; in short, one environment in the folder PATH with these sub-databases:
 *
 *   meta       "format" "cap" "near_distance" "next_unit" "next_res" "counts" ["rebuilding"]
 *   units      id u64 BE → unit record (state, deliveries, schedule time, key, cursor,
 *              error, worker)
 *   unit_keys  key bytes → id u64 BE
 *   sched      (at_ms u64 BE, id u64 BE) → empty: pending units (at = 0 or retry time) and
 *              leased units (at = lease expiry); a claim takes the first entry with at <= now
 *   quota      query u32 BE → confirmed u64, reserved u64 (reservations not yet swept)
 *   res        res u64 BE → reservation (query, expiry, uid, worker, up to 8 claim refs); a
 *              held one (flag RES_HELD, query 0) has no query and holds no place yet
 *   expiry     (expires_ms u64 BE, res u64 BE) → query u32, or empty for a held reservation;
 *              swept at the start of every write transaction that touches quota or claims
 *   claims     ns u8 + key[16] → empty (permanent) or res u64 (tentative)
 *   near       DUPSORT|DUPFIXED: (band u8, band bits BE) → phash u64 BE: permanent claims
 *   near_tent  the same → (phash u64 BE, res u64 BE): tentative claims (small: in flight only)
 *   confirmed  res >> 12 as u64 BE → 512-byte bitmap: the reservations ever confirmed (so that
 *              confirming again is CC_OK)
 *   frontier   a unit's web frontier (coord_frontier_progress), keys prefixed by the unit id:
 *              (id u64 BE, 0) → head u64, tail u64, visited u64 (LE);
 *              (id u64 BE, 1, index u64 BE) → depth u32 LE + URL bytes: queued entries;
 *              (id u64 BE, 2, hash u64 BE) → empty: the visited set
 *
 * Every call is one transaction. Write transactions go through run_write, which loads the
 * counters, runs the operation, stores the counters, commits — and on MDB_MAP_FULL aborts,
 * doubles the map and runs the operation again from the start (operations are written to be
 * re-runnable: they read everything they need inside the transaction and write their outputs
 * last). Values and MDB_val pointers into the map are copied before any write in the same
 * transaction, since a write may move the page they point into.
 */
#include "crawler/coord_impl.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <lmdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include "common/buf.h"
#include "common/file.h"
#include "common/hash.h"
#include "common/log.h"
#include "filters/phash.h"
#include "query_lists/quota.h"

#define PATH_CAP 4096
#define FORMAT_PREFIX "clipcrawl-coord "
#define FORMAT_VERSION 1
#define MAP_MAX (1ull << 40) /* 1 TiB */
#define NBANDS_MAX 17
#define BITMAP_BYTES 512 /* 4096 reservations per "confirmed" entry */
#define BITMAP_SHIFT 12
#define REBUILD_CHUNK 65536 /* rebuild_add entries buffered per write transaction */
#define RES_HEAD 32
#define CLAIM_REF 17
#define UNIT_HEAD 20

size_t coord_lmdb_initial_mapsize = 64u << 20;

enum { N_COUNTS = 10 };
/* The "counts" record: coord_counts's fields in order, as u64 LE. */
typedef struct counters {
    uint64_t units[4], confirmed, reservations, claims[3], queries_full;
} counters;

typedef struct rb_entry {
    uint32_t query;
    uint8_t uid[16], content[16];
    uint64_t phash;
} rb_entry;

typedef struct lm {
    coord head; /* first: the handle the public functions see */
    char path[PATH_CAP];
    int lock_fd;
    MDB_env *env;
    size_t mapsize;
    MDB_txn *rtxn; /* the read transaction, reset between calls (MDB_NOTLS: any thread) */
    MDB_dbi meta, units, unit_keys, sched, quota, res, expiry, claims, near, near_tent, confirmed,
        frontier;
    int nbands;
    uint8_t band_start[NBANDS_MAX], band_width[NBANDS_MAX];
    int rebuilding; /* the state holds the "rebuilding" mark (a rebuild runs or was cut short) */
    int rebuild_active; /* this handle began the rebuild and may add */
    rb_entry *rb;
    size_t rb_n;
} lm;

/* One write transaction of run_write. */
typedef struct wtx {
    lm *c;
    MDB_txn *t;
    int64_t now;
    counters k; /* loaded before the operation, stored after it when dirty */
    int k_dirty;
    int keep; /* commit even when the operation fails softly (it swept or dead-lettered) */
    int map_full;
} wtx;

/* ---- encodings ----------------------------------------------------------------------------- */

static void put_be64(uint8_t *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (uint8_t)(v >> (56 - 8 * i));
}

static uint64_t get_be64(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v = v << 8 | p[i];
    return v;
}

static void put_be32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (24 - 8 * i));
}

static uint32_t get_be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* A unit as stored. Layout (LE): u8 state, u8 worker_len, u16 key_len, u32 deliveries,
 * u64 at_ms, u16 cursor_len, u16 error_len, then key, cursor, error, worker bytes. */
typedef struct urec {
    uint8_t state;
    uint32_t deliveries;
    int64_t at_ms; /* the unit's sched time (pending: 0 or retry time; leased: expiry), else 0 */
    size_t klen, clen, elen, wlen;
    char key[COORD_KEY_MAX], cursor[COORD_CURSOR_MAX], error[COORD_ERROR_MAX];
    char worker[COORD_WORKER_MAX];
} urec;

/* A reservation as stored. Layout (LE): u32 query, u64 expires_ms, u8 flags (bit 0: uid set;
 * bit 1: held — no query yet, query 0, no place in `quota`), u8 claim count, u8 worker_len, u8 0,
 * uid[16], claim refs (u8 ns, key[16]; a pHash is its 8 bytes BE then 8 zero bytes), worker bytes.
 */
typedef struct rrec {
    uint32_t query;
    int64_t expires_ms;
    uint8_t flags, n;
    uint8_t uid[16];
    uint8_t ref[COORD_MAX_CLAIMS][CLAIM_REF];
    size_t wlen;
    char worker[COORD_WORKER_MAX];
} rrec;

enum { RES_UID_SET = 1, RES_HELD = 2 };

/* ---- errors, transactions, map growth ------------------------------------------------------ */

static cc_status mdb_fail(const lm *c, wtx *w, int rc, const char *what)
{
    if (rc == MDB_MAP_FULL && w)
        w->map_full = 1;
    return cc_fail(rc == MDB_MAP_FULL ? CC_E_LIMIT : CC_E_DB, "%s: %s: %s", c->path, what,
                   mdb_strerror(rc));
}

static cc_status corrupt(const lm *c, const char *what, uint64_t id)
{
    return cc_fail(CC_E_DB, "%s: inconsistent coordinator state: %s %" PRIu64, c->path, what, id);
}

static void rtxn_drop(lm *c)
{
    if (c->rtxn)
        mdb_txn_abort(c->rtxn);
    c->rtxn = NULL;
}

static cc_status grow_map(lm *c)
{
    if (c->mapsize >= MAP_MAX)
        return cc_fail(CC_E_LIMIT,
                       "%s: the coordinator state reached its map size limit (%zu bytes)", c->path,
                       c->mapsize);
    size_t want = c->mapsize * 2 > MAP_MAX ? (size_t)MAP_MAX : c->mapsize * 2;
    rtxn_drop(c); /* no transaction of ours may be open while the map moves */
    int rc = mdb_env_set_mapsize(c->env, want);
    if (rc)
        return mdb_fail(c, NULL, rc, "grow map");
    c->mapsize = want;
    cc_log_debug("%s: coordinator map grown to %zu MiB", c->path, want >> 20);
    return CC_OK;
}

/* After another process grew the map (MDB_MAP_RESIZED): adopt its size. */
static cc_status adopt_map(lm *c)
{
    rtxn_drop(c);
    int rc = mdb_env_set_mapsize(c->env, 0);
    if (rc)
        return mdb_fail(c, NULL, rc, "adopt map size");
    MDB_envinfo info;
    mdb_env_info(c->env, &info);
    c->mapsize = info.me_mapsize;
    return CC_OK;
}

static cc_status rtxn_begin(lm *c, MDB_txn **out)
{
    for (int attempt = 0;; attempt++) {
        int rc;
        if (c->rtxn) {
            rc = mdb_txn_renew(c->rtxn);
            if (rc == 0) {
                *out = c->rtxn;
                return CC_OK;
            }
            rtxn_drop(c);
        }
        rc = mdb_txn_begin(c->env, NULL, MDB_RDONLY, &c->rtxn);
        if (rc == 0) {
            *out = c->rtxn;
            return CC_OK;
        }
        c->rtxn = NULL;
        if (rc != MDB_MAP_RESIZED || attempt > 0)
            return mdb_fail(c, NULL, rc, "begin read transaction");
        CC_TRY(adopt_map(c));
    }
}

static void rtxn_end(lm *c)
{
    if (c->rtxn)
        mdb_txn_reset(c->rtxn);
}

static int is_soft(cc_status st)
{
    return st == CC_E_NOTFOUND || st == CC_E_EXISTS || st == CC_E_LIMIT || st == CC_E_INVAL ||
           st == CC_E_BUSY;
}

static cc_status counters_load(wtx *w);
static cc_status counters_store(wtx *w);

typedef cc_status (*write_fn)(wtx *w, void *arg);

/* Runs fn in one write transaction (see the top of the file). Commits when fn succeeds, or
 * fails softly after setting w->keep; aborts otherwise. */
static cc_status run_write(lm *c, int64_t now, write_fn fn, void *arg)
{
    for (;;) {
        wtx w = {.c = c, .now = now};
        int rc = mdb_txn_begin(c->env, NULL, 0, &w.t);
        if (rc == MDB_MAP_RESIZED) {
            CC_TRY(adopt_map(c));
            continue;
        }
        if (rc)
            return mdb_fail(c, NULL, rc, "begin write transaction");
        cc_status st = counters_load(&w);
        if (st == CC_OK)
            st = fn(&w, arg);
        if (!w.map_full && (st == CC_OK || (w.keep && is_soft(st)))) {
            cc_status st2 = w.k_dirty ? counters_store(&w) : CC_OK;
            if (st2 == CC_OK) {
                rc = mdb_txn_commit(w.t);
                if (rc == 0)
                    return st;
                st = mdb_fail(c, &w, rc, "commit");
            } else {
                mdb_txn_abort(w.t);
                st = st2;
            }
        } else {
            mdb_txn_abort(w.t);
        }
        if (!w.map_full)
            return st;
        CC_TRY(grow_map(c));
    }
}

/* ---- small record helpers ------------------------------------------------------------------ */

static cc_status put(wtx *w, MDB_dbi dbi, const void *k, size_t kn, const void *v, size_t vn,
                     unsigned flags, const char *what)
{
    MDB_val key = {kn, (void *)k}, val = {vn, (void *)v};
    int rc = mdb_put(w->t, dbi, &key, &val, flags);
    return rc ? mdb_fail(w->c, w, rc, what) : CC_OK;
}

/* Deletes key (and, for the near db, the one value v). missing_ok: MDB_NOTFOUND is fine. */
static cc_status del(wtx *w, MDB_dbi dbi, const void *k, size_t kn, const void *v, size_t vn,
                     int missing_ok, const char *what)
{
    MDB_val key = {kn, (void *)k}, val = {vn, (void *)v};
    int rc = mdb_del(w->t, dbi, &key, v ? &val : NULL);
    if (rc == MDB_NOTFOUND && missing_ok)
        return CC_OK;
    return rc ? mdb_fail(w->c, w, rc, what) : CC_OK;
}

/* mdb_get: 1 found, 0 not found, negative on error (message set). */
static int get(const lm *c, MDB_txn *t, MDB_dbi dbi, const void *k, size_t kn, MDB_val *v)
{
    MDB_val key = {kn, (void *)k};
    int rc = mdb_get(t, dbi, &key, v);
    if (rc == 0)
        return 1;
    if (rc == MDB_NOTFOUND)
        return 0;
    mdb_fail(c, NULL, rc, "read");
    return -1;
}

static cc_status meta_get_u64(const lm *c, MDB_txn *t, const char *name, uint64_t *v)
{
    MDB_val val;
    int f = get(c, t, c->meta, name, strlen(name), &val);
    if (f < 0)
        return CC_E_DB;
    if (f == 0 || val.mv_size != 8)
        return cc_fail(CC_E_DB, "%s: coordinator meta '%s' is missing or malformed", c->path, name);
    *v = cc_load_u64(val.mv_data);
    return CC_OK;
}

static cc_status meta_put_u64(wtx *w, const char *name, uint64_t v)
{
    uint8_t b[8];
    cc_store_u64(b, v);
    return put(w, w->c->meta, name, strlen(name), b, 8, 0, "write meta");
}

/* The counters in record order. */
static void counters_fields(counters *k, uint64_t *f[N_COUNTS])
{
    uint64_t *all[N_COUNTS] = {&k->units[0],  &k->units[1],     &k->units[2],  &k->units[3],
                               &k->confirmed, &k->reservations, &k->claims[0], &k->claims[1],
                               &k->claims[2], &k->queries_full};
    memcpy(f, all, sizeof all);
}

static void counters_decode(const uint8_t *p, counters *k)
{
    uint64_t *f[N_COUNTS];
    counters_fields(k, f);
    for (int i = 0; i < N_COUNTS; i++)
        *f[i] = cc_load_u64(p + 8 * i);
}

static cc_status counters_read(const lm *c, MDB_txn *t, counters *k)
{
    MDB_val v;
    int f = get(c, t, c->meta, "counts", 6, &v);
    if (f < 0)
        return CC_E_DB;
    if (f == 0 || v.mv_size != 8 * N_COUNTS)
        return cc_fail(CC_E_DB, "%s: coordinator meta 'counts' is missing or malformed", c->path);
    counters_decode(v.mv_data, k);
    return CC_OK;
}

static cc_status counters_load(wtx *w)
{
    memset(&w->k, 0, sizeof w->k);
    if (!w->c->units) /* the opening transaction: the databases are not open yet */
        return CC_OK;
    return counters_read(w->c, w->t, &w->k);
}

static cc_status counters_store(wtx *w)
{
    uint64_t *f[N_COUNTS];
    counters_fields(&w->k, f);
    uint8_t b[8 * N_COUNTS];
    for (int i = 0; i < N_COUNTS; i++)
        cc_store_u64(b + 8 * i, *f[i]);
    return put(w, w->c->meta, "counts", 6, b, sizeof b, 0, "write counts");
}

static void count_dec(uint64_t *v)
{
    if (*v) /* never below 0, even over a damaged state */
        (*v)--;
}

static cc_status busy_if_rebuilding(const lm *c)
{
    if (!c->rebuilding)
        return CC_OK;
    return cc_fail(CC_E_BUSY, "%s: quota and claims are being rebuilt%s", c->path,
                   c->rebuild_active ? " (finish with coord_rebuild_end)"
                                     : ": an earlier rebuild was cut short; run it again "
                                       "(clipcrawl crawl --rebuild-state)");
}

/* ---- units --------------------------------------------------------------------------------- */

static cc_status unit_decode(const lm *c, uint64_t id, const MDB_val *v, urec *u)
{
    const uint8_t *p = v->mv_data;
    if (v->mv_size < UNIT_HEAD)
        return corrupt(c, "short unit record", id);
    u->state = p[0];
    u->wlen = p[1];
    u->klen = cc_load_u16(p + 2);
    u->deliveries = cc_load_u32(p + 4);
    u->at_ms = (int64_t)cc_load_u64(p + 8);
    u->clen = cc_load_u16(p + 16);
    u->elen = cc_load_u16(p + 18);
    if (u->state > COORD_UNIT_DEAD || u->klen == 0 || u->klen >= COORD_KEY_MAX ||
        u->clen >= COORD_CURSOR_MAX || u->elen >= COORD_ERROR_MAX || u->wlen >= COORD_WORKER_MAX ||
        v->mv_size != UNIT_HEAD + u->klen + u->clen + u->elen + u->wlen)
        return corrupt(c, "malformed unit record", id);
    p += UNIT_HEAD;
    memcpy(u->key, p, u->klen);
    u->key[u->klen] = '\0';
    memcpy(u->cursor, p += u->klen, u->clen);
    u->cursor[u->clen] = '\0';
    memcpy(u->error, p += u->clen, u->elen);
    u->error[u->elen] = '\0';
    memcpy(u->worker, p += u->elen, u->wlen);
    u->worker[u->wlen] = '\0';
    return CC_OK;
}

static cc_status unit_load(const lm *c, MDB_txn *t, uint64_t id, urec *u, int *found)
{
    uint8_t k[8];
    put_be64(k, id);
    MDB_val v;
    int f = get(c, t, c->units, k, 8, &v);
    if (f < 0)
        return CC_E_DB;
    *found = f;
    return f ? unit_decode(c, id, &v, u) : CC_OK;
}

static cc_status unit_store(wtx *w, uint64_t id, const urec *u)
{
    uint8_t b[UNIT_HEAD + COORD_KEY_MAX + COORD_CURSOR_MAX + COORD_ERROR_MAX + COORD_WORKER_MAX];
    b[0] = u->state;
    b[1] = (uint8_t)u->wlen;
    cc_store_u16(b + 2, (uint16_t)u->klen);
    cc_store_u32(b + 4, u->deliveries);
    cc_store_u64(b + 8, (uint64_t)u->at_ms);
    cc_store_u16(b + 16, (uint16_t)u->clen);
    cc_store_u16(b + 18, (uint16_t)u->elen);
    uint8_t *p = b + UNIT_HEAD;
    memcpy(p, u->key, u->klen);
    memcpy(p += u->klen, u->cursor, u->clen);
    memcpy(p += u->clen, u->error, u->elen);
    memcpy(p += u->elen, u->worker, u->wlen);
    p += u->wlen;
    uint8_t k[8];
    put_be64(k, id);
    return put(w, w->c->units, k, 8, b, (size_t)(p - b), 0, "write unit");
}

static cc_status sched_put(wtx *w, int64_t at, uint64_t id)
{
    uint8_t k[16];
    put_be64(k, (uint64_t)at);
    put_be64(k + 8, id);
    return put(w, w->c->sched, k, 16, "", 0, 0, "write schedule");
}

static cc_status sched_del(wtx *w, int64_t at, uint64_t id)
{
    uint8_t k[16];
    put_be64(k, (uint64_t)at);
    put_be64(k + 8, id);
    return del(w, w->c->sched, k, 16, NULL, 0, 0, "delete schedule entry");
}

static void unit_set_text(char *dst, size_t *len, const char *src)
{
    *len = strlen(src);
    memcpy(dst, src, *len + 1);
}

static void unit_out(uint64_t id, const urec *u, coord_unit *out)
{
    memset(out, 0, sizeof *out);
    out->id = id;
    memcpy(out->key, u->key, u->klen + 1);
    memcpy(out->cursor, u->cursor, u->clen + 1);
    memcpy(out->error, u->error, u->elen + 1);
    out->state = u->state;
    out->deliveries = u->deliveries;
    out->lease_until = u->state == COORD_UNIT_LEASED ? (double)u->at_ms / 1000.0 : 0;
}

typedef struct add_arg {
    const char *const *keys;
    size_t n, added;
} add_arg;

static cc_status units_add_fn(wtx *w, void *arg)
{
    add_arg *a = arg;
    lm *c = w->c;
    a->added = 0;
    uint64_t next;
    CC_TRY(meta_get_u64(c, w->t, "next_unit", &next));
    for (size_t i = 0; i < a->n; i++) {
        const char *key = a->keys[i];
        size_t kl = strlen(key);
        MDB_val v;
        int f = get(c, w->t, c->unit_keys, key, kl, &v);
        if (f < 0)
            return CC_E_DB;
        if (f)
            continue;
        uint64_t id = next++;
        urec u = {.state = COORD_UNIT_PENDING};
        unit_set_text(u.key, &u.klen, key);
        uint8_t idb[8];
        put_be64(idb, id);
        CC_TRY(unit_store(w, id, &u));
        CC_TRY(put(w, c->unit_keys, key, kl, idb, 8, 0, "write unit key"));
        CC_TRY(sched_put(w, 0, id));
        w->k.units[COORD_UNIT_PENDING]++;
        a->added++;
    }
    if (a->added) {
        w->k_dirty = 1;
        CC_TRY(meta_put_u64(w, "next_unit", next));
    }
    return CC_OK;
}

static cc_status lm_units_add(coord *h, int64_t now, const char *const *keys, size_t n,
                              size_t *added)
{
    add_arg a = {keys, n, 0};
    cc_status st = run_write((lm *)h, now, units_add_fn, &a);
    *added = st == CC_OK ? a.added : 0;
    return st;
}

static cc_status unit_claim_fn(wtx *w, void *arg)
{
    coord_unit *out = arg;
    lm *c = w->c;
    MDB_cursor *cur;
    int rc = mdb_cursor_open(w->t, c->sched, &cur);
    if (rc)
        return mdb_fail(c, w, rc, "open cursor");
    cc_status st;
    for (;;) {
        MDB_val k, v;
        rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST);
        if (rc == MDB_NOTFOUND) {
            st = cc_fail(CC_E_NOTFOUND, "no unit is available now");
            break;
        }
        if (rc || k.mv_size != 16) {
            st = rc ? mdb_fail(c, w, rc, "read schedule") : corrupt(c, "schedule key size", 0);
            break;
        }
        int64_t at = (int64_t)get_be64(k.mv_data);
        uint64_t id = get_be64((const uint8_t *)k.mv_data + 8);
        if (at > w->now) {
            st = cc_fail(CC_E_NOTFOUND, "no unit is available now");
            break;
        }
        urec u;
        int found;
        if ((st = unit_load(c, w->t, id, &u, &found)) != CC_OK)
            break;
        if (!found || (u.state != COORD_UNIT_PENDING && u.state != COORD_UNIT_LEASED) ||
            u.at_ms != at) {
            st = corrupt(c, "schedule entry without a matching unit", id);
            break;
        }
        if ((st = sched_del(w, at, id)) != CC_OK)
            break;
        count_dec(&w->k.units[u.state]);
        w->k_dirty = 1;
        if (u.deliveries >= (uint32_t)c->head.opts.max_deliveries) {
            /* Delivered the most times (its holders died or it keeps failing): dead-letter it,
             * keeping the last error, and look at the next one. */
            if (u.elen == 0) {
                char e[COORD_ERROR_MAX];
                snprintf(e, sizeof e, "%s after %" PRIu32 " deliveries",
                         u.state == COORD_UNIT_LEASED ? "lease expired" : "not finished",
                         u.deliveries);
                unit_set_text(u.error, &u.elen, e);
            }
            u.state = COORD_UNIT_DEAD;
            u.at_ms = 0;
            w->k.units[COORD_UNIT_DEAD]++;
            w->keep = 1;
            if ((st = unit_store(w, id, &u)) != CC_OK)
                break;
            cc_log_warn("unit %s dead-lettered: %s", u.key, u.error);
            continue;
        }
        u.state = COORD_UNIT_LEASED;
        u.deliveries++;
        u.at_ms = w->now + c->head.lease_ms;
        unit_set_text(u.worker, &u.wlen, c->head.worker);
        w->k.units[COORD_UNIT_LEASED]++;
        if ((st = sched_put(w, u.at_ms, id)) != CC_OK || (st = unit_store(w, id, &u)) != CC_OK)
            break;
        unit_out(id, &u, out);
        break;
    }
    mdb_cursor_close(cur);
    return st;
}

static cc_status lm_unit_claim(coord *h, int64_t now, coord_unit *out)
{
    return run_write((lm *)h, now, unit_claim_fn, out);
}

enum { UNIT_PROGRESS, UNIT_DONE, UNIT_FAIL };

static cc_status frontier_drop(wtx *w, uint64_t id);

typedef struct uop_arg {
    int op;
    uint64_t id;
    const char *text; /* cursor or error */
    int64_t retry_ms;
} uop_arg;

/* progress / done / fail: the unit must be leased to this worker with a lease not expired. */
static cc_status unit_op_fn(wtx *w, void *arg)
{
    uop_arg *a = arg;
    lm *c = w->c;
    urec u;
    int found;
    CC_TRY(unit_load(c, w->t, a->id, &u, &found));
    if (!found)
        return cc_fail(CC_E_NOTFOUND, "unit %" PRIu64 ": no such unit", a->id);
    if (u.state != COORD_UNIT_LEASED || strcmp(u.worker, c->head.worker) != 0 ||
        u.at_ms <= w->now) {
        static const char *const names[] = {"pending", "leased", "done", "dead"};
        if (u.state != COORD_UNIT_LEASED)
            return cc_fail(CC_E_EXISTS, "unit %s is %s, not leased to worker %s", u.key,
                           names[u.state], c->head.worker);
        if (strcmp(u.worker, c->head.worker) != 0)
            return cc_fail(CC_E_EXISTS, "unit %s is leased to worker %s, not %s", u.key, u.worker,
                           c->head.worker);
        return cc_fail(CC_E_EXISTS, "unit %s: the lease of worker %s expired", u.key,
                       c->head.worker);
    }
    CC_TRY(sched_del(w, u.at_ms, a->id));
    switch (a->op) {
    case UNIT_PROGRESS:
        unit_set_text(u.cursor, &u.clen, a->text);
        u.at_ms = w->now + c->head.lease_ms;
        CC_TRY(sched_put(w, u.at_ms, a->id));
        break;
    case UNIT_DONE:
        u.state = COORD_UNIT_DONE;
        u.at_ms = 0;
        CC_TRY(frontier_drop(w, a->id));
        break;
    default:
        unit_set_text(u.error, &u.elen, a->text);
        if (u.deliveries >= (uint32_t)c->head.opts.max_deliveries) {
            u.state = COORD_UNIT_DEAD;
            u.at_ms = 0;
            cc_log_warn("unit %s dead-lettered: %s", u.key, u.error);
        } else {
            u.state = COORD_UNIT_PENDING;
            u.at_ms = w->now + a->retry_ms;
            CC_TRY(sched_put(w, u.at_ms, a->id));
        }
        break;
    }
    if (u.state != COORD_UNIT_LEASED) {
        count_dec(&w->k.units[COORD_UNIT_LEASED]);
        w->k.units[u.state]++;
        w->k_dirty = 1;
    }
    return unit_store(w, a->id, &u);
}

static cc_status lm_unit_progress(coord *h, int64_t now, uint64_t id, const char *cursor)
{
    uop_arg a = {UNIT_PROGRESS, id, cursor, 0};
    return run_write((lm *)h, now, unit_op_fn, &a);
}

static cc_status lm_unit_done(coord *h, int64_t now, uint64_t id)
{
    uop_arg a = {UNIT_DONE, id, "", 0};
    return run_write((lm *)h, now, unit_op_fn, &a);
}

static cc_status lm_unit_fail(coord *h, int64_t now, uint64_t id, const char *error,
                              int64_t retry_ms)
{
    uop_arg a = {UNIT_FAIL, id, error, retry_ms};
    return run_write((lm *)h, now, unit_op_fn, &a);
}

static cc_status lm_unit_get(coord *h, int64_t now, const char *key, coord_unit *out)
{
    (void)now;
    lm *c = (lm *)h;
    MDB_txn *t;
    CC_TRY(rtxn_begin(c, &t));
    MDB_val v;
    cc_status st = CC_OK;
    int f = get(c, t, c->unit_keys, key, strlen(key), &v);
    if (f < 0) {
        st = CC_E_DB;
    } else if (f == 0) {
        st = cc_fail(CC_E_NOTFOUND, "no unit with key %s", key);
    } else if (v.mv_size != 8) {
        st = corrupt(c, "unit key value size", v.mv_size);
    } else {
        uint64_t id = get_be64(v.mv_data);
        urec u;
        st = unit_load(c, t, id, &u, &f);
        if (st == CC_OK && !f)
            st = corrupt(c, "unit key without unit", id);
        if (st == CC_OK)
            unit_out(id, &u, out);
    }
    rtxn_end(c);
    return st;
}

typedef struct requeue_arg {
    size_t n;
} requeue_arg;

static cc_status requeue_fn(wtx *w, void *arg)
{
    requeue_arg *a = arg;
    lm *c = w->c;
    a->n = 0;
    /* Collect first (writes would move the cursor's pages), then update. */
    uint64_t *ids = NULL;
    size_t n = 0, cap = 0;
    MDB_cursor *cur;
    int rc = mdb_cursor_open(w->t, c->units, &cur);
    if (rc)
        return mdb_fail(c, w, rc, "open cursor");
    cc_status st = CC_OK;
    MDB_val k, v;
    for (rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); rc == 0;
         rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
        if (v.mv_size < 1 || ((const uint8_t *)v.mv_data)[0] != COORD_UNIT_DEAD)
            continue;
        if (n == cap) {
            size_t nc = cap ? cap * 2 : 64;
            uint64_t *p = realloc(ids, nc * sizeof *p);
            if (!p) {
                st = cc_fail(CC_E_NOMEM, "out of memory");
                break;
            }
            ids = p;
            cap = nc;
        }
        ids[n++] = get_be64(k.mv_data);
    }
    mdb_cursor_close(cur);
    if (st == CC_OK && rc != MDB_NOTFOUND && rc != 0)
        st = mdb_fail(c, w, rc, "scan units");
    for (size_t i = 0; st == CC_OK && i < n; i++) {
        urec u;
        int found;
        if ((st = unit_load(c, w->t, ids[i], &u, &found)) != CC_OK)
            break;
        u.state = COORD_UNIT_PENDING;
        u.deliveries = 0;
        u.at_ms = 0;
        if ((st = sched_put(w, 0, ids[i])) != CC_OK || (st = unit_store(w, ids[i], &u)) != CC_OK)
            break;
        count_dec(&w->k.units[COORD_UNIT_DEAD]);
        w->k.units[COORD_UNIT_PENDING]++;
        w->k_dirty = 1;
    }
    free(ids);
    if (st == CC_OK)
        a->n = n;
    return st;
}

static cc_status lm_units_requeue_dead(coord *h, int64_t now, size_t *n)
{
    requeue_arg a = {0};
    cc_status st = run_write((lm *)h, now, requeue_fn, &a);
    *n = a.n;
    return st;
}

/* ---- reservations and claims --------------------------------------------------------------- */

static cc_status res_decode(const lm *c, uint64_t id, const MDB_val *v, rrec *r)
{
    const uint8_t *p = v->mv_data;
    if (v->mv_size < RES_HEAD)
        return corrupt(c, "short reservation", id);
    r->query = cc_load_u32(p);
    r->expires_ms = (int64_t)cc_load_u64(p + 4);
    r->flags = p[12];
    r->n = p[13];
    r->wlen = p[14];
    if (r->n > COORD_MAX_CLAIMS || r->wlen >= COORD_WORKER_MAX ||
        v->mv_size != RES_HEAD + (size_t)r->n * CLAIM_REF + r->wlen)
        return corrupt(c, "malformed reservation", id);
    memcpy(r->uid, p + 16, 16);
    memcpy(r->ref, p + RES_HEAD, (size_t)r->n * CLAIM_REF);
    memcpy(r->worker, p + RES_HEAD + (size_t)r->n * CLAIM_REF, r->wlen);
    r->worker[r->wlen] = '\0';
    return CC_OK;
}

/* Loads reservation id from t into *r; *found 0 when absent. */
static cc_status res_load(const lm *c, MDB_txn *t, uint64_t id, rrec *r, int *found)
{
    uint8_t k[8];
    put_be64(k, id);
    MDB_val v;
    int f = get(c, t, c->res, k, 8, &v);
    if (f < 0)
        return CC_E_DB;
    *found = f;
    return f ? res_decode(c, id, &v, r) : CC_OK;
}

static cc_status res_store(wtx *w, uint64_t id, const rrec *r)
{
    uint8_t b[RES_HEAD + COORD_MAX_CLAIMS * CLAIM_REF + COORD_WORKER_MAX];
    memset(b, 0, RES_HEAD);
    cc_store_u32(b, r->query);
    cc_store_u64(b + 4, (uint64_t)r->expires_ms);
    b[12] = r->flags;
    b[13] = r->n;
    b[14] = (uint8_t)r->wlen;
    memcpy(b + 16, r->uid, 16);
    memcpy(b + RES_HEAD, r->ref, (size_t)r->n * CLAIM_REF);
    memcpy(b + RES_HEAD + (size_t)r->n * CLAIM_REF, r->worker, r->wlen);
    uint8_t k[8];
    put_be64(k, id);
    return put(w, w->c->res, k, 8, b, RES_HEAD + (size_t)r->n * CLAIM_REF + r->wlen, 0,
               "write reservation");
}

static cc_status quota_read(const lm *c, MDB_txn *t, uint32_t q, uint64_t *conf, uint64_t *resv)
{
    uint8_t k[4];
    put_be32(k, q);
    MDB_val v;
    int f = get(c, t, c->quota, k, 4, &v);
    if (f < 0)
        return CC_E_DB;
    *conf = *resv = 0;
    if (f) {
        if (v.mv_size != 16)
            return corrupt(c, "quota record size of query", q);
        *conf = cc_load_u64(v.mv_data);
        *resv = cc_load_u64((const uint8_t *)v.mv_data + 8);
    }
    return CC_OK;
}

static cc_status quota_write(wtx *w, uint32_t q, uint64_t conf, uint64_t resv)
{
    uint8_t k[4], b[16];
    put_be32(k, q);
    if (conf == 0 && resv == 0) /* a query back to nothing takes no space */
        return del(w, w->c->quota, k, 4, NULL, 0, 1, "delete quota");
    cc_store_u64(b, conf);
    cc_store_u64(b + 8, resv);
    return put(w, w->c->quota, k, 4, b, 16, 0, "write quota");
}

/* Adds one confirmed pair to query q (and counts the query full when it reaches the cap). */
static cc_status quota_confirm_one(wtx *w, uint32_t q, int from_reserved)
{
    uint64_t conf, resv;
    CC_TRY(quota_read(w->c, w->t, q, &conf, &resv));
    if (from_reserved)
        count_dec(&resv);
    conf++;
    if (conf == w->c->head.opts.cap)
        w->k.queries_full++;
    w->k.confirmed++;
    w->k_dirty = 1;
    return quota_write(w, q, conf, resv);
}

/* The near db: the key of band b of h (band index, then the band's bits big-endian). */
static size_t near_key(const lm *c, int b, uint64_t h, uint8_t *key)
{
    unsigned wd = c->band_width[b], st = c->band_start[b];
    uint64_t bits = (h << st) >> (64 - wd);
    size_t nb = (wd + 7) / 8;
    key[0] = (uint8_t)b;
    for (size_t i = 0; i < nb; i++)
        key[1 + i] = (uint8_t)(bits >> (8 * (nb - 1 - i)));
    return 1 + nb;
}

/* Near entries of h in every band: put or delete (h) in the permanent index (res == 0) or
 * (h, res) in the tentative one. */
static cc_status near_entry(wtx *w, uint64_t h, uint64_t res, int add)
{
    lm *c = w->c;
    uint8_t key[10], v[16];
    put_be64(v, h);
    put_be64(v + 8, res);
    MDB_dbi dbi = res ? c->near_tent : c->near;
    size_t vn = res ? 16 : 8;
    for (int b = 0; b < c->nbands; b++) {
        size_t kn = near_key(c, b, h, key);
        if (add)
            CC_TRY(put(w, dbi, key, kn, v, vn, 0, "write near claim"));
        else
            CC_TRY(del(w, dbi, key, kn, v, vn, 1, "delete near claim"));
    }
    return CC_OK;
}

/* Scans the dup lists of h's bands in one near index (values of vn bytes, the hash first) and
 * keeps the nearest hash within near_distance in *best / *best_h. 0, or -1 on error. */
static int near_scan(const lm *c, MDB_txn *t, MDB_dbi dbi, size_t vn, uint64_t h, int *best,
                     uint64_t *best_h)
{
    MDB_cursor *cur;
    int rc = mdb_cursor_open(t, dbi, &cur);
    if (rc) {
        mdb_fail(c, NULL, rc, "open cursor");
        return -1;
    }
    for (int b = 0; b < c->nbands; b++) {
        uint8_t key[10];
        MDB_val k = {near_key(c, b, h, key), key}, v;
        rc = mdb_cursor_get(cur, &k, &v, MDB_SET);
        if (rc == MDB_NOTFOUND)
            continue;
        /* DUPFIXED: a page of values at a time */
        for (int op = MDB_GET_MULTIPLE; rc == 0; op = MDB_NEXT_MULTIPLE) {
            rc = mdb_cursor_get(cur, &k, &v, (MDB_cursor_op)op);
            if (rc)
                break;
            const uint8_t *p = v.mv_data;
            for (size_t i = 0; i + vn <= v.mv_size; i += vn) {
                uint64_t x = get_be64(p + i);
                int d = phash_distance(x, h);
                if (d <= c->head.opts.near_distance && (d < *best || (d == *best && x < *best_h))) {
                    *best = d;
                    *best_h = x;
                }
            }
        }
        if (rc != MDB_NOTFOUND) {
            mdb_cursor_close(cur);
            mdb_fail(c, NULL, rc, "read near claims");
            return -1;
        }
    }
    mdb_cursor_close(cur);
    return 0;
}

/* Looks for claimed hashes within near_distance of h, permanent or tentative (swept: every
 * tentative one is live). *dup gets the nearest (lowest distance, then lowest hash). Returns 1,
 * 0, or negative on error (message set). */
static int near_find(const lm *c, MDB_txn *t, uint64_t h, uint64_t *dup)
{
    int best = 65;
    uint64_t best_h = 0;
    if (near_scan(c, t, c->near, 8, h, &best, &best_h) < 0 ||
        near_scan(c, t, c->near_tent, 16, h, &best, &best_h) < 0)
        return -1;
    if (best > 64)
        return 0;
    *dup = best_h;
    return 1;
}

static cc_status bitmap_set(wtx *w, uint64_t res)
{
    uint8_t k[8], b[BITMAP_BYTES];
    put_be64(k, res >> BITMAP_SHIFT);
    MDB_val v;
    int f = get(w->c, w->t, w->c->confirmed, k, 8, &v);
    if (f < 0)
        return CC_E_DB;
    if (f && v.mv_size == BITMAP_BYTES)
        memcpy(b, v.mv_data, BITMAP_BYTES);
    else
        memset(b, 0, BITMAP_BYTES);
    unsigned bit = (unsigned)(res & ((1u << BITMAP_SHIFT) - 1));
    b[bit >> 3] |= (uint8_t)(1u << (bit & 7));
    return put(w, w->c->confirmed, k, 8, b, BITMAP_BYTES, 0, "write confirmed bitmap");
}

static int bitmap_test(const lm *c, MDB_txn *t, uint64_t res)
{
    uint8_t k[8];
    put_be64(k, res >> BITMAP_SHIFT);
    MDB_val v;
    int f = get(c, t, c->confirmed, k, 8, &v);
    if (f <= 0 || v.mv_size != BITMAP_BYTES)
        return f < 0 ? -1 : 0;
    unsigned bit = (unsigned)(res & ((1u << BITMAP_SHIFT) - 1));
    return (((const uint8_t *)v.mv_data)[bit >> 3] >> (bit & 7)) & 1;
}

enum { DROP_RELEASE, DROP_CONFIRM };

/* Ends reservation id (record r): confirm makes its claims permanent and counts the pair (an
 * assigned reservation only); release drops its claims (pair keys become permanent with
 * COORD_KEEP_PAIR_KEY) and gives the place back (a held reservation has none). Either way the
 * reservation and its expiry entry are deleted. */
static cc_status res_end(wtx *w, uint64_t id, const rrec *r, int mode, int flags)
{
    lm *c = w->c;
    for (int i = 0; i < r->n; i++) {
        const uint8_t *ref = r->ref[i];
        int ns = ref[0];
        if (ns == COORD_NS_NEAR) {
            uint64_t h = get_be64(ref + 1);
            CC_TRY(near_entry(w, h, id, 0));
            if (mode == DROP_CONFIRM) {
                CC_TRY(near_entry(w, h, 0, 1));
                w->k.claims[COORD_NS_NEAR]++;
            }
            continue;
        }
        if (ns != COORD_NS_PAIR && ns != COORD_NS_CONTENT)
            return corrupt(c, "claim namespace in reservation", id);
        MDB_val v;
        int f = get(c, w->t, c->claims, ref, CLAIM_REF, &v);
        if (f < 0)
            return CC_E_DB;
        if (!f || v.mv_size != 8 || cc_load_u64(v.mv_data) != id)
            continue; /* not ours (cannot happen in a consistent state) */
        if (mode == DROP_CONFIRM || (ns == COORD_NS_PAIR && (flags & COORD_KEEP_PAIR_KEY))) {
            CC_TRY(put(w, c->claims, ref, CLAIM_REF, "", 0, 0, "write claim"));
            w->k.claims[ns]++;
        } else {
            CC_TRY(del(w, c->claims, ref, CLAIM_REF, NULL, 0, 0, "delete claim"));
        }
    }
    if (mode == DROP_CONFIRM) {
        if (r->flags & RES_HELD) /* callers check; a held one has no query to count for */
            return corrupt(c, "confirming a reservation without a query", id);
        CC_TRY(quota_confirm_one(w, r->query, 1));
        CC_TRY(bitmap_set(w, id));
    } else if (!(r->flags & RES_HELD)) {
        uint64_t conf, resv;
        CC_TRY(quota_read(c, w->t, r->query, &conf, &resv));
        count_dec(&resv);
        CC_TRY(quota_write(w, r->query, conf, resv));
    }
    count_dec(&w->k.reservations);
    w->k_dirty = 1;
    uint8_t k[16];
    put_be64(k, (uint64_t)r->expires_ms);
    put_be64(k + 8, id);
    CC_TRY(del(w, c->expiry, k, 16, NULL, 0, 1, "delete expiry entry"));
    return del(w, c->res, k + 8, 8, NULL, 0, 0, "delete reservation");
}

/* Releases every reservation whose expiry has come (expires_ms <= now): from here on in the
 * transaction, every tentative claim and every reserved count belongs to a live reservation. */
static cc_status sweep(wtx *w)
{
    lm *c = w->c;
    for (;;) {
        MDB_cursor *cur;
        int rc = mdb_cursor_open(w->t, c->expiry, &cur);
        if (rc)
            return mdb_fail(c, w, rc, "open cursor");
        MDB_val k, v;
        rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST);
        uint8_t kb[16];
        if (rc == 0 && k.mv_size == 16)
            memcpy(kb, k.mv_data, 16);
        mdb_cursor_close(cur);
        if (rc == MDB_NOTFOUND)
            return CC_OK;
        if (rc)
            return mdb_fail(c, w, rc, "read expiry");
        if (k.mv_size != 16)
            return corrupt(c, "expiry key size", k.mv_size);
        if ((int64_t)get_be64(kb) > w->now)
            return CC_OK;
        uint64_t id = get_be64(kb + 8);
        rrec r;
        int found;
        CC_TRY(res_load(c, w->t, id, &r, &found));
        w->keep = 1;
        if (!found) { /* a stale index entry: drop it */
            CC_TRY(del(w, c->expiry, kb, 16, NULL, 0, 0, "delete expiry entry"));
            continue;
        }
        CC_TRY(res_end(w, id, &r, DROP_RELEASE, 0));
    }
}

/* Reservations that expired but were not swept yet (a read transaction cannot sweep): how many,
 * and how many of them hold a place of query q (q < 0: none asked). */
static cc_status expired_unswept(const lm *c, MDB_txn *t, int64_t now, int64_t q, uint64_t *all,
                                 uint64_t *of_q)
{
    *all = *of_q = 0;
    MDB_cursor *cur;
    int rc = mdb_cursor_open(t, c->expiry, &cur);
    if (rc)
        return mdb_fail(c, NULL, rc, "open cursor");
    MDB_val k, v;
    for (rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); rc == 0;
         rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
        if (k.mv_size != 16 || (int64_t)get_be64(k.mv_data) > now)
            break;
        (*all)++;
        if (q >= 0 && v.mv_size == 4 && cc_load_u32(v.mv_data) == (uint32_t)q)
            (*of_q)++;
    }
    mdb_cursor_close(cur);
    return rc == 0 || rc == MDB_NOTFOUND ? CC_OK : mdb_fail(c, NULL, rc, "read expiry");
}

/* Picks the query for a pair matching ids[0..n): quota_pick on confirmed + reserved counts
 * (reserved: assigned reservations only; swept, so all live). *pick: its index, or -1 when
 * every matched query is full. */
static cc_status pick_query(wtx *w, const uint32_t *ids, size_t n, long *pick)
{
    lm *c = w->c;
    uint64_t small[64], *counts = small;
    if (n > 64) {
        counts = malloc(n * sizeof *counts);
        CC_CHECK(counts, CC_E_NOMEM, "out of memory (%zu query ids)", n);
    }
    cc_status st = CC_OK;
    for (size_t i = 0; i < n && st == CC_OK; i++) {
        uint64_t conf, resv;
        st = quota_read(c, w->t, ids[i], &conf, &resv);
        counts[i] = conf + resv;
    }
    *pick = st == CC_OK ? quota_pick(ids, counts, n, c->head.opts.cap) : -1;
    if (counts != small)
        free(counts);
    return st;
}

static cc_status all_full(const lm *c, size_t n)
{
    return cc_fail(CC_E_LIMIT, "all %zu matched queries are full (cap %" PRIu64 ")", n,
                   c->head.opts.cap);
}

/* Takes one place of query q's cap. */
static cc_status quota_take(wtx *w, uint32_t q)
{
    uint64_t conf, resv;
    CC_TRY(quota_read(w->c, w->t, q, &conf, &resv));
    return quota_write(w, q, conf, resv + 1);
}

/* The expiry entry of reservation id: the value is its query, or empty while it is held. */
static cc_status expiry_put(wtx *w, uint64_t id, const rrec *r)
{
    uint8_t k[16], qv[4];
    put_be64(k, (uint64_t)r->expires_ms);
    put_be64(k + 8, id);
    cc_store_u32(qv, r->query);
    return put(w, w->c->expiry, k, 16, qv, (r->flags & RES_HELD) ? 0 : 4, 0, "write expiry entry");
}

/* A new reservation of this worker with the next id: assigned to q, or held (no query, q
 * ignored). */
static cc_status res_create(wtx *w, int held, uint32_t q, uint64_t *out)
{
    lm *c = w->c;
    uint64_t id;
    if (!held)
        CC_TRY(quota_take(w, q));
    CC_TRY(meta_get_u64(c, w->t, "next_res", &id));
    CC_TRY(meta_put_u64(w, "next_res", id + 1));
    rrec r = {.query = held ? 0 : q,
              .expires_ms = w->now + c->head.reservation_ms,
              .flags = held ? RES_HELD : 0};
    unit_set_text(r.worker, &r.wlen, c->head.worker);
    CC_TRY(res_store(w, id, &r));
    CC_TRY(expiry_put(w, id, &r));
    w->k.reservations++;
    w->k_dirty = 1;
    *out = id;
    return CC_OK;
}

typedef struct reserve_arg {
    const uint32_t *ids;
    size_t n;
    uint32_t picked;
    uint64_t res;
} reserve_arg;

static cc_status reserve_fn(wtx *w, void *arg)
{
    reserve_arg *a = arg;
    CC_TRY(sweep(w));
    long pick;
    CC_TRY(pick_query(w, a->ids, a->n, &pick));
    if (pick < 0)
        return all_full(w->c, a->n);
    a->picked = a->ids[pick];
    return res_create(w, 0, a->picked, &a->res);
}

static cc_status lm_quota_reserve(coord *h, int64_t now, const uint32_t *ids, size_t n,
                                  uint32_t *picked, uint64_t *res)
{
    lm *c = (lm *)h;
    CC_TRY(busy_if_rebuilding(c));
    reserve_arg a = {ids, n, 0, 0};
    cc_status st = run_write(c, now, reserve_fn, &a);
    if (st == CC_OK) {
        *picked = a.picked;
        *res = a.res;
    }
    return st;
}

static cc_status hold_fn(wtx *w, void *arg)
{
    reserve_arg *a = arg;
    CC_TRY(sweep(w));
    return res_create(w, 1, 0, &a->res);
}

static cc_status lm_quota_hold(coord *h, int64_t now, uint64_t *res)
{
    lm *c = (lm *)h;
    CC_TRY(busy_if_rebuilding(c));
    reserve_arg a = {NULL, 0, 0, 0};
    cc_status st = run_write(c, now, hold_fn, &a);
    if (st == CC_OK)
        *res = a.res;
    return st;
}

static cc_status not_live(uint64_t res)
{
    return cc_fail(CC_E_NOTFOUND,
                   "reservation %" PRIu64 " is not live (expired, released or confirmed)", res);
}

static cc_status assign_fn(wtx *w, void *arg)
{
    reserve_arg *a = arg;
    lm *c = w->c;
    CC_TRY(sweep(w));
    rrec r;
    int found;
    CC_TRY(res_load(c, w->t, a->res, &r, &found));
    if (!found)
        return not_live(a->res);
    if (!(r.flags & RES_HELD))
        return cc_fail(CC_E_EXISTS, "reservation %" PRIu64 " already counts for query %" PRIu32,
                       a->res, r.query);
    long pick;
    CC_TRY(pick_query(w, a->ids, a->n, &pick));
    if (pick < 0)
        return all_full(c, a->n);
    a->picked = a->ids[pick];
    CC_TRY(quota_take(w, a->picked));
    r.query = a->picked;
    r.flags &= (uint8_t)~RES_HELD;
    CC_TRY(expiry_put(w, a->res, &r)); /* same key: the value becomes the query */
    return res_store(w, a->res, &r);
}

static cc_status lm_quota_assign(coord *h, int64_t now, uint64_t res, const uint32_t *ids, size_t n,
                                 uint32_t *picked)
{
    lm *c = (lm *)h;
    CC_TRY(busy_if_rebuilding(c));
    reserve_arg a = {ids, n, 0, res};
    cc_status st = run_write(c, now, assign_fn, &a);
    if (st == CC_OK)
        *picked = a.picked;
    return st;
}

/* Arguments of the calls on one reservation. */
typedef struct res_arg {
    uint64_t res;
    int flags, ns;
    const uint8_t *bytes; /* uid or claim key */
    uint64_t phash, dup_of;
} res_arg;

static cc_status set_uid_fn(wtx *w, void *arg)
{
    res_arg *a = arg;
    CC_TRY(sweep(w));
    rrec r;
    int found;
    CC_TRY(res_load(w->c, w->t, a->res, &r, &found));
    if (!found)
        return not_live(a->res);
    memcpy(r.uid, a->bytes, 16);
    r.flags |= RES_UID_SET;
    return res_store(w, a->res, &r);
}

static cc_status confirm_fn(wtx *w, void *arg)
{
    res_arg *a = arg;
    CC_TRY(sweep(w));
    rrec r;
    int found;
    CC_TRY(res_load(w->c, w->t, a->res, &r, &found));
    if (found && (r.flags & RES_HELD))
        return cc_fail(CC_E_INVAL,
                       "reservation %" PRIu64 " has no query yet: coord_quota_assign it before "
                       "coord_quota_confirm",
                       a->res);
    if (found)
        return res_end(w, a->res, &r, DROP_CONFIRM, 0);
    int b = bitmap_test(w->c, w->t, a->res);
    if (b < 0)
        return CC_E_DB;
    return b ? CC_OK : not_live(a->res);
}

static cc_status release_fn(wtx *w, void *arg)
{
    res_arg *a = arg;
    CC_TRY(sweep(w));
    rrec r;
    int found;
    CC_TRY(res_load(w->c, w->t, a->res, &r, &found));
    return found ? res_end(w, a->res, &r, DROP_RELEASE, a->flags) : CC_OK;
}

static cc_status claim_fn(wtx *w, void *arg)
{
    res_arg *a = arg;
    lm *c = w->c;
    CC_TRY(sweep(w));
    rrec r;
    int found;
    CC_TRY(res_load(c, w->t, a->res, &r, &found));
    if (!found)
        return not_live(a->res);
    uint8_t key[CLAIM_REF];
    key[0] = (uint8_t)a->ns;
    memcpy(key + 1, a->bytes, 16);
    MDB_val v;
    int f = get(c, w->t, c->claims, key, CLAIM_REF, &v);
    if (f < 0)
        return CC_E_DB;
    if (f)
        return cc_fail(CC_E_EXISTS, "%s key already claimed (%s)",
                       a->ns == COORD_NS_PAIR ? "pair" : "content",
                       v.mv_size == 0 ? "permanently" : "by a live reservation");
    if (r.n >= COORD_MAX_CLAIMS)
        return cc_fail(CC_E_LIMIT, "reservation %" PRIu64 " holds %d claims already", a->res,
                       COORD_MAX_CLAIMS);
    uint8_t rv[8];
    cc_store_u64(rv, a->res);
    CC_TRY(put(w, c->claims, key, CLAIM_REF, rv, 8, 0, "write claim"));
    memcpy(r.ref[r.n++], key, CLAIM_REF);
    return res_store(w, a->res, &r);
}

static cc_status near_claim_fn(wtx *w, void *arg)
{
    res_arg *a = arg;
    lm *c = w->c;
    CC_TRY(sweep(w));
    rrec r;
    int found;
    CC_TRY(res_load(c, w->t, a->res, &r, &found));
    if (!found)
        return not_live(a->res);
    int f = near_find(c, w->t, a->phash, &a->dup_of);
    if (f < 0)
        return CC_E_DB;
    if (f)
        return cc_fail(CC_E_EXISTS, "pHash %016" PRIx64 " is within %d bits of claimed %016" PRIx64,
                       a->phash, c->head.opts.near_distance, a->dup_of);
    if (r.n >= COORD_MAX_CLAIMS)
        return cc_fail(CC_E_LIMIT, "reservation %" PRIu64 " holds %d claims already", a->res,
                       COORD_MAX_CLAIMS);
    CC_TRY(near_entry(w, a->phash, a->res, 1));
    uint8_t *ref = r.ref[r.n++];
    memset(ref, 0, CLAIM_REF);
    ref[0] = COORD_NS_NEAR;
    put_be64(ref + 1, a->phash);
    return res_store(w, a->res, &r);
}

static cc_status res_call(coord *h, int64_t now, write_fn fn, res_arg *a)
{
    lm *c = (lm *)h;
    CC_TRY(busy_if_rebuilding(c));
    return run_write(c, now, fn, a);
}

static cc_status lm_quota_set_uid(coord *h, int64_t now, uint64_t res, const uint8_t uid[16])
{
    res_arg a = {.res = res, .bytes = uid};
    return res_call(h, now, set_uid_fn, &a);
}

static cc_status lm_quota_confirm(coord *h, int64_t now, uint64_t res)
{
    res_arg a = {.res = res};
    return res_call(h, now, confirm_fn, &a);
}

static cc_status lm_quota_release(coord *h, int64_t now, uint64_t res, int flags)
{
    res_arg a = {.res = res, .flags = flags};
    return res_call(h, now, release_fn, &a);
}

static cc_status lm_claim(coord *h, int64_t now, int ns, const uint8_t key[16], uint64_t res)
{
    res_arg a = {.res = res, .ns = ns, .bytes = key};
    return res_call(h, now, claim_fn, &a);
}

static cc_status lm_near_claim(coord *h, int64_t now, uint64_t phash, uint64_t res,
                               uint64_t *dup_of)
{
    res_arg a = {.res = res, .phash = phash};
    cc_status st = res_call(h, now, near_claim_fn, &a);
    if (st == CC_E_EXISTS)
        *dup_of = a.dup_of;
    return st;
}

static cc_status lm_quota_get(coord *h, int64_t now, uint32_t query, uint64_t *confirmed,
                              uint64_t *reserved)
{
    lm *c = (lm *)h;
    CC_TRY(busy_if_rebuilding(c));
    MDB_txn *t;
    CC_TRY(rtxn_begin(c, &t));
    uint64_t all, of_q;
    cc_status st = quota_read(c, t, query, confirmed, reserved);
    if (st == CC_OK)
        st = expired_unswept(c, t, now, query, &all, &of_q);
    if (st == CC_OK)
        *reserved -= of_q < *reserved ? of_q : *reserved;
    rtxn_end(c);
    return st;
}

static cc_status lm_quota_list(coord *h, int64_t now, coord_qcount **out, size_t *n)
{
    (void)now;
    lm *c = (lm *)h;
    CC_TRY(busy_if_rebuilding(c));
    MDB_txn *t;
    CC_TRY(rtxn_begin(c, &t));
    MDB_cursor *cur;
    int rc = mdb_cursor_open(t, c->quota, &cur);
    if (rc) {
        rtxn_end(c);
        return mdb_fail(c, NULL, rc, "open cursor");
    }
    coord_qcount *list = NULL;
    size_t m = 0, cap = 0;
    cc_status st = CC_OK;
    MDB_val k, v;
    for (rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); rc == 0;
         rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
        if (k.mv_size != 4 || v.mv_size != 16) {
            st = corrupt(c, "quota record size", k.mv_size);
            break;
        }
        uint64_t conf = cc_load_u64(v.mv_data);
        if (conf == 0)
            continue;
        if (m == cap) {
            size_t nc = cap ? cap * 2 : 256;
            coord_qcount *p = realloc(list, nc * sizeof *p);
            if (!p) {
                st = cc_fail(CC_E_NOMEM, "out of memory");
                break;
            }
            list = p;
            cap = nc;
        }
        list[m].query = get_be32(k.mv_data);
        list[m++].confirmed = conf;
    }
    if (st == CC_OK && rc != MDB_NOTFOUND)
        st = mdb_fail(c, NULL, rc, "scan quota");
    mdb_cursor_close(cur);
    rtxn_end(c);
    if (st != CC_OK) {
        free(list);
        return st;
    }
    *out = list;
    *n = m;
    return CC_OK;
}

static cc_status lm_pair_seen(coord *h, int64_t now, const uint8_t key[16], int *seen)
{
    lm *c = (lm *)h;
    CC_TRY(busy_if_rebuilding(c));
    MDB_txn *t;
    CC_TRY(rtxn_begin(c, &t));
    uint8_t k[CLAIM_REF];
    k[0] = COORD_NS_PAIR;
    memcpy(k + 1, key, 16);
    MDB_val v;
    cc_status st = CC_OK;
    *seen = 0;
    int f = get(c, t, c->claims, k, CLAIM_REF, &v);
    if (f < 0) {
        st = CC_E_DB;
    } else if (f && v.mv_size == 0) {
        *seen = 1;
    } else if (f && v.mv_size == 8) {
        /* Tentative: seen while its reservation lives (a read transaction cannot sweep). */
        rrec r;
        st = res_load(c, t, cc_load_u64(v.mv_data), &r, &f);
        *seen = st == CC_OK && f && r.expires_ms > now;
    }
    rtxn_end(c);
    return st;
}

static cc_status lm_get_counts(coord *h, int64_t now, coord_counts *out)
{
    lm *c = (lm *)h;
    MDB_txn *t;
    CC_TRY(rtxn_begin(c, &t));
    counters k;
    uint64_t all = 0, of_q;
    cc_status st = counters_read(c, t, &k);
    if (st == CC_OK)
        st = expired_unswept(c, t, now, -1, &all, &of_q);
    rtxn_end(c);
    CC_TRY(st);
    memset(out, 0, sizeof *out);
    memcpy(out->units, k.units, sizeof out->units);
    out->confirmed = k.confirmed;
    out->reservations = k.reservations - (all < k.reservations ? all : k.reservations);
    memcpy(out->claims, k.claims, sizeof out->claims);
    out->queries_full = k.queries_full;
    return CC_OK;
}

/* ---- recovery ------------------------------------------------------------------------------ */

typedef struct recover_arg {
    const uint8_t (*uids)[16];
    size_t n;
    uint64_t confirmed, released;
} recover_arg;

static int uid_cmp(const void *a, const void *b)
{
    return memcmp(a, b, 16);
}

/* This worker's reservations — live, or expired but not yet swept: with one process at a time
 * nothing else has taken their places or claims since — are confirmed when their record is in
 * the shards (uid listed) and released otherwise. Then the usual sweep. */
static cc_status recover_fn(wtx *w, void *arg)
{
    recover_arg *a = arg;
    lm *c = w->c;
    a->confirmed = a->released = 0;
    uint64_t *ids = NULL;
    size_t n = 0, cap = 0;
    MDB_cursor *cur;
    int rc = mdb_cursor_open(w->t, c->res, &cur);
    if (rc)
        return mdb_fail(c, w, rc, "open cursor");
    cc_status st = CC_OK;
    MDB_val k, v;
    for (rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); rc == 0;
         rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
        rrec r;
        uint64_t id = get_be64(k.mv_data);
        if ((st = res_decode(c, id, &v, &r)) != CC_OK)
            break;
        if (strcmp(r.worker, c->head.worker) != 0)
            continue;
        if (n == cap) {
            size_t nc = cap ? cap * 2 : 64;
            uint64_t *p = realloc(ids, nc * sizeof *p);
            if (!p) {
                st = cc_fail(CC_E_NOMEM, "out of memory");
                break;
            }
            ids = p;
            cap = nc;
        }
        ids[n++] = id;
    }
    mdb_cursor_close(cur);
    if (st == CC_OK && rc != MDB_NOTFOUND && rc != 0)
        st = mdb_fail(c, w, rc, "scan reservations");
    for (size_t i = 0; st == CC_OK && i < n; i++) {
        rrec r;
        int found;
        if ((st = res_load(c, w->t, ids[i], &r, &found)) != CC_OK)
            break;
        int listed =
            (r.flags & RES_UID_SET) && a->n && bsearch(r.uid, a->uids, a->n, 16, uid_cmp) != NULL;
        /* A held reservation has no query to count for: the pipeline commits a pair only after
         * its assignment, so a listed held one is a caller's mistake; it is released. */
        int committed = listed && !(r.flags & RES_HELD);
        if (listed && !committed)
            cc_log_warn("%s: reservation %" PRIu64 " has no query but its uid is among the "
                        "committed records: released",
                        c->path, ids[i]);
        st = res_end(w, ids[i], &r, committed ? DROP_CONFIRM : DROP_RELEASE, 0);
        if (committed)
            a->confirmed++;
        else
            a->released++;
    }
    free(ids);
    CC_TRY(st);
    return sweep(w);
}

static cc_status lm_recover(coord *h, int64_t now, const uint8_t (*uids)[16], size_t n,
                            uint64_t *confirmed, uint64_t *released)
{
    lm *c = (lm *)h;
    CC_TRY(busy_if_rebuilding(c));
    recover_arg a = {uids, n, 0, 0};
    cc_status st = run_write(c, now, recover_fn, &a);
    if (st == CC_OK) {
        *confirmed = a.confirmed;
        *released = a.released;
    }
    return st;
}

/* ---- web frontier -------------------------------------------------------------------------- */

enum { FR_META = 0, FR_ENTRY = 1, FR_VISITED = 2, FR_META_LEN = 24 };

/* The key of a frontier record: 9 bytes for FR_META, 17 for the others. */
static size_t fr_key(uint8_t *k, uint64_t id, int kind, uint64_t x)
{
    put_be64(k, id);
    k[8] = (uint8_t)kind;
    if (kind == FR_META)
        return 9;
    put_be64(k + 9, x);
    return 17;
}

/* The unit's frontier head, tail and visited count; *found 0 when it has none. */
static cc_status fr_meta_read(const lm *c, MDB_txn *t, uint64_t id, int *found, uint64_t m[3])
{
    uint8_t k[17];
    MDB_val v;
    int f = get(c, t, c->frontier, k, fr_key(k, id, FR_META, 0), &v);
    if (f < 0)
        return CC_E_DB;
    *found = f;
    m[0] = m[1] = m[2] = 0;
    if (!f)
        return CC_OK;
    if (v.mv_size != FR_META_LEN)
        return corrupt(c, "malformed frontier head of unit", id);
    for (int i = 0; i < 3; i++)
        m[i] = cc_load_u64((const uint8_t *)v.mv_data + 8 * i);
    if (m[0] > m[1])
        return corrupt(c, "frontier head past its tail, unit", id);
    return CC_OK;
}

/* Deletes every frontier record of unit id. */
static cc_status frontier_drop(wtx *w, uint64_t id)
{
    lm *c = w->c;
    MDB_cursor *cur;
    int rc = mdb_cursor_open(w->t, c->frontier, &cur);
    if (rc)
        return mdb_fail(c, w, rc, "open cursor");
    uint8_t prefix[8];
    put_be64(prefix, id);
    cc_status st = CC_OK;
    for (;;) {
        MDB_val k = {8, prefix}, v;
        rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE);
        if (rc == MDB_NOTFOUND)
            break;
        if (rc) {
            st = mdb_fail(c, w, rc, "read frontier");
            break;
        }
        if (k.mv_size < 8 || memcmp(k.mv_data, prefix, 8) != 0)
            break;
        rc = mdb_cursor_del(cur, 0);
        if (rc) {
            st = mdb_fail(c, w, rc, "delete frontier record");
            break;
        }
    }
    mdb_cursor_close(cur);
    return st;
}

typedef struct fr_arg {
    uint64_t id, head;
    const char *cursor;
    const coord_frontier_entry *add;
    size_t n;
} fr_arg;

static cc_status frontier_progress_fn(wtx *w, void *arg)
{
    fr_arg *a = arg;
    lm *c = w->c;
    uint64_t m[3];
    int found;
    CC_TRY(fr_meta_read(c, w->t, a->id, &found, m));
    uint64_t head0 = m[0], tail0 = m[1], tail = tail0 + a->n;
    /* The unit first: its lease is checked before anything is written. */
    uop_arg ua = {UNIT_PROGRESS, a->id, a->cursor, 0};
    CC_TRY(unit_op_fn(w, &ua));
    CC_CHECK(a->head >= head0 && a->head <= tail, CC_E_INVAL,
             "coord_frontier_progress: head %" PRIu64 " outside %" PRIu64 "..%" PRIu64
             " (stored head .. tail after the push)",
             a->head, head0, tail);
    CC_CHECK(tail - a->head <= c->head.opts.frontier_max, CC_E_LIMIT,
             "unit %" PRIu64 ": the frontier would hold %" PRIu64
             " entries, over frontier_max %" PRIu64,
             a->id, tail - a->head, c->head.opts.frontier_max);
    uint8_t k[17];
    for (uint64_t i = head0; i < a->head && i < tail0; i++)
        CC_TRY(del(w, c->frontier, k, fr_key(k, a->id, FR_ENTRY, i), NULL, 0, 1,
                   "delete frontier entry"));
    uint8_t val[4 + COORD_FRONTIER_URL_MAX];
    for (size_t j = 0; j < a->n; j++) {
        size_t ul = strlen(a->add[j].url);
        uint64_t idx = tail0 + j;
        if (idx >= a->head) {
            cc_store_u32(val, a->add[j].depth);
            memcpy(val + 4, a->add[j].url, ul);
            CC_TRY(put(w, c->frontier, k, fr_key(k, a->id, FR_ENTRY, idx), val, 4 + ul, 0,
                       "write frontier entry"));
        }
        MDB_val kv = {fr_key(k, a->id, FR_VISITED, cc_hash64(a->add[j].url, ul)), k},
                vv = {0, (void *)""};
        int rc = mdb_put(w->t, c->frontier, &kv, &vv, MDB_NOOVERWRITE);
        if (rc == 0)
            m[2]++;
        else if (rc != MDB_KEYEXIST)
            return mdb_fail(c, w, rc, "write frontier visited set");
    }
    uint8_t mv[FR_META_LEN];
    cc_store_u64(mv, a->head);
    cc_store_u64(mv + 8, tail);
    cc_store_u64(mv + 16, m[2]);
    return put(w, c->frontier, k, fr_key(k, a->id, FR_META, 0), mv, FR_META_LEN, 0,
               "write frontier head");
}

static cc_status lm_frontier_progress(coord *h, int64_t now, uint64_t id, const char *cursor,
                                      uint64_t head, const coord_frontier_entry *add, size_t n)
{
    fr_arg a = {id, head, cursor, add, n};
    return run_write((lm *)h, now, frontier_progress_fn, &a);
}

/* Walks the records of (id, kind) in key order from x, calling fn for each; fn's nonzero
 * return stops (1 in *stopped). */
static cc_status fr_scan(lm *c, MDB_txn *t, uint64_t id, int kind, uint64_t x,
                         int (*fn)(lm *c, uint64_t id, const MDB_val *k, const MDB_val *v,
                                   void *arg, cc_status *st),
                         void *arg, int *stopped)
{
    MDB_cursor *cur;
    int rc = mdb_cursor_open(t, c->frontier, &cur);
    if (rc)
        return mdb_fail(c, NULL, rc, "open cursor");
    uint8_t kb[17];
    MDB_val k = {fr_key(kb, id, kind, x), kb}, v;
    cc_status st = CC_OK;
    for (rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE); rc == 0;
         rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
        if (k.mv_size != 17 || memcmp(k.mv_data, kb, 9) != 0)
            break;
        if (fn(c, id, &k, &v, arg, &st)) {
            *stopped = st == CC_OK;
            break;
        }
    }
    if (rc && rc != MDB_NOTFOUND && st == CC_OK)
        st = mdb_fail(c, NULL, rc, "read frontier");
    mdb_cursor_close(cur);
    return st;
}

typedef struct fr_load {
    int (*entry)(void *ctx, uint64_t index, const char *url, uint32_t depth);
    int (*visited)(void *ctx, uint64_t hash);
    void *ctx;
    char url[COORD_FRONTIER_URL_MAX];
} fr_load;

static int fr_entry_cb(lm *c, uint64_t id, const MDB_val *k, const MDB_val *v, void *arg,
                       cc_status *st)
{
    fr_load *l = arg;
    size_t ul = v->mv_size - 4;
    if (v->mv_size < 5 || ul >= COORD_FRONTIER_URL_MAX) {
        *st = corrupt(c, "malformed frontier entry of unit", id);
        return 1;
    }
    memcpy(l->url, (const uint8_t *)v->mv_data + 4, ul);
    l->url[ul] = '\0';
    return l->entry(l->ctx, get_be64((const uint8_t *)k->mv_data + 9), l->url,
                    cc_load_u32(v->mv_data));
}

static int fr_visited_cb(lm *c, uint64_t id, const MDB_val *k, const MDB_val *v, void *arg,
                         cc_status *st)
{
    (void)c;
    (void)id;
    (void)v;
    (void)st;
    fr_load *l = arg;
    return l->visited(l->ctx, get_be64((const uint8_t *)k->mv_data + 9));
}

static cc_status lm_frontier_load(coord *h, int64_t now, uint64_t id, coord_frontier_info *info,
                                  int (*entry)(void *ctx, uint64_t index, const char *url,
                                               uint32_t depth),
                                  int (*visited)(void *ctx, uint64_t hash), void *ctx)
{
    (void)now;
    lm *c = (lm *)h;
    fr_load *l = malloc(sizeof *l);
    CC_CHECK(l, CC_E_NOMEM, "out of memory");
    l->entry = entry;
    l->visited = visited;
    l->ctx = ctx;
    MDB_txn *t;
    cc_status st = rtxn_begin(c, &t);
    if (st != CC_OK) {
        free(l);
        return st;
    }
    uint64_t m[3];
    int found, stopped = 0;
    st = fr_meta_read(c, t, id, &found, m);
    if (st == CC_OK && !found)
        st = cc_fail(CC_E_NOTFOUND, "unit %" PRIu64 " has no frontier", id);
    if (st == CC_OK) {
        info->head = m[0];
        info->tail = m[1];
        info->visited = m[2];
    }
    if (st == CC_OK && entry)
        st = fr_scan(c, t, id, FR_ENTRY, m[0], fr_entry_cb, l, &stopped);
    if (st == CC_OK && visited && !stopped)
        st = fr_scan(c, t, id, FR_VISITED, 0, fr_visited_cb, l, &stopped);
    rtxn_end(c);
    free(l);
    return st;
}

/* ---- rebuild ------------------------------------------------------------------------------- */

static cc_status rebuild_begin_fn(wtx *w, void *arg)
{
    (void)arg;
    lm *c = w->c;
    MDB_dbi drop[] = {c->quota, c->res, c->expiry, c->claims, c->near, c->near_tent, c->frontier};
    for (size_t i = 0; i < sizeof drop / sizeof drop[0]; i++) {
        int rc = mdb_drop(w->t, drop[i], 0);
        if (rc)
            return mdb_fail(c, w, rc, "empty a database for the rebuild");
    }
    counters k = w->k;
    memset(&w->k, 0, sizeof w->k);
    memcpy(w->k.units, k.units, sizeof k.units);
    w->k_dirty = 1;
    return put(w, c->meta, "rebuilding", 10, "1", 1, 0, "write meta");
}

static cc_status rebuild_flush_fn(wtx *w, void *arg)
{
    (void)arg;
    lm *c = w->c;
    static const uint8_t zero[16];
    for (size_t i = 0; i < c->rb_n; i++) {
        const rb_entry *e = &c->rb[i];
        CC_TRY(quota_confirm_one(w, e->query, 0));
        for (int ns = COORD_NS_PAIR; ns <= COORD_NS_CONTENT; ns++) {
            const uint8_t *key = ns == COORD_NS_PAIR ? e->uid : e->content;
            if (ns == COORD_NS_CONTENT && memcmp(key, zero, 16) == 0)
                continue;
            uint8_t k[CLAIM_REF];
            k[0] = (uint8_t)ns;
            memcpy(k + 1, key, 16);
            MDB_val kv = {CLAIM_REF, k}, vv = {0, (void *)""};
            int rc = mdb_put(w->t, c->claims, &kv, &vv, MDB_NOOVERWRITE);
            if (rc == 0)
                w->k.claims[ns]++;
            else if (rc != MDB_KEYEXIST)
                return mdb_fail(c, w, rc, "write claim");
        }
        if (e->phash) {
            /* The same hash twice is one claim: look for it in band 0 first. */
            uint8_t key[10], v[8];
            MDB_val kv = {near_key(c, 0, e->phash, key), key}, vv = {8, v};
            put_be64(v, e->phash);
            MDB_cursor *cur;
            int rc = mdb_cursor_open(w->t, c->near, &cur);
            if (rc)
                return mdb_fail(c, w, rc, "open cursor");
            rc = mdb_cursor_get(cur, &kv, &vv, MDB_GET_BOTH);
            mdb_cursor_close(cur);
            if (rc == MDB_NOTFOUND) {
                CC_TRY(near_entry(w, e->phash, 0, 1));
                w->k.claims[COORD_NS_NEAR]++;
            } else if (rc) {
                return mdb_fail(c, w, rc, "read near claims");
            }
        }
    }
    w->k_dirty = 1;
    return CC_OK;
}

static cc_status rebuild_flush(lm *c, int64_t now)
{
    if (c->rb_n == 0)
        return CC_OK;
    cc_status st = run_write(c, now, rebuild_flush_fn, NULL);
    c->rb_n = 0;
    if (st != CC_OK) {
        c->rebuild_active = 0; /* entries were lost: the rebuild must begin again */
        free(c->rb);
        c->rb = NULL;
    }
    return st;
}

static cc_status lm_rebuild_begin(coord *h, int64_t now)
{
    lm *c = (lm *)h;
    if (!c->rb) {
        c->rb = malloc(REBUILD_CHUNK * sizeof *c->rb);
        CC_CHECK(c->rb, CC_E_NOMEM, "out of memory (rebuild buffer)");
    }
    c->rb_n = 0;
    CC_TRY(run_write(c, now, rebuild_begin_fn, NULL));
    c->rebuilding = c->rebuild_active = 1;
    return CC_OK;
}

static cc_status lm_rebuild_add(coord *h, int64_t now, uint32_t query, const uint8_t uid[16],
                                const uint8_t content[16], uint64_t phash)
{
    lm *c = (lm *)h;
    CC_CHECK(c->rebuild_active, CC_E_INVAL,
             "coord_rebuild_add without coord_rebuild_begin (or after a failed flush)");
    rb_entry *e = &c->rb[c->rb_n++];
    e->query = query;
    memcpy(e->uid, uid, 16);
    memcpy(e->content, content, 16);
    e->phash = phash;
    return c->rb_n == REBUILD_CHUNK ? rebuild_flush(c, now) : CC_OK;
}

static cc_status rebuild_end_fn(wtx *w, void *arg)
{
    (void)arg;
    return del(w, w->c->meta, "rebuilding", 10, NULL, 0, 1, "write meta");
}

static cc_status lm_rebuild_end(coord *h, int64_t now)
{
    lm *c = (lm *)h;
    CC_CHECK(c->rebuild_active, CC_E_INVAL, "coord_rebuild_end without coord_rebuild_begin");
    CC_TRY(rebuild_flush(c, now));
    CC_TRY(run_write(c, now, rebuild_end_fn, NULL));
    c->rebuilding = c->rebuild_active = 0;
    free(c->rb);
    c->rb = NULL;
    return CC_OK;
}

/* ---- open, sync, close --------------------------------------------------------------------- */

static cc_status lm_sync(coord *h)
{
    lm *c = (lm *)h;
    int rc = mdb_env_sync(c->env, 1);
    return rc ? cc_fail(CC_E_IO, "%s: sync: %s", c->path, mdb_strerror(rc)) : CC_OK;
}

static void lm_close(coord *h)
{
    lm *c = (lm *)h;
    rtxn_drop(c);
    if (c->env) {
        if (c->rebuild_active)
            cc_log_warn("%s: closed during a rebuild: the state stays marked as being rebuilt",
                        c->path);
        int rc = mdb_env_sync(c->env, 1);
        if (rc)
            cc_log_error("%s: sync at close: %s", c->path, mdb_strerror(rc));
        mdb_env_close(c->env);
    }
    if (c->lock_fd >= 0)
        close(c->lock_fd); /* releases the flock */
    free(c->rb);
    coord_head_destroy(&c->head);
    free(c);
}

static cc_status check_meta_u64(const lm *c, MDB_txn *t, const char *name, uint64_t want)
{
    uint64_t have;
    CC_TRY(meta_get_u64(c, t, name, &have));
    CC_CHECK(have == want, CC_E_INVAL,
             "%s: the coordinator state was made with %s %" PRIu64 ", not %" PRIu64
             " (use the same value, or start a new state)",
             c->path, name, have, want);
    return CC_OK;
}

static cc_status open_fn(wtx *w, void *arg)
{
    (void)arg;
    lm *c = w->c;
    struct {
        const char *name;
        unsigned flags;
        MDB_dbi *dbi;
    } dbs[] = {
        {"meta", 0, &c->meta},
        {"units", 0, &c->units},
        {"unit_keys", 0, &c->unit_keys},
        {"sched", 0, &c->sched},
        {"quota", 0, &c->quota},
        {"res", 0, &c->res},
        {"expiry", 0, &c->expiry},
        {"claims", 0, &c->claims},
        {"near", MDB_DUPSORT | MDB_DUPFIXED, &c->near},
        {"near_tent", MDB_DUPSORT | MDB_DUPFIXED, &c->near_tent},
        {"confirmed", 0, &c->confirmed},
        {"frontier", 0, &c->frontier},
    };
    MDB_dbi tmp[sizeof dbs / sizeof dbs[0]];
    for (size_t i = 0; i < sizeof dbs / sizeof dbs[0]; i++) {
        int rc = mdb_dbi_open(w->t, dbs[i].name, dbs[i].flags | MDB_CREATE, &tmp[i]);
        if (rc)
            return mdb_fail(c, w, rc, dbs[i].name);
    }
    c->meta = tmp[0];
    MDB_val v;
    int f = get(c, w->t, c->meta, "format", 6, &v);
    if (f < 0)
        return CC_E_DB;
    char fmt[32];
    snprintf(fmt, sizeof fmt, FORMAT_PREFIX "%d", FORMAT_VERSION);
    if (f == 0) {
        uint8_t zero[8 * N_COUNTS] = {0};
        CC_TRY(put(w, c->meta, "format", 6, fmt, strlen(fmt), 0, "write meta"));
        CC_TRY(meta_put_u64(w, "cap", c->head.opts.cap));
        CC_TRY(meta_put_u64(w, "near_distance", (uint64_t)c->head.opts.near_distance));
        CC_TRY(meta_put_u64(w, "next_unit", 1));
        CC_TRY(meta_put_u64(w, "next_res", 1));
        CC_TRY(put(w, c->meta, "counts", 6, zero, sizeof zero, 0, "write meta"));
    } else {
        size_t pl = strlen(FORMAT_PREFIX);
        if (v.mv_size < pl || memcmp(v.mv_data, FORMAT_PREFIX, pl) != 0)
            return cc_fail(CC_E_FORMAT, "%s: not a clipcrawl coordinator state", c->path);
        if (v.mv_size != strlen(fmt) || memcmp(v.mv_data, fmt, v.mv_size) != 0)
            return cc_fail(CC_E_VERSION,
                           "%s: coordinator state format '%.*s'; this build reads '%s' (use the "
                           "clipcrawl that made it, or start a new state and rebuild it from "
                           "the shards)",
                           c->path, (int)(v.mv_size < 40 ? v.mv_size : 40), (const char *)v.mv_data,
                           fmt);
        CC_TRY(check_meta_u64(c, w->t, "cap", c->head.opts.cap));
        CC_TRY(check_meta_u64(c, w->t, "near_distance", (uint64_t)c->head.opts.near_distance));
        counters k;
        CC_TRY(counters_read(c, w->t, &k));
    }
    f = get(c, w->t, c->meta, "rebuilding", 10, &v);
    if (f < 0)
        return CC_E_DB;
    c->rebuilding = f;
    /* Publish the handles only now (a retried transaction opens them again). */
    for (size_t i = 0; i < sizeof dbs / sizeof dbs[0]; i++)
        *dbs[i].dbi = tmp[i];
    return CC_OK;
}

static const coord_vtable lmdb_vt = {
    .name = "lmdb",
    .close = lm_close,
    .sync = lm_sync,
    .units_add = lm_units_add,
    .unit_claim = lm_unit_claim,
    .unit_progress = lm_unit_progress,
    .unit_done = lm_unit_done,
    .unit_fail = lm_unit_fail,
    .unit_get = lm_unit_get,
    .units_requeue_dead = lm_units_requeue_dead,
    .get_counts = lm_get_counts,
    .quota_reserve = lm_quota_reserve,
    .quota_hold = lm_quota_hold,
    .quota_assign = lm_quota_assign,
    .quota_set_uid = lm_quota_set_uid,
    .quota_confirm = lm_quota_confirm,
    .quota_release = lm_quota_release,
    .quota_get = lm_quota_get,
    .quota_list = lm_quota_list,
    .claim = lm_claim,
    .pair_seen = lm_pair_seen,
    .near_claim = lm_near_claim,
    .recover = lm_recover,
    .frontier_progress = lm_frontier_progress,
    .frontier_load = lm_frontier_load,
    .rebuild_begin = lm_rebuild_begin,
    .rebuild_add = lm_rebuild_add,
    .rebuild_end = lm_rebuild_end,
};

cc_status coord_lmdb_open(const char *path, const coord_opts *o, coord **out)
{
    lm *c = calloc(1, sizeof *c);
    CC_CHECK(c, CC_E_NOMEM, "out of memory");
    c->lock_fd = -1;
    cc_status st = coord_head_init(&c->head, &lmdb_vt, o);
    if (st != CC_OK) {
        free(c);
        return st;
    }
    int n = snprintf(c->path, sizeof c->path, "%s", path);
    if (n < 0 || (size_t)n >= sizeof c->path - 32) {
        st = cc_fail(CC_E_LIMIT, "coordinator path too long: %s", path);
        goto fail;
    }
    /* Bands of the near index: near_distance + 1 of them, widths as equal as possible (the
     * first 64 mod nbands one bit wider): two hashes within the distance agree on one band. */
    c->nbands = o->near_distance + 1;
    for (int b = 0, start = 0; b < c->nbands; b++) {
        int wd = 64 / c->nbands + (b < 64 % c->nbands);
        c->band_start[b] = (uint8_t)start;
        c->band_width[b] = (uint8_t)wd;
        start += wd;
    }
    CC_TRY_GOTO(st, cc_mkdir(c->path), fail);
    char lock[PATH_CAP];
    CC_TRY_GOTO(st, cc_path_join(lock, sizeof lock, c->path, "coord.lock"), fail);
    /* flock locks belong to the open file description: a second open() of the lock file, in
     * this process or another, conflicts — which also keeps LMDB from being opened twice in one
     * process (its POSIX locks would not tell the two apart). */
    c->lock_fd = open(lock, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (c->lock_fd < 0) {
        st = cc_fail(CC_E_IO, "%s: %s", lock, strerror(errno));
        goto fail;
    }
    if (flock(c->lock_fd, LOCK_EX | LOCK_NB) != 0) {
        st = errno == EWOULDBLOCK
                 ? cc_fail(CC_E_BUSY,
                           "%s: the coordinator state is in use (lock %s is held by another "
                           "crawl, or by another handle in this process)",
                           c->path, lock)
                 : cc_fail(CC_E_IO, "%s: lock: %s", lock, strerror(errno));
        goto fail;
    }
    int rc = mdb_env_create(&c->env);
    if (rc) {
        c->env = NULL;
        st = mdb_fail(c, NULL, rc, "mdb_env_create");
        goto fail;
    }
    if ((rc = mdb_env_set_maxdbs(c->env, 16)) != 0 ||
        (rc = mdb_env_set_mapsize(c->env, coord_lmdb_initial_mapsize)) != 0 ||
        (rc = mdb_env_open(c->env, c->path, MDB_NOSYNC | MDB_NOTLS, 0644)) != 0) {
        st = mdb_fail(c, NULL, rc, "open environment");
        goto fail;
    }
    /* Reader slots left by a crashed process would keep old pages from reuse; we hold the
     * lock, so every slot is stale. */
    int dead = 0;
    mdb_reader_check(c->env, &dead);
    MDB_envinfo info;
    mdb_env_info(c->env, &info);
    c->mapsize = info.me_mapsize;
    CC_TRY_GOTO(st, run_write(c, coord_now_ms(), open_fn, NULL), fail);
    if (c->rebuilding)
        cc_log_warn("%s: an earlier rebuild of the coordinator state was cut short; quota and "
                    "claims are unusable until it is run again",
                    c->path);
    *out = &c->head;
    return CC_OK;
fail:
    lm_close(&c->head);
    return st;
}
