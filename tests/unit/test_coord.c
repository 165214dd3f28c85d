/* tests/unit/test_coord.c — the coordinator's LMDB backend: opening and locking, work units and
 * leases, quota reservations, dedupe and near-duplicate claims, recovery, rebuild; counts checked
 * against a recount of the raw LMDB databases (docs/COORD.md's layout) and a randomized
 * comparison with an in-memory model. Time is the test clock (CLIPCRAWL_COORD_FAKE_NOW_MS).
 * CLIPCRAWL_COORD_BENCH=1 adds a measurement at 100K pairs (figures printed, never asserted). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <inttypes.h>
#include <lmdb.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common/buf.h"
#include "common/hash.h"
#include "common/log.h"
#include "common/status.h"
#include "crawler/coord.h"
#include "crawler/coord_impl.h"
#include "filters/phash.h"

#define T0 1700000000000LL

static char root[] = "/tmp/cc-test-coord-XXXXXX";
static int64_t now_v;

static void set_now(int64_t ms)
{
    char b[32];
    snprintf(b, sizeof b, "%" PRId64, ms);
    assert_int_equal(setenv(COORD_FAKE_NOW_ENV, b, 1), 0);
    now_v = ms;
}

static void advance(double seconds)
{
    set_now(now_v + (int64_t)(seconds * 1000));
}

/* A fresh folder path under the test root (not created: coord_open makes it). */
static void newdir(char *out, size_t cap, const char *name)
{
    static int seq;
    int n = snprintf(out, cap, "%s/%s-%d", root, name, seq++);
    assert_true(n > 0 && (size_t)n < cap);
}

static coord_opts opts_of(uint64_t cap, const char *worker)
{
    coord_opts o;
    coord_opts_default(&o);
    o.cap = cap;
    o.worker = worker;
    o.lease_seconds = 60;
    o.reservation_seconds = 100;
    o.max_deliveries = 3;
    o.near_distance = 4;
    return o;
}

static cc_status open_st(const char *dir, const coord_opts *o, coord **c)
{
    char spec[8300];
    snprintf(spec, sizeof spec, "lmdb:%s", dir);
    return coord_open(spec, o, c);
}

static coord *open_ok(const char *dir, const coord_opts *o)
{
    coord *c = NULL;
    cc_status st = open_st(dir, o, &c);
    if (st != CC_OK)
        fail_msg("coord_open %s: %s (%s)", dir, cc_status_str(st), cc_errmsg());
    assert_non_null(c);
    assert_string_equal(coord_backend(c), "lmdb");
    return c;
}

static void key16(uint8_t k[16], uint64_t a, uint64_t b)
{
    for (int i = 0; i < 8; i++) {
        k[i] = (uint8_t)(a >> (8 * i));
        k[8 + i] = (uint8_t)(b >> (8 * i));
    }
}

static uint64_t reserve1(coord *c, uint32_t q)
{
    uint64_t r = 0;
    uint32_t picked = 99;
    assert_int_equal(coord_quota_reserve(c, &q, 1, &picked, &r), CC_OK);
    assert_int_equal(picked, q);
    assert_true(r != 0);
    return r;
}

/* ---- raw recount: the documented layout read with LMDB directly ---------------------------- */

static uint64_t be64(const void *p)
{
    const uint8_t *b = p;
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v = v << 8 | b[i];
    return v;
}

static uint64_t le64(const void *p)
{
    const uint8_t *b = p;
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--)
        v = v << 8 | b[i];
    return v;
}

typedef struct raw {
    MDB_env *env;
    MDB_txn *t;
} raw;

static void raw_open(raw *r, const char *dir, int write)
{
    assert_int_equal(mdb_env_create(&r->env), 0);
    assert_int_equal(mdb_env_set_maxdbs(r->env, 16), 0);
    assert_int_equal(mdb_env_open(r->env, dir, write ? 0 : MDB_RDONLY, 0644), 0);
    assert_int_equal(mdb_txn_begin(r->env, NULL, write ? 0 : MDB_RDONLY, &r->t), 0);
}

static MDB_dbi raw_dbi(raw *r, const char *name)
{
    MDB_dbi d;
    unsigned flags = strncmp(name, "near", 4) == 0 ? MDB_DUPSORT | MDB_DUPFIXED : 0;
    int rc = mdb_dbi_open(r->t, name, flags, &d);
    if (rc)
        fail_msg("open %s: %s", name, mdb_strerror(rc));
    return d;
}

static void raw_close(raw *r, int commit)
{
    if (commit)
        assert_int_equal(mdb_txn_commit(r->t), 0);
    else
        mdb_txn_abort(r->t);
    mdb_env_close(r->env);
}

static int raw_has(raw *r, MDB_dbi d, const void *k, size_t kn)
{
    MDB_val key = {kn, (void *)k}, v;
    return mdb_get(r->t, d, &key, &v) == 0;
}

/* Counts recomputed from every record, and the cross-database invariants checked on the way. */
static void raw_counts(const char *dir, uint64_t cap, int64_t now, coord_counts *out)
{
    raw r;
    raw_open(&r, dir, 0);
    memset(out, 0, sizeof *out);
    MDB_dbi units = raw_dbi(&r, "units"), sched = raw_dbi(&r, "sched"),
            quota = raw_dbi(&r, "quota"), res = raw_dbi(&r, "res"), expiry = raw_dbi(&r, "expiry"),
            claims = raw_dbi(&r, "claims"), near = raw_dbi(&r, "near"),
            keys = raw_dbi(&r, "unit_keys");
    MDB_cursor *cur;
    MDB_val k, v;
    /* units: states; every pending or leased unit has its sched entry */
    assert_int_equal(mdb_cursor_open(r.t, units, &cur), 0);
    uint64_t scheduled = 0;
    while (mdb_cursor_get(cur, &k, &v, MDB_NEXT) == 0) {
        const uint8_t *p = v.mv_data;
        assert_true(p[0] <= COORD_UNIT_DEAD);
        out->units[p[0]]++;
        if (p[0] == COORD_UNIT_PENDING || p[0] == COORD_UNIT_LEASED) {
            uint8_t sk[16];
            memcpy(sk, p + 8, 8);
            for (int i = 0; i < 8; i++) /* at_ms LE in the record, BE in the key */
                sk[i] = p[8 + 7 - i];
            memcpy(sk + 8, k.mv_data, 8);
            assert_true(raw_has(&r, sched, sk, 16));
            scheduled++;
        }
        size_t kl = (size_t)(p[2] | p[3] << 8);
        assert_true(raw_has(&r, keys, p + 20, kl));
    }
    mdb_cursor_close(cur);
    MDB_stat ms;
    assert_int_equal(mdb_stat(r.t, sched, &ms), 0);
    assert_int_equal(ms.ms_entries, scheduled);
    /* quota */
    uint64_t reserved_sum = 0;
    assert_int_equal(mdb_cursor_open(r.t, quota, &cur), 0);
    while (mdb_cursor_get(cur, &k, &v, MDB_NEXT) == 0) {
        assert_int_equal(v.mv_size, 16);
        uint64_t conf = le64(v.mv_data), resv = le64((uint8_t *)v.mv_data + 8);
        out->confirmed += conf;
        out->queries_full += conf >= cap;
        reserved_sum += resv;
    }
    mdb_cursor_close(cur);
    /* reservations: live ones counted; each has its expiry entry, whose value is the query (or
     * empty for a held one: flag bit 1, query 0); reserved counts match the assigned ones */
    uint64_t n_res = 0, n_assigned = 0;
    assert_int_equal(mdb_cursor_open(r.t, res, &cur), 0);
    while (mdb_cursor_get(cur, &k, &v, MDB_NEXT) == 0) {
        const uint8_t *p = v.mv_data;
        int64_t exp = (int64_t)le64(p + 4);
        int held = (p[12] & 2) != 0;
        n_res++;
        n_assigned += !held;
        out->reservations += exp > now;
        uint8_t ek[16];
        for (int i = 0; i < 8; i++)
            ek[i] = (uint8_t)((uint64_t)exp >> (56 - 8 * i));
        memcpy(ek + 8, k.mv_data, 8);
        MDB_val ekey = {16, ek}, ev;
        assert_int_equal(mdb_get(r.t, expiry, &ekey, &ev), 0);
        if (held) {
            assert_int_equal(ev.mv_size, 0);
            assert_int_equal(p[0] | p[1] | p[2] | p[3], 0);
        } else {
            assert_int_equal(ev.mv_size, 4);
            assert_memory_equal(ev.mv_data, p, 4); /* the query, u32 LE in both */
        }
    }
    mdb_cursor_close(cur);
    assert_int_equal(reserved_sum, n_assigned);
    assert_int_equal(mdb_stat(r.t, expiry, &ms), 0);
    assert_int_equal(ms.ms_entries, n_res);
    /* claims: empty value = permanent; a tentative one names an existing reservation */
    assert_int_equal(mdb_cursor_open(r.t, claims, &cur), 0);
    while (mdb_cursor_get(cur, &k, &v, MDB_NEXT) == 0) {
        assert_int_equal(k.mv_size, 17);
        int ns = ((uint8_t *)k.mv_data)[0];
        assert_true(ns == COORD_NS_PAIR || ns == COORD_NS_CONTENT);
        if (v.mv_size == 0) {
            out->claims[ns]++;
        } else {
            assert_int_equal(v.mv_size, 8);
            uint8_t rk[8];
            for (int i = 0; i < 8; i++)
                rk[i] = ((uint8_t *)v.mv_data)[7 - i];
            assert_true(raw_has(&r, res, rk, 8));
        }
    }
    mdb_cursor_close(cur);
    /* near (permanent, 8-byte values) and near_tent (16-byte values naming a live-or-expired
     * reservation): every band holds the same entries */
    uint64_t per_band[17] = {0}, tentative[17] = {0};
    MDB_dbi near_tent = raw_dbi(&r, "near_tent");
    for (int tent = 0; tent < 2; tent++) {
        assert_int_equal(mdb_cursor_open(r.t, tent ? near_tent : near, &cur), 0);
        while (mdb_cursor_get(cur, &k, &v, MDB_NEXT) == 0) {
            int b = ((uint8_t *)k.mv_data)[0];
            assert_true(b < 17);
            assert_int_equal(v.mv_size, tent ? 16 : 8);
            if (!tent) {
                per_band[b]++;
                continue;
            }
            tentative[b]++;
            assert_true(be64((uint8_t *)v.mv_data + 8) != 0);
            assert_true(raw_has(&r, res, (uint8_t *)v.mv_data + 8, 8));
        }
        mdb_cursor_close(cur);
    }
    for (int b = 1; b < 17; b++) {
        if (per_band[b] || tentative[b]) {
            assert_int_equal(per_band[b], per_band[0]);
            assert_int_equal(tentative[b], tentative[0]);
        }
    }
    out->claims[COORD_NS_NEAR] = per_band[0];
    raw_close(&r, 0);
}

static void assert_counts_eq(const coord_counts *got, const coord_counts *want, const char *where)
{
    for (int i = 0; i < 4; i++)
        if (got->units[i] != want->units[i])
            fail_msg("%s: units[%d] %" PRIu64 " != %" PRIu64, where, i, got->units[i],
                     want->units[i]);
    for (int i = 0; i < 3; i++)
        if (got->claims[i] != want->claims[i])
            fail_msg("%s: claims[%d] %" PRIu64 " != %" PRIu64, where, i, got->claims[i],
                     want->claims[i]);
    if (got->confirmed != want->confirmed || got->reservations != want->reservations ||
        got->queries_full != want->queries_full)
        fail_msg("%s: confirmed %" PRIu64 "/%" PRIu64 " reservations %" PRIu64 "/%" PRIu64
                 " full %" PRIu64 "/%" PRIu64,
                 where, got->confirmed, want->confirmed, got->reservations, want->reservations,
                 got->queries_full, want->queries_full);
}

/* coord_get_counts against the raw recount (closes and reopens the handle: the same process
 * must not hold the environment twice). */
static void check_counts(coord **c, const char *dir, const coord_opts *o, const char *where)
{
    coord_counts got, want;
    assert_int_equal(coord_get_counts(*c, &got), CC_OK);
    coord_close(*c);
    raw_counts(dir, o->cap, now_v, &want);
    assert_counts_eq(&got, &want, where);
    *c = open_ok(dir, o);
    coord_counts again;
    assert_int_equal(coord_get_counts(*c, &again), CC_OK);
    assert_counts_eq(&again, &want, where);
}

/* ---- opening ------------------------------------------------------------------------------- */

static void test_open_reopen(void **state)
{
    (void)state;
    set_now(T0);
    char dir[4096];
    newdir(dir, sizeof dir, "open");
    coord_opts o = opts_of(10, "w1");
    coord *c = open_ok(dir, &o);
    const char *keys[] = {"query:1", "query:2"};
    size_t added;
    assert_int_equal(coord_units_add(c, keys, 2, &added), CC_OK);
    assert_int_equal(added, 2);
    uint64_t r = reserve1(c, 5);
    assert_int_equal(coord_quota_confirm(c, r), CC_OK);
    assert_int_equal(coord_sync(c), CC_OK);
    coord_close(c);
    c = open_ok(dir, &o);
    coord_unit u;
    assert_int_equal(coord_unit_get(c, "query:2", &u), CC_OK);
    assert_int_equal(u.id, 2);
    assert_int_equal(u.state, COORD_UNIT_PENDING);
    uint64_t conf, resv;
    assert_int_equal(coord_quota_get(c, 5, &conf, &resv), CC_OK);
    assert_int_equal(conf, 1);
    assert_int_equal(resv, 0);
    assert_int_equal(coord_quota_confirm(c, r), CC_OK); /* remembered across reopen */
    /* reservation ids keep growing across reopen */
    uint64_t r2 = reserve1(c, 5);
    assert_true(r2 > r);
    check_counts(&c, dir, &o, "reopen");
    coord_close(c);
    coord_close(NULL);
}

static void test_open_errors(void **state)
{
    (void)state;
    set_now(T0);
    char dir[4096];
    newdir(dir, sizeof dir, "mismatch");
    coord_opts o = opts_of(10, "w1");
    coord *c = open_ok(dir, &o);
    coord_close(c);
    coord_opts bad = o;
    bad.cap = 11;
    c = (coord *)1;
    assert_int_equal(open_st(dir, &bad, &c), CC_E_INVAL);
    assert_null(c);
    assert_non_null(strstr(cc_errmsg(), "cap 10, not 11"));
    bad = o;
    bad.near_distance = 3;
    assert_int_equal(open_st(dir, &bad, &c), CC_E_INVAL);
    assert_non_null(strstr(cc_errmsg(), "near_distance 4, not 3"));
    /* bad options and specs */
    bad = o;
    bad.near_distance = 17;
    assert_int_equal(open_st(dir, &bad, &c), CC_E_INVAL);
    bad = o;
    bad.lease_seconds = 0;
    assert_int_equal(open_st(dir, &bad, &c), CC_E_INVAL);
    bad = o;
    bad.worker = "";
    assert_int_equal(open_st(dir, &bad, &c), CC_E_INVAL);
    assert_int_equal(coord_open("lmdb:", &o, &c), CC_E_INVAL);
    assert_int_equal(coord_open("sqlite:/x", &o, &c), CC_E_INVAL);
    assert_int_equal(coord_open("redis://127.0.0.1:6379/0", &o, &c), CC_E_UNSUPPORTED);
    assert_null(c);
    /* an unknown format version, then not a coordinator state at all */
    raw r;
    raw_open(&r, dir, 1);
    MDB_dbi meta = raw_dbi(&r, "meta");
    MDB_val k = {6, "format"}, v = {17, "clipcrawl-coord 2"};
    assert_int_equal(mdb_put(r.t, meta, &k, &v, 0), 0);
    raw_close(&r, 1);
    assert_int_equal(open_st(dir, &o, &c), CC_E_VERSION);
    assert_non_null(strstr(cc_errmsg(), "clipcrawl-coord 2"));
    raw_open(&r, dir, 1);
    meta = raw_dbi(&r, "meta");
    v = (MDB_val){8, "shard 1x"};
    assert_int_equal(mdb_put(r.t, meta, &k, &v, 0), 0);
    raw_close(&r, 1);
    assert_int_equal(open_st(dir, &o, &c), CC_E_FORMAT);
    /* the path is a file */
    char file[4200];
    snprintf(file, sizeof file, "%s/coord.lock", dir);
    assert_int_equal(open_st(file, &o, &c), CC_E_IO);
}

static void test_busy(void **state)
{
    (void)state;
    set_now(T0);
    char dir[4096];
    newdir(dir, sizeof dir, "busy");
    coord_opts o = opts_of(10, "w1");
    coord *c = open_ok(dir, &o);
    /* Same process, second handle: flock on a second open file description conflicts. */
    coord *c2 = NULL;
    assert_int_equal(open_st(dir, &o, &c2), CC_E_BUSY);
    assert_null(c2);
    assert_non_null(strstr(cc_errmsg(), dir));
    assert_non_null(strstr(cc_errmsg(), "coord.lock"));
    /* Another process. */
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        coord *cc = NULL;
        cc_status st = open_st(dir, &o, &cc);
        _exit(st == CC_E_BUSY ? 0 : 1);
    }
    int ws;
    assert_int_equal(waitpid(pid, &ws, 0), pid);
    assert_true(WIFEXITED(ws));
    assert_int_equal(WEXITSTATUS(ws), 0);
    /* The first handle still works, and closing it frees the state. */
    uint64_t r = reserve1(c, 1);
    assert_int_equal(coord_quota_confirm(c, r), CC_OK);
    coord_close(c);
    c = open_ok(dir, &o);
    coord_close(c);
}

/* ---- units --------------------------------------------------------------------------------- */

static void test_units_basic(void **state)
{
    (void)state;
    set_now(T0);
    char dir[4096];
    newdir(dir, sizeof dir, "units");
    coord_opts o = opts_of(10, "A");
    coord *c = open_ok(dir, &o);
    const char *k1[] = {"q:1", "q:2", "q:1", "q:3"};
    size_t added = 99;
    assert_int_equal(coord_units_add(c, k1, 4, &added), CC_OK);
    assert_int_equal(added, 3);
    const char *k2[] = {"q:3", "q:4"};
    assert_int_equal(coord_units_add(c, k2, 2, &added), CC_OK);
    assert_int_equal(added, 1);
    assert_int_equal(coord_units_add(c, k2, 2, &added), CC_OK);
    assert_int_equal(added, 0);
    const char *bad[] = {"q:5", ""};
    assert_int_equal(coord_units_add(c, bad, 2, &added), CC_E_INVAL);
    coord_unit u;
    assert_int_equal(coord_unit_get(c, "q:5", &u), CC_E_NOTFOUND); /* nothing of the batch */
    check_counts(&c, dir, &o, "add");
    /* claim order = order of addition */
    for (uint64_t id = 1; id <= 4; id++) {
        assert_int_equal(coord_unit_claim(c, &u), CC_OK);
        assert_int_equal(u.id, id);
        assert_int_equal(u.state, COORD_UNIT_LEASED);
        assert_int_equal(u.deliveries, 1);
        assert_true(u.lease_until == (double)(now_v + 60000) / 1000.0);
    }
    assert_int_equal(coord_unit_claim(c, &u), CC_E_NOTFOUND);
    check_counts(&c, dir, &o, "claimed");
    /* progress renews; done ends */
    advance(30);
    assert_int_equal(coord_unit_progress(c, 1, "page=2"), CC_OK);
    assert_int_equal(coord_unit_done(c, 2), CC_OK);
    assert_int_equal(coord_unit_done(c, 2), CC_E_EXISTS); /* done, not leased */
    assert_int_equal(coord_unit_progress(c, 99, "x"), CC_E_NOTFOUND);
    /* fail with a retry: pending again only after the retry time */
    assert_int_equal(coord_unit_fail(c, 3, "HTTP 503", 20), CC_OK);
    assert_int_equal(coord_unit_get(c, "q:3", &u), CC_OK);
    assert_int_equal(u.state, COORD_UNIT_PENDING);
    assert_string_equal(u.error, "HTTP 503");
    advance(19);
    assert_int_equal(coord_unit_claim(c, &u), CC_E_NOTFOUND);
    advance(1);
    assert_int_equal(coord_unit_claim(c, &u), CC_OK);
    assert_int_equal(u.id, 3);
    assert_int_equal(u.deliveries, 2);
    check_counts(&c, dir, &o, "fail");
    /* leases: unit 4 was leased at T0 for 60 s, unit 1 renewed at T0+30 → expires T0+90 */
    advance(61 - 50); /* now T0+61 */
    assert_int_equal(coord_unit_progress(c, 4, "late"), CC_E_EXISTS); /* expired, unclaimed */
    assert_non_null(strstr(cc_errmsg(), "expired"));
    assert_int_equal(coord_unit_claim(c, &u), CC_OK);
    assert_int_equal(u.id, 4);
    assert_int_equal(u.deliveries, 2);
    assert_int_equal(coord_unit_claim(c, &u), CC_E_NOTFOUND); /* unit 1's lease still runs */
    advance(30);
    assert_int_equal(coord_unit_claim(c, &u), CC_OK);
    assert_int_equal(u.id, 1);
    assert_string_equal(u.cursor, "page=2"); /* the cursor is kept */
    assert_int_equal(u.deliveries, 2);
    check_counts(&c, dir, &o, "lease");
    /* bad arguments */
    char big[COORD_CURSOR_MAX + 1];
    memset(big, 'x', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    assert_int_equal(coord_unit_progress(c, 1, big), CC_E_INVAL);
    assert_int_equal(coord_unit_fail(c, 1, "x", -1), CC_E_INVAL);
    /* a long error is cut at the limit on a character boundary */
    char err[400];
    memset(err, 'e', sizeof err);
    memcpy(err + COORD_ERROR_MAX - 2, "\xc3\xa9", 2); /* straddles the limit */
    err[sizeof err - 1] = '\0';
    assert_int_equal(coord_unit_fail(c, 1, err, 0), CC_OK);
    assert_int_equal(coord_unit_get(c, "q:1", &u), CC_OK);
    assert_int_equal(strlen(u.error), COORD_ERROR_MAX - 2);
    coord_close(c);
}

static void test_units_workers_and_dead(void **state)
{
    (void)state;
    set_now(T0);
    char dir[4096];
    newdir(dir, sizeof dir, "workers");
    coord_opts oa = opts_of(10, "A"), ob = opts_of(10, "B");
    coord *c = open_ok(dir, &oa);
    const char *keys[] = {"warc:1", "warc:2"};
    assert_int_equal(coord_units_add(c, keys, 2, NULL), CC_OK);
    coord_unit u;
    assert_int_equal(coord_unit_claim(c, &u), CC_OK);
    assert_int_equal(u.id, 1);
    assert_int_equal(coord_unit_progress(c, 1, "offset=4096"), CC_OK);
    coord_close(c); /* worker A dies */
    advance(61);
    c = open_ok(dir, &ob);
    assert_int_equal(coord_unit_claim(c, &u), CC_OK);
    assert_int_equal(u.id, 2); /* fresh units first: pending at time 0 */
    assert_int_equal(coord_unit_claim(c, &u), CC_OK);
    assert_int_equal(u.id, 1);
    assert_string_equal(u.cursor, "offset=4096");
    assert_int_equal(u.deliveries, 2);
    coord_close(c);
    c = open_ok(dir, &oa); /* A comes back: the unit is B's now */
    assert_int_equal(coord_unit_progress(c, 1, "offset=8192"), CC_E_EXISTS);
    assert_non_null(strstr(cc_errmsg(), "leased to worker B"));
    assert_int_equal(coord_unit_done(c, 1), CC_E_EXISTS);
    assert_int_equal(coord_unit_fail(c, 1, "x", 0), CC_E_EXISTS);
    assert_int_equal(coord_unit_get(c, "warc:1", &u), CC_OK);
    assert_string_equal(u.cursor, "offset=4096");
    /* max_deliveries 3: after its third lease expires, unit 1 is dead-lettered at the next
     * claim. Both leases end at the same time: id order. */
    advance(61);
    assert_int_equal(coord_unit_claim(c, &u), CC_OK);
    assert_int_equal(u.id, 1);
    assert_int_equal(u.deliveries, 3);
    assert_int_equal(coord_unit_claim(c, &u), CC_OK);
    assert_int_equal(u.id, 2);
    assert_int_equal(u.deliveries, 2);
    advance(61);
    assert_int_equal(coord_unit_claim(c, &u), CC_OK); /* unit 1 dead-lettered on the way */
    assert_int_equal(u.id, 2);
    assert_int_equal(u.deliveries, 3);
    assert_int_equal(coord_unit_fail(c, 2, "robots.txt unavailable", 0), CC_OK); /* dead now */
    assert_int_equal(coord_unit_claim(c, &u), CC_E_NOTFOUND);
    assert_int_equal(coord_unit_get(c, "warc:1", &u), CC_OK);
    assert_int_equal(u.state, COORD_UNIT_DEAD);
    assert_non_null(strstr(u.error, "lease expired"));
    assert_int_equal(coord_unit_get(c, "warc:2", &u), CC_OK);
    assert_int_equal(u.state, COORD_UNIT_DEAD);
    assert_string_equal(u.error, "robots.txt unavailable");
    coord_counts k;
    assert_int_equal(coord_get_counts(c, &k), CC_OK);
    assert_int_equal(k.units[COORD_UNIT_DEAD], 2);
    check_counts(&c, dir, &oa, "dead");
    size_t n = 0;
    assert_int_equal(coord_units_requeue_dead(c, &n), CC_OK);
    assert_int_equal(n, 2);
    assert_int_equal(coord_unit_get(c, "warc:2", &u), CC_OK);
    assert_int_equal(u.state, COORD_UNIT_PENDING);
    assert_int_equal(u.deliveries, 0);
    assert_int_equal(coord_unit_claim(c, &u), CC_OK);
    assert_int_equal(u.id, 1);
    assert_int_equal(u.deliveries, 1);
    assert_int_equal(coord_unit_done(c, 1), CC_OK);
    assert_int_equal(coord_units_requeue_dead(c, &n), CC_OK);
    assert_int_equal(n, 0);
    check_counts(&c, dir, &oa, "requeue");
    coord_close(c);
}

/* ---- quota --------------------------------------------------------------------------------- */

static void test_quota_pick_and_cap(void **state)
{
    (void)state;
    set_now(T0);
    char dir[4096];
    newdir(dir, sizeof dir, "quota");
    coord_opts o = opts_of(5, "A");
    coord *c = open_ok(dir, &o);
    uint32_t ids[] = {30, 10, 20}, picked;
    uint64_t r;
    /* all at 0: lowest id; then the rarest */
    assert_int_equal(coord_quota_reserve(c, ids, 3, &picked, &r), CC_OK);
    assert_int_equal(picked, 10);
    assert_int_equal(coord_quota_reserve(c, ids, 3, &picked, &r), CC_OK);
    assert_int_equal(picked, 20);
    assert_int_equal(coord_quota_confirm(c, r), CC_OK);
    assert_int_equal(coord_quota_reserve(c, ids, 3, &picked, &r), CC_OK);
    assert_int_equal(picked, 30);
    assert_int_equal(coord_quota_reserve(c, ids, 3, &picked, &r), CC_OK);
    assert_int_equal(picked, 10); /* 10, 20, 30 hold 1 each: lowest id */
    assert_int_equal(coord_quota_reserve(c, ids, 0, &picked, &r), CC_E_INVAL);
    check_counts(&c, dir, &o, "pick");
    /* cap + 5 reservations in flight on one query: exactly cap succeed */
    uint32_t q = 77;
    uint64_t held[5];
    int ok = 0, lim = 0;
    for (int i = 0; i < 10; i++) {
        cc_status st = coord_quota_reserve(c, &q, 1, &picked, &r);
        if (st == CC_OK)
            held[ok++] = r;
        else if (st == CC_E_LIMIT)
            lim++;
        else
            fail_msg("reserve: %s", cc_status_str(st));
    }
    assert_int_equal(ok, 5);
    assert_int_equal(lim, 5);
    uint64_t conf, resv;
    assert_int_equal(coord_quota_get(c, q, &conf, &resv), CC_OK);
    assert_int_equal(conf, 0);
    assert_int_equal(resv, 5);
    /* release frees a place; release is idempotent; an unknown reservation is fine */
    assert_int_equal(coord_quota_release(c, held[0], 0), CC_OK);
    assert_int_equal(coord_quota_release(c, held[0], 0), CC_OK);
    assert_int_equal(coord_quota_release(c, 999999, 0), CC_OK);
    assert_int_equal(coord_quota_release(c, held[1], 7), CC_E_INVAL);
    assert_int_equal(coord_quota_reserve(c, &q, 1, &picked, &held[0]), CC_OK);
    assert_int_equal(coord_quota_reserve(c, &q, 1, &picked, &r), CC_E_LIMIT);
    /* confirm all: the query is full; confirming again is fine; release after confirm is a
     * no-op */
    for (int i = 0; i < 5; i++)
        assert_int_equal(coord_quota_confirm(c, held[i]), CC_OK);
    for (int i = 0; i < 5; i++)
        assert_int_equal(coord_quota_confirm(c, held[i]), CC_OK);
    assert_int_equal(coord_quota_release(c, held[0], 0), CC_OK);
    assert_int_equal(coord_quota_get(c, q, &conf, &resv), CC_OK);
    assert_int_equal(conf, 5);
    assert_int_equal(resv, 0);
    assert_int_equal(coord_quota_reserve(c, &q, 1, &picked, &r), CC_E_LIMIT);
    /* a full query is skipped for another match */
    uint32_t two[] = {77, 78};
    assert_int_equal(coord_quota_reserve(c, two, 2, &picked, &r), CC_OK);
    assert_int_equal(picked, 78);
    coord_counts k;
    assert_int_equal(coord_get_counts(c, &k), CC_OK);
    assert_int_equal(k.queries_full, 1);
    assert_int_equal(k.confirmed, 6);
    assert_int_equal(coord_quota_confirm(c, 0), CC_E_NOTFOUND);
    assert_int_equal(coord_quota_confirm(c, 123456), CC_E_NOTFOUND);
    check_counts(&c, dir, &o, "cap");
    coord_close(c);
}

static int collect(void *ctx, uint32_t query, uint64_t confirmed)
{
    uint64_t *v = ctx;
    v[v[0] * 2 + 1] = query;
    v[v[0] * 2 + 2] = confirmed;
    v[0]++;
    return v[0] == 3;
}

static void test_quota_expiry_and_foreach(void **state)
{
    (void)state;
    set_now(T0);
    char dir[4096];
    newdir(dir, sizeof dir, "expiry");
    coord_opts o = opts_of(2, "A");
    coord *c = open_ok(dir, &o);
    uint64_t r1 = reserve1(c, 1), r2 = reserve1(c, 1);
    uint32_t q = 1, picked;
    uint64_t r;
    assert_int_equal(coord_quota_reserve(c, &q, 1, &picked, &r), CC_E_LIMIT);
    uint8_t pk[16], ck[16];
    key16(pk, 1, 2);
    key16(ck, 3, 4);
    assert_int_equal(coord_claim(c, COORD_NS_PAIR, pk, r1), CC_OK);
    assert_int_equal(coord_claim(c, COORD_NS_CONTENT, ck, r1), CC_OK);
    assert_int_equal(coord_near_claim(c, 0x1234567812345678ull, r1, NULL), CC_OK);
    advance(50);
    assert_int_equal(coord_quota_confirm(c, r2), CC_OK);
    advance(50); /* r1 expires exactly now (created at T0, 100 s) */
    /* read-only views see it gone before any sweep */
    uint64_t conf, resv;
    assert_int_equal(coord_quota_get(c, 1, &conf, &resv), CC_OK);
    assert_int_equal(conf, 1);
    assert_int_equal(resv, 0);
    int seen = 1;
    assert_int_equal(coord_pair_seen(c, pk, &seen), CC_OK);
    assert_int_equal(seen, 0);
    coord_counts k;
    assert_int_equal(coord_get_counts(c, &k), CC_OK);
    assert_int_equal(k.reservations, 0);
    check_counts(&c, dir, &o, "expired, unswept");
    /* its place and claims are free */
    uint64_t r3 = reserve1(c, 1);
    assert_int_equal(coord_claim(c, COORD_NS_PAIR, pk, r3), CC_OK);
    assert_int_equal(coord_claim(c, COORD_NS_CONTENT, ck, r3), CC_OK);
    assert_int_equal(coord_near_claim(c, 0x1234567812345678ull, r3, NULL), CC_OK);
    assert_int_equal(coord_quota_confirm(c, r1), CC_E_NOTFOUND);
    assert_int_equal(coord_quota_set_uid(c, r1, pk), CC_E_NOTFOUND);
    assert_int_equal(coord_claim(c, COORD_NS_PAIR, ck, r1), CC_E_NOTFOUND);
    assert_int_equal(coord_quota_confirm(c, r3), CC_OK);
    check_counts(&c, dir, &o, "expired, swept");
    /* foreach: id order, confirmed > 0 only, stops when fn says so */
    reserve1(c, 9); /* reserved only: not listed */
    for (uint32_t qq = 5; qq >= 3; qq--)
        assert_int_equal(coord_quota_confirm(c, reserve1(c, qq)), CC_OK);
    uint64_t got[16] = {0};
    assert_int_equal(coord_quota_foreach(c, collect, got), CC_OK);
    assert_int_equal(got[0], 3);
    assert_int_equal(got[1], 1);
    assert_int_equal(got[2], 2);
    assert_int_equal(got[3], 3);
    assert_int_equal(got[5], 4);
    coord_close(c);
}

/* ---- claims -------------------------------------------------------------------------------- */

static void test_claims(void **state)
{
    (void)state;
    set_now(T0);
    char dir[4096];
    newdir(dir, sizeof dir, "claims");
    coord_opts o = opts_of(100, "A");
    coord *c = open_ok(dir, &o);
    uint8_t p1[16], p2[16], c1[16];
    key16(p1, 11, 1);
    key16(p2, 12, 1);
    key16(c1, 11, 2);
    uint64_t r1 = reserve1(c, 1), r2 = reserve1(c, 1);
    int seen;
    assert_int_equal(coord_pair_seen(c, p1, &seen), CC_OK);
    assert_int_equal(seen, 0);
    assert_int_equal(coord_claim(c, COORD_NS_PAIR, p1, r1), CC_OK);
    assert_int_equal(coord_pair_seen(c, p1, &seen), CC_OK);
    assert_int_equal(seen, 1); /* tentative but live */
    assert_int_equal(coord_claim(c, COORD_NS_PAIR, p1, r2), CC_E_EXISTS);
    assert_int_equal(coord_claim(c, COORD_NS_PAIR, p1, r1), CC_E_EXISTS);
    /* the same 16 bytes in another namespace are another key */
    assert_int_equal(coord_claim(c, COORD_NS_CONTENT, p1, r2), CC_OK);
    assert_int_equal(coord_claim(c, COORD_NS_NEAR, p2, r2), CC_E_INVAL);
    assert_int_equal(coord_claim(c, COORD_NS_PAIR, p2, 0), CC_E_NOTFOUND);
    /* release drops tentative claims */
    assert_int_equal(coord_quota_release(c, r1, 0), CC_OK);
    assert_int_equal(coord_pair_seen(c, p1, &seen), CC_OK);
    assert_int_equal(seen, 0);
    assert_int_equal(coord_claim(c, COORD_NS_PAIR, p1, r2), CC_OK);
    check_counts(&c, dir, &o, "tentative");
    /* confirm makes them permanent */
    assert_int_equal(coord_quota_confirm(c, r2), CC_OK);
    uint64_t r3 = reserve1(c, 1);
    assert_int_equal(coord_claim(c, COORD_NS_PAIR, p1, r3), CC_E_EXISTS);
    assert_non_null(strstr(cc_errmsg(), "permanently"));
    assert_int_equal(coord_claim(c, COORD_NS_CONTENT, p1, r3), CC_E_EXISTS);
    coord_counts k;
    assert_int_equal(coord_get_counts(c, &k), CC_OK);
    assert_int_equal(k.claims[COORD_NS_PAIR], 1);
    assert_int_equal(k.claims[COORD_NS_CONTENT], 1);
    /* KEEP_PAIR_KEY: the pair key stays seen (permanent), the content key is freed */
    assert_int_equal(coord_claim(c, COORD_NS_PAIR, p2, r3), CC_OK);
    assert_int_equal(coord_claim(c, COORD_NS_CONTENT, c1, r3), CC_OK);
    assert_int_equal(coord_near_claim(c, 42, r3, NULL), CC_OK);
    assert_int_equal(coord_quota_release(c, r3, COORD_KEEP_PAIR_KEY), CC_OK);
    assert_int_equal(coord_pair_seen(c, p2, &seen), CC_OK);
    assert_int_equal(seen, 1);
    uint64_t r4 = reserve1(c, 1);
    assert_int_equal(coord_claim(c, COORD_NS_PAIR, p2, r4), CC_E_EXISTS);
    assert_int_equal(coord_claim(c, COORD_NS_CONTENT, c1, r4), CC_OK);
    assert_int_equal(coord_near_claim(c, 42, r4, NULL), CC_OK);
    assert_int_equal(coord_get_counts(c, &k), CC_OK);
    assert_int_equal(k.claims[COORD_NS_PAIR], 2);
    assert_int_equal(k.claims[COORD_NS_NEAR], 0);
    check_counts(&c, dir, &o, "keep");
    /* at most COORD_MAX_CLAIMS per reservation (r4 holds 2) */
    for (int i = 0; i < COORD_MAX_CLAIMS - 3; i++) {
        uint8_t kk[16];
        key16(kk, 500, (uint64_t)i);
        assert_int_equal(coord_claim(c, COORD_NS_CONTENT, kk, r4), CC_OK);
    }
    assert_int_equal(coord_near_claim(c, ~0ull, r4, NULL), CC_OK); /* the 8th */
    uint8_t kk[16];
    key16(kk, 501, 0);
    assert_int_equal(coord_claim(c, COORD_NS_CONTENT, kk, r4), CC_E_LIMIT);
    assert_int_equal(coord_near_claim(c, 0x00ff00ff00ff00ffull, r4, NULL), CC_E_LIMIT);
    assert_int_equal(coord_claim(c, COORD_NS_CONTENT, c1, r4), CC_E_EXISTS); /* dup first */
    assert_int_equal(coord_quota_confirm(c, r4), CC_OK);
    assert_int_equal(coord_get_counts(c, &k), CC_OK);
    assert_int_equal(k.claims[COORD_NS_CONTENT], 1 + COORD_MAX_CLAIMS - 2);
    assert_int_equal(k.claims[COORD_NS_NEAR], 2);
    check_counts(&c, dir, &o, "limit");
    coord_close(c);
}

/* h with one bit flipped in each band listed in mask (bit b = band b), at the band's start
 * plus off (bands of near_distance 4: 13, 13, 13, 13, 12 bits from the top). */
static uint64_t flip_bands(uint64_t h, unsigned mask, int off)
{
    static const int start[5] = {0, 13, 26, 39, 52};
    for (int b = 0; b < 5; b++)
        if (mask >> b & 1)
            h ^= 1ull << (63 - (start[b] + off));
    return h;
}

static void test_near(void **state)
{
    (void)state;
    set_now(T0);
    char dir[4096];
    newdir(dir, sizeof dir, "near");
    coord_opts o = opts_of(1000, "A");
    coord *c = open_ok(dir, &o);
    const uint64_t h = 0x9e3779b97f4a7c15ull;
    uint64_t r1 = reserve1(c, 1);
    assert_int_equal(coord_near_claim(c, h, r1, NULL), CC_OK);
    /* within 4 bits, whatever band stays whole: a duplicate, reported as h */
    for (int keep = 0; keep < 5; keep++) {
        uint64_t x = flip_bands(h, 0x1fu & ~(1u << keep), keep + 1);
        assert_int_equal(phash_distance(x, h), 4);
        uint64_t r = reserve1(c, 2), dup = 0;
        assert_int_equal(coord_near_claim(c, x, r, &dup), CC_E_EXISTS);
        assert_true(dup == h);
        assert_int_equal(coord_quota_release(c, r, 0), CC_OK);
    }
    /* four bits inside one band (the others whole): a duplicate */
    uint64_t in_one = h ^ (0xfull << (63 - 12));
    assert_int_equal(phash_distance(in_one, h), 4);
    uint64_t r2 = reserve1(c, 2), dup = 0;
    assert_int_equal(coord_near_claim(c, in_one, r2, &dup), CC_E_EXISTS);
    assert_true(dup == h);
    /* 5 bits, one per band: not a duplicate (boundary), and then claimed itself */
    uint64_t five = flip_bands(h, 0x1f, 3);
    assert_int_equal(phash_distance(five, h), 5);
    assert_int_equal(coord_near_claim(c, five, r2, &dup), CC_OK);
    /* the nearest is reported: five is 1 bit from five^1, h is 6 */
    uint64_t r3 = reserve1(c, 2);
    assert_int_equal(coord_near_claim(c, five ^ 1, r3, &dup), CC_E_EXISTS);
    assert_true(dup == five);
    check_counts(&c, dir, &o, "near tentative");
    /* after release the hash is free; after confirm it is permanent */
    assert_int_equal(coord_quota_release(c, r1, 0), CC_OK);
    assert_int_equal(coord_near_claim(c, h ^ 3, r3, &dup), CC_OK);
    assert_int_equal(coord_quota_confirm(c, r3), CC_OK);
    uint64_t r4 = reserve1(c, 2);
    assert_int_equal(coord_near_claim(c, h, r4, &dup), CC_E_EXISTS);
    assert_true(dup == (h ^ 3));
    assert_int_equal(coord_near_claim(c, h, 424242, &dup), CC_E_NOTFOUND);
    coord_counts k;
    assert_int_equal(coord_get_counts(c, &k), CC_OK);
    assert_int_equal(k.claims[COORD_NS_NEAR], 1);
    check_counts(&c, dir, &o, "near confirm");
    coord_close(c);

    /* near_distance 0: one band of 64 bits; 16: 17 bands of 4 and 3 bits */
    for (int d = 0; d <= 16; d += 16) {
        char dd[4096];
        newdir(dd, sizeof dd, "near-d");
        coord_opts od = opts_of(1000, "A");
        od.near_distance = d;
        c = open_ok(dd, &od);
        uint64_t r = reserve1(c, 1);
        assert_int_equal(coord_near_claim(c, h, r, NULL), CC_OK);
        uint64_t at_d = h, beyond;
        for (int i = 0; i < d; i++)
            at_d ^= 1ull << (i * 4 % 64 + i / 16);
        beyond = at_d ^ (1ull << 63);
        assert_int_equal(phash_distance(at_d, h), d);
        assert_int_equal(phash_distance(beyond, h), d + 1);
        uint64_t rr = reserve1(c, 2);
        assert_int_equal(coord_near_claim(c, at_d, rr, &dup), CC_E_EXISTS);
        assert_true(dup == h);
        assert_int_equal(coord_near_claim(c, beyond, rr, &dup), CC_OK);
        assert_int_equal(coord_quota_confirm(c, rr), CC_OK);
        check_counts(&c, dd, &od, "near d");
        coord_close(c);
    }
}

/* ---- recovery and rebuild ------------------------------------------------------------------ */

static void test_recover(void **state)
{
    (void)state;
    set_now(T0);
    char dir[4096];
    newdir(dir, sizeof dir, "recover");
    coord_opts oa = opts_of(100, "A"), ob = opts_of(100, "B");
    coord *c = open_ok(dir, &oa);
    uint8_t u1[16], u2[16], u4[16], other[16];
    key16(u1, 1, 0);
    key16(u2, 2, 0);
    key16(u4, 4, 0);
    key16(other, 9, 9);
    uint64_t r1 = reserve1(c, 1), r2 = reserve1(c, 1), r3 = reserve1(c, 2);
    assert_int_equal(coord_quota_set_uid(c, r1, u1), CC_OK);
    assert_int_equal(coord_quota_set_uid(c, r2, u2), CC_OK);
    assert_int_equal(coord_claim(c, COORD_NS_PAIR, u1, r1), CC_OK);
    assert_int_equal(coord_claim(c, COORD_NS_PAIR, u2, r2), CC_OK);
    assert_int_equal(coord_near_claim(c, 777, r1, NULL), CC_OK);
    (void)r3;
    coord_close(c); /* crash of A */
    c = open_ok(dir, &ob);
    uint64_t rb = reserve1(c, 1);
    assert_int_equal(coord_quota_set_uid(c, rb, u1), CC_OK); /* same uid: not A's */
    coord_close(c);
    c = open_ok(dir, &oa);
    uint8_t(*uids)[16] = calloc(3, 16); /* uids[2] all zero: r3 has no uid, still released */
    memcpy(uids[0], other, 16);
    memcpy(uids[1], u1, 16);
    uint64_t nc = 9, nr = 9;
    assert_int_equal(coord_recover(c, (const uint8_t(*)[16])uids, 3, &nc, &nr), CC_OK);
    assert_int_equal(nc, 1);
    assert_int_equal(nr, 2);
    uint64_t conf, resv;
    assert_int_equal(coord_quota_get(c, 1, &conf, &resv), CC_OK);
    assert_int_equal(conf, 1);
    assert_int_equal(resv, 1); /* B's reservation is untouched */
    assert_int_equal(coord_quota_confirm(c, r1), CC_OK); /* confirmed by recover */
    assert_int_equal(coord_quota_confirm(c, r2), CC_E_NOTFOUND); /* released */
    int seen;
    assert_int_equal(coord_pair_seen(c, u1, &seen), CC_OK);
    assert_int_equal(seen, 1);
    assert_int_equal(coord_pair_seen(c, u2, &seen), CC_OK);
    assert_int_equal(seen, 0);
    coord_counts k;
    assert_int_equal(coord_get_counts(c, &k), CC_OK);
    assert_int_equal(k.claims[COORD_NS_NEAR], 1);
    assert_int_equal(k.reservations, 1);
    check_counts(&c, dir, &oa, "recover");
    /* A down longer than the reservation lease: nothing swept meanwhile, still recovered */
    uint64_t r4 = reserve1(c, 3);
    assert_int_equal(coord_quota_set_uid(c, r4, u4), CC_OK);
    coord_close(c);
    advance(1000);
    c = open_ok(dir, &oa);
    memcpy(uids[0], u4, 16);
    assert_int_equal(coord_recover(c, (const uint8_t(*)[16])uids, 1, &nc, &nr), CC_OK);
    assert_int_equal(nc, 1);
    assert_int_equal(nr, 0);
    assert_int_equal(coord_quota_get(c, 3, &conf, &resv), CC_OK);
    assert_int_equal(conf, 1);
    assert_int_equal(coord_quota_get(c, 1, &conf, &resv), CC_OK);
    assert_int_equal(resv, 0); /* B's expired one was swept */
    assert_int_equal(coord_recover(c, NULL, 0, NULL, NULL), CC_OK);
    check_counts(&c, dir, &oa, "recover late");
    free(uids);
    coord_close(c);
}

/* ---- two phases: hold, then assign --------------------------------------------------------- */

static uint64_t hold1(coord *c)
{
    uint64_t r = 0;
    assert_int_equal(coord_quota_hold(c, &r), CC_OK);
    assert_true(r != 0);
    return r;
}

static void test_hold_assign(void **state)
{
    (void)state;
    set_now(T0);
    char dir[4096];
    newdir(dir, sizeof dir, "hold");
    coord_opts o = opts_of(2, "A");
    coord *c = open_ok(dir, &o);
    uint32_t ids[] = {30, 10, 20}, picked = 0;
    uint64_t conf, resv, r;
    /* held reservations never count toward a cap: 10 of them, then cap reserves still fit */
    uint64_t h[10];
    for (int i = 0; i < 10; i++)
        h[i] = hold1(c);
    assert_int_equal(coord_quota_get(c, 10, &conf, &resv), CC_OK);
    assert_int_equal(conf + resv, 0);
    coord_counts k;
    assert_int_equal(coord_get_counts(c, &k), CC_OK);
    assert_int_equal(k.reservations, 10);
    check_counts(&c, dir, &o, "held");
    uint64_t ra = reserve1(c, 10), rb = reserve1(c, 10);
    uint32_t q10 = 10;
    assert_int_equal(coord_quota_reserve(c, &q10, 1, &picked, &r), CC_E_LIMIT);
    /* hold then assign: the rarest matched query with room (10 is full) */
    assert_int_equal(coord_quota_assign(c, h[0], ids, 3, &picked), CC_OK);
    assert_int_equal(picked, 20);
    assert_int_equal(coord_quota_assign(c, h[1], ids, 3, &picked), CC_OK);
    assert_int_equal(picked, 30);
    assert_int_equal(coord_quota_assign(c, h[2], ids, 3, NULL), CC_OK); /* picked may be NULL */
    assert_int_equal(coord_quota_get(c, 20, &conf, &resv), CC_OK);
    assert_int_equal(resv, 2);
    /* assign when every matched query is full: CC_E_LIMIT, the reservation stays live and held */
    assert_int_equal(coord_quota_assign(c, h[3], ids, 3, &picked), CC_OK); /* 30 */
    picked = 99;
    assert_int_equal(coord_quota_assign(c, h[4], ids, 3, &picked), CC_E_LIMIT);
    assert_int_equal(picked, 99);
    uint8_t pk[16];
    key16(pk, 44, 1);
    assert_int_equal(coord_claim(c, COORD_NS_PAIR, pk, h[4]), CC_OK);
    assert_int_equal(coord_quota_set_uid(c, h[4], pk), CC_OK);
    check_counts(&c, dir, &o, "assign full");
    /* a place freed: the same held reservation gets it */
    assert_int_equal(coord_quota_release(c, ra, 0), CC_OK);
    assert_int_equal(coord_quota_assign(c, h[4], ids, 3, &picked), CC_OK);
    assert_int_equal(picked, 10);
    /* already assigned, or made by reserve: CC_E_EXISTS; not live: CC_E_NOTFOUND */
    assert_int_equal(coord_quota_assign(c, h[4], &q10, 1, &picked), CC_E_EXISTS);
    assert_int_equal(coord_quota_assign(c, rb, &q10, 1, &picked), CC_E_EXISTS);
    assert_int_equal(coord_quota_assign(c, ra, &q10, 1, &picked), CC_E_NOTFOUND);
    assert_int_equal(coord_quota_assign(c, 999999, &q10, 1, &picked), CC_E_NOTFOUND);
    assert_int_equal(coord_quota_assign(c, h[5], ids, 0, &picked), CC_E_INVAL);
    assert_int_equal(coord_quota_assign(c, h[5], NULL, 1, &picked), CC_E_INVAL);
    assert_int_equal(coord_quota_hold(c, NULL), CC_E_INVAL);
    /* confirm of a held reservation: CC_E_INVAL with a message; it stays live with its claims */
    uint8_t pk5[16];
    key16(pk5, 45, 1);
    assert_int_equal(coord_claim(c, COORD_NS_PAIR, pk5, h[5]), CC_OK);
    assert_int_equal(coord_quota_confirm(c, h[5]), CC_E_INVAL);
    assert_non_null(strstr(cc_errmsg(), "no query"));
    int seen = 0;
    assert_int_equal(coord_pair_seen(c, pk5, &seen), CC_OK);
    assert_int_equal(seen, 1);
    uint32_t q40 = 40;
    assert_int_equal(coord_quota_assign(c, h[5], &q40, 1, &picked), CC_OK);
    assert_int_equal(coord_quota_confirm(c, h[5]), CC_OK);
    assert_int_equal(coord_quota_get(c, 40, &conf, &resv), CC_OK);
    assert_int_equal(conf, 1);
    assert_int_equal(resv, 0);
    /* releasing a held reservation gives back no place; its claims go (the pair key stays with
     * KEEP_PAIR_KEY) */
    uint8_t pk6[16], ck6[16];
    key16(pk6, 46, 1);
    key16(ck6, 46, 2);
    assert_int_equal(coord_claim(c, COORD_NS_PAIR, pk6, h[6]), CC_OK);
    assert_int_equal(coord_claim(c, COORD_NS_CONTENT, ck6, h[6]), CC_OK);
    assert_int_equal(coord_near_claim(c, 0x0f0f0f0f0f0f0f0full, h[6], NULL), CC_OK);
    uint64_t before[4];
    uint32_t qs[] = {10, 20, 30, 40};
    for (int i = 0; i < 4; i++) {
        assert_int_equal(coord_quota_get(c, qs[i], &conf, &resv), CC_OK);
        before[i] = conf + resv;
    }
    assert_int_equal(coord_quota_release(c, h[6], COORD_KEEP_PAIR_KEY), CC_OK);
    assert_int_equal(coord_quota_release(c, h[7], 0), CC_OK);
    for (int i = 0; i < 4; i++) {
        assert_int_equal(coord_quota_get(c, qs[i], &conf, &resv), CC_OK);
        assert_int_equal(conf + resv, before[i]);
    }
    assert_int_equal(coord_pair_seen(c, pk6, &seen), CC_OK);
    assert_int_equal(seen, 1);
    uint64_t h8 = h[8];
    assert_int_equal(coord_claim(c, COORD_NS_CONTENT, ck6, h8), CC_OK); /* dropped: free again */
    assert_int_equal(coord_near_claim(c, 0x0f0f0f0f0f0f0f0full, h8, NULL), CC_OK);
    assert_int_equal(coord_quota_confirm(c, h[6]), CC_E_NOTFOUND);
    assert_int_equal(coord_get_counts(c, &k), CC_OK);
    assert_int_equal(k.claims[COORD_NS_PAIR], 2); /* h[5] confirmed, h[6] kept */
    check_counts(&c, dir, &o, "held released");
    coord_close(c);
}

static void test_hold_expiry(void **state)
{
    (void)state;
    set_now(T0);
    char dir[4096];
    newdir(dir, sizeof dir, "holdexp");
    coord_opts o = opts_of(2, "A");
    coord *c = open_ok(dir, &o);
    uint8_t pk[16];
    key16(pk, 7, 7);
    /* at T0: one held (with a pair claim), one held then assigned to query 0 */
    uint64_t hh = hold1(c), ha = hold1(c);
    assert_int_equal(coord_claim(c, COORD_NS_PAIR, pk, hh), CC_OK);
    uint32_t q0 = 0, picked;
    assert_int_equal(coord_quota_assign(c, ha, &q0, 1, &picked), CC_OK);
    assert_int_equal(picked, 0);
    advance(50);
    uint64_t rl = reserve1(c, 0); /* live until T0 + 150 */
    advance(50); /* hh and ha expire now (the lease runs from the hold) */
    /* read-only views, before any sweep: the held one takes nothing from query 0's count */
    uint64_t conf, resv;
    assert_int_equal(coord_quota_get(c, 0, &conf, &resv), CC_OK);
    assert_int_equal(conf, 0);
    assert_int_equal(resv, 1);
    int seen = 1;
    assert_int_equal(coord_pair_seen(c, pk, &seen), CC_OK);
    assert_int_equal(seen, 0);
    coord_counts k;
    assert_int_equal(coord_get_counts(c, &k), CC_OK);
    assert_int_equal(k.reservations, 1);
    check_counts(&c, dir, &o, "held expired, unswept");
    /* swept by the next write: both gone, the assigned one's place is free */
    assert_int_equal(coord_quota_assign(c, hh, &q0, 1, &picked), CC_E_NOTFOUND);
    assert_int_equal(coord_quota_confirm(c, ha), CC_E_NOTFOUND);
    assert_int_equal(coord_quota_get(c, 0, &conf, &resv), CC_OK);
    assert_int_equal(resv, 1);
    uint64_t h2 = hold1(c);
    assert_int_equal(coord_claim(c, COORD_NS_PAIR, pk, h2), CC_OK);
    assert_int_equal(coord_quota_assign(c, h2, &q0, 1, &picked), CC_OK);
    assert_int_equal(coord_quota_confirm(c, h2), CC_OK);
    assert_int_equal(coord_quota_confirm(c, rl), CC_OK);
    assert_int_equal(coord_quota_get(c, 0, &conf, &resv), CC_OK);
    assert_int_equal(conf, 2);
    assert_int_equal(resv, 0);
    check_counts(&c, dir, &o, "held expired, swept");
    coord_close(c);
}

static void test_recover_held(void **state)
{
    (void)state;
    set_now(T0);
    char dir[4096];
    newdir(dir, sizeof dir, "recheld");
    coord_opts o = opts_of(5, "A");
    coord *c = open_ok(dir, &o);
    uint8_t u1[16], u2[16], u3[16];
    key16(u1, 1, 1);
    key16(u2, 2, 2);
    key16(u3, 3, 3);
    /* h1: held with a uid (listed below); h2: assigned with a uid (listed); h3: held, no uid */
    uint64_t h1 = hold1(c), h2 = hold1(c), h3 = hold1(c);
    assert_int_equal(coord_claim(c, COORD_NS_PAIR, u1, h1), CC_OK);
    assert_int_equal(coord_quota_set_uid(c, h1, u1), CC_OK);
    assert_int_equal(coord_claim(c, COORD_NS_PAIR, u2, h2), CC_OK);
    assert_int_equal(coord_quota_set_uid(c, h2, u2), CC_OK);
    assert_int_equal(coord_claim(c, COORD_NS_PAIR, u3, h3), CC_OK);
    uint32_t q = 8, picked;
    assert_int_equal(coord_quota_assign(c, h2, &q, 1, &picked), CC_OK);
    coord_close(c); /* crash */
    c = open_ok(dir, &o);
    uint8_t uids[2][16];
    memcpy(uids[0], u1, 16);
    memcpy(uids[1], u2, 16);
    uint64_t nc = 9, nr = 9;
    assert_int_equal(coord_recover(c, (const uint8_t(*)[16])uids, 2, &nc, &nr), CC_OK);
    assert_int_equal(nc, 1); /* h2 */
    assert_int_equal(nr, 2); /* h1 (held: no query to count for, listed or not) and h3 */
    uint64_t conf, resv;
    assert_int_equal(coord_quota_get(c, 8, &conf, &resv), CC_OK);
    assert_int_equal(conf, 1);
    assert_int_equal(resv, 0);
    int seen;
    assert_int_equal(coord_pair_seen(c, u1, &seen), CC_OK);
    assert_int_equal(seen, 0);
    assert_int_equal(coord_pair_seen(c, u2, &seen), CC_OK);
    assert_int_equal(seen, 1);
    assert_int_equal(coord_pair_seen(c, u3, &seen), CC_OK);
    assert_int_equal(seen, 0);
    assert_int_equal(coord_quota_confirm(c, h2), CC_OK);
    assert_int_equal(coord_quota_confirm(c, h1), CC_E_NOTFOUND);
    coord_counts k;
    assert_int_equal(coord_get_counts(c, &k), CC_OK);
    assert_int_equal(k.reservations, 0);
    assert_int_equal(k.confirmed, 1);
    check_counts(&c, dir, &o, "recover held");
    coord_close(c);
}

typedef struct pairrec {
    uint32_t query;
    uint8_t uid[16], content[16];
    uint64_t phash;
} pairrec;

static void test_rebuild(void **state)
{
    (void)state;
    set_now(T0);
    char dir[4096];
    newdir(dir, sizeof dir, "rebuild");
    coord_opts o = opts_of(3, "A");
    coord *c = open_ok(dir, &o);
    const char *keys[] = {"u1", "u2"};
    assert_int_equal(coord_units_add(c, keys, 2, NULL), CC_OK);
    coord_unit u;
    assert_int_equal(coord_unit_claim(c, &u), CC_OK);
    pairrec recs[40];
    int n = 0;
    for (int i = 0; i < 60; i++) {
        uint32_t ids[2] = {(uint32_t)(i % 7), (uint32_t)(i % 5 + 3)}, q;
        uint64_t r;
        if (coord_quota_reserve(c, ids, 2, &q, &r) != CC_OK)
            continue;
        pairrec p = {.query = q, .phash = (uint64_t)i * 0x9e3779b97f4a7c15ull};
        key16(p.uid, 100, (uint64_t)i);
        key16(p.content, 200, (uint64_t)i / 2); /* pairs of equal content */
        if (i % 4 == 0)
            memset(p.content, 0, 16);
        if (i % 6 == 0)
            p.phash = 0;
        assert_int_equal(coord_quota_set_uid(c, r, p.uid), CC_OK);
        assert_int_equal(coord_claim(c, COORD_NS_PAIR, p.uid, r), CC_OK);
        int dupc = 0;
        if (memcmp(p.content, (uint8_t[16]){0}, 16) != 0) {
            cc_status st = coord_claim(c, COORD_NS_CONTENT, p.content, r);
            assert_true(st == CC_OK || st == CC_E_EXISTS);
            dupc = st == CC_E_EXISTS;
        }
        if (p.phash && coord_near_claim(c, p.phash, r, NULL) != CC_OK)
            dupc = 1;
        if (dupc || i % 3 == 0) {
            assert_int_equal(coord_quota_release(c, r, dupc ? COORD_KEEP_PAIR_KEY : 0), CC_OK);
            continue;
        }
        assert_int_equal(coord_quota_confirm(c, r), CC_OK);
        assert_true(n < 40);
        recs[n++] = p;
    }
    assert_true(n >= 10);
    uint64_t open_r = reserve1(c, 99); /* a reservation in flight: dropped by the rebuild */
    coord_counts before;
    assert_int_equal(coord_get_counts(c, &before), CC_OK);
    uint64_t kept = before.claims[COORD_NS_PAIR] - (uint64_t)n; /* rejected pairs kept seen */
    assert_true(kept > 0);
    /* rebuild from the list */
    assert_int_equal(coord_rebuild_add(c, 1, recs[0].uid, NULL, 0), CC_E_INVAL);
    assert_int_equal(coord_rebuild_begin(c), CC_OK);
    uint32_t q = 1, picked;
    uint64_t r;
    assert_int_equal(coord_quota_reserve(c, &q, 1, &picked, &r), CC_E_BUSY);
    int seen;
    assert_int_equal(coord_pair_seen(c, recs[0].uid, &seen), CC_E_BUSY);
    for (int i = 0; i < n; i++)
        assert_int_equal(
            coord_rebuild_add(c, recs[i].query, recs[i].uid, recs[i].content, recs[i].phash),
            CC_OK);
    assert_int_equal(coord_rebuild_end(c), CC_OK);
    coord_counts after;
    assert_int_equal(coord_get_counts(c, &after), CC_OK);
    before.reservations = 0;
    before.claims[COORD_NS_PAIR] -= kept;
    assert_counts_eq(&after, &before, "rebuild");
    assert_int_equal(after.units[COORD_UNIT_LEASED], 1);
    for (int i = 0; i < n; i++) {
        assert_int_equal(coord_pair_seen(c, recs[i].uid, &seen), CC_OK);
        assert_int_equal(seen, 1);
    }
    assert_int_equal(coord_quota_confirm(c, open_r), CC_E_NOTFOUND);
    check_counts(&c, dir, &o, "rebuilt");
    /* an interrupted rebuild: quota calls are refused until a rebuild completes */
    assert_int_equal(coord_rebuild_begin(c), CC_OK);
    assert_int_equal(coord_rebuild_add(c, recs[0].query, recs[0].uid, NULL, 0), CC_OK);
    coord_close(c);
    c = open_ok(dir, &o);
    assert_int_equal(coord_quota_reserve(c, &q, 1, &picked, &r), CC_E_BUSY);
    assert_non_null(strstr(cc_errmsg(), "rebuild"));
    assert_int_equal(coord_unit_claim(c, &u), CC_OK); /* units are not affected */
    assert_int_equal(coord_rebuild_add(c, 1, recs[0].uid, NULL, 0), CC_E_INVAL);
    assert_int_equal(coord_rebuild_begin(c), CC_OK);
    for (int i = 0; i < n; i++)
        assert_int_equal(
            coord_rebuild_add(c, recs[i].query, recs[i].uid, recs[i].content, recs[i].phash),
            CC_OK);
    assert_int_equal(coord_rebuild_end(c), CC_OK);
    assert_int_equal(coord_get_counts(c, &after), CC_OK);
    before.units[COORD_UNIT_PENDING]--;
    before.units[COORD_UNIT_LEASED]++;
    assert_counts_eq(&after, &before, "rebuilt again");
    q = 1000;
    assert_int_equal(coord_quota_reserve(c, &q, 1, &picked, &r), CC_OK);
    check_counts(&c, dir, &o, "rebuilt again");
    coord_close(c);
}

/* ---- map growth and threads ---------------------------------------------------------------- */

static void test_map_growth(void **state)
{
    (void)state;
    set_now(T0);
    char dir[4096];
    newdir(dir, sizeof dir, "grow");
    coord_opts o = opts_of(1000000, "A");
    size_t saved = coord_lmdb_initial_mapsize;
    coord_lmdb_initial_mapsize = 64 << 10; /* 64 KiB: 16 pages */
    coord *c = open_ok(dir, &o);
    /* one big transaction: 3000 units of ~300 bytes (about 1 MB) */
    enum { NU = 3000 };
    char(*kb)[320] = malloc(NU * sizeof *kb);
    const char **keys = malloc(NU * sizeof *keys);
    for (int i = 0; i < NU; i++) {
        memset(kb[i], 'k', 300);
        snprintf(kb[i] + 300, 20, "%d", i);
        keys[i] = kb[i];
    }
    size_t added;
    assert_int_equal(coord_units_add(c, keys, NU, &added), CC_OK);
    assert_int_equal(added, NU);
    /* and many small ones */
    for (int i = 0; i < 1500; i++) {
        uint64_t r = reserve1(c, (uint32_t)i);
        uint8_t k[16];
        key16(k, 7, (uint64_t)i);
        assert_int_equal(coord_claim(c, COORD_NS_PAIR, k, r), CC_OK);
        assert_int_equal(coord_near_claim(c, (uint64_t)i * 0x9e3779b97f4a7c15ull, r, NULL), CC_OK);
        assert_int_equal(coord_quota_confirm(c, r), CC_OK);
    }
    coord_unit u;
    assert_int_equal(coord_unit_get(c, keys[NU - 1], &u), CC_OK);
    assert_int_equal(u.id, NU);
    check_counts(&c, dir, &o, "grown");
    coord_counts k;
    assert_int_equal(coord_get_counts(c, &k), CC_OK);
    assert_int_equal(k.confirmed, 1500);
    assert_int_equal(k.units[COORD_UNIT_PENDING], NU);
    /* a rebuild of 70,000 pairs (two buffered chunks) through more growth */
    enum { NR = 70000 };
    assert_int_equal(coord_rebuild_begin(c), CC_OK);
    for (int i = 0; i < NR; i++) {
        uint8_t uid[16], content[16];
        key16(uid, 8, (uint64_t)i);
        key16(content, 9, (uint64_t)i / 2); /* each content twice: one claim */
        assert_int_equal(coord_rebuild_add(c, (uint32_t)(i % 1000), uid, content,
                                           (uint64_t)i * 0x9e3779b97f4a7c15ull),
                         CC_OK);
    }
    assert_int_equal(coord_rebuild_end(c), CC_OK);
    assert_int_equal(coord_get_counts(c, &k), CC_OK);
    assert_int_equal(k.confirmed, NR);
    assert_int_equal(k.claims[COORD_NS_PAIR], NR);
    assert_int_equal(k.claims[COORD_NS_CONTENT], NR / 2);
    assert_int_equal(k.claims[COORD_NS_NEAR], NR - 1); /* i = 0 has no pHash */
    assert_int_equal(k.reservations, 0);
    uint64_t conf, resv;
    assert_int_equal(coord_quota_get(c, 999, &conf, &resv), CC_OK);
    assert_int_equal(conf, NR / 1000);
    check_counts(&c, dir, &o, "rebuilt big");
    coord_close(c);
    coord_lmdb_initial_mapsize = saved;
    free(kb);
    free(keys);
}

typedef struct thr_arg {
    coord *c;
    int id, ok, limit;
} thr_arg;

static void *thr_main(void *p)
{
    thr_arg *a = p;
    for (int i = 0; i < 150; i++) {
        uint32_t ids[2] = {(uint32_t)(i % 4), 4}, q;
        uint64_t r;
        cc_status st = coord_quota_reserve(a->c, ids, 2, &q, &r);
        if (st == CC_E_LIMIT) {
            a->limit++;
            continue;
        }
        if (st != CC_OK)
            return NULL;
        uint8_t k[16];
        key16(k, (uint64_t)a->id, (uint64_t)i);
        if (coord_claim(a->c, COORD_NS_PAIR, k, r) != CC_OK)
            return NULL;
        if ((i + a->id) % 5 == 0) {
            if (coord_quota_release(a->c, r, 0) != CC_OK)
                return NULL;
            continue;
        }
        if (coord_quota_confirm(a->c, r) != CC_OK)
            return NULL;
        a->ok++;
    }
    return a;
}

static void test_threads(void **state)
{
    (void)state;
    set_now(T0);
    char dir[4096];
    newdir(dir, sizeof dir, "threads");
    coord_opts o = opts_of(50, "A");
    coord *c = open_ok(dir, &o);
    pthread_t t[4];
    thr_arg a[4];
    for (int i = 0; i < 4; i++) {
        a[i] = (thr_arg){c, i, 0, 0};
        assert_int_equal(pthread_create(&t[i], NULL, thr_main, &a[i]), 0);
    }
    int ok = 0, limit = 0;
    for (int i = 0; i < 4; i++) {
        void *ret;
        assert_int_equal(pthread_join(t[i], &ret), 0);
        assert_ptr_equal(ret, &a[i]);
        ok += a[i].ok;
        limit += a[i].limit;
    }
    /* 5 queries of cap 50: at most 250 confirmed, never more */
    assert_int_equal(ok, 250);
    assert_true(limit > 0);
    for (uint32_t q = 0; q < 5; q++) {
        uint64_t conf, resv;
        assert_int_equal(coord_quota_get(c, q, &conf, &resv), CC_OK);
        assert_int_equal(conf, 50);
        assert_int_equal(resv, 0);
    }
    check_counts(&c, dir, &o, "threads");
    coord_close(c);
}

/* ---- randomized comparison with a model ---------------------------------------------------- */

static uint64_t rng_s = 0x243f6a8885a308d3ull;
static uint64_t rnd(void)
{
    rng_s ^= rng_s << 13;
    rng_s ^= rng_s >> 7;
    rng_s ^= rng_s << 17;
    return rng_s;
}
static int rndn(int n)
{
    return (int)(rnd() % (uint64_t)n);
}

enum { M_QUERIES = 300, M_HOT = 6, M_CAP = 4, M_UNITKEYS = 24, M_RES = 24000, M_CLAIMS = 8000 };
enum { M_KEYPOOL = 400, M_PHPOOL = 512, M_UIDPOOL = 1000 };
enum { M_LEASE_MS = 60000, M_RES_MS = 100000, M_MAXDEL = 3 };

typedef struct m_unit {
    int state;
    uint32_t deliveries;
    int64_t at;
    char cursor[16];
    int has_error;
    char worker[4];
} m_unit;

typedef struct m_res {
    int live; /* in the table (not confirmed, released or swept) */
    int confirmed;
    int held; /* made by coord_quota_hold and not assigned yet: no query, no place */
    uint32_t query;
    int64_t expires;
    int uid_set;
    uint8_t uid[16];
    int n;
    uint8_t ns[COORD_MAX_CLAIMS];
    uint8_t key[COORD_MAX_CLAIMS][16];
    uint64_t ph[COORD_MAX_CLAIMS];
    char worker[4];
} m_res;

typedef struct m_claim {
    uint8_t ns;
    uint8_t key[16];
    uint64_t res; /* 0 = permanent */
} m_claim;

typedef struct model {
    m_unit units[M_UNITKEYS + 1]; /* by id */
    int unit_of_key[M_UNITKEYS]; /* id, 0 = not added */
    int n_units;
    m_res *res; /* by id */
    uint64_t next_res;
    m_claim claims[M_CLAIMS];
    int n_claims;
    uint64_t near_h[M_CLAIMS], near_r[M_CLAIMS];
    int n_near;
    uint64_t conf[M_QUERIES], resv[M_QUERIES];
    pairrec *recs; /* confirmed pairs, as shards would hold them */
    int n_recs;
    char worker[4];
} model;

static m_claim *m_find_claim(model *m, int ns, const uint8_t *key)
{
    for (int i = 0; i < m->n_claims; i++)
        if (m->claims[i].ns == ns && memcmp(m->claims[i].key, key, 16) == 0)
            return &m->claims[i];
    return NULL;
}

static void m_del_claim(model *m, m_claim *cl)
{
    *cl = m->claims[--m->n_claims];
}

static void m_end(model *m, uint64_t id, int confirm, int keep_pair)
{
    m_res *r = &m->res[id];
    for (int i = 0; i < r->n; i++) {
        if (r->ns[i] == COORD_NS_NEAR) {
            for (int j = 0; j < m->n_near; j++) {
                if (m->near_h[j] == r->ph[i] && m->near_r[j] == id) {
                    if (confirm) {
                        m->near_r[j] = 0;
                    } else {
                        m->n_near--;
                        m->near_h[j] = m->near_h[m->n_near];
                        m->near_r[j] = m->near_r[m->n_near];
                    }
                    break;
                }
            }
            continue;
        }
        m_claim *cl = m_find_claim(m, r->ns[i], r->key[i]);
        assert_non_null(cl);
        assert_true(cl->res == id);
        if (confirm || (keep_pair && r->ns[i] == COORD_NS_PAIR))
            cl->res = 0;
        else
            m_del_claim(m, cl);
    }
    assert_true(!(confirm && r->held));
    if (!r->held)
        m->resv[r->query]--;
    r->live = 0;
    if (confirm) {
        m->conf[r->query]++;
        r->confirmed = 1;
        pairrec *p = &m->recs[m->n_recs++];
        memset(p, 0, sizeof *p);
        p->query = r->query;
        if (r->uid_set)
            memcpy(p->uid, r->uid, 16);
        else
            key16(p->uid, 0xabcdef, id);
        for (int i = r->n - 1; i >= 0; i--) {
            if (r->ns[i] == COORD_NS_CONTENT)
                memcpy(p->content, r->key[i], 16);
            if (r->ns[i] == COORD_NS_NEAR)
                p->phash = r->ph[i];
        }
    }
}

static void m_sweep(model *m)
{
    /* the backend sweeps in expiry order; the order does not change the outcome */
    for (uint64_t id = 1; id < m->next_res; id++)
        if (m->res[id].live && m->res[id].expires <= now_v)
            m_end(m, id, 0, 0);
}

static uint64_t m_counts_res(const model *m)
{
    uint64_t n = 0;
    for (uint64_t id = 1; id < m->next_res; id++)
        n += m->res[id].live && m->res[id].expires > now_v;
    return n;
}

static void m_counts(const model *m, coord_counts *k)
{
    memset(k, 0, sizeof *k);
    for (int i = 1; i <= m->n_units; i++)
        k->units[m->units[i].state]++;
    for (int q = 0; q < M_QUERIES; q++) {
        k->confirmed += m->conf[q];
        k->queries_full += m->conf[q] >= M_CAP;
    }
    k->reservations = m_counts_res(m);
    for (int i = 0; i < m->n_claims; i++)
        k->claims[m->claims[i].ns] += m->claims[i].res == 0;
    for (int i = 0; i < m->n_near; i++)
        k->claims[COORD_NS_NEAR] += m->near_r[i] == 0;
}

/* Unit claim in the model: the first (at, id) with at <= now, dead-lettering on the way. */
static int m_unit_claim(model *m)
{
    for (;;) {
        int best = 0;
        for (int i = 1; i <= m->n_units; i++) {
            m_unit *u = &m->units[i];
            if (u->state != COORD_UNIT_PENDING && u->state != COORD_UNIT_LEASED)
                continue;
            if (!best || u->at < m->units[best].at)
                best = i;
        }
        if (!best || m->units[best].at > now_v)
            return 0;
        m_unit *u = &m->units[best];
        if (u->deliveries >= M_MAXDEL) {
            u->state = COORD_UNIT_DEAD;
            u->has_error = 1;
            continue;
        }
        u->state = COORD_UNIT_LEASED;
        u->deliveries++;
        u->at = now_v + M_LEASE_MS;
        snprintf(u->worker, sizeof u->worker, "%s", m->worker);
        return best;
    }
}

static int m_leased_to_me(const model *m, int id)
{
    const m_unit *u = &m->units[id];
    return u->state == COORD_UNIT_LEASED && strcmp(u->worker, m->worker) == 0 && u->at > now_v;
}

static void pool_key(uint8_t k[16], int ns, int i)
{
    key16(k, 0x5eed0000u + (uint64_t)ns, (uint64_t)i);
}

static uint64_t pool_phash(int i)
{
    /* 16 bases far apart, each with variants 0..7 bits away */
    uint64_t h = (uint64_t)(i % 16 + 1) * 0xd1b54a32d192ed03ull;
    uint64_t x = (uint64_t)(i / 16 + 1) * 0x9e3779b97f4a7c15ull;
    /* 0..7 flipped bits chosen by x */
    int flips = (int)(x >> 61);
    for (int f = 0; f < flips; f++)
        h ^= 1ull << ((x >> (6 * f)) & 63);
    return h;
}

/* quota_pick in the model: the rarest of ids with room (ties: lowest id), -1 when all are full. */
static int m_pick(const model *m, const uint32_t *ids, int n)
{
    int best = -1;
    for (int i = 0; i < n; i++) {
        uint32_t q = ids[i];
        uint64_t cnt = m->conf[q] + m->resv[q];
        if (cnt >= M_CAP)
            continue;
        if (best < 0 || cnt < m->conf[ids[best]] + m->resv[ids[best]] ||
            (cnt == m->conf[ids[best]] + m->resv[ids[best]] && q < ids[best]))
            best = i;
    }
    return best;
}

static void test_model_random(void **state)
{
    (void)state;
    set_now(T0);
    char dir[4096];
    newdir(dir, sizeof dir, "model");
    coord_opts oa = opts_of(M_CAP, "A"), ob = opts_of(M_CAP, "B");
    oa.lease_seconds = ob.lease_seconds = M_LEASE_MS / 1000;
    oa.reservation_seconds = ob.reservation_seconds = M_RES_MS / 1000;
    oa.max_deliveries = ob.max_deliveries = M_MAXDEL;
    coord_opts *cur_o = &oa;
    coord *c = open_ok(dir, cur_o);
    model *m = calloc(1, sizeof *m);
    m->res = calloc(M_RES, sizeof *m->res);
    m->recs = calloc(M_RES, sizeof *m->recs);
    m->next_res = 1;
    snprintf(m->worker, sizeof m->worker, "A");
    int n_ops = 20000;
    int hist[20] = {0};
    /* outcomes by call: unit claim, unit progress/done/fail, reserve, near claim, claim,
     * confirm, set uid, hold, assign */
    int tally[9][CC_STATUS_COUNT] = {{0}};
    uint64_t rec_conf = 0, rec_rel = 0;
    int rebuilds = 0;
    for (int step = 0; step < n_ops; step++) {
        int op = rndn(20);
        hist[op]++;
        char where[64];
        snprintf(where, sizeof where, "step %d op %d", step, op);
        cc_status st;
        if (op == 0) { /* add units */
            const char *keys[3];
            char kb[3][16];
            int n = 1 + rndn(3), added_m = 0;
            for (int i = 0; i < n; i++) {
                int ki = rndn(M_UNITKEYS);
                snprintf(kb[i], sizeof kb[i], "unit-%d", ki);
                keys[i] = kb[i];
                if (!m->unit_of_key[ki]) {
                    m->unit_of_key[ki] = ++m->n_units;
                    memset(&m->units[m->n_units], 0, sizeof m->units[0]);
                    added_m++;
                }
            }
            size_t added;
            assert_int_equal(coord_units_add(c, keys, (size_t)n, &added), CC_OK);
            assert_int_equal(added, added_m);
        } else if (op == 1) { /* claim a unit */
            coord_unit u;
            int id = m_unit_claim(m);
            st = coord_unit_claim(c, &u);
            tally[0][st]++;
            if (!id) {
                assert_int_equal(st, CC_E_NOTFOUND);
            } else {
                assert_int_equal(st, CC_OK);
                assert_int_equal(u.id, id);
                assert_int_equal(u.deliveries, m->units[id].deliveries);
                assert_string_equal(u.cursor, m->units[id].cursor);
            }
        } else if (op == 2) { /* progress, done, fail */
            int id = 1 + rndn(m->n_units + 1), kind = rndn(3);
            if (kind == 0) {
                char cur[16];
                snprintf(cur, sizeof cur, "p%d", step);
                st = coord_unit_progress(c, (uint64_t)id, cur);
                tally[1][st]++;
                if (id > m->n_units) {
                    assert_int_equal(st, CC_E_NOTFOUND);
                } else if (!m_leased_to_me(m, id)) {
                    assert_int_equal(st, CC_E_EXISTS);
                } else {
                    assert_int_equal(st, CC_OK);
                    snprintf(m->units[id].cursor, sizeof m->units[id].cursor, "%s", cur);
                    m->units[id].at = now_v + M_LEASE_MS;
                }
            } else if (kind == 1) {
                st = coord_unit_done(c, (uint64_t)id);
                tally[1][st]++;
                if (id > m->n_units) {
                    assert_int_equal(st, CC_E_NOTFOUND);
                } else if (!m_leased_to_me(m, id)) {
                    assert_int_equal(st, CC_E_EXISTS);
                } else {
                    assert_int_equal(st, CC_OK);
                    m->units[id].state = COORD_UNIT_DONE;
                }
            } else {
                double retry = rndn(3) * 10.0;
                st = coord_unit_fail(c, (uint64_t)id, "boom", retry);
                tally[1][st]++;
                if (id > m->n_units) {
                    assert_int_equal(st, CC_E_NOTFOUND);
                } else if (!m_leased_to_me(m, id)) {
                    assert_int_equal(st, CC_E_EXISTS);
                } else {
                    assert_int_equal(st, CC_OK);
                    m_unit *u = &m->units[id];
                    u->has_error = 1;
                    if (u->deliveries >= M_MAXDEL) {
                        u->state = COORD_UNIT_DEAD;
                    } else {
                        u->state = COORD_UNIT_PENDING;
                        u->at = now_v + (int64_t)(retry * 1000);
                    }
                }
            }
        } else if (op == 3) { /* requeue dead (rarely) */
            if (rndn(10))
                continue;
            size_t n, nm = 0;
            for (int i = 1; i <= m->n_units; i++) {
                if (m->units[i].state == COORD_UNIT_DEAD) {
                    m->units[i].state = COORD_UNIT_PENDING;
                    m->units[i].deliveries = 0;
                    m->units[i].at = 0;
                    nm++;
                }
            }
            assert_int_equal(coord_units_requeue_dead(c, &n), CC_OK);
            assert_int_equal(n, nm);
        } else if (op <= 6) { /* reserve (op 4), hold (op 5), assign a recent one (op 6) */
            uint32_t ids[3], picked = 0;
            int n = 1 + rndn(3);
            for (int i = 0; i < n; i++) /* a few hot queries fill up; the rest have room */
                ids[i] = (uint32_t)(rndn(2) ? rndn(M_HOT) : rndn(M_QUERIES));
            m_sweep(m);
            int best = m_pick(m, ids, n);
            uint64_t r;
            if (op == 6) {
                uint64_t id = m->next_res > 4 ? m->next_res - 1 - (uint64_t)rndn(4) : 1;
                m_res *mr = &m->res[id];
                st = coord_quota_assign(c, id, ids, (size_t)n, &picked);
                tally[8][st]++;
                if (!mr->live) {
                    assert_int_equal(st, CC_E_NOTFOUND);
                } else if (!mr->held) {
                    assert_int_equal(st, CC_E_EXISTS);
                } else if (best < 0) {
                    assert_int_equal(st, CC_E_LIMIT);
                } else {
                    if (st != CC_OK)
                        fail_msg("%s: assign %s %s", where, cc_status_str(st), cc_errmsg());
                    assert_int_equal(picked, ids[best]);
                    mr->held = 0;
                    mr->query = picked;
                    m->resv[picked]++;
                }
            } else {
                int hold = op == 5;
                if (hold)
                    st = coord_quota_hold(c, &r);
                else
                    st = coord_quota_reserve(c, ids, (size_t)n, &picked, &r);
                tally[hold ? 7 : 2][st]++;
                if (!hold && best < 0) {
                    assert_int_equal(st, CC_E_LIMIT);
                } else {
                    if (st != CC_OK)
                        fail_msg("%s: reserve %s %s", where, cc_status_str(st), cc_errmsg());
                    assert_int_equal(r, m->next_res);
                    m_res *mr = &m->res[m->next_res++];
                    memset(mr, 0, sizeof *mr);
                    mr->live = 1;
                    mr->held = hold;
                    mr->expires = now_v + M_RES_MS;
                    snprintf(mr->worker, sizeof mr->worker, "%s", m->worker);
                    if (!hold) {
                        assert_int_equal(picked, ids[best]);
                        mr->query = picked;
                        m->resv[picked]++;
                    }
                }
            }
        } else if (op <= 9) { /* claims */
            /* a burst of claims under one recent reservation (reaches the claim limit) */
            uint64_t id = m->next_res > 6 ? m->next_res - 1 - (uint64_t)rndn(6) : 1;
            for (int burst = 1 + rndn(10); burst > 0; burst--) {
                m_sweep(m);
                m_res *mr = &m->res[id];
                int ns = rndn(3);
                if (ns == COORD_NS_NEAR) {
                    uint64_t h = pool_phash(rndn(M_PHPOOL)), dup = 0, best_h = 0;
                    int best_d = 99;
                    for (int i = 0; i < m->n_near; i++) {
                        int d = phash_distance(m->near_h[i], h);
                        if (d <= 4 && (d < best_d || (d == best_d && m->near_h[i] < best_h))) {
                            best_d = d;
                            best_h = m->near_h[i];
                        }
                    }
                    st = coord_near_claim(c, h, id, &dup);
                    tally[3][st]++;
                    if (!mr->live) {
                        assert_int_equal(st, CC_E_NOTFOUND);
                    } else if (best_d < 99) {
                        assert_int_equal(st, CC_E_EXISTS);
                        assert_true(dup == best_h);
                    } else if (mr->n >= COORD_MAX_CLAIMS) {
                        assert_int_equal(st, CC_E_LIMIT);
                    } else {
                        assert_int_equal(st, CC_OK);
                        assert_true(m->n_near < M_CLAIMS);
                        m->near_h[m->n_near] = h;
                        m->near_r[m->n_near++] = id;
                        mr->ns[mr->n] = COORD_NS_NEAR;
                        mr->ph[mr->n++] = h;
                    }
                } else {
                    uint8_t k[16];
                    pool_key(k, ns, rndn(M_KEYPOOL));
                    st = coord_claim(c, ns, k, id);
                    tally[4][st]++;
                    if (!mr->live) {
                        assert_int_equal(st, CC_E_NOTFOUND);
                    } else if (m_find_claim(m, ns, k)) {
                        assert_int_equal(st, CC_E_EXISTS);
                    } else if (mr->n >= COORD_MAX_CLAIMS) {
                        assert_int_equal(st, CC_E_LIMIT);
                    } else {
                        assert_int_equal(st, CC_OK);
                        assert_true(m->n_claims < M_CLAIMS);
                        m_claim *cl = &m->claims[m->n_claims++];
                        cl->ns = (uint8_t)ns;
                        memcpy(cl->key, k, 16);
                        cl->res = id;
                        mr->ns[mr->n] = (uint8_t)ns;
                        memcpy(mr->key[mr->n++], k, 16);
                    }
                }
            }
        } else if (op <= 11) { /* confirm or release a recent reservation */
            uint64_t id = m->next_res > 8 ? m->next_res - 1 - (uint64_t)rndn(8) : 1;
            m_sweep(m);
            m_res *mr = &m->res[id];
            if (op == 10) {
                st = coord_quota_confirm(c, id);
                tally[5][st]++;
                if (mr->live && mr->held) {
                    assert_int_equal(st, CC_E_INVAL);
                } else if (mr->live) {
                    assert_int_equal(st, CC_OK);
                    m_end(m, id, 1, 0);
                } else {
                    assert_int_equal(st, mr->confirmed ? CC_OK : CC_E_NOTFOUND);
                }
            } else {
                int flags = rndn(2) ? COORD_KEEP_PAIR_KEY : 0;
                assert_int_equal(coord_quota_release(c, id, flags), CC_OK);
                if (mr->live)
                    m_end(m, id, 0, flags);
            }
        } else if (op == 12) { /* set uid */
            uint64_t id = m->next_res > 4 ? m->next_res - 1 - (uint64_t)rndn(4) : 1;
            m_sweep(m);
            uint8_t uid[16];
            key16(uid, 0x11d, (uint64_t)rndn(M_UIDPOOL));
            st = coord_quota_set_uid(c, id, uid);
            tally[6][st]++;
            if (m->res[id].live) {
                assert_int_equal(st, CC_OK);
                m->res[id].uid_set = 1;
                memcpy(m->res[id].uid, uid, 16);
            } else {
                assert_int_equal(st, CC_E_NOTFOUND);
            }
        } else if (op == 13) { /* pair seen */
            uint8_t k[16];
            pool_key(k, COORD_NS_PAIR, rndn(M_KEYPOOL));
            m_claim *cl = m_find_claim(m, COORD_NS_PAIR, k);
            int want = cl && (cl->res == 0 || m->res[cl->res].expires > now_v);
            int seen = -1;
            assert_int_equal(coord_pair_seen(c, k, &seen), CC_OK);
            assert_int_equal(seen, want);
        } else if (op == 14) { /* quota get */
            uint32_t q = (uint32_t)rndn(M_QUERIES);
            uint64_t conf, resv, live = 0;
            for (uint64_t id = 1; id < m->next_res; id++)
                live += m->res[id].live && !m->res[id].held && m->res[id].query == q &&
                        m->res[id].expires > now_v;
            assert_int_equal(coord_quota_get(c, q, &conf, &resv), CC_OK);
            assert_int_equal(conf, m->conf[q]);
            assert_int_equal(resv, live);
        } else if (op <= 16) { /* time passes */
            advance(rndn(4) == 0 ? rndn(150) : rndn(20));
        } else if (op == 17) { /* recover with some uids, after a restart (rarely) */
            if (rndn(8))
                continue;
            coord_close(c);
            c = open_ok(dir, cur_o);
            uint8_t uids[8][16];
            int n = rndn(4);
            /* random uids, and about half of the uids of this worker's live reservations */
            for (int i = 0; i < n; i++)
                key16(uids[i], 0x11d, (uint64_t)rndn(M_UIDPOOL));
            for (uint64_t id = 1; id < m->next_res && n < 8; id++)
                if (m->res[id].live && m->res[id].uid_set &&
                    strcmp(m->res[id].worker, m->worker) == 0 && rndn(2))
                    memcpy(uids[n++], m->res[id].uid, 16);
            uint64_t cm = 0, rm = 0;
            for (uint64_t id = 1; id < m->next_res; id++) {
                m_res *mr = &m->res[id];
                if (!mr->live || strcmp(mr->worker, m->worker) != 0)
                    continue;
                int in = 0; /* a held one is released even when listed */
                for (int i = 0; i < n && mr->uid_set && !mr->held; i++)
                    in |= memcmp(uids[i], mr->uid, 16) == 0;
                m_end(m, id, in, 0);
                if (in)
                    cm++;
                else
                    rm++;
            }
            m_sweep(m);
            uint64_t cc = 0, rr = 0;
            assert_int_equal(coord_recover(c, (const uint8_t(*)[16])uids, (size_t)n, &cc, &rr),
                             CC_OK);
            assert_int_equal(cc, cm);
            assert_int_equal(rr, rm);
            rec_conf += cc;
            rec_rel += rr;
        } else if (op == 18) { /* restart as the other worker (rarely) */
            if (rndn(10))
                continue;
            coord_close(c);
            cur_o = cur_o == &oa ? &ob : &oa;
            snprintf(m->worker, sizeof m->worker, "%s", cur_o == &oa ? "A" : "B");
            c = open_ok(dir, cur_o);
        } else { /* rebuild from the confirmed pairs (rarely) */
            if (rndn(100))
                continue;
            assert_int_equal(coord_rebuild_begin(c), CC_OK);
            rebuilds++;
            for (uint64_t id = 1; id < m->next_res; id++)
                m->res[id].live = 0;
            m->n_claims = m->n_near = 0;
            memset(m->conf, 0, sizeof m->conf);
            memset(m->resv, 0, sizeof m->resv);
            static const uint8_t zero[16];
            for (int i = 0; i < m->n_recs; i++) {
                const pairrec *p = &m->recs[i];
                assert_int_equal(coord_rebuild_add(c, p->query, p->uid, p->content, p->phash),
                                 CC_OK);
                m->conf[p->query]++;
                if (!m_find_claim(m, COORD_NS_PAIR, p->uid)) {
                    m_claim *cl = &m->claims[m->n_claims++];
                    *cl = (m_claim){.ns = COORD_NS_PAIR};
                    memcpy(cl->key, p->uid, 16);
                }
                if (memcmp(p->content, zero, 16) != 0 &&
                    !m_find_claim(m, COORD_NS_CONTENT, p->content)) {
                    m_claim *cl = &m->claims[m->n_claims++];
                    *cl = (m_claim){.ns = COORD_NS_CONTENT};
                    memcpy(cl->key, p->content, 16);
                }
                int have = 0;
                for (int j = 0; j < m->n_near; j++)
                    have |= m->near_h[j] == p->phash;
                if (p->phash && !have) {
                    m->near_h[m->n_near] = p->phash;
                    m->near_r[m->n_near++] = 0;
                }
            }
            assert_int_equal(coord_rebuild_end(c), CC_OK);
        }
        coord_counts got, want;
        assert_int_equal(coord_get_counts(c, &got), CC_OK);
        m_counts(m, &want);
        assert_counts_eq(&got, &want, where);
        if (step % 1000 == 999)
            check_counts(&c, dir, cur_o, where);
    }
    coord_counts k;
    assert_int_equal(coord_get_counts(c, &k), CC_OK);
    /* the run reached the interesting states and outcomes */
    static const struct {
        int kind;
        cc_status st;
    } need[] = {
        {0, CC_OK},         {0, CC_E_NOTFOUND}, {1, CC_OK},         {1, CC_E_EXISTS},
        {1, CC_E_NOTFOUND}, {2, CC_OK},         {2, CC_E_LIMIT},    {3, CC_OK},
        {3, CC_E_EXISTS},   {3, CC_E_NOTFOUND}, {3, CC_E_LIMIT},    {4, CC_OK},
        {4, CC_E_EXISTS},   {4, CC_E_NOTFOUND}, {4, CC_E_LIMIT},    {5, CC_OK},
        {5, CC_E_NOTFOUND}, {6, CC_OK},         {6, CC_E_NOTFOUND}, {5, CC_E_INVAL},
        {7, CC_OK},         {8, CC_OK},         {8, CC_E_LIMIT},    {8, CC_E_EXISTS},
        {8, CC_E_NOTFOUND},
    };
    for (size_t i = 0; i < sizeof need / sizeof need[0]; i++)
        if (tally[need[i].kind][need[i].st] == 0)
            fail_msg("the random run never saw %s from call kind %d", cc_status_str(need[i].st),
                     need[i].kind);
    assert_true(rec_conf > 0 && rec_rel > 0);
    assert_true(rebuilds > 0);
    assert_true(k.confirmed > 20);
    assert_true(k.queries_full > 0);
    assert_true(k.units[COORD_UNIT_DONE] > 0);
    assert_true(k.claims[COORD_NS_NEAR] > 0 && k.claims[COORD_NS_PAIR] > 0);
    print_message("model: %d rebuilds, recover confirmed %" PRIu64 " released %" PRIu64 "\n",
                  rebuilds, rec_conf, rec_rel);
    print_message("model: %d ops, next res %" PRIu64 ", confirmed %" PRIu64 ", units done %" PRIu64
                  " dead %" PRIu64 ", claims %" PRIu64 "/%" PRIu64 "/%" PRIu64 "\n",
                  n_ops, m->next_res, k.confirmed, k.units[COORD_UNIT_DONE],
                  k.units[COORD_UNIT_DEAD], k.claims[0], k.claims[1], k.claims[2]);
    coord_close(c);
    free(m->res);
    free(m->recs);
    free(m);
}

/* ---- measurement (CLIPCRAWL_COORD_BENCH=1) ------------------------------------------------- */

static double mono(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static void test_bench(void **state)
{
    (void)state;
    const char *b = getenv("CLIPCRAWL_COORD_BENCH");
    if (!b || strcmp(b, "1") != 0) {
        skip();
        return;
    }
    unsetenv(COORD_FAKE_NOW_ENV); /* the real clock */
    char dir[4096];
    newdir(dir, sizeof dir, "bench");
    coord_opts o;
    coord_opts_default(&o);
    coord *c = open_ok(dir, &o);
    enum { N = 100000, NQ = 50000 };
    uint64_t x = 1;
    double t0 = mono();
    for (int i = 0; i < N; i++) {
        x = x * 6364136223846793005ull + 1442695040888963407ull;
        uint32_t ids[3] = {(uint32_t)(x % NQ), (uint32_t)((x >> 20) % NQ),
                           (uint32_t)((x >> 40) % NQ)},
                 q;
        uint64_t r;
        uint8_t uid[16], content[16];
        key16(uid, x, (uint64_t)i);
        key16(content, x ^ 0x5555, (uint64_t)i);
        assert_int_equal(coord_quota_reserve(c, ids, 3, &q, &r), CC_OK);
        assert_int_equal(coord_claim(c, COORD_NS_PAIR, uid, r), CC_OK);
        assert_int_equal(coord_quota_set_uid(c, r, uid), CC_OK);
        assert_int_equal(coord_claim(c, COORD_NS_CONTENT, content, r), CC_OK);
        uint64_t ph = x * 0x9e3779b97f4a7c15ull;
        cc_status st = coord_near_claim(c, ph, r, NULL);
        assert_true(st == CC_OK || st == CC_E_EXISTS);
        assert_int_equal(coord_quota_confirm(c, r), CC_OK);
    }
    double t_full = mono() - t0;
    assert_int_equal(coord_sync(c), CC_OK);
    coord_counts k;
    assert_int_equal(coord_get_counts(c, &k), CC_OK);
    uint64_t pairs = k.confirmed;
    coord_close(c);
    /* the file, and a compacting copy of it (the pages without the free ones) */
    char data[8400], copy[4200];
    snprintf(data, sizeof data, "%s/data.mdb", dir);
    snprintf(copy, sizeof copy, "%s-copy", dir);
    struct stat sb, sc;
    assert_int_equal(stat(data, &sb), 0);
    MDB_env *env;
    assert_int_equal(mdb_env_create(&env), 0);
    assert_int_equal(mdb_env_set_maxdbs(env, 16), 0);
    assert_int_equal(mdb_env_open(env, dir, MDB_RDONLY, 0644), 0);
    assert_int_equal(mkdir(copy, 0755), 0);
    assert_int_equal(mdb_env_copy2(env, copy, MDB_CP_COMPACT), 0);
    mdb_env_close(env);
    snprintf(data, sizeof data, "%s/data.mdb", copy);
    assert_int_equal(stat(data, &sc), 0);
    c = open_ok(dir, &o);
    /* a rebuild from the list of those pairs */
    double t_rb = mono();
    assert_int_equal(coord_rebuild_begin(c), CC_OK);
    x = 1;
    for (int i = 0; i < N; i++) {
        x = x * 6364136223846793005ull + 1442695040888963407ull;
        uint8_t uid[16], content[16];
        key16(uid, x, (uint64_t)i);
        key16(content, x ^ 0x5555, (uint64_t)i);
        assert_int_equal(
            coord_rebuild_add(c, (uint32_t)(x % NQ), uid, content, x * 0x9e3779b97f4a7c15ull),
            CC_OK);
    }
    assert_int_equal(coord_rebuild_end(c), CC_OK);
    t_rb = mono() - t_rb;
    /* reserve + claim + confirm only */
    t0 = mono();
    for (int i = 0; i < 20000; i++) {
        uint32_t qq = (uint32_t)(NQ + i);
        uint64_t r;
        uint8_t uid[16];
        key16(uid, 0x77, (uint64_t)i);
        assert_int_equal(coord_quota_reserve(c, &qq, 1, &qq, &r), CC_OK);
        assert_int_equal(coord_claim(c, COORD_NS_PAIR, uid, r), CC_OK);
        assert_int_equal(coord_quota_confirm(c, r), CC_OK);
    }
    double t_small = mono() - t0;
    /* the pipeline's two phases: hold + claim, then assign + confirm */
    t0 = mono();
    for (int i = 0; i < 20000; i++) {
        uint32_t qq = (uint32_t)(NQ + 20000 + i);
        uint64_t r;
        uint8_t uid[16];
        key16(uid, 0x78, (uint64_t)i);
        assert_int_equal(coord_quota_hold(c, &r), CC_OK);
        assert_int_equal(coord_claim(c, COORD_NS_PAIR, uid, r), CC_OK);
        assert_int_equal(coord_quota_assign(c, r, &qq, 1, &qq), CC_OK);
        assert_int_equal(coord_quota_confirm(c, r), CC_OK);
    }
    double t_two = mono() - t0;
    /* near claims against ~100K stored hashes (reserve / near claim / release) */
    double t_near = 0;
    int dups = 0;
    for (int i = 0; i < 10000; i++) {
        uint32_t qq = 1;
        uint64_t r;
        x = x * 6364136223846793005ull + 1442695040888963407ull;
        assert_int_equal(coord_quota_reserve(c, &qq, 1, &qq, &r), CC_OK);
        double t1 = mono();
        cc_status st = coord_near_claim(c, x, r, NULL);
        t_near += mono() - t1;
        dups += st == CC_E_EXISTS;
        assert_int_equal(coord_quota_release(c, r, 0), CC_OK);
    }
    double t_seen = mono();
    int seen, nseen = 0;
    for (int i = 0; i < 100000; i++) {
        uint8_t uid[16];
        key16(uid, 0x77, (uint64_t)i);
        assert_int_equal(coord_pair_seen(c, uid, &seen), CC_OK);
        nseen += seen;
    }
    t_seen = mono() - t_seen;
    assert_int_equal(nseen, 20000);
    assert_int_equal(coord_get_counts(c, &k), CC_OK);
    coord_close(c);
    print_message("bench: %d full cycles (reserve of 3 ids, claim pair, set uid, claim content, "
                  "near claim, confirm): %.1f us/cycle\n",
                  N, t_full / N * 1e6);
    print_message("bench: reserve + claim + confirm: %.1f us/cycle\n", t_small / 20000 * 1e6);
    print_message("bench: hold + claim + assign + confirm: %.1f us/cycle\n", t_two / 20000 * 1e6);
    print_message("bench: rebuild of %d pairs: %.2f s (%.1f us/pair)\n", N, t_rb, t_rb / N * 1e6);
    print_message("bench: near claim with %" PRIu64 " stored hashes: %.1f us (%d dups)\n",
                  k.claims[COORD_NS_NEAR], t_near / 10000 * 1e6, dups);
    print_message("bench: pair_seen: %.2f us\n", t_seen / 100000 * 1e6);
    print_message("bench: %" PRIu64 " confirmed pairs (each a pair, content and near claim): "
                  "file %.1f MB = %.0f B/pair; compacted %.1f MB = %.0f B/pair\n",
                  pairs, sb.st_size / 1e6, (double)sb.st_size / (double)pairs, sc.st_size / 1e6,
                  (double)sc.st_size / (double)pairs);
    set_now(T0);
}

/* ---- web frontier -------------------------------------------------------------------------- */

/* What coord_frontier_load gave. */
typedef struct fr_seen {
    uint64_t idx[64];
    char url[64][64];
    uint32_t depth[64];
    size_t n;
    uint64_t hash[256];
    size_t nh;
    int stop_after; /* entry calls before stopping (0: never) */
} fr_seen;

static int fr_entry(void *ctx, uint64_t index, const char *url, uint32_t depth)
{
    fr_seen *f = ctx;
    assert_true(f->n < 64);
    f->idx[f->n] = index;
    snprintf(f->url[f->n], sizeof f->url[0], "%s", url);
    f->depth[f->n] = depth;
    f->n++;
    return f->stop_after && (int)f->n >= f->stop_after;
}

static int fr_visit(void *ctx, uint64_t hash)
{
    fr_seen *f = ctx;
    assert_true(f->nh < 256);
    f->hash[f->nh++] = hash;
    return 0;
}

static cc_status fr_load(coord *c, uint64_t id, fr_seen *f, coord_frontier_info *info)
{
    memset(f, 0, sizeof *f);
    return coord_frontier_load(c, id, info, fr_entry, fr_visit, f);
}

static int fr_has_hash(const fr_seen *f, const char *url)
{
    uint64_t h = cc_hash64(url, strlen(url));
    for (size_t i = 0; i < f->nh; i++)
        if (f->hash[i] == h)
            return 1;
    return 0;
}

/* Entries "http://s.test/pN" for N in [from, from + n). */
static void fr_entries(coord_frontier_entry *e, char (*buf)[64], int from, int n, uint32_t depth)
{
    for (int i = 0; i < n; i++) {
        snprintf(buf[i], 64, "http://s.test/p%d", from + i);
        e[i].url = buf[i];
        e[i].depth = depth;
    }
}

static void test_frontier(void **state)
{
    (void)state;
    set_now(T0);
    char dir[4096];
    newdir(dir, sizeof dir, "frontier");
    coord_opts o = opts_of(10, "w1");
    o.frontier_max = 8;
    coord *c = open_ok(dir, &o);
    const char *keys[] = {"seed:a", "seed:b"};
    assert_int_equal(coord_units_add(c, keys, 2, NULL), CC_OK);
    coord_unit ua, ub;
    assert_int_equal(coord_unit_claim(c, &ua), CC_OK);
    assert_int_equal(coord_unit_claim(c, &ub), CC_OK);
    fr_seen f;
    coord_frontier_info info;
    /* none yet */
    assert_int_equal(fr_load(c, ua.id, &f, &info), CC_E_NOTFOUND);
    assert_int_equal(f.n, 0);

    /* push the seed (index 0) and 3 links; head 1: the seed is done */
    coord_frontier_entry e[16];
    char buf[16][64];
    fr_entries(e, buf, 0, 4, 1);
    e[0].depth = 0;
    assert_int_equal(coord_frontier_progress(c, ua.id, "1 pages", 1, e, 4), CC_OK);
    /* unit b has its own */
    fr_entries(e, buf, 100, 2, 0);
    assert_int_equal(coord_frontier_progress(c, ub.id, "0 pages", 0, e, 2), CC_OK);
    assert_int_equal(fr_load(c, ua.id, &f, &info), CC_OK);
    assert_int_equal(info.head, 1);
    assert_int_equal(info.tail, 4);
    assert_int_equal(info.visited, 4);
    assert_int_equal(f.n, 3);
    for (size_t i = 0; i < 3; i++) {
        assert_int_equal(f.idx[i], i + 1);
        char want[64];
        snprintf(want, sizeof want, "http://s.test/p%zu", i + 1);
        assert_string_equal(f.url[i], want);
        assert_int_equal(f.depth[i], 1);
    }
    assert_int_equal(f.nh, 4);
    assert_true(fr_has_hash(&f, "http://s.test/p0")); /* done entries stay visited */
    assert_true(fr_has_hash(&f, "http://s.test/p3"));
    assert_false(fr_has_hash(&f, "http://s.test/p100"));
    coord_unit got;
    assert_int_equal(coord_unit_get(c, "seed:a", &got), CC_OK);
    assert_string_equal(got.cursor, "1 pages");

    /* a stopping callback */
    memset(&f, 0, sizeof f);
    f.stop_after = 1;
    assert_int_equal(coord_frontier_load(c, ua.id, NULL, fr_entry, fr_visit, &f), CC_OK);
    assert_int_equal(f.n, 1);
    assert_int_equal(f.nh, 0);
    /* NULL functions: counts only */
    assert_int_equal(coord_frontier_load(c, ub.id, &info, NULL, NULL, NULL), CC_OK);
    assert_int_equal(info.tail, 2);

    /* head moves, nothing pushed; a visited URL pushed again stays one hash */
    assert_int_equal(coord_frontier_progress(c, ua.id, "2 pages", 2, NULL, 0), CC_OK);
    fr_entries(e, buf, 3, 1, 2); /* p3 again (the caller should not, but the set is a set) */
    assert_int_equal(coord_frontier_progress(c, ua.id, "3 pages", 3, e, 1), CC_OK);
    assert_int_equal(fr_load(c, ua.id, &f, &info), CC_OK);
    assert_int_equal(info.head, 3);
    assert_int_equal(info.tail, 5);
    assert_int_equal(info.visited, 4);
    assert_int_equal(f.n, 2);
    assert_int_equal(f.idx[0], 3);
    assert_int_equal(f.idx[1], 4);
    assert_int_equal(f.depth[1], 2);

    /* bad heads and URLs: nothing changes */
    assert_int_equal(coord_frontier_progress(c, ua.id, "x", 2, NULL, 0), CC_E_INVAL); /* back */
    assert_int_equal(coord_frontier_progress(c, ua.id, "x", 6, NULL, 0), CC_E_INVAL); /* > tail */
    coord_frontier_entry bad = {"", 0};
    assert_int_equal(coord_frontier_progress(c, ua.id, "x", 3, &bad, 1), CC_E_INVAL);
    char longu[COORD_FRONTIER_URL_MAX + 1];
    memset(longu, 'u', sizeof longu - 1);
    longu[sizeof longu - 1] = '\0';
    bad.url = longu;
    assert_int_equal(coord_frontier_progress(c, ua.id, "x", 3, &bad, 1), CC_E_INVAL);
    assert_int_equal(coord_frontier_progress(c, ua.id, "x", 3, NULL, 1), CC_E_INVAL);
    assert_int_equal(coord_frontier_progress(c, 999, "x", 0, NULL, 0), CC_E_NOTFOUND);
    /* a URL of the longest length is fine */
    longu[COORD_FRONTIER_URL_MAX - 1] = '\0';
    bad.url = longu;
    assert_int_equal(coord_frontier_progress(c, ua.id, "4 pages", 3, &bad, 1), CC_OK);
    assert_int_equal(coord_unit_get(c, "seed:a", &got), CC_OK);
    assert_string_equal(got.cursor, "4 pages");
    assert_int_equal(coord_frontier_load(c, ua.id, &info, NULL, NULL, NULL), CC_OK);
    assert_int_equal(info.head, 3);
    assert_int_equal(info.tail, 6);

    /* bounded: 8 queued at most (frontier_max); over it is CC_E_LIMIT and nothing is written */
    fr_entries(e, buf, 10, 6, 1); /* 3 queued + 6 = 9 > 8 */
    assert_int_equal(coord_frontier_progress(c, ua.id, "LIMIT", 3, e, 6), CC_E_LIMIT);
    assert_int_equal(coord_unit_get(c, "seed:a", &got), CC_OK);
    assert_string_equal(got.cursor, "4 pages");
    assert_int_equal(coord_frontier_load(c, ua.id, &info, NULL, NULL, NULL), CC_OK);
    assert_int_equal(info.tail, 6);
    assert_int_equal(info.visited, 5);
    /* the same push with the head moved by one fits (8 queued) */
    assert_int_equal(coord_frontier_progress(c, ua.id, "5 pages", 4, e, 6), CC_OK);
    assert_int_equal(fr_load(c, ua.id, &f, &info), CC_OK);
    assert_int_equal(f.n, 8);
    assert_int_equal(info.tail - info.head, 8);
    assert_int_equal(info.visited, 11);
    /* entries below the head are popped as they are pushed: head past them in one call */
    fr_entries(e, buf, 20, 3, 1); /* indexes 12..14; head 13 skips index 12 */
    assert_int_equal(coord_frontier_progress(c, ua.id, "6 pages", 13, e, 3), CC_OK);
    assert_int_equal(fr_load(c, ua.id, &f, &info), CC_OK);
    assert_int_equal(f.n, 2);
    assert_int_equal(f.idx[0], 13);
    assert_string_equal(f.url[0], "http://s.test/p21");
    assert_true(fr_has_hash(&f, "http://s.test/p20"));

    /* survives a reopen */
    coord_close(c);
    c = open_ok(dir, &o);
    fr_seen f2;
    coord_frontier_info info2;
    assert_int_equal(fr_load(c, ua.id, &f2, &info2), CC_OK);
    assert_memory_equal(&info, &info2, sizeof info);
    assert_int_equal(f2.n, 2);
    assert_string_equal(f2.url[1], "http://s.test/p22");
    assert_int_equal(f2.nh, f.nh);

    /* not leased to this worker (another worker, or an expired lease): CC_E_EXISTS, and neither
     * the cursor nor the frontier moves — the two change in one transaction */
    coord_close(c);
    coord_opts o2 = o;
    o2.worker = "w2";
    c = open_ok(dir, &o2);
    fr_entries(e, buf, 40, 1, 1);
    assert_int_equal(coord_frontier_progress(c, ua.id, "stolen", 14, e, 1), CC_E_EXISTS);
    coord_close(c);
    c = open_ok(dir, &o);
    advance(61); /* past the 60 s lease */
    assert_int_equal(coord_frontier_progress(c, ua.id, "late", 14, e, 1), CC_E_EXISTS);
    assert_int_equal(coord_unit_get(c, "seed:a", &got), CC_OK);
    assert_string_equal(got.cursor, "6 pages");
    assert_int_equal(fr_load(c, ua.id, &f2, &info2), CC_OK);
    assert_memory_equal(&info, &info2, sizeof info);
    assert_false(fr_has_hash(&f2, "http://s.test/p40"));
    /* re-claimed (a new delivery), the frontier is still there and progress goes on */
    coord_unit again;
    assert_int_equal(coord_unit_claim(c, &again), CC_OK);
    assert_int_equal(again.id, ua.id);
    assert_string_equal(again.cursor, "6 pages");
    assert_int_equal(coord_frontier_progress(c, ua.id, "7 pages", 14, e, 1), CC_OK);
    assert_int_equal(fr_load(c, ua.id, &f2, &info2), CC_OK);
    assert_int_equal(info2.tail, 16);
    assert_true(fr_has_hash(&f2, "http://s.test/p40"));
    /* a failed unit keeps its frontier */
    assert_int_equal(coord_unit_fail(c, ua.id, "boom", 0), CC_OK);
    assert_int_equal(fr_load(c, ua.id, &f2, &info2), CC_OK);
    assert_int_equal(coord_unit_claim(c, &again), CC_OK); /* b, whose lease expired too */
    if (again.id != ua.id)
        assert_int_equal(coord_unit_claim(c, &again), CC_OK);
    assert_int_equal(again.id, ua.id);

    /* done drops the frontier; the other unit's stays */
    assert_int_equal(coord_unit_done(c, ua.id), CC_OK);
    assert_int_equal(fr_load(c, ua.id, &f2, &info2), CC_E_NOTFOUND);
    {
        raw r;
        raw_open(&r, dir, 0);
        MDB_dbi d = raw_dbi(&r, "frontier");
        MDB_cursor *cur;
        assert_int_equal(mdb_cursor_open(r.t, d, &cur), 0);
        MDB_val k, v;
        size_t n = 0;
        while (mdb_cursor_get(cur, &k, &v, n ? MDB_NEXT : MDB_FIRST) == 0) {
            assert_true(k.mv_size >= 8);
            assert_int_equal(be64(k.mv_data), ub.id); /* only unit b's records are left */
            n++;
        }
        assert_int_equal(n, 1 + 2 + 2); /* head, 2 entries, 2 hashes */
        mdb_cursor_close(cur);
        raw_close(&r, 0);
    }
    check_counts(&c, dir, &o, "frontier");

    /* a rebuild drops every frontier */
    assert_int_equal(fr_load(c, ub.id, &f2, &info2), CC_OK);
    assert_int_equal(coord_rebuild_begin(c), CC_OK);
    assert_int_equal(coord_rebuild_end(c), CC_OK);
    assert_int_equal(fr_load(c, ub.id, &f2, &info2), CC_E_NOTFOUND);
    coord_close(c);
    set_now(T0);
}

/* A frontier push that outgrows the map is retried whole after the growth: the cursor and every
 * entry are there, once. */
static void test_frontier_growth(void **state)
{
    (void)state;
    set_now(T0);
    char dir[4096];
    newdir(dir, sizeof dir, "frontier-grow");
    coord_opts o = opts_of(10, "w1");
    size_t saved = coord_lmdb_initial_mapsize;
    coord_lmdb_initial_mapsize = 64 << 10;
    coord *c = open_ok(dir, &o);
    const char *key = "seed:big";
    assert_int_equal(coord_units_add(c, &key, 1, NULL), CC_OK);
    coord_unit u;
    assert_int_equal(coord_unit_claim(c, &u), CC_OK);
    enum { N = 2000 };
    static coord_frontier_entry e[N];
    static char b[N][600];
    for (int i = 0; i < N; i++) {
        memset(b[i], 'x', 500);
        snprintf(b[i], 40, "http://s.test/%d/", i);
        b[i][strlen(b[i])] = 'x';
        b[i][500] = '\0';
        e[i].url = b[i];
        e[i].depth = (uint32_t)i;
    }
    assert_int_equal(coord_frontier_progress(c, u.id, "grown", 0, e, N), CC_OK);
    coord_close(c);
    coord_lmdb_initial_mapsize = saved;
    c = open_ok(dir, &o);
    coord_frontier_info info;
    assert_int_equal(coord_frontier_load(c, u.id, &info, NULL, NULL, NULL), CC_OK);
    assert_int_equal(info.head, 0);
    assert_int_equal(info.tail, N);
    assert_int_equal(info.visited, N);
    coord_unit got;
    assert_int_equal(coord_unit_get(c, key, &got), CC_OK);
    assert_string_equal(got.cursor, "grown");
    coord_close(c);
}

static int setup(void **state)
{
    (void)state;
    cc_log_set_level(CC_LOG_QUIET); /* dead-letter and rebuild warnings are expected here */
    return mkdtemp(root) ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    char cmd[200];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", root);
    return system(cmd) == 0 ? 0 : -1;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_open_reopen),
        cmocka_unit_test(test_open_errors),
        cmocka_unit_test(test_busy),
        cmocka_unit_test(test_units_basic),
        cmocka_unit_test(test_units_workers_and_dead),
        cmocka_unit_test(test_quota_pick_and_cap),
        cmocka_unit_test(test_quota_expiry_and_foreach),
        cmocka_unit_test(test_claims),
        cmocka_unit_test(test_near),
        cmocka_unit_test(test_recover),
        cmocka_unit_test(test_hold_assign),
        cmocka_unit_test(test_hold_expiry),
        cmocka_unit_test(test_recover_held),
        cmocka_unit_test(test_rebuild),
        cmocka_unit_test(test_map_growth),
        cmocka_unit_test(test_frontier),
        cmocka_unit_test(test_frontier_growth),
        cmocka_unit_test(test_threads),
        cmocka_unit_test(test_model_random),
        cmocka_unit_test(test_bench),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
