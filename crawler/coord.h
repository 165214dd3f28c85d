/* crawler/coord.h — the crawl coordinator: work units with leases, per-query quota, dedupe claims.
 *
 * The crawl pipeline talks to this one interface and does not know which backend it has:
 *   "lmdb:PATH"                 state in an LMDB environment at PATH (state.lmdb beside the
 *                               output), one crawl process at a time (CC_E_BUSY otherwise)
 *   "redis://HOST:PORT[/DB]"    state in Redis, shared by many workers (the distributed issue)
 *
 * Work units. A unit is a named piece of work ("query:12", "warc:/data/cc-00001.warc.gz",
 * "seeds:3"), added once (coord_units_add is idempotent by key). coord_unit_claim hands out a
 * unit with a lease; the holder renews it with coord_unit_progress (which also stores a cursor —
 * a page number, a file offset — so that the next holder resumes there; a web unit stores its
 * frontier with the cursor, coord_frontier_progress) and ends it with
 * coord_unit_done or coord_unit_fail. A unit whose lease expires is handed out again (its holder is
 * presumed dead); a unit delivered max_deliveries times without finishing is dead-lettered with
 * its last error.
 *
 * Quota. Every pair counts for one query (query_lists/quota.h: the rarest matched query with
 * room). coord_quota_reserve picks it and holds one place of its cap under a reservation;
 * coord_quota_confirm makes it permanent once the pair is committed to a shard;
 * coord_quota_release gives it back when anything fails. A query's count is confirmed + live
 * assigned reservations, so no query passes its cap at any moment. Reservations not confirmed
 * within reservation_seconds expire (their holder is presumed dead) and count no more.
 *
 * Two phases. coord_quota_reserve picks the query at once, so the pick sees the places of every
 * reservation in flight — also of items that will be released later — and depends on their
 * timing. The pipeline instead takes coord_quota_hold when a candidate is found (a reservation
 * without a query: it holds claims and a uid, expires and is recovered like any other, but holds
 * no place) and coord_quota_assign once the item's turn comes (in candidate order): the pick then
 * sees only assigned reservations, i.e. items that got their turn.
 *
 * Dedupe claims. Keys of 16 bytes in three namespaces: the pair (XXH3-128 of image URL + text,
 * which is also the record's uid), the image content (XXH3-128 of the fetched bytes), and
 * perceptual near-duplicates (64-bit pHash within a Hamming distance). A claim is made under a
 * reservation: tentative until the reservation is confirmed (then permanent), dropped when it is
 * released — except pair keys released with COORD_KEEP_PAIR_KEY, which stay as "seen" so that a
 * pair rejected for a lasting reason (a broken image, a duplicate) is not fetched again.
 *
 * Crash equivalence. The shard store is the truth. The pipeline confirms a reservation only after
 * its record is committed, and seals a shard only after every reservation of its records is
 * confirmed; so after a crash only records of unsealed shards can be committed but unconfirmed.
 * On start the pipeline calls coord_recover with the uids of the records of its unsealed shards:
 * reservations of this worker whose uid is among them are confirmed, the others released.
 * coord_rebuild_* reconstructs quota counts and permanent claims from the sealed and unsealed
 * shards when the state is lost or suspect (`clipcrawl crawl --rebuild-state`).
 *
 * Thread safety: a coord handle may be used from several threads of one process; calls are
 * serialized inside (LMDB write transactions), each one atomic.
 */
#ifndef CC_COORD_H
#define CC_COORD_H

#include <stddef.h>
#include <stdint.h>

#include "common/status.h"

#define COORD_KEY_MAX 512 /* unit key, including the NUL */
#define COORD_CURSOR_MAX 256 /* unit cursor, including the NUL */
#define COORD_ERROR_MAX 256 /* unit error text, including the NUL */
#define COORD_MAX_CLAIMS 8 /* tentative claims one reservation may hold */
#define COORD_FRONTIER_URL_MAX 2048 /* frontier URL, including the NUL (crawler/url.h URL_MAX) */
#define COORD_FRONTIER_MAX_DEFAULT ((uint64_t)1 << 20) /* coord_opts.frontier_max */

typedef struct coord_opts {
    uint64_t cap; /* pairs per query: QUOTA_DEFAULT_CAP (20000) */
    double lease_seconds; /* unit lease: 600 */
    double reservation_seconds; /* quota reservation lease: 600 */
    int max_deliveries; /* deliveries before a unit is dead-lettered: 5 */
    int near_distance; /* pHash Hamming distance counted as a near-duplicate, 0..16: 4 */
    const char *worker; /* this worker's name (stable across restarts): default "local" */
    uint64_t frontier_max; /* queued frontier entries per unit at most (coord_frontier_progress):
                              COORD_FRONTIER_MAX_DEFAULT (0 means that too); not stored with
                              the state */
} coord_opts;

void coord_opts_default(coord_opts *o);

typedef struct coord coord;

/* Opens (creating when absent) the coordinator state named by spec. The cap and the near distance
 * are stored with the state: opening existing state with others is CC_E_INVAL with a message
 * (use the same values, or start a new state). CC_E_INVAL (bad spec), CC_E_BUSY (another crawl
 * holds it), CC_E_DB, CC_E_IO, CC_E_UNSUPPORTED (a backend this build lacks), CC_E_VERSION. */
cc_status coord_open(const char *spec, const coord_opts *opts, coord **out);
/* Flushes and closes. Accepts NULL. */
void coord_close(coord *c);
/* Makes everything so far durable (LMDB: the environment is written without a sync per call;
 * the pipeline syncs when it seals a shard and at exit). */
cc_status coord_sync(coord *c);
/* "lmdb" or "redis". */
const char *coord_backend(const coord *c);

/* ---- work units ---------------------------------------------------------------------------- */

enum coord_unit_state { COORD_UNIT_PENDING, COORD_UNIT_LEASED, COORD_UNIT_DONE, COORD_UNIT_DEAD };

typedef struct coord_unit {
    uint64_t id; /* assigned in order of first addition, from 1 */
    char key[COORD_KEY_MAX];
    char cursor[COORD_CURSOR_MAX]; /* "" until progress was reported */
    char error[COORD_ERROR_MAX]; /* the last failure, "" if none */
    int state; /* enum coord_unit_state */
    uint32_t deliveries; /* times handed out, this one included */
    double lease_until; /* Unix seconds, for a leased unit */
} coord_unit;

/* Adds units by key (NUL-terminated, 1..COORD_KEY_MAX-1 bytes); keys already present are left as
 * they are. *added (may be NULL) gets the number of new units. CC_E_INVAL, CC_E_DB. */
cc_status coord_units_add(coord *c, const char *const *keys, size_t n, size_t *added);

/* Hands out the first available unit (pending, or leased with an expired lease; in order of
 * addition) with a fresh lease. CC_E_NOTFOUND when none is available now (all done, dead or
 * leased: see coord_counts). A unit over max_deliveries is dead-lettered instead of handed out. */
cc_status coord_unit_claim(coord *c, coord_unit *out);

/* Stores the unit's cursor and renews its lease. CC_E_NOTFOUND (no such unit), CC_E_EXISTS (the
 * unit is no longer leased to this worker: the lease expired and someone else has it — stop
 * working on it). */
cc_status coord_unit_progress(coord *c, uint64_t id, const char *cursor);
/* Marks the unit done (CC_E_EXISTS as above) and drops its frontier (below). */
cc_status coord_unit_done(coord *c, uint64_t id);
/* Gives the unit back with an error text: pending again after retry_seconds, or dead when it was
 * delivered max_deliveries times. */
cc_status coord_unit_fail(coord *c, uint64_t id, const char *error, double retry_seconds);
/* Looks a unit up by key. CC_E_NOTFOUND. */
cc_status coord_unit_get(coord *c, const char *key, coord_unit *out);

/* Dead units back to pending with deliveries reset (`clipcrawl coord requeue`). *n gets the
 * number requeued. */
cc_status coord_units_requeue_dead(coord *c, size_t *n);

typedef struct coord_counts {
    uint64_t units[4]; /* by enum coord_unit_state */
    uint64_t confirmed; /* pairs confirmed, all queries */
    uint64_t reservations; /* live reservations */
    uint64_t claims[3]; /* permanent claims by enum coord_ns */
    uint64_t queries_full; /* queries whose confirmed count reached the cap */
} coord_counts;
cc_status coord_get_counts(coord *c, coord_counts *out);

/* ---- web frontier -------------------------------------------------------------------------- */

/* A unit may keep a frontier (the web source: the URLs still to fetch from a seed) beside its
 * cursor, so that a resumed unit goes on where it stopped instead of walking again. A frontier
 * is a queue of entries (URL, depth) with absolute indexes from 0 in push order, a head index
 * (entries below it are finished and dropped) and a visited set: the 64-bit hashes
 * (cc_hash64 of common/hash.h, over the URL's bytes without the NUL) of every URL ever pushed,
 * dropped ones included, so that a resumed walk queues no URL twice.
 *
 * The frontier changes only together with the cursor (coord_frontier_progress: one atomic step),
 * so a crash never leaves the two out of step: after a restart the cursor and the frontier are
 * those of the last call that returned CC_OK (LMDB: as durable as the cursor, see coord_sync).
 * coord_unit_done drops the unit's frontier; coord_rebuild_begin drops every frontier (a
 * rebuilt state has none: web units walk again from their seed). A unit that fails or is
 * dead-lettered keeps its frontier for its next delivery. */

typedef struct coord_frontier_entry {
    const char *url; /* NUL-terminated, 1..COORD_FRONTIER_URL_MAX-1 bytes */
    uint32_t depth; /* the caller's depth (links followed from the seed) */
} coord_frontier_entry;

/* coord_unit_progress and frontier changes in one atomic step: the unit must be leased to this
 * worker as for coord_unit_progress; then entries add[0..n) are appended at indexes tail ..
 * tail+n-1 (tail: the number of entries ever pushed, 0 for a unit without a frontier) and their
 * hashes join the visited set; the head moves to head (entries below it are deleted); the cursor
 * is stored and the lease renewed. The caller pushes each URL once (the coordinator does not
 * look for duplicates in the queue; the visited set is a set).
 *   head  the index of the next entry to work on: stored head <= head <= tail + n
 * CC_OK; CC_E_NOTFOUND, CC_E_EXISTS as coord_unit_progress; CC_E_INVAL (head out of that range,
 * a URL of bad length, NULL argument); CC_E_LIMIT when more than opts.frontier_max entries would
 * be queued (tail + n - head). On any error nothing changes: neither cursor nor frontier. */
cc_status coord_frontier_progress(coord *c, uint64_t id, const char *cursor, uint64_t head,
                                  const coord_frontier_entry *add, size_t n);

/* What coord_frontier_load found. */
typedef struct coord_frontier_info {
    uint64_t head; /* index of the first queued entry */
    uint64_t tail; /* entries ever pushed: queued ones are head .. tail-1 */
    uint64_t visited; /* hashes in the visited set */
} coord_frontier_info;

/* Reads unit id's frontier: entry(ctx, index, url, depth) for each queued entry in index order,
 * then visited(ctx, hash) for each hash of the visited set (any order); either function may be
 * NULL; one returning nonzero stops the reading (CC_OK). The functions run inside the call (the
 * handle's lock is held): they must not call the coordinator; url is valid during the call only.
 * *info (may be NULL) gets the counts. CC_E_NOTFOUND when the unit has no frontier (never
 * pushed, done, or rebuilt state): the caller starts from its seed. CC_E_DB. */
cc_status coord_frontier_load(coord *c, uint64_t id, coord_frontier_info *info,
                              int (*entry)(void *ctx, uint64_t index, const char *url,
                                           uint32_t depth),
                              int (*visited)(void *ctx, uint64_t hash), void *ctx);

/* ---- quota --------------------------------------------------------------------------------- */

/* Reserves one place for a pair matching ids[0..n) (query ids): the query quota_pick chooses on
 * confirmed + live assigned reservations — coord_quota_hold and coord_quota_assign in one call.
 * *picked gets the query id, *res the reservation (never 0). CC_E_LIMIT when every matched query
 * is full (nothing reserved), CC_E_INVAL (n == 0). */
cc_status coord_quota_reserve(coord *c, const uint32_t *ids, size_t n, uint32_t *picked,
                              uint64_t *res);

/* Makes a reservation without a query (held): it can carry claims and a uid, expires after
 * reservation_seconds, is released by coord_quota_release and coord_recover like any other, but
 * takes no place of any query's cap until coord_quota_assign gives it one — a held reservation
 * never counts toward a cap (coord_quota_get's reserved, coord_quota_assign's and
 * coord_quota_reserve's picks). It counts in coord_counts.reservations.
 *   res   out: the reservation (never 0); 0 on failure
 * CC_OK, CC_E_BUSY (a rebuild runs or was cut short), CC_E_DB, CC_E_INVAL (NULL argument).
 * Any thread (serialized inside, like every call). */
cc_status coord_quota_hold(coord *c, uint64_t *res);

/* Gives a held reservation its query: the one quota_pick chooses among ids[0..n) on confirmed +
 * live assigned reservations (held ones never count), and takes one place of its cap. The
 * expiry set by coord_quota_hold stays.
 *   res     a reservation made by coord_quota_hold
 *   ids, n  the matched query ids (n >= 1)
 *   picked  out (may be NULL): the query chosen, on CC_OK
 * CC_OK; CC_E_LIMIT when every matched query is full (the reservation stays live and held; the
 * caller usually releases it); CC_E_NOTFOUND when res is not live (expired, released, confirmed,
 * never made); CC_E_EXISTS when res already has a query (assigned, or made by
 * coord_quota_reserve); CC_E_INVAL (n == 0, NULL argument); CC_E_BUSY, CC_E_DB.
 * Any thread. */
cc_status coord_quota_assign(coord *c, uint64_t res, const uint32_t *ids, size_t n,
                             uint32_t *picked);

/* Records the uid of the pair a reservation is for (checked by coord_recover). */
cc_status coord_quota_set_uid(coord *c, uint64_t res, const uint8_t uid[16]);

/* Makes a reservation permanent: the query's confirmed count grows by one and the reservation's
 * claims become permanent. Idempotent: confirming a confirmed reservation does nothing (CC_OK).
 * CC_E_NOTFOUND when the reservation expired or was released (the caller must then treat the
 * pair as not counted — with recovery this only happens after a lease expiry). CC_E_INVAL with a
 * message when the reservation is held without a query (coord_quota_assign first); it stays
 * live. */
cc_status coord_quota_confirm(coord *c, uint64_t res);

enum { COORD_KEEP_PAIR_KEY = 1 };
/* Gives a reservation back and drops its tentative claims (the pair key stays when flags has
 * COORD_KEEP_PAIR_KEY); an assigned one gives its place back, a held one had none. Idempotent;
 * an unknown reservation is CC_OK. */
cc_status coord_quota_release(coord *c, uint64_t res, int flags);

/* Confirmed and live reserved counts of a query (0, 0 for a query never seen). Reserved counts
 * only assigned reservations (not held ones). */
cc_status coord_quota_get(coord *c, uint32_t query, uint64_t *confirmed, uint64_t *reserved);

/* Calls fn for every query with a confirmed count > 0, in id order; fn returning nonzero stops. */
cc_status coord_quota_foreach(coord *c, int (*fn)(void *ctx, uint32_t query, uint64_t confirmed),
                              void *ctx);

/* ---- dedupe claims ------------------------------------------------------------------------- */

enum coord_ns { COORD_NS_PAIR, COORD_NS_CONTENT, COORD_NS_NEAR, COORD_NS_COUNT };

/* Claims key in namespace ns (COORD_NS_PAIR or COORD_NS_CONTENT) under reservation res.
 * CC_OK: claimed (tentatively). CC_E_EXISTS: already claimed, permanently or by another live
 * reservation (a duplicate). CC_E_NOTFOUND: res is not live. CC_E_LIMIT: res holds
 * COORD_MAX_CLAIMS claims already. */
cc_status coord_claim(coord *c, int ns, const uint8_t key[16], uint64_t res);

/* Is the pair key already claimed (permanently or by a live reservation)? A cheap pre-check
 * before reserving quota; *seen gets 1 or 0. */
cc_status coord_pair_seen(coord *c, const uint8_t key[16], int *seen);

/* Claims a perceptual hash: CC_E_EXISTS when a claimed hash (permanent or live) lies within
 * near_distance of phash — *dup_of (may be NULL) gets it —, else CC_OK and phash is claimed under
 * res (multi-index hashing: near_distance + 1 bands, one of which two hashes within the distance
 * share exactly). */
cc_status coord_near_claim(coord *c, uint64_t phash, uint64_t res, uint64_t *dup_of);

/* ---- recovery ------------------------------------------------------------------------------ */

/* After a restart of this worker: its live reservations whose uid is in uids[0..n) (records found
 * committed in its unsealed shards) are confirmed; all its other reservations are released —
 * held ones (no query) always, listed or not: a pair is committed only after its assignment. The
 * counts of each (may be NULL). */
cc_status coord_recover(coord *c, const uint8_t (*uids)[16], size_t n, uint64_t *confirmed,
                        uint64_t *released);

/* Rebuild from the shards: coord_rebuild_begin drops every count, claim and reservation (units
 * are kept); coord_rebuild_add records one committed pair (its query, uid, content hash, pHash —
 * 0 for none); coord_rebuild_end finishes. */
cc_status coord_rebuild_begin(coord *c);
cc_status coord_rebuild_add(coord *c, uint32_t query, const uint8_t uid[16],
                            const uint8_t content[16], uint64_t phash);
cc_status coord_rebuild_end(coord *c);

#endif
