/* crawler/coord_impl.h — internal to the coordinator: the backend table and what coord.c shares
 * with the backends (crawler/coord_lmdb.c now, a Redis backend later). Not for the pipeline.
 *
 * coord.c owns the public functions: it checks arguments (so that every backend sees only valid
 * ones and answers the same), takes the handle's mutex around every call (the header promises
 * serialized, atomic calls) and dispatches through the table. A backend allocates a struct whose
 * first member is `coord` and fills vt; it never locks.
 */
#ifndef CC_COORD_IMPL_H
#define CC_COORD_IMPL_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include "crawler/coord.h"

#define COORD_WORKER_MAX 128 /* worker name, including the NUL */

/* Test-only clock override: when this environment variable holds a decimal number of
 * milliseconds since the epoch, every call takes it as "now" instead of CLOCK_REALTIME (read at
 * each call, so a test can move time forward between calls, also across processes). */
#define COORD_FAKE_NOW_ENV "CLIPCRAWL_COORD_FAKE_NOW_MS"

/* One (query, confirmed) entry collected by quota_list for coord_quota_foreach. */
typedef struct coord_qcount {
    uint32_t query;
    uint64_t confirmed;
} coord_qcount;

/* The backend table. Arguments are checked by coord.c (non-NULL pointers, ns and key ranges,
 * n > 0 where required); the mutex is held during each call. `now` is the call's time in ms. */
typedef struct coord_vtable {
    const char *name; /* "lmdb" */
    void (*close)(coord *c);
    cc_status (*sync)(coord *c);
    cc_status (*units_add)(coord *c, int64_t now, const char *const *keys, size_t n, size_t *added);
    cc_status (*unit_claim)(coord *c, int64_t now, coord_unit *out);
    cc_status (*unit_progress)(coord *c, int64_t now, uint64_t id, const char *cursor);
    cc_status (*unit_done)(coord *c, int64_t now, uint64_t id);
    cc_status (*unit_fail)(coord *c, int64_t now, uint64_t id, const char *error, int64_t retry_ms);
    cc_status (*unit_get)(coord *c, int64_t now, const char *key, coord_unit *out);
    cc_status (*units_requeue_dead)(coord *c, int64_t now, size_t *n);
    cc_status (*get_counts)(coord *c, int64_t now, coord_counts *out);
    cc_status (*quota_reserve)(coord *c, int64_t now, const uint32_t *ids, size_t n,
                               uint32_t *picked, uint64_t *res);
    cc_status (*quota_hold)(coord *c, int64_t now, uint64_t *res);
    cc_status (*quota_assign)(coord *c, int64_t now, uint64_t res, const uint32_t *ids, size_t n,
                              uint32_t *picked);
    cc_status (*quota_set_uid)(coord *c, int64_t now, uint64_t res, const uint8_t uid[16]);
    cc_status (*quota_confirm)(coord *c, int64_t now, uint64_t res);
    cc_status (*quota_release)(coord *c, int64_t now, uint64_t res, int flags);
    cc_status (*quota_get)(coord *c, int64_t now, uint32_t query, uint64_t *confirmed,
                           uint64_t *reserved);
    /* All queries with confirmed > 0 in id order, in a malloc'ed array the caller frees (coord.c
     * calls the user's function after unlocking, so that it may call the coordinator). */
    cc_status (*quota_list)(coord *c, int64_t now, coord_qcount **out, size_t *n);
    cc_status (*claim)(coord *c, int64_t now, int ns, const uint8_t key[16], uint64_t res);
    cc_status (*pair_seen)(coord *c, int64_t now, const uint8_t key[16], int *seen);
    cc_status (*near_claim)(coord *c, int64_t now, uint64_t phash, uint64_t res, uint64_t *dup_of);
    /* uids sorted (memcmp order) and without duplicates; n may be 0. */
    cc_status (*recover)(coord *c, int64_t now, const uint8_t (*uids)[16], size_t n,
                         uint64_t *confirmed, uint64_t *released);
    /* add[0..n) checked (URLs of 1..COORD_FRONTIER_URL_MAX-1 bytes); the backend checks head
     * against the stored frontier. */
    cc_status (*frontier_progress)(coord *c, int64_t now, uint64_t id, const char *cursor,
                                   uint64_t head, const coord_frontier_entry *add, size_t n);
    /* Calls the functions with the mutex held (documented in coord.h). */
    cc_status (*frontier_load)(coord *c, int64_t now, uint64_t id, coord_frontier_info *info,
                               int (*entry)(void *ctx, uint64_t index, const char *url,
                                            uint32_t depth),
                               int (*visited)(void *ctx, uint64_t hash), void *ctx);
    cc_status (*rebuild_begin)(coord *c, int64_t now);
    cc_status (*rebuild_add)(coord *c, int64_t now, uint32_t query, const uint8_t uid[16],
                             const uint8_t content[16], uint64_t phash);
    cc_status (*rebuild_end)(coord *c, int64_t now);
} coord_vtable;

/* The common head of every backend's handle. */
struct coord {
    const coord_vtable *vt;
    pthread_mutex_t mu;
    coord_opts opts; /* checked; opts.worker points at worker below */
    char worker[COORD_WORKER_MAX];
    int64_t lease_ms, reservation_ms; /* opts' durations in milliseconds (>= 1) */
};

/* Opens the LMDB backend at path (the spec without "lmdb:") with options o (not yet checked: the
 * backend calls coord_head_init first, which checks them). */
cc_status coord_lmdb_open(const char *path, const coord_opts *o, coord **out);

/* Fills the common head (vt, mutex, options) of a freshly allocated handle. CC_E_INVAL for bad
 * options (checked again here so a backend cannot skip it), CC_E_NOMEM. */
cc_status coord_head_init(coord *c, const coord_vtable *vt, const coord_opts *o);
/* Destroys what coord_head_init made. */
void coord_head_destroy(coord *c);

/* The call's time: CLOCK_REALTIME in ms, or the test override above. */
int64_t coord_now_ms(void);

/* The LMDB backend's first map size in bytes (64 MiB; grows by doubling on MDB_MAP_FULL up to
 * 1 TiB). A variable so that tests can start small and exercise the growth. */
extern size_t coord_lmdb_initial_mapsize;

#endif
