/* crawler/coord.c — the coordinator's front: spec dispatch, option and argument checks, the
 * per-handle mutex and the clock, shared by every backend (see coord_impl.h). */
#include "crawler/coord_impl.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "query_lists/quota.h"

void coord_opts_default(coord_opts *o)
{
    o->cap = QUOTA_DEFAULT_CAP;
    o->lease_seconds = 600;
    o->reservation_seconds = 600;
    o->max_deliveries = 5;
    o->near_distance = 4;
    o->worker = "local";
    o->frontier_max = COORD_FRONTIER_MAX_DEFAULT;
}

int64_t coord_now_ms(void)
{
    const char *fake = getenv(COORD_FAKE_NOW_ENV);
    if (fake && *fake) {
        char *end;
        errno = 0;
        long long v = strtoll(fake, &end, 10);
        if (errno == 0 && *end == '\0' && v >= 0)
            return (int64_t)v;
    }
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Seconds to whole milliseconds for a duration option: > 0, at most ~31 years. */
static cc_status seconds_to_ms(double s, const char *what, int64_t *ms)
{
    CC_CHECK(isfinite(s) && s > 0 && s <= 1e9, CC_E_INVAL,
             "coordinator: %s must be a number of seconds in (0, 1e9], not %g", what, s);
    double v = ceil(s * 1000.0);
    *ms = v < 1 ? 1 : (int64_t)v;
    return CC_OK;
}

cc_status coord_head_init(coord *c, const coord_vtable *vt, const coord_opts *o)
{
    const char *w = o->worker ? o->worker : "local";
    size_t wl = strlen(w);
    CC_CHECK(o->cap >= 1, CC_E_INVAL, "coordinator: cap must be at least 1");
    CC_CHECK(o->max_deliveries >= 1 && o->max_deliveries <= 1000000, CC_E_INVAL,
             "coordinator: max_deliveries must be in 1..1000000, not %d", o->max_deliveries);
    CC_CHECK(o->near_distance >= 0 && o->near_distance <= 16, CC_E_INVAL,
             "coordinator: near_distance must be in 0..16, not %d", o->near_distance);
    CC_CHECK(wl >= 1 && wl < COORD_WORKER_MAX, CC_E_INVAL,
             "coordinator: the worker name must have 1..%d bytes", COORD_WORKER_MAX - 1);
    for (size_t i = 0; i < wl; i++)
        CC_CHECK((unsigned char)w[i] >= 0x20 && w[i] != 0x7f, CC_E_INVAL,
                 "coordinator: the worker name has a control character");
    CC_TRY(seconds_to_ms(o->lease_seconds, "lease_seconds", &c->lease_ms));
    CC_TRY(seconds_to_ms(o->reservation_seconds, "reservation_seconds", &c->reservation_ms));
    memcpy(c->worker, w, wl + 1);
    c->opts = *o;
    c->opts.worker = c->worker;
    if (c->opts.frontier_max == 0)
        c->opts.frontier_max = COORD_FRONTIER_MAX_DEFAULT;
    c->vt = vt;
    CC_CHECK(pthread_mutex_init(&c->mu, NULL) == 0, CC_E_NOMEM, "coordinator: mutex init failed");
    return CC_OK;
}

void coord_head_destroy(coord *c)
{
    pthread_mutex_destroy(&c->mu);
}

cc_status coord_open(const char *spec, const coord_opts *opts, coord **out)
{
    CC_CHECK(spec && out, CC_E_INVAL, "coord_open: NULL argument");
    *out = NULL;
    coord_opts o;
    if (opts)
        o = *opts;
    else
        coord_opts_default(&o);
    if (strncmp(spec, "lmdb:", 5) == 0) {
        CC_CHECK(spec[5] != '\0', CC_E_INVAL, "coordinator spec '%s': no path after lmdb:", spec);
        return coord_lmdb_open(spec + 5, &o, out);
    }
    if (strncmp(spec, "redis://", 8) == 0)
        return cc_fail(CC_E_UNSUPPORTED,
                       "coordinator spec '%s': the Redis backend is not in this build yet "
                       "(use lmdb:PATH)",
                       spec);
    return cc_fail(CC_E_INVAL,
                   "coordinator spec '%s': expected lmdb:PATH or redis://HOST:PORT[/DB]", spec);
}

void coord_close(coord *c)
{
    if (c)
        c->vt->close(c);
}

const char *coord_backend(const coord *c)
{
    return c ? c->vt->name : "";
}

/* Runs one backend call under the handle's mutex with the call's time. */
#define LOCKED(c, call)                                                                            \
    do {                                                                                           \
        int64_t now = coord_now_ms();                                                              \
        pthread_mutex_lock(&(c)->mu);                                                              \
        cc_status locked_st_ = (c)->vt->call;                                                      \
        pthread_mutex_unlock(&(c)->mu);                                                            \
        return locked_st_;                                                                         \
    } while (0)

cc_status coord_sync(coord *c)
{
    CC_CHECK(c, CC_E_INVAL, "coord_sync: NULL handle");
    pthread_mutex_lock(&c->mu);
    cc_status st = c->vt->sync(c);
    pthread_mutex_unlock(&c->mu);
    return st;
}

/* ---- work units ---------------------------------------------------------------------------- */

static cc_status check_key(const char *key)
{
    CC_CHECK(key, CC_E_INVAL, "coordinator: NULL unit key");
    size_t n = strnlen(key, COORD_KEY_MAX);
    CC_CHECK(n >= 1 && n < COORD_KEY_MAX, CC_E_INVAL,
             "coordinator: a unit key must have 1..%d bytes", COORD_KEY_MAX - 1);
    return CC_OK;
}

cc_status coord_units_add(coord *c, const char *const *keys, size_t n, size_t *added)
{
    CC_CHECK(c && (keys || n == 0), CC_E_INVAL, "coord_units_add: NULL argument");
    if (added)
        *added = 0;
    for (size_t i = 0; i < n; i++)
        CC_TRY(check_key(keys[i]));
    size_t dummy;
    LOCKED(c, units_add(c, now, keys, n, added ? added : &dummy));
}

cc_status coord_unit_claim(coord *c, coord_unit *out)
{
    CC_CHECK(c && out, CC_E_INVAL, "coord_unit_claim: NULL argument");
    LOCKED(c, unit_claim(c, now, out));
}

cc_status coord_unit_progress(coord *c, uint64_t id, const char *cursor)
{
    CC_CHECK(c && cursor, CC_E_INVAL, "coord_unit_progress: NULL argument");
    CC_CHECK(strnlen(cursor, COORD_CURSOR_MAX) < COORD_CURSOR_MAX, CC_E_INVAL,
             "coordinator: a cursor must have at most %d bytes", COORD_CURSOR_MAX - 1);
    LOCKED(c, unit_progress(c, now, id, cursor));
}

cc_status coord_unit_done(coord *c, uint64_t id)
{
    CC_CHECK(c, CC_E_INVAL, "coord_unit_done: NULL handle");
    LOCKED(c, unit_done(c, now, id));
}

cc_status coord_unit_fail(coord *c, uint64_t id, const char *error, double retry_seconds)
{
    CC_CHECK(c, CC_E_INVAL, "coord_unit_fail: NULL handle");
    CC_CHECK(isfinite(retry_seconds) && retry_seconds >= 0 && retry_seconds <= 1e9, CC_E_INVAL,
             "coordinator: retry_seconds must be in [0, 1e9], not %g", retry_seconds);
    /* The error is diagnostic text: cut at the limit, on a UTF-8 character boundary. */
    char err[COORD_ERROR_MAX];
    size_t n = error ? strnlen(error, COORD_ERROR_MAX - 1) : 0;
    if (error && error[n] != '\0')
        while (n > 0 && ((unsigned char)error[n] & 0xc0) == 0x80)
            n--;
    if (n)
        memcpy(err, error, n);
    err[n] = '\0';
    int64_t retry_ms = (int64_t)ceil(retry_seconds * 1000.0);
    LOCKED(c, unit_fail(c, now, id, err, retry_ms));
}

cc_status coord_unit_get(coord *c, const char *key, coord_unit *out)
{
    CC_CHECK(c && out, CC_E_INVAL, "coord_unit_get: NULL argument");
    CC_TRY(check_key(key));
    LOCKED(c, unit_get(c, now, key, out));
}

cc_status coord_units_requeue_dead(coord *c, size_t *n)
{
    CC_CHECK(c, CC_E_INVAL, "coord_units_requeue_dead: NULL handle");
    size_t dummy;
    LOCKED(c, units_requeue_dead(c, now, n ? n : &dummy));
}

cc_status coord_get_counts(coord *c, coord_counts *out)
{
    CC_CHECK(c && out, CC_E_INVAL, "coord_get_counts: NULL argument");
    LOCKED(c, get_counts(c, now, out));
}

/* ---- web frontier -------------------------------------------------------------------------- */

cc_status coord_frontier_progress(coord *c, uint64_t id, const char *cursor, uint64_t head,
                                  const coord_frontier_entry *add, size_t n)
{
    CC_CHECK(c && cursor && (add || n == 0), CC_E_INVAL, "coord_frontier_progress: NULL argument");
    CC_CHECK(strnlen(cursor, COORD_CURSOR_MAX) < COORD_CURSOR_MAX, CC_E_INVAL,
             "coordinator: a cursor must have at most %d bytes", COORD_CURSOR_MAX - 1);
    for (size_t i = 0; i < n; i++) {
        CC_CHECK(add[i].url, CC_E_INVAL, "coord_frontier_progress: NULL URL");
        size_t l = strnlen(add[i].url, COORD_FRONTIER_URL_MAX);
        CC_CHECK(l >= 1 && l < COORD_FRONTIER_URL_MAX, CC_E_INVAL,
                 "coordinator: a frontier URL must have 1..%d bytes", COORD_FRONTIER_URL_MAX - 1);
    }
    LOCKED(c, frontier_progress(c, now, id, cursor, head, add, n));
}

cc_status coord_frontier_load(coord *c, uint64_t id, coord_frontier_info *info,
                              int (*entry)(void *ctx, uint64_t index, const char *url,
                                           uint32_t depth),
                              int (*visited)(void *ctx, uint64_t hash), void *ctx)
{
    CC_CHECK(c, CC_E_INVAL, "coord_frontier_load: NULL handle");
    coord_frontier_info dummy;
    if (!info)
        info = &dummy;
    memset(info, 0, sizeof *info);
    LOCKED(c, frontier_load(c, now, id, info, entry, visited, ctx));
}

/* ---- quota --------------------------------------------------------------------------------- */

cc_status coord_quota_reserve(coord *c, const uint32_t *ids, size_t n, uint32_t *picked,
                              uint64_t *res)
{
    CC_CHECK(c && res, CC_E_INVAL, "coord_quota_reserve: NULL argument");
    *res = 0;
    CC_CHECK(ids && n > 0, CC_E_INVAL, "coord_quota_reserve: no query ids");
    uint32_t dummy;
    LOCKED(c, quota_reserve(c, now, ids, n, picked ? picked : &dummy, res));
}

cc_status coord_quota_hold(coord *c, uint64_t *res)
{
    CC_CHECK(c && res, CC_E_INVAL, "coord_quota_hold: NULL argument");
    *res = 0;
    LOCKED(c, quota_hold(c, now, res));
}

cc_status coord_quota_assign(coord *c, uint64_t res, const uint32_t *ids, size_t n,
                             uint32_t *picked)
{
    CC_CHECK(c, CC_E_INVAL, "coord_quota_assign: NULL handle");
    CC_CHECK(ids && n > 0, CC_E_INVAL, "coord_quota_assign: no query ids");
    uint32_t dummy;
    LOCKED(c, quota_assign(c, now, res, ids, n, picked ? picked : &dummy));
}

cc_status coord_quota_set_uid(coord *c, uint64_t res, const uint8_t uid[16])
{
    CC_CHECK(c && uid, CC_E_INVAL, "coord_quota_set_uid: NULL argument");
    LOCKED(c, quota_set_uid(c, now, res, uid));
}

cc_status coord_quota_confirm(coord *c, uint64_t res)
{
    CC_CHECK(c, CC_E_INVAL, "coord_quota_confirm: NULL handle");
    LOCKED(c, quota_confirm(c, now, res));
}

cc_status coord_quota_release(coord *c, uint64_t res, int flags)
{
    CC_CHECK(c, CC_E_INVAL, "coord_quota_release: NULL handle");
    CC_CHECK((flags & ~COORD_KEEP_PAIR_KEY) == 0, CC_E_INVAL,
             "coord_quota_release: unknown flags 0x%x", (unsigned)flags);
    LOCKED(c, quota_release(c, now, res, flags));
}

cc_status coord_quota_get(coord *c, uint32_t query, uint64_t *confirmed, uint64_t *reserved)
{
    CC_CHECK(c, CC_E_INVAL, "coord_quota_get: NULL handle");
    uint64_t d1, d2;
    LOCKED(c, quota_get(c, now, query, confirmed ? confirmed : &d1, reserved ? reserved : &d2));
}

cc_status coord_quota_foreach(coord *c, int (*fn)(void *ctx, uint32_t query, uint64_t confirmed),
                              void *ctx)
{
    CC_CHECK(c && fn, CC_E_INVAL, "coord_quota_foreach: NULL argument");
    coord_qcount *list = NULL;
    size_t n = 0;
    int64_t now = coord_now_ms();
    pthread_mutex_lock(&c->mu);
    cc_status st = c->vt->quota_list(c, now, &list, &n);
    pthread_mutex_unlock(&c->mu);
    for (size_t i = 0; st == CC_OK && i < n; i++)
        if (fn(ctx, list[i].query, list[i].confirmed))
            break;
    free(list);
    return st;
}

/* ---- dedupe claims ------------------------------------------------------------------------- */

cc_status coord_claim(coord *c, int ns, const uint8_t key[16], uint64_t res)
{
    CC_CHECK(c && key, CC_E_INVAL, "coord_claim: NULL argument");
    CC_CHECK(ns == COORD_NS_PAIR || ns == COORD_NS_CONTENT, CC_E_INVAL,
             "coord_claim: namespace %d is not COORD_NS_PAIR or COORD_NS_CONTENT", ns);
    LOCKED(c, claim(c, now, ns, key, res));
}

cc_status coord_pair_seen(coord *c, const uint8_t key[16], int *seen)
{
    CC_CHECK(c && key && seen, CC_E_INVAL, "coord_pair_seen: NULL argument");
    LOCKED(c, pair_seen(c, now, key, seen));
}

cc_status coord_near_claim(coord *c, uint64_t phash, uint64_t res, uint64_t *dup_of)
{
    CC_CHECK(c, CC_E_INVAL, "coord_near_claim: NULL handle");
    uint64_t dummy;
    LOCKED(c, near_claim(c, now, phash, res, dup_of ? dup_of : &dummy));
}

/* ---- recovery ------------------------------------------------------------------------------ */

static int uid_cmp(const void *a, const void *b)
{
    return memcmp(a, b, 16);
}

cc_status coord_recover(coord *c, const uint8_t (*uids)[16], size_t n, uint64_t *confirmed,
                        uint64_t *released)
{
    CC_CHECK(c && (uids || n == 0), CC_E_INVAL, "coord_recover: NULL argument");
    uint64_t d1, d2;
    if (!confirmed)
        confirmed = &d1;
    if (!released)
        released = &d2;
    *confirmed = *released = 0;
    /* A sorted, duplicate-free copy, searched with bsearch by the backend. */
    uint8_t(*sorted)[16] = NULL;
    size_t m = 0;
    if (n) {
        CC_CHECK(n <= SIZE_MAX / 16, CC_E_INVAL, "coord_recover: too many uids");
        sorted = malloc(n * 16);
        CC_CHECK(sorted, CC_E_NOMEM, "out of memory (%zu uids)", n);
        memcpy(sorted, uids, n * 16);
        qsort(sorted, n, 16, uid_cmp);
        for (size_t i = 0; i < n; i++)
            if (m == 0 || memcmp(sorted[m - 1], sorted[i], 16) != 0)
                memmove(sorted[m++], sorted[i], 16);
    }
    int64_t now = coord_now_ms();
    pthread_mutex_lock(&c->mu);
    cc_status st = c->vt->recover(c, now, (const uint8_t(*)[16])sorted, m, confirmed, released);
    pthread_mutex_unlock(&c->mu);
    free(sorted);
    return st;
}

cc_status coord_rebuild_begin(coord *c)
{
    CC_CHECK(c, CC_E_INVAL, "coord_rebuild_begin: NULL handle");
    LOCKED(c, rebuild_begin(c, now));
}

cc_status coord_rebuild_add(coord *c, uint32_t query, const uint8_t uid[16],
                            const uint8_t content[16], uint64_t phash)
{
    CC_CHECK(c && uid, CC_E_INVAL, "coord_rebuild_add: NULL argument");
    static const uint8_t zero[16];
    LOCKED(c, rebuild_add(c, now, query, uid, content ? content : zero, phash));
}

cc_status coord_rebuild_end(coord *c)
{
    CC_CHECK(c, CC_E_INVAL, "coord_rebuild_end: NULL handle");
    LOCKED(c, rebuild_end(c, now));
}
