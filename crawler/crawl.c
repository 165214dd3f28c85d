/* crawler/crawl.c — the crawl pipeline (crawler/crawl.h, docs/CRAWL.md).
 *
 * One thread (the caller's) runs everything but image decoding: the units, the fetch loop and
 * its callbacks, the coordinator, the writer. It loops over short fetch_run slices; between them
 * it feeds candidates of the units' current pages into the fetch engine (within an item budget:
 * back-pressure), applies decode results in candidate order, commits, confirms, seals, writes
 * metrics. Worker threads only run img_filter_run on fetched bodies.
 *
 * Item life: held (a reservation without a query, with the pair claim) → fetching → decoding →
 * ready → assigned its query (coord_quota_assign, in candidate order) → written (added to the
 * writer, not yet committed) → confirmed, or released at any step. Assigning at the item's turn
 * rather than when it is found makes the query a pair counts for depend only on the items before
 * it in candidate order, not on which fetches are still in flight. A page's cursor is stored
 * (coord_unit_progress) only when every item of the page is confirmed or released, so a crash
 * at any moment resumes at a page whose earlier items are all settled in the coordinator.
 */
#include "crawler/crawl.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "common/buf.h"
#include "common/file.h"
#include "common/hash.h"
#include "common/log.h"
#include "crawler/coord.h"
#include "crawler/extract.h"
#include "crawler/url.h"
#include "crawler/warc.h"
#include "query_lists/match.h"
#include "query_lists/querylist.h"
#include "query_lists/quota.h"
#include "shards/shard.h"

#define CRAWL_MAX_QUERIES (50ull * 1000 * 1000)
#define UNITS_ADD_BATCH 1024
/* A warc unit reads records until it has this many candidates (or the file ends): one batch. */
#define WARC_BATCH_CANDS 256

void crawl_opts_default(crawl_opts *o)
{
    memset(o, 0, sizeof *o);
    o->cap = QUOTA_DEFAULT_CAP;
    o->parallel_units = 4;
    fetch_opts_default(&o->fetch);
    img_filter_opts_default(&o->img);
    text_rules_default(&o->text);
    o->dedupe = CRAWL_DEDUPE_EXACT;
    o->near_distance = 4;
    o->threads = 1;
    o->shard_pairs = 10000;
    o->commit_pairs = 256;
    o->metrics_seconds = 5;
    o->depth = 2;
    o->max_pages = 1000;
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int64_t wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ---- items and units ----------------------------------------------------------------------- */

enum item_state { IT_FETCHING, IT_DECODING, IT_READY, IT_WRITTEN, IT_SETTLED };

typedef struct crawl_unit crawl_unit;
typedef struct crawl crawl;

typedef struct item {
    crawl *cr;
    crawl_unit *unit;
    struct item *next; /* in the pool's job or result queue */
    int state; /* enum item_state */
    uint8_t uid[16];
    uint64_t res; /* quota reservation: held until apply_ready assigns it */
    uint32_t picked; /* the assigned query (set by apply_ready) */
    uint32_t qids[CRAWL_MAX_QIDS];
    size_t n_qids;
    char *text, *url, *page_url, *license; /* owned */
    uint8_t *body; /* fetched bytes, owned until decoded */
    size_t body_len;
    int64_t fetch_ms;
    img_filter_result fr; /* decode result (its pointers are not used after the worker) */
    cc_status decode_st;
    cc_buf image; /* the bytes to store */
} item;

enum unit_state { U_IDLE, U_PAGE, U_FEED };

/* A candidate of a warc batch (search candidates stay in their search_page). */
typedef struct cand {
    char *image_url, *text, *page_url;
} cand;

struct crawl_unit {
    coord_unit u;
    int warc; /* 1: a warc unit ("warc:PATH") */
    int web; /* 1: a web unit ("seed:URL"); neither: a search unit ("query:ID") */
    char auth[URL_MAX]; /* web: the seed's authority; only its URLs are followed */
    char **fq_url; /* web: the frontier, breadth-first (fq_head .. fq_n); owned from fq_freed */
    int *fq_depth;
    size_t fq_head, fq_n, fq_cap;
    uint64_t fq_base; /* web: the coordinator's index of fq_url[0] (coord_frontier_progress) */
    size_t fq_saved; /* web: entries below this one are stored in the coordinator */
    size_t fq_freed; /* web: URLs below this one are freed (popped and stored) */
    uint64_t *vis; /* web: hashes of URLs queued so far (open addressing, 0 = empty) */
    size_t vis_n, vis_cap;
    uint64_t pages_done;
    int page_depth;
    warc_reader *wr;
    uint64_t woff; /* cursor: records up to the one at woff are done (has_woff) */
    int has_woff, wdone;
    uint64_t next_woff; /* the batch's last record */
    int next_has_woff, next_wdone;
    cand *cands;
    size_t n_cands, cap_cands;
    uint32_t qid;
    const char *qtext;
    search_cursor cur;
    int state; /* enum unit_state */
    char page_url[URL_MAX];
    search_page *page;
    size_t feed; /* next result of the page to examine */
    item **items; /* items of the page in result order (NULL for skipped results) */
    size_t apply; /* next item to apply in order */
    size_t outstanding; /* items not settled yet */
    size_t unconfirmed; /* items written, awaiting the commit */
    int waiting_full; /* no matched query had room with items outstanding: retry once settled */
    int gone; /* done or failed: free at the next sweep */
};

/* ---- the decode pool ----------------------------------------------------------------------- */

typedef struct pool {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    item *jobs, *jobs_tail, *results, *results_tail;
    size_t n_jobs, n_results, busy;
    int quit;
    const img_filter_opts *img;
    int n;
    pthread_t *tids;
    img_filter **filters;
    void **args;
} pool;

typedef struct worker_arg {
    pool *p;
    int i;
} worker_arg;

static void *worker_main(void *arg)
{
    worker_arg *wa = arg;
    pool *p = wa->p;
    img_filter *f = p->filters[wa->i];
    pthread_mutex_lock(&p->mu);
    for (;;) {
        while (!p->quit && !p->jobs)
            pthread_cond_wait(&p->cv, &p->mu);
        if (p->quit)
            break;
        item *it = p->jobs;
        p->jobs = it->next;
        if (!p->jobs)
            p->jobs_tail = NULL;
        p->n_jobs--;
        p->busy++;
        pthread_mutex_unlock(&p->mu);

        it->decode_st = img_filter_run(f, it->body, it->body_len, &it->fr);
        if (it->decode_st == CC_OK && it->fr.reason == IMG_OK) {
            cc_buf_reset(&it->image);
            if (cc_buf_append(&it->image, it->fr.out, it->fr.out_len) != CC_OK)
                it->fr.reason = IMG_R_TOO_LARGE;
        }
        it->fr.out = NULL; /* points into the filter's scratch: not valid past this call */
        free(it->body);
        it->body = NULL;

        pthread_mutex_lock(&p->mu);
        p->busy--;
        it->next = NULL;
        if (p->results_tail)
            p->results_tail->next = it;
        else
            p->results = it;
        p->results_tail = it;
        p->n_results++;
    }
    pthread_mutex_unlock(&p->mu);
    return NULL;
}

static void pool_stop(pool *p)
{
    pthread_mutex_lock(&p->mu);
    p->quit = 1;
    pthread_cond_broadcast(&p->cv);
    pthread_mutex_unlock(&p->mu);
    for (int i = 0; i < p->n; i++)
        pthread_join(p->tids[i], NULL);
    for (int i = 0; p->filters && i < p->n; i++)
        img_filter_free(p->filters[i]);
    free(p->tids);
    free(p->filters);
    free(p->args);
    pthread_mutex_destroy(&p->mu);
    pthread_cond_destroy(&p->cv);
}

static cc_status pool_start(pool *p, const img_filter_opts *img, int n)
{
    memset(p, 0, sizeof *p);
    pthread_mutex_init(&p->mu, NULL);
    pthread_cond_init(&p->cv, NULL);
    p->img = img;
    p->tids = calloc((size_t)n, sizeof *p->tids);
    p->filters = calloc((size_t)n, sizeof *p->filters);
    p->args = calloc((size_t)n, sizeof(worker_arg));
    if (!p->tids || !p->filters || !p->args) {
        pool_stop(p);
        return cc_fail(CC_E_NOMEM, "out of memory for %d decode workers", n);
    }
    worker_arg *wa = (worker_arg *)p->args;
    for (int i = 0; i < n; i++) {
        cc_status st = img_filter_new(img, &p->filters[i]);
        wa[i].p = p;
        wa[i].i = i;
        if (st == CC_OK && pthread_create(&p->tids[i], NULL, worker_main, &wa[i]) != 0)
            st = cc_fail(CC_E_NOMEM, "cannot start a decode worker");
        if (st != CC_OK) {
            img_filter_free(p->filters[i]);
            p->filters[i] = NULL;
            pool_stop(p);
            return st;
        }
        p->n = i + 1;
    }
    return CC_OK;
}

static void pool_push(pool *p, item *it)
{
    pthread_mutex_lock(&p->mu);
    it->next = NULL;
    if (p->jobs_tail)
        p->jobs_tail->next = it;
    else
        p->jobs = it;
    p->jobs_tail = it;
    p->n_jobs++;
    pthread_cond_signal(&p->cv);
    pthread_mutex_unlock(&p->mu);
}

/* Takes every finished item (a list through ->next, in finishing order). */
static item *pool_take(pool *p)
{
    pthread_mutex_lock(&p->mu);
    item *l = p->results;
    p->results = p->results_tail = NULL;
    p->n_results = 0;
    pthread_mutex_unlock(&p->mu);
    return l;
}

/* ---- the run ------------------------------------------------------------------------------- */

struct crawl {
    const crawl_opts *o;
    crawl_stats *s;
    shard_writer *w;
    coord *c;
    fetch_engine *e;
    query_list *ql;
    qmatcher *qm;
    pool pool;
    int pool_up;
    crawl_unit **units; /* active units */
    size_t n_units;
    crawl_unit **adopted; /* units this worker held when a previous run died */
    size_t n_adopted;
    int exhausted; /* coord_unit_claim found nothing */
    size_t in_flight; /* items fetching, decoding or ready */
    size_t budget; /* most items in flight */
    item **written; /* items added to the writer, not committed */
    size_t n_written, cap_written;
    uint64_t shard_count; /* pairs in the open shard (committed or written) */
    double last_commit, last_metrics, t0;
    cc_buf text; /* text_check's normalized caption */
    cc_status fatal; /* first error of a callback */
    char path[4096];
};

static void item_free(item *it)
{
    if (!it)
        return;
    free(it->text);
    free(it->url);
    free(it->page_url);
    free(it->license);
    free(it->body);
    cc_buf_free(&it->image);
    free(it);
}

static char *dup_or_empty(const char *s)
{
    return strdup(s ? s : "");
}

/* Lasting outcomes keep the pair key: the same URL and text would end the same way. Transient
 * ones drop it so that a later run tries again. */
static int outcome_lasting(fetch_outcome o)
{
    switch (o) {
    case FETCH_HTTP_3XX:
    case FETCH_HTTP_4XX:
    case FETCH_HTTP_404:
    case FETCH_TOO_LARGE:
    case FETCH_BAD_CONTENT_TYPE:
    case FETCH_X_ROBOTS_TAG:
    case FETCH_ROBOTS_DENIED:
    case FETCH_SSRF_BLOCKED:
    case FETCH_BAD_URL:
    case FETCH_REDIRECT_LOOP:
    case FETCH_TOO_MANY_REDIRECTS:
    case FETCH_TLS:
    case FETCH_PROTOCOL:
        return 1;
    default:
        return 0;
    }
}

/* Releases an item's reservation and settles it. */
static void item_release(crawl *cr, item *it, int keep)
{
    cc_status st = coord_quota_release(cr->c, it->res, keep ? COORD_KEEP_PAIR_KEY : 0);
    if (st != CC_OK && cr->fatal == CC_OK)
        cr->fatal = st;
    it->state = IT_SETTLED;
    it->unit->outstanding--;
}

static void image_done(void *user, const fetch_result *r)
{
    item *it = user;
    crawl *cr = it->cr;
    cr->s->fetch[r->outcome < FETCH_OUTCOME_COUNT ? r->outcome : FETCH_CANCELLED]++;
    if (r->outcome != FETCH_OK) {
        cc_log_debug("%s: %s %s", it->url, fetch_outcome_name(r->outcome), r->detail);
        cr->in_flight--;
        item_release(cr, it, outcome_lasting(r->outcome));
        return;
    }
    it->body = malloc(r->body_len ? r->body_len : 1);
    if (!it->body) {
        cr->in_flight--;
        cr->s->abandoned++;
        item_release(cr, it, 0);
        if (cr->fatal == CC_OK)
            cr->fatal = cc_fail(CC_E_NOMEM, "out of memory for an image of %zu bytes", r->body_len);
        return;
    }
    memcpy(it->body, r->body, r->body_len);
    it->body_len = r->body_len;
    it->fetch_ms = wall_ms();
    it->state = IT_DECODING;
    pool_push(&cr->pool, it);
}

/* ---- candidates ---------------------------------------------------------------------------- */

/* The uid names the pair, as `shards pack` does: XXH3-128 of the image URL, a NUL, the text. */
static int query_full(crawl *cr, uint32_t q)
{
    uint64_t conf = 0, resv = 0;
    if (coord_quota_get(cr->c, q, &conf, &resv) != CC_OK)
        return 0;
    return conf + resv >= cr->o->cap;
}

/* The cheap pre-check before holding a reservation: has some matched query room on confirmed +
 * assigned counts? (The real pick is coord_quota_assign's, at the item's turn.) */
static cc_status quota_room(crawl *cr, const uint32_t *qids, size_t k, int *room)
{
    *room = 0;
    for (size_t i = 0; i < k && !*room; i++) {
        uint64_t conf = 0, resv = 0;
        CC_TRY(coord_quota_get(cr->c, qids[i], &conf, &resv));
        *room = conf + resv < cr->o->cap;
    }
    return CC_OK;
}

enum feed_result { FEED_NEXT, FEED_WAIT };

/* Examines one result of a unit's page: counts a skip, or holds a reservation (no query yet:
 * apply_ready assigns it) and submits the image. FEED_WAIT when no matched query has room and
 * the unit's outstanding items must settle first (see waiting_full). */
static cc_status feed_one(crawl *cr, crawl_unit *un, size_t i, int *fr)
{
    const char *c_url, *c_text, *c_page, *c_license = NULL;
    if (un->warc || un->web) {
        c_url = un->cands[i].image_url;
        c_text = un->cands[i].text;
        c_page = un->cands[i].page_url;
    } else {
        const search_result *sr = search_page_at(un->page, i);
        c_url = sr->image_url;
        c_text = sr->text;
        c_page = sr->page_url;
        c_license = sr->license;
    }
    crawl_stats *s = cr->s;
    *fr = FEED_NEXT;
    if (!un->waiting_full)
        s->candidates++;
    text_result tr;
    cc_buf_reset(&cr->text);
    cc_status st = text_check(&cr->o->text, c_text, strlen(c_text), &cr->text, &tr);
    if (st != CC_OK) {
        s->text[TEXT_R_TOO_LONG]++;
        return CC_OK;
    }
    if (tr.reason != TEXT_OK) {
        s->text[tr.reason]++;
        return CC_OK;
    }
    uint32_t qids[CRAWL_MAX_QIDS];
    size_t k = qmatcher_find(cr->qm, tr.text, tr.len, qids, CRAWL_MAX_QIDS);
    if (k > CRAWL_MAX_QIDS)
        k = CRAWL_MAX_QIDS;
    if (k == 0) {
        s->no_query++;
        return CC_OK;
    }
    uint8_t uid[16];
    CC_TRY(shard_pair_uid(c_url, tr.text, uid));
    int seen = 0;
    CC_TRY(coord_pair_seen(cr->c, uid, &seen));
    if (seen) {
        un->waiting_full = 0;
        s->duplicate_pair++;
        return CC_OK;
    }
    int room;
    CC_TRY(quota_room(cr, qids, k, &room));
    if (!room) {
        /* Items of this page still in flight may release their places (an assigned item that
         * turns out a duplicate): wait for them, so that what this result gets does not depend
         * on the timing of the fetches. */
        if (un->outstanding > 0) {
            un->waiting_full = 1;
            *fr = FEED_WAIT;
            return CC_OK;
        }
        un->waiting_full = 0;
        s->query_full++;
        return CC_OK;
    }
    un->waiting_full = 0;
    uint64_t res;
    CC_TRY(coord_quota_hold(cr->c, &res));
    st = coord_claim(cr->c, COORD_NS_PAIR, uid, res);
    if (st == CC_E_EXISTS) {
        s->duplicate_pair++;
        return coord_quota_release(cr->c, res, 0);
    }
    if (st == CC_OK)
        st = coord_quota_set_uid(cr->c, res, uid);
    if (st != CC_OK) {
        coord_quota_release(cr->c, res, 0);
        return st;
    }
    item *it = calloc(1, sizeof *it);
    if (!it) {
        coord_quota_release(cr->c, res, 0);
        return cc_fail(CC_E_NOMEM, "out of memory");
    }
    it->cr = cr;
    it->unit = un;
    memcpy(it->uid, uid, 16);
    it->res = res;
    memcpy(it->qids, qids, k * sizeof *qids);
    it->n_qids = k;
    it->text = strdup(tr.text);
    it->url = strdup(c_url);
    it->page_url = dup_or_empty(c_page);
    it->license = dup_or_empty(c_license);
    cc_buf_init(&it->image, SHARD_MAX_IMAGE);
    if (!it->text || !it->url || !it->page_url || !it->license) {
        coord_quota_release(cr->c, res, 0);
        item_free(it);
        return cc_fail(CC_E_NOMEM, "out of memory");
    }
    it->state = IT_FETCHING;
    un->items[i] = it;
    un->outstanding++;
    cr->in_flight++;
    st = fetch_submit(cr->e, it->url, FETCH_KIND_IMAGE, image_done, it);
    if (st != CC_OK) {
        /* A URL the engine refuses outright is a bad URL for this pair (lasting). */
        cr->in_flight--;
        s->fetch[FETCH_BAD_URL]++;
        item_release(cr, it, st == CC_E_INVAL);
        if (st != CC_E_INVAL)
            return st;
    }
    return CC_OK;
}

/* ---- applying decode results (in candidate order) ------------------------------------------ */

static cc_status apply_ready(crawl *cr, item *it)
{
    crawl_stats *s = cr->s;
    cr->in_flight--;
    if (it->decode_st != CC_OK || it->fr.reason != IMG_OK) {
        img_reason r = it->decode_st != CC_OK ? IMG_R_MEMORY : it->fr.reason;
        s->image[r < IMG_R_COUNT ? r : IMG_R_MEMORY]++;
        cc_log_debug("%s: image rejected (%s) %s", it->url, img_reason_name(r), it->fr.message);
        item_release(cr, it, 1);
        return cr->fatal;
    }
    /* The item's turn (candidate order within its unit): now it gets its query, on the counts
     * of the items settled before it. Full: released without keeping the pair key, so that the
     * pair can count in a later run if places free up. */
    cc_status ast = coord_quota_assign(cr->c, it->res, it->qids, it->n_qids, &it->picked);
    if (ast == CC_E_LIMIT) {
        s->query_full++;
        s->query_full_after_fetch++;
        item_release(cr, it, 0);
        return cr->fatal;
    }
    CC_TRY(ast);
    uint8_t content[16];
    cc_hash128_to_bytes(it->fr.content_hash, content);
    if (cr->o->dedupe != CRAWL_DEDUPE_NONE) {
        cc_status st = coord_claim(cr->c, COORD_NS_CONTENT, content, it->res);
        if (st == CC_E_EXISTS) {
            s->duplicate_content++;
            item_release(cr, it, 1);
            return cr->fatal;
        }
        CC_TRY(st);
    }
    if (cr->o->dedupe == CRAWL_DEDUPE_NEAR) {
        cc_status st = coord_near_claim(cr->c, it->fr.phash, it->res, NULL);
        if (st == CC_E_EXISTS) {
            s->near_duplicate++;
            item_release(cr, it, 1);
            return cr->fatal;
        }
        CC_TRY(st);
    }
    shard_record rec;
    memset(&rec, 0, sizeof rec);
    memcpy(rec.uid, it->uid, 16);
    rec.caption = it->text;
    rec.url = it->url;
    rec.page_url = it->page_url;
    rec.license = it->license;
    rec.query_id = it->picked;
    rec.query_ids = it->qids;
    rec.n_query_ids = (uint32_t)it->n_qids;
    rec.image = it->image.data;
    rec.image_len = it->image.len;
    rec.image_format = it->fr.out_format;
    rec.width = it->fr.out_width;
    rec.height = it->fr.out_height;
    rec.orig_width = it->fr.src_width;
    rec.orig_height = it->fr.src_height;
    memcpy(rec.content_hash, content, 16);
    rec.phash = it->fr.phash;
    rec.fetch_time_ms = it->fetch_ms;
    cc_status st = shard_writer_add(cr->w, &rec);
    if (st == CC_E_EXISTS) {
        /* Cannot happen while the pair claim holds; counted as a duplicate pair if it does. */
        s->duplicate_pair++;
        item_release(cr, it, 1);
        return cr->fatal;
    }
    CC_TRY(st);
    cc_buf_free(&it->image);
    if (cr->n_written == cr->cap_written) {
        size_t nc = cr->cap_written ? 2 * cr->cap_written : 256;
        item **nw = realloc(cr->written, nc * sizeof *nw);
        if (!nw)
            return cc_fail(CC_E_NOMEM, "out of memory");
        cr->written = nw;
        cr->cap_written = nc;
    }
    cr->written[cr->n_written++] = it;
    it->state = IT_WRITTEN;
    it->unit->unconfirmed++;
    cr->shard_count++;
    return CC_OK;
}

/* Makes the written items durable, then confirms them; seals the shard when it is full (every
 * reservation of its records is confirmed by then). */
static cc_status commit_written(crawl *cr)
{
    cr->last_commit = now_s();
    if (cr->n_written == 0)
        return CC_OK;
    CC_TRY(shard_writer_commit(cr->w));
    for (size_t i = 0; i < cr->n_written; i++) {
        item *it = cr->written[i];
        cc_status st = coord_quota_confirm(cr->c, it->res);
        if (st == CC_E_NOTFOUND)
            cc_log_warn("reservation %" PRIu64 " expired before its pair was committed: the pair "
                        "is in the shards but not counted (rebuild with --rebuild-state)",
                        it->res);
        else
            CC_TRY(st);
        cr->s->written++;
        it->state = IT_SETTLED;
        it->unit->unconfirmed--;
        it->unit->outstanding--;
    }
    cr->n_written = 0;
    if (cr->shard_count >= cr->o->shard_pairs) {
        CC_TRY(shard_writer_seal(cr->w));
        CC_TRY(coord_sync(cr->c));
        cr->shard_count = 0;
    }
    return CC_OK;
}

/* ---- units --------------------------------------------------------------------------------- */

static size_t unit_ncands(const crawl_unit *un)
{
    if (un->warc || un->web)
        return un->n_cands;
    return un->page ? search_page_count(un->page) : 0;
}

static void cands_clear(crawl_unit *un)
{
    for (size_t i = 0; i < un->n_cands; i++) {
        free(un->cands[i].image_url);
        free(un->cands[i].text);
        free(un->cands[i].page_url);
    }
    un->n_cands = 0;
}

static void unit_free(crawl_unit *un)
{
    if (!un)
        return;
    if (un->items) {
        size_t n = unit_ncands(un);
        for (size_t i = 0; i < n; i++)
            item_free(un->items[i]);
        free(un->items);
    }
    search_page_free(un->page);
    cands_clear(un);
    free(un->cands);
    warc_reader_close(un->wr);
    for (size_t i = un->fq_freed; i < un->fq_n; i++)
        free(un->fq_url[i]);
    free(un->fq_url);
    free(un->fq_depth);
    free(un->vis);
    free(un);
}

/* ---- the web source: breadth-first within the seed's authority ---------------------------- */

/* Adds the hash of a URL (cc_hash64, the coordinator's visited hash) to the visited set; 1 when
 * it was new, 0 when seen, -1 out of memory. */
static int vis_add_hash(crawl_unit *un, uint64_t h)
{
    if (2 * (un->vis_n + 1) > un->vis_cap) {
        size_t nc = un->vis_cap ? 2 * un->vis_cap : 1024;
        uint64_t *nv = calloc(nc, sizeof *nv);
        if (!nv)
            return -1;
        for (size_t i = 0; i < un->vis_cap; i++)
            if (un->vis[i])
                for (size_t j = un->vis[i] & (nc - 1);; j = (j + 1) & (nc - 1))
                    if (!nv[j]) {
                        nv[j] = un->vis[i];
                        break;
                    }
        free(un->vis);
        un->vis = nv;
        un->vis_cap = nc;
    }
    h |= 1; /* 0 marks an empty slot */
    for (size_t j = h & (un->vis_cap - 1);; j = (j + 1) & (un->vis_cap - 1)) {
        if (un->vis[j] == h)
            return 0;
        if (!un->vis[j]) {
            un->vis[j] = h;
            un->vis_n++;
            return 1;
        }
    }
}

static int vis_add(crawl_unit *un, const char *url)
{
    return vis_add_hash(un, cc_hash64(url, strlen(url)));
}

/* Appends url (owned by the frontier from now on) at depth. */
static cc_status fq_push(crawl_unit *un, char *url, int depth)
{
    if (un->fq_n == un->fq_cap) {
        size_t nc = un->fq_cap ? 2 * un->fq_cap : 64;
        char **nu = realloc(un->fq_url, nc * sizeof *nu);
        if (!nu) {
            free(url);
            return cc_fail(CC_E_NOMEM, "out of memory");
        }
        un->fq_url = nu;
        int *nd = realloc(un->fq_depth, nc * sizeof *nd);
        if (!nd) {
            free(url);
            return cc_fail(CC_E_NOMEM, "out of memory");
        }
        un->fq_depth = nd;
        un->fq_cap = nc;
    }
    un->fq_url[un->fq_n] = url;
    un->fq_depth[un->fq_n++] = depth;
    return CC_OK;
}

/* Queues url (canonical) at depth when it is on the seed's authority and new. The frontier holds
 * at most 4 * max_pages + 1024 URLs: the walk never fetches more than max_pages anyway. */
static cc_status web_enqueue(crawl *cr, crawl_unit *un, const char *url, int depth)
{
    char u[URL_MAX], auth[URL_MAX];
    snprintf(u, sizeof u, "%s", url);
    char *hash = strchr(u, '#');
    if (hash)
        *hash = '\0';
    if (url_authority(u, auth, sizeof auth) != CC_OK || strcmp(auth, un->auth) != 0)
        return CC_OK;
    if (un->fq_n - un->fq_head >= 4 * cr->o->max_pages + 1024)
        return CC_OK;
    int r = vis_add(un, u);
    CC_CHECK(r >= 0, CC_E_NOMEM, "out of memory");
    if (r == 0)
        return CC_OK;
    char *copy = strdup(u);
    CC_CHECK(copy, CC_E_NOMEM, "out of memory");
    return fq_push(un, copy, depth);
}

typedef struct web_load {
    crawl_unit *un;
    cc_status st;
} web_load;

static int web_load_entry(void *ctx, uint64_t index, const char *url, uint32_t depth)
{
    (void)index;
    web_load *l = ctx;
    char *copy = strdup(url);
    l->st = copy ? fq_push(l->un, copy, (int)depth) : cc_fail(CC_E_NOMEM, "out of memory");
    return l->st != CC_OK;
}

static int web_load_visited(void *ctx, uint64_t hash)
{
    web_load *l = ctx;
    if (vis_add_hash(l->un, hash) < 0)
        l->st = cc_fail(CC_E_NOMEM, "out of memory");
    return l->st != CC_OK;
}

/* Stores the cursor and the frontier's changes since the last call in one coordinator step
 * (coord_frontier_progress): the URLs queued since, and the head (the next page to fetch). */
static cc_status web_save(crawl *cr, crawl_unit *un, const char *cursor)
{
    size_t n = un->fq_n - un->fq_saved;
    coord_frontier_entry *add = NULL;
    if (n) {
        add = malloc(n * sizeof *add);
        CC_CHECK(add, CC_E_NOMEM, "out of memory");
        for (size_t i = 0; i < n; i++) {
            add[i].url = un->fq_url[un->fq_saved + i];
            add[i].depth = (uint32_t)un->fq_depth[un->fq_saved + i];
        }
    }
    cc_status st =
        coord_frontier_progress(cr->c, un->u.id, cursor, un->fq_base + un->fq_head, add, n);
    free(add);
    CC_TRY(st);
    un->fq_saved = un->fq_n;
    for (; un->fq_freed < un->fq_head; un->fq_freed++) {
        free(un->fq_url[un->fq_freed]);
        un->fq_url[un->fq_freed] = NULL;
    }
    return CC_OK;
}

/* A web unit resumes from its frontier in the coordinator (coord_frontier_load: the queued URLs,
 * the visited set, the pages fetched from the cursor "N pages"), or starts at its seed when it
 * has none (a new unit, or a rebuilt state). */
static cc_status unit_setup_web(crawl *cr, crawl_unit *un)
{
    un->web = 1;
    char seed[URL_MAX];
    CC_TRY(url_normalize(un->u.key + 5, seed, sizeof seed));
    CC_TRY(url_authority(seed, un->auth, sizeof un->auth));
    web_load l = {un, CC_OK};
    coord_frontier_info info;
    cc_status st =
        coord_frontier_load(cr->c, un->u.id, &info, web_load_entry, web_load_visited, &l);
    if (st == CC_OK && l.st != CC_OK)
        st = l.st;
    if (st == CC_OK) {
        un->fq_base = info.head;
        un->fq_saved = un->fq_n;
        char *end;
        errno = 0;
        unsigned long long pages = strtoull(un->u.cursor, &end, 10);
        if (errno == 0 && end != un->u.cursor && !strcmp(end, " pages"))
            un->pages_done = pages;
        cr->s->frontier_resumed += un->fq_n;
        cc_log_debug("unit %s: resumed with %zu queued URLs, %" PRIu64 " visited, %" PRIu64
                     " pages done",
                     un->u.key, un->fq_n, info.visited, un->pages_done);
    } else if (st == CC_E_NOTFOUND) {
        CC_TRY(web_enqueue(cr, un, seed, 0));
    } else {
        return st;
    }
    un->state = U_IDLE;
    return CC_OK;
}

static cc_status cand_push(crawl_unit *un, const char *url, const char *text, const char *page);

static void web_page_cb(void *user, const fetch_result *r);

typedef struct page_ctx {
    crawl *cr;
    crawl_unit *un;
} page_ctx;

/* Fetches the next page of the frontier, or finishes the unit. */
static cc_status web_next(crawl *cr, crawl_unit *un)
{
    if (un->fq_head == un->fq_n || un->pages_done >= cr->o->max_pages)
        return CC_E_NOTFOUND;
    /* The URL stays until web_save has stored the head past it (it may be a new entry whose
     * visited hash is stored then). */
    const char *url = un->fq_url[un->fq_head];
    un->page_depth = un->fq_depth[un->fq_head++];
    snprintf(un->page_url, sizeof un->page_url, "%s", url);
    page_ctx *pc = malloc(sizeof *pc);
    CC_CHECK(pc, CC_E_NOMEM, "out of memory");
    pc->cr = cr;
    pc->un = un;
    cc_status st = fetch_submit(cr->e, un->page_url, FETCH_KIND_HTML, web_page_cb, pc);
    if (st != CC_OK) {
        free(pc);
        return st;
    }
    un->state = U_PAGE;
    return CC_OK;
}

static void web_page_cb(void *user, const fetch_result *r)
{
    page_ctx *pc = user;
    crawl *cr = pc->cr;
    crawl_unit *un = pc->un;
    free(pc);
    un->pages_done++;
    cands_clear(un);
    cc_status st = CC_OK;
    if (r->outcome != FETCH_OK) {
        /* A dead link, a disallowed page: part of the web, not a failure of the unit. */
        cr->s->page_failures++;
        cc_log_debug("page %s: %s", un->page_url, fetch_outcome_name(r->outcome));
    } else {
        cr->s->pages++;
        extract_result *er = NULL;
        const char *page = r->final_url && r->final_url[0] ? r->final_url : un->page_url;
        if (extract_html(page, r->body, r->body_len, NULL, &er) != CC_OK) {
            cr->s->page_failures++;
        } else {
            for (size_t i = 0; i < extract_pair_count(er) && st == CC_OK; i++) {
                const extract_pair *ep = extract_pair_at(er, i);
                st = cand_push(un, ep->image_url, ep->text, page);
            }
            if (un->page_depth < cr->o->depth)
                for (size_t i = 0; i < extract_link_count(er) && st == CC_OK; i++)
                    st = web_enqueue(cr, un, extract_link_at(er, i), un->page_depth + 1);
            extract_free(er);
        }
    }
    un->items = calloc(un->n_cands ? un->n_cands : 1, sizeof *un->items);
    if (!un->items && st == CC_OK)
        st = cc_fail(CC_E_NOMEM, "out of memory");
    if (st != CC_OK) {
        if (cr->fatal == CC_OK)
            cr->fatal = st;
        free(un->items);
        un->items = NULL;
        cands_clear(un);
        un->state = U_IDLE;
        un->gone = 1; /* left leased: adopted by the next run */
        return;
    }
    un->feed = un->apply = 0;
    un->state = U_FEED;
}

/* A warc unit: opens its file and positions the reader after the last finished record. */
static cc_status unit_setup_warc(crawl_unit *un)
{
    un->warc = 1;
    const char *path = un->u.key + 5;
    if (!strcmp(un->u.cursor, "end")) {
        un->wdone = 1;
        return CC_OK;
    }
    if (un->u.cursor[0]) {
        char *end;
        errno = 0;
        unsigned long long v = strtoull(un->u.cursor, &end, 10);
        if (errno || *end || end == un->u.cursor)
            return cc_fail(CC_E_FORMAT, "unit %s: bad cursor '%s'", un->u.key, un->u.cursor);
        un->woff = v;
        un->has_woff = 1;
    }
    CC_TRY(warc_reader_open(path, NULL, &un->wr));
    if (un->has_woff) {
        CC_TRY(warc_reader_seek(un->wr, un->woff));
        warc_record rec;
        cc_status st = warc_reader_next(un->wr, &rec); /* the finished record itself */
        if (st == CC_E_NOTFOUND)
            un->wdone = 1;
        else if (st != CC_OK && st != CC_E_FORMAT && st != CC_E_LIMIT && st != CC_E_VERSION &&
                 st != CC_E_UNSUPPORTED)
            return st;
    }
    un->state = U_IDLE;
    return CC_OK;
}

static cc_status cand_push(crawl_unit *un, const char *url, const char *text, const char *page)
{
    if (un->n_cands == un->cap_cands) {
        size_t nc = un->cap_cands ? 2 * un->cap_cands : 64;
        cand *n = realloc(un->cands, nc * sizeof *n);
        if (!n)
            return cc_fail(CC_E_NOMEM, "out of memory");
        un->cands = n;
        un->cap_cands = nc;
    }
    cand *c = &un->cands[un->n_cands];
    c->image_url = strdup(url);
    c->text = strdup(text);
    c->page_url = strdup(page);
    un->n_cands++;
    if (!c->image_url || !c->text || !c->page_url)
        return cc_fail(CC_E_NOMEM, "out of memory");
    return CC_OK;
}

static int is_html(const char *ct)
{
    return ct && (!strncasecmp(ct, "text/html", 9) || !strncasecmp(ct, "application/xhtml", 17));
}

/* ---- WAT metadata records: image links with alt text → candidates -------------------------- */

/* The image links of one <img>: a WAT lists the element's src, each srcset candidate and its lazy
 * source (data-src ...) as separate links with the element's alt and title, one after another.
 * A group is a run of consecutive image links with the same alt and title; it ends at any other
 * link, at a different alt or title, at a second src or lazy source, or at srcset candidates that
 * follow a non-srcset link after srcset candidates (a new element's set). One candidate per
 * group, chosen as extract_html would among the usable URLs (resolved, not skipped by
 * extract_image_url_skip): the last srcset candidate (the WAT keeps no descriptors; sets list
 * widths in increasing order), else the lazy source, else src. Unlike extract_html, a lazy
 * source is preferred to any src (a WAT drops data: placeholders and keeps src file names, and an
 * element with both is a lazy one). Only alt text makes a pair (a WAT has no figcaption; title is
 * not used): the group gives (chosen URL, text_normalize(alt)) when the alt is not empty. */
typedef struct wat_group {
    crawl *cr;
    crawl_unit *un;
    cc_status st;
    int open; /* a group is being collected */
    int has_src, has_lazy, has_set, set_closed;
    char *alt, *title; /* the group's (copies) */
    char *page; /* the page URL (copy) */
    char src[URL_MAX], lazy[URL_MAX], set[URL_MAX]; /* usable resolved URLs ("" none) */
    cc_buf norm;
} wat_group;

static int is_img_kind(warc_link_kind k)
{
    return k == WARC_LINK_IMG_SRC || k == WARC_LINK_IMG_SRCSET || k == WARC_LINK_IMG_LAZY;
}

/* Emits the open group's candidate (when it has a usable URL and alt text) and closes it. */
static void wat_flush(wat_group *g)
{
    if (!g->open)
        return;
    g->open = 0;
    const char *url = g->set[0] ? g->set : g->lazy[0] ? g->lazy : g->src[0] ? g->src : NULL;
    if (url && g->st == CC_OK) {
        cc_buf_reset(&g->norm);
        cc_status st = text_normalize(g->alt, strlen(g->alt), &g->norm, NULL);
        if (st == CC_OK && g->norm.len > 0) {
            st = cand_push(g->un, url, (const char *)g->norm.data, g->page);
            if (st == CC_OK)
                g->cr->s->wat_pairs++;
        } else if (st == CC_E_LIMIT) {
            st = CC_OK; /* an alt longer than any caption: no pair */
        }
        g->st = st;
    }
    free(g->alt);
    free(g->title);
    g->alt = g->title = NULL;
}

static int wat_link_cb(void *ctx, const warc_wat_page *page, const warc_link *l)
{
    wat_group *g = ctx;
    if (!is_img_kind(l->kind)) {
        wat_flush(g);
        return g->st != CC_OK;
    }
    g->cr->s->wat_links++;
    if (g->open && (strcmp(g->alt, l->alt) != 0 || strcmp(g->title, l->title) != 0 ||
                    (l->kind == WARC_LINK_IMG_SRC && g->has_src) ||
                    (l->kind == WARC_LINK_IMG_LAZY && g->has_lazy) ||
                    (l->kind == WARC_LINK_IMG_SRCSET && g->set_closed)))
        wat_flush(g);
    if (g->st != CC_OK)
        return 1;
    if (!g->open) {
        g->open = 1;
        g->has_src = g->has_lazy = g->has_set = g->set_closed = 0;
        g->src[0] = g->lazy[0] = g->set[0] = '\0';
        g->alt = strdup(l->alt);
        g->title = strdup(l->title);
        if (!g->page)
            g->page = strdup(page->url);
        if (!g->alt || !g->title || !g->page) {
            g->st = cc_fail(CC_E_NOMEM, "out of memory");
            return 1;
        }
    }
    if (g->has_set && l->kind != WARC_LINK_IMG_SRCSET)
        g->set_closed = 1;
    int usable = l->resolved && extract_image_url_skip(l->resolved) < 0;
    char *dst = l->kind == WARC_LINK_IMG_SRC    ? g->src
                : l->kind == WARC_LINK_IMG_LAZY ? g->lazy
                                                : g->set;
    if (l->kind == WARC_LINK_IMG_SRC)
        g->has_src = 1;
    else if (l->kind == WARC_LINK_IMG_LAZY)
        g->has_lazy = 1;
    else
        g->has_set = 1;
    if (usable)
        snprintf(dst, URL_MAX, "%s", l->resolved);
    return 0;
}

/* One WAT metadata record of a warc batch: its page's image pairs become candidates. */
static cc_status wat_record(crawl *cr, crawl_unit *un, const warc_record *rec)
{
    wat_group g = {.cr = cr, .un = un, .st = CC_OK};
    cc_buf_init(&g.norm, SHARD_MAX_TEXT + 1);
    warc_wat_info info;
    cc_status st = warc_wat_links(rec, NULL, wat_link_cb, &g, &info);
    if (st == CC_OK)
        wat_flush(&g);
    else
        g.open = 0;
    free(g.alt);
    free(g.title);
    free(g.page);
    cc_buf_free(&g.norm);
    if (st == CC_E_FORMAT || st == CC_E_LIMIT) {
        cr->s->warc_bad_records++;
        cc_log_warn("%s", cc_errmsg());
        return g.st;
    }
    CC_TRY(st);
    cr->s->wat_records++;
    if (info.has_html) {
        cr->s->wat_pages++;
        cr->s->pages++;
    }
    return g.st;
}

/* Reads the next batch of a warc unit: HTML responses' pairs (crawler/extract.h) and WAT
 * metadata records' pairs (wat_record), up to WARC_BATCH_CANDS candidates (a record's pairs are
 * never split); the batch's cursor is its last record. */
static cc_status warc_batch(crawl *cr, crawl_unit *un)
{
    cands_clear(un);
    un->next_woff = un->woff;
    un->next_has_woff = un->has_woff;
    un->next_wdone = 0;
    while (un->n_cands < WARC_BATCH_CANDS) {
        warc_record rec;
        cc_status st = warc_reader_next(un->wr, &rec);
        if (st == CC_E_NOTFOUND) {
            un->next_wdone = 1;
            break;
        }
        if (st == CC_E_FORMAT || st == CC_E_LIMIT || st == CC_E_VERSION || st == CC_E_UNSUPPORTED) {
            cr->s->warc_bad_records++;
            cc_log_warn("%s", cc_errmsg());
            continue; /* the reader goes on at the next record */
        }
        CC_TRY(st);
        un->next_woff = rec.offset;
        un->next_has_woff = 1;
        if (rec.type == WARC_METADATA) {
            CC_TRY(wat_record(cr, un, &rec));
            continue;
        }
        if (rec.type != WARC_RESPONSE || rec.http != WARC_HTTP_OK || !rec.target_uri ||
            rec.http_status < 200 || rec.http_status > 299 ||
            !is_html(warc_http_header(&rec, "Content-Type")))
            continue;
        cr->s->pages++;
        extract_result *er = NULL;
        st = extract_html(rec.target_uri, rec.payload, rec.payload_len, NULL, &er);
        if (st != CC_OK) {
            cr->s->page_failures++;
            cc_log_debug("%s: %s", rec.target_uri, cc_errmsg());
            continue;
        }
        const char *page = rec.target_uri;
        for (size_t i = 0; i < extract_pair_count(er) && st == CC_OK; i++) {
            const extract_pair *ep = extract_pair_at(er, i);
            st = cand_push(un, ep->image_url, ep->text, page);
        }
        extract_free(er);
        CC_TRY(st);
    }
    un->items = calloc(un->n_cands ? un->n_cands : 1, sizeof *un->items);
    CC_CHECK(un->items, CC_E_NOMEM, "out of memory");
    un->feed = un->apply = 0;
    un->state = U_FEED;
    return CC_OK;
}

/* Checks a claimed unit and makes it ready to work: its query and its cursor. */
static cc_status unit_setup(crawl *cr, crawl_unit *un)
{
    const char *k = un->u.key;
    if (cr->o->source == CRAWL_SOURCE_WEB) {
        if (strncmp(k, "seed:", 5) != 0)
            return cc_fail(CC_E_FORMAT, "unit %s is not a web unit", k);
        return unit_setup_web(cr, un);
    }
    if (cr->o->source == CRAWL_SOURCE_WARC) {
        if (strncmp(k, "warc:", 5) != 0)
            return cc_fail(CC_E_FORMAT, "unit %s is not a warc unit", k);
        return unit_setup_warc(un);
    }
    if (strncmp(k, "query:", 6) != 0)
        return cc_fail(CC_E_FORMAT, "unit %s is not a search unit", k);
    char *end;
    errno = 0;
    unsigned long long id = strtoull(k + 6, &end, 10);
    if (errno || *end || end == k + 6 || id >= query_list_count(cr->ql))
        return cc_fail(CC_E_FORMAT,
                       "unit %s names no query of the list (a state made with another list?)", k);
    un->qid = (uint32_t)id;
    un->qtext = query_list_get(cr->ql, id)->text;
    if (un->u.cursor[0])
        CC_TRY(search_cursor_parse(un->u.cursor, &un->cur));
    else
        search_cursor_init(&un->cur);
    un->state = U_IDLE;
    return CC_OK;
}

static cc_status unit_finish(crawl *cr, crawl_unit *un)
{
    char cur[SEARCH_CURSOR_STR_MAX] = "end";
    search_cursor c = un->cur;
    c.done = 1;
    if (!un->warc && !un->web)
        CC_TRY(search_cursor_format(&c, cur, sizeof cur));
    CC_TRY(coord_unit_progress(cr->c, un->u.id, cur));
    CC_TRY(coord_unit_done(cr->c, un->u.id));
    cr->s->units_done++;
    un->gone = 1;
    return CC_OK;
}

static void unit_fail(crawl *cr, crawl_unit *un, const char *why)
{
    cr->s->page_failures++;
    cc_log_warn("unit %s: %s", un->u.key, why);
    cc_status st = coord_unit_fail(cr->c, un->u.id, why, 0);
    if (st != CC_OK && cr->fatal == CC_OK)
        cr->fatal = st;
    un->gone = 1;
    cr->exhausted = 0; /* it is pending again */
}

static void page_cb(void *user, const fetch_result *r)
{
    page_ctx *pc = user;
    crawl *cr = pc->cr;
    crawl_unit *un = pc->un;
    free(pc);
    if (r->outcome != FETCH_OK) {
        char why[COORD_ERROR_MAX];
        snprintf(why, sizeof why, "search page %.100s: %s %.100s", un->page_url,
                 fetch_outcome_name(r->outcome), r->detail);
        unit_fail(cr, un, why);
        return;
    }
    search_page *pg = NULL;
    cc_status st =
        search_parse(cr->o->spec, &un->cur, un->page_url, r->body, r->body_len, NULL, &pg);
    if (st != CC_OK) {
        char why[COORD_ERROR_MAX];
        snprintf(why, sizeof why, "search page %.100s: %.120s", un->page_url, cc_errmsg());
        unit_fail(cr, un, why);
        return;
    }
    cr->s->pages++;
    const search_stats *ss = search_page_stats(pg);
    for (int i = 0; i < SEARCH_SKIP_COUNT; i++)
        cr->s->search_skipped[i] += ss->skipped[i];
    size_t n = search_page_count(pg);
    un->items = calloc(n ? n : 1, sizeof *un->items);
    if (!un->items) {
        search_page_free(pg);
        if (cr->fatal == CC_OK)
            cr->fatal = cc_fail(CC_E_NOMEM, "out of memory");
        return;
    }
    un->page = pg;
    un->feed = un->apply = 0;
    un->state = U_FEED;
}

/* Moves one unit along: ask for its next page, feed its candidates, apply results in order,
 * close the page once everything is settled. */
static cc_status unit_step(crawl *cr, crawl_unit *un, int stopping)
{
    if (un->state == U_IDLE && un->web) {
        if (stopping)
            return CC_OK;
        cc_status st = web_next(cr, un);
        if (st == CC_E_NOTFOUND)
            return unit_finish(cr, un);
        return st;
    } else if (un->state == U_IDLE && un->warc) {
        if (stopping)
            return CC_OK;
        if (un->wdone)
            return unit_finish(cr, un);
        CC_TRY(warc_batch(cr, un));
    } else if (un->state == U_IDLE) {
        if (stopping)
            return CC_OK;
        if (un->cur.done || query_full(cr, un->qid))
            return unit_finish(cr, un);
        CC_TRY(
            search_page_url(cr->o->spec, un->qtext, &un->cur, un->page_url, sizeof un->page_url));
        page_ctx *pc = malloc(sizeof *pc);
        if (!pc)
            return cc_fail(CC_E_NOMEM, "out of memory");
        pc->cr = cr;
        pc->un = un;
        cc_status st = fetch_submit(cr->e, un->page_url, FETCH_KIND_ANY, page_cb, pc);
        if (st != CC_OK) {
            free(pc);
            return st;
        }
        un->state = U_PAGE;
        return CC_OK;
    }
    if (un->state != U_FEED)
        return CC_OK;
    size_t n = unit_ncands(un);
    /* Apply finished items in result order. */
    while (un->apply < un->feed) {
        item *it = un->items[un->apply];
        if (it && (it->state == IT_FETCHING || it->state == IT_DECODING))
            break;
        if (it && it->state == IT_READY)
            CC_TRY(apply_ready(cr, it));
        un->apply++;
    }
    /* Feed more, within the budget. */
    while (!stopping && un->feed < n && cr->in_flight < cr->budget) {
        if (un->waiting_full && un->outstanding > 0)
            break;
        int fr;
        CC_TRY(feed_one(cr, un, un->feed, &fr));
        if (fr == FEED_WAIT)
            break;
        un->feed++;
    }
    /* A page left unfinished by a stop keeps its cursor: the next run does it again. */
    if (un->feed < n || un->outstanding > 0 || un->apply < un->feed)
        return CC_OK;
    /* Every item of the page (batch) is settled: store the next cursor. */
    char cur[SEARCH_CURSOR_STR_MAX];
    if (un->web) {
        snprintf(cur, sizeof cur, "%" PRIu64 " pages", un->pages_done);
        CC_TRY(web_save(cr, un, cur));
    } else if (un->warc) {
        un->woff = un->next_woff;
        un->has_woff = un->next_has_woff;
        un->wdone = un->next_wdone;
        if (un->has_woff)
            snprintf(cur, sizeof cur, "%" PRIu64, un->woff);
        else
            cur[0] = '\0';
    } else {
        un->cur = *search_page_next(un->page);
        CC_TRY(search_cursor_format(&un->cur, cur, sizeof cur));
    }
    if (!un->web)
        CC_TRY(coord_unit_progress(cr->c, un->u.id, cur));
    for (size_t i = 0; i < n; i++)
        item_free(un->items[i]);
    free(un->items);
    un->items = NULL;
    search_page_free(un->page);
    un->page = NULL;
    cands_clear(un);
    un->state = U_IDLE;
    if (un->web)
        return CC_OK; /* web_next finishes it when the frontier or the budget is exhausted */
    if (un->warc ? un->wdone : (un->cur.done || query_full(cr, un->qid)))
        return unit_finish(cr, un);
    return CC_OK;
}

/* Fills the active set with claimed (or adopted) units. */
static cc_status units_fill(crawl *cr)
{
    while (cr->n_units < (size_t)cr->o->parallel_units) {
        crawl_unit *un;
        if (cr->n_adopted) {
            un = cr->adopted[--cr->n_adopted];
        } else {
            if (cr->exhausted)
                return CC_OK;
            un = calloc(1, sizeof *un);
            if (!un)
                return cc_fail(CC_E_NOMEM, "out of memory");
            cc_status st = coord_unit_claim(cr->c, &un->u);
            if (st == CC_E_NOTFOUND) {
                free(un);
                cr->exhausted = 1;
                return CC_OK;
            }
            if (st != CC_OK) {
                free(un);
                return st;
            }
        }
        cc_status st = unit_setup(cr, un);
        if (st != CC_OK) {
            unit_fail(cr, un, cc_errmsg());
            free(un);
            cr->exhausted = 1; /* do not spin on a unit that cannot work */
            continue;
        }
        cr->units[cr->n_units++] = un;
    }
    return CC_OK;
}

/* The key of unit i of this run's source: "query:ID" or "warc:PATH". CC_E_LIMIT. */
static cc_status unit_key(const crawl *cr, uint64_t i, char *out, size_t cap)
{
    int n = cr->o->source == CRAWL_SOURCE_WARC  ? snprintf(out, cap, "warc:%s", cr->o->warcs[i])
            : cr->o->source == CRAWL_SOURCE_WEB ? snprintf(out, cap, "seed:%s", cr->o->seeds[i])
                                                : snprintf(out, cap, "query:%" PRIu64, i);
    CC_CHECK(n > 0 && (size_t)n < cap, CC_E_LIMIT, "unit key longer than %zu bytes", cap - 1);
    return CC_OK;
}

/* Units this worker held when a previous run stopped are still leased to it: take them back
 * (renewing the lease keeps their cursor and does not count a delivery). */
static cc_status units_adopt(crawl *cr, uint64_t nq)
{
    cr->adopted = calloc(nq ? nq : 1, sizeof *cr->adopted);
    if (!cr->adopted)
        return cc_fail(CC_E_NOMEM, "out of memory");
    for (uint64_t q = nq; q-- > 0;) {
        char key[COORD_KEY_MAX];
        CC_TRY(unit_key(cr, q, key, sizeof key));
        coord_unit u;
        cc_status st = coord_unit_get(cr->c, key, &u);
        if (st == CC_E_NOTFOUND || (st == CC_OK && u.state != COORD_UNIT_LEASED))
            continue;
        CC_TRY(st);
        if (coord_unit_progress(cr->c, u.id, u.cursor) != CC_OK)
            continue; /* leased to someone else */
        crawl_unit *un = calloc(1, sizeof *un);
        if (!un)
            return cc_fail(CC_E_NOMEM, "out of memory");
        un->u = u;
        cr->adopted[cr->n_adopted++] = un;
    }
    if (cr->n_adopted)
        cc_log_info("resuming %zu units of the previous run", cr->n_adopted);
    return CC_OK;
}

static cc_status units_add_all(crawl *cr, uint64_t nq)
{
    char(*keys)[COORD_KEY_MAX] = malloc(UNITS_ADD_BATCH * sizeof *keys);
    const char **ptrs = malloc(UNITS_ADD_BATCH * sizeof *ptrs);
    cc_status st = CC_OK;
    if (!keys || !ptrs) {
        st = cc_fail(CC_E_NOMEM, "out of memory");
        goto out;
    }
    for (uint64_t q = 0; q < nq && st == CC_OK;) {
        size_t n = 0;
        for (; n < UNITS_ADD_BATCH && q < nq && st == CC_OK; n++, q++) {
            st = unit_key(cr, q, keys[n], sizeof keys[n]);
            ptrs[n] = keys[n];
        }
        if (st == CC_OK)
            st = coord_units_add(cr->c, ptrs, n, NULL);
    }
out:
    free(keys);
    free(ptrs);
    return st;
}

/* ---- recovery ------------------------------------------------------------------------------ */

typedef struct scan_ctx {
    crawl *cr;
    uint64_t index, from; /* records before `from` are skipped */
    uint8_t (*uids)[16];
    size_t n, cap;
    int rebuild;
    cc_status st;
} scan_ctx;

static int scan_record(void *ctx, const shard_record *r)
{
    scan_ctx *sc = ctx;
    uint64_t i = sc->index++;
    if (sc->rebuild) {
        uint64_t ph = sc->cr->o->dedupe == CRAWL_DEDUPE_NEAR ? r->phash : 0;
        sc->st = coord_rebuild_add(sc->cr->c, r->query_id, r->uid, r->content_hash, ph);
        return sc->st != CC_OK;
    }
    if (i < sc->from)
        return 0;
    if (sc->n == sc->cap) {
        size_t nc = sc->cap ? 2 * sc->cap : 1024;
        void *nu = realloc(sc->uids, nc * 16);
        if (!nu) {
            sc->st = cc_fail(CC_E_NOMEM, "out of memory");
            return 1;
        }
        sc->uids = nu;
        sc->cap = nc;
    }
    memcpy(sc->uids[sc->n++], r->uid, 16);
    return 0;
}

/* The shards are the truth: reservations of committed records are confirmed, the others
 * released. Records of the open shard and of the last sealed one are checked (a shard rolled by
 * the writer on its own is the last sealed one). */
static cc_status recover(crawl *cr)
{
    shard_manifest *m = NULL;
    cc_status st = shard_manifest_load(cr->o->out_dir, &m);
    if (st != CC_OK && st != CC_E_NOTFOUND)
        return st;
    uint64_t total = m ? shard_manifest_total(m) : 0;
    uint64_t last = m && m->n ? m->entries[m->n - 1].count : 0;
    shard_manifest_free(m);
    st = CC_OK;
    uint64_t held = shard_writer_committed(cr->w);
    cr->s->held = held;
    cr->shard_count = held - total;
    scan_ctx sc = {.cr = cr, .from = total - last, .rebuild = cr->o->rebuild_state};
    if (cr->o->rebuild_state) {
        CC_TRY(coord_rebuild_begin(cr->c));
        if (held) {
            st = shard_writer_scan(cr->w, scan_record, &sc);
            if (st == CC_OK)
                st = sc.st;
            CC_TRY(st);
        }
        CC_TRY(coord_rebuild_end(cr->c));
        cc_log_info("rebuilt the coordinator state from %" PRIu64 " pairs", held);
        return CC_OK;
    }
    if (held > sc.from) {
        st = shard_writer_scan(cr->w, scan_record, &sc);
        if (st == CC_OK)
            st = sc.st;
    }
    if (st == CC_OK)
        st = coord_recover(cr->c, (const uint8_t(*)[16])sc.uids, sc.n, &cr->s->recovered_confirmed,
                           &cr->s->recovered_released);
    free(sc.uids);
    if (st == CC_OK && cr->s->recovered_confirmed + cr->s->recovered_released)
        cc_log_info("recovered: %" PRIu64 " reservations confirmed, %" PRIu64 " released",
                    cr->s->recovered_confirmed, cr->s->recovered_released);
    return st;
}

/* ---- stats and metrics --------------------------------------------------------------------- */

typedef struct out_text {
    cc_file_out fo;
    cc_status st;
} out_text;

static void put(out_text *ot, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void put(out_text *ot, const char *fmt, ...)
{
    if (ot->st != CC_OK)
        return;
    char line[1024];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= sizeof line) {
        ot->st = cc_fail(CC_E_LIMIT, "stats line too long");
        return;
    }
    ot->st = cc_file_out_put(&ot->fo, line, (size_t)n);
}

static cc_status out_finish(out_text *ot)
{
    if (ot->st != CC_OK) {
        cc_file_out_abort(&ot->fo);
        return ot->st;
    }
    return cc_file_out_commit_plain(&ot->fo);
}

cc_status crawl_stats_write_json(const crawl_stats *s, const char *path)
{
    out_text ot = {.st = CC_OK};
    CC_TRY(cc_file_out_open(&ot.fo, path));
    put(&ot, "{\n  \"candidates\": %" PRIu64 ",\n  \"written\": %" PRIu64 ",\n", s->candidates,
        s->written);
    put(&ot,
        "  \"skipped\": {\"no_query\": %" PRIu64 ", \"duplicate_pair\": %" PRIu64
        ", \"query_full\": %" PRIu64 ", \"query_full_after_fetch\": %" PRIu64
        ", \"duplicate_content\": %" PRIu64 ", \"near_duplicate\": %" PRIu64
        ", \"abandoned\": %" PRIu64 "},\n",
        s->no_query, s->duplicate_pair, s->query_full, s->query_full_after_fetch,
        s->duplicate_content, s->near_duplicate, s->abandoned);
    put(&ot, "  \"text\": {");
    const char *sep = "";
    for (int i = 1; i < TEXT_R_COUNT; i++) {
        put(&ot, "%s\"%s\": %" PRIu64, sep, text_reason_name((text_reason)i), s->text[i]);
        sep = ", ";
    }
    put(&ot, "},\n  \"fetch\": {");
    sep = "";
    for (int i = 0; i < FETCH_OUTCOME_COUNT; i++) {
        put(&ot, "%s\"%s\": %" PRIu64, sep, fetch_outcome_name((fetch_outcome)i), s->fetch[i]);
        sep = ", ";
    }
    put(&ot, "},\n  \"image\": {");
    sep = "";
    for (int i = 1; i < IMG_R_COUNT; i++) {
        put(&ot, "%s\"%s\": %" PRIu64, sep, img_reason_name((img_reason)i), s->image[i]);
        sep = ", ";
    }
    put(&ot, "},\n  \"search\": {\"pages\": %" PRIu64 ", \"page_failures\": %" PRIu64, s->pages,
        s->page_failures);
    for (int i = 0; i < SEARCH_SKIP_COUNT; i++)
        put(&ot, ", \"%s\": %" PRIu64, search_skip_name((search_skip)i), s->search_skipped[i]);
    put(&ot, ", \"warc_bad_records\": %" PRIu64, s->warc_bad_records);
    put(&ot,
        ", \"wat_records\": %" PRIu64 ", \"wat_pages\": %" PRIu64 ", \"wat_links\": %" PRIu64
        ", \"wat_pairs\": %" PRIu64 ", \"frontier_resumed\": %" PRIu64,
        s->wat_records, s->wat_pages, s->wat_links, s->wat_pairs, s->frontier_resumed);
    put(&ot,
        "},\n  \"units\": {\"done\": %" PRIu64 ", \"left\": %" PRIu64 ", \"dead\": %" PRIu64 "},\n",
        s->units_done, s->units_left, s->units_dead);
    put(&ot,
        "  \"held_at_start\": %" PRIu64 ",\n  \"recovered\": {\"confirmed\": %" PRIu64
        ", \"released\": %" PRIu64 "},\n  \"seconds\": %.3f\n}\n",
        s->held, s->recovered_confirmed, s->recovered_released, s->seconds);
    return out_finish(&ot);
}

static size_t pool_depth(pool *p, size_t *results)
{
    pthread_mutex_lock(&p->mu);
    size_t d = p->n_jobs + p->busy;
    *results = p->n_results;
    pthread_mutex_unlock(&p->mu);
    return d;
}

static cc_status write_metrics(crawl *cr)
{
    char path[4096];
    CC_TRY(cc_path_join(path, sizeof path, cr->o->out_dir, "metrics.prom"));
    const crawl_stats *s = cr->s;
    size_t results;
    size_t decode = pool_depth(&cr->pool, &results);
    out_text ot = {.st = CC_OK};
    CC_TRY(cc_file_out_open(&ot.fo, path));
    put(&ot,
        "# HELP clipcrawl_pairs_written_total Pairs committed and confirmed by this run.\n"
        "# TYPE clipcrawl_pairs_written_total counter\n"
        "clipcrawl_pairs_written_total %" PRIu64 "\n",
        s->written);
    put(&ot,
        "# HELP clipcrawl_candidates_total Candidates the sources gave.\n"
        "# TYPE clipcrawl_candidates_total counter\nclipcrawl_candidates_total %" PRIu64 "\n",
        s->candidates);
    put(&ot, "# HELP clipcrawl_rejects_total Candidates skipped or rejected, by reason.\n"
             "# TYPE clipcrawl_rejects_total counter\n");
    struct {
        const char *n;
        uint64_t v;
    } named[] = {{"no_query", s->no_query},
                 {"duplicate_pair", s->duplicate_pair},
                 {"query_full", s->query_full},
                 {"duplicate_content", s->duplicate_content},
                 {"near_duplicate", s->near_duplicate}};
    for (size_t i = 0; i < sizeof named / sizeof named[0]; i++)
        put(&ot, "clipcrawl_rejects_total{reason=\"%s\"} %" PRIu64 "\n", named[i].n, named[i].v);
    for (int i = 1; i < TEXT_R_COUNT; i++)
        put(&ot, "clipcrawl_rejects_total{reason=\"text_%s\"} %" PRIu64 "\n",
            text_reason_name((text_reason)i), s->text[i]);
    for (int i = 1; i < IMG_R_COUNT; i++)
        put(&ot, "clipcrawl_rejects_total{reason=\"image_%s\"} %" PRIu64 "\n",
            img_reason_name((img_reason)i), s->image[i]);
    put(&ot, "# HELP clipcrawl_fetch_outcomes_total Image fetches by outcome.\n"
             "# TYPE clipcrawl_fetch_outcomes_total counter\n");
    for (int i = 0; i < FETCH_OUTCOME_COUNT; i++)
        put(&ot, "clipcrawl_fetch_outcomes_total{outcome=\"%s\"} %" PRIu64 "\n",
            fetch_outcome_name((fetch_outcome)i), s->fetch[i]);
    put(&ot,
        "# HELP clipcrawl_queue_depth Items waiting or in work, by stage.\n"
        "# TYPE clipcrawl_queue_depth gauge\n"
        "clipcrawl_queue_depth{stage=\"fetch\"} %zu\n"
        "clipcrawl_queue_depth{stage=\"decode\"} %zu\n"
        "clipcrawl_queue_depth{stage=\"results\"} %zu\n"
        "clipcrawl_queue_depth{stage=\"write\"} %zu\n",
        fetch_pending(cr->e), decode, results, cr->n_written);
    return out_finish(&ot);
}

static void progress(crawl *cr, double t)
{
    if (!cr->o->progress)
        return;
    size_t results;
    size_t decode = pool_depth(&cr->pool, &results);
    double el = t - cr->t0;
    cc_progress("crawl: %" PRIu64 " pairs, %.1f pairs/s, %" PRIu64
                " units done | fetch %zu, decode %zu, write %zu",
                cr->s->written, el > 0 ? (double)cr->s->written / el : 0.0, cr->s->units_done,
                fetch_pending(cr->e), decode + results, cr->n_written);
}

/* ---- the loop ------------------------------------------------------------------------------ */

static int stop_requested(const crawl *cr)
{
    return cr->o->stop && *cr->o->stop;
}

/* Takes decode results off the pool; they are applied in order by unit_step. */
static void take_results(crawl *cr)
{
    item *l = pool_take(&cr->pool);
    while (l) {
        item *nx = l->next;
        l->state = IT_READY;
        l = nx;
    }
}

static cc_status crawl_loop(crawl *cr)
{
    for (;;) {
        int stopping = stop_requested(cr) || cr->fatal != CC_OK;
        if (!stopping)
            CC_TRY(units_fill(cr));
        for (size_t i = 0; i < cr->n_units; i++)
            if (!cr->units[i]->gone)
                CC_TRY(unit_step(cr, cr->units[i], stopping));
        /* Commit when a unit waits only on its written items, at commit_pairs, or each second. */
        int need = cr->n_written >= cr->o->commit_pairs || now_s() - cr->last_commit >= 1.0;
        for (size_t i = 0; i < cr->n_units && !need; i++) {
            crawl_unit *un = cr->units[i];
            need = un->unconfirmed > 0 && un->unconfirmed == un->outstanding;
        }
        if (need && cr->n_written)
            CC_TRY(commit_written(cr));
        /* Sweep finished units. */
        size_t k = 0;
        for (size_t i = 0; i < cr->n_units; i++) {
            if (cr->units[i]->gone)
                unit_free(cr->units[i]);
            else
                cr->units[k++] = cr->units[i];
        }
        cr->n_units = k;
        if (cr->fatal != CC_OK && cr->in_flight == 0)
            return cr->fatal;
        if (cr->n_units == 0 && (stopping || (cr->exhausted && cr->n_adopted == 0)))
            break;
        if (stopping) {
            int idle = 1;
            for (size_t i = 0; i < cr->n_units; i++)
                if (cr->units[i]->outstanding > 0 || cr->units[i]->state == U_PAGE)
                    idle = 0;
            if (idle && cr->n_written == 0)
                break;
        }
        CC_TRY(fetch_run(cr->e, 0.02, NULL));
        take_results(cr);
        double t = now_s();
        if (t - cr->last_metrics >= cr->o->metrics_seconds) {
            cr->last_metrics = t;
            cc_status st = write_metrics(cr);
            if (st != CC_OK)
                cc_log_warn("metrics.prom: %s", cc_errmsg());
        }
        progress(cr, t);
    }
    return commit_written(cr);
}

static cc_status crawl_open(crawl *cr)
{
    const crawl_opts *o = cr->o;
    shard_writer_opts wo;
    shard_writer_opts_default(&wo);
    /* The pipeline commits and seals itself (after confirming): the writer must not on its own. */
    wo.max_pairs = UINT64_MAX / 2;
    wo.batch_pairs = UINT32_MAX;
    wo.batch_bytes = 1ull << 40;
    CC_TRY(shard_writer_open(o->out_dir, &wo, &cr->w));
    coord_opts co;
    coord_opts_default(&co);
    co.cap = o->cap;
    co.near_distance = o->near_distance;
    if (o->source == CRAWL_SOURCE_WEB)
        co.frontier_max = 4 * o->max_pages + 1024; /* web_enqueue's bound */
    char spec[4200];
    int n = snprintf(spec, sizeof spec, "lmdb:%s/state.lmdb", o->out_dir);
    CC_CHECK(n > 0 && (size_t)n < sizeof spec, CC_E_LIMIT, "output path too long");
    CC_TRY(coord_open(spec, &co, &cr->c));
    CC_TRY(query_list_load(o->queries, CRAWL_MAX_QUERIES, &cr->ql));
    CC_TRY(qmatcher_build(cr->ql, &cr->qm));
    CC_TRY(recover(cr));
    uint64_t nq = o->source == CRAWL_SOURCE_WARC  ? o->n_warcs
                  : o->source == CRAWL_SOURCE_WEB ? o->n_seeds
                                                  : query_list_count(cr->ql);
    CC_TRY(units_add_all(cr, nq));
    CC_TRY(units_adopt(cr, nq));
    cr->units = calloc((size_t)o->parallel_units, sizeof *cr->units);
    CC_CHECK(cr->units, CC_E_NOMEM, "out of memory");
    CC_TRY(fetch_engine_new(&o->fetch, &cr->e));
    CC_TRY(pool_start(&cr->pool, &o->img, o->threads));
    cr->pool_up = 1;
    cr->budget = (size_t)o->fetch.max_inflight + 4 * (size_t)o->threads;
    cc_buf_init(&cr->text, SHARD_MAX_TEXT + 1);
    return CC_OK;
}

static void crawl_close(crawl *cr, int ok)
{
    /* The engine first: its cancelled callbacks release their items (counted "cancelled"). What
     * is still decoding is abandoned; its reservations are released at the next start. */
    fetch_engine_free(cr->e);
    cr->e = NULL;
    cr->s->abandoned += cr->in_flight;
    if (cr->pool_up)
        pool_stop(&cr->pool);
    for (size_t i = 0; i < cr->n_units; i++)
        unit_free(cr->units[i]);
    for (size_t i = 0; i < cr->n_adopted; i++)
        unit_free(cr->adopted[i]);
    free(cr->units);
    free(cr->adopted);
    free(cr->written);
    cc_buf_free(&cr->text);
    if (cr->w) {
        /* On failure the open shard keeps its committed records, unsealed, for a resume. */
        cc_status st = shard_writer_close(cr->w, ok);
        if (st != CC_OK)
            cc_log_error("closing the shard writer: %s", cc_errmsg());
    }
    if (cr->c) {
        coord_sync(cr->c);
        coord_close(cr->c);
    }
    qmatcher_free(cr->qm);
    query_list_free(cr->ql);
}

cc_status crawl_run(const crawl_opts *o, crawl_stats *stats)
{
    CC_CHECK(o && stats, CC_E_INVAL, "crawl_run: NULL argument");
    memset(stats, 0, sizeof *stats);
    CC_CHECK(o->out_dir && o->queries, CC_E_INVAL,
             "crawl: an output folder and a query list are "
             "required");
    CC_CHECK(o->source == CRAWL_SOURCE_SEARCH || o->source == CRAWL_SOURCE_WARC ||
                 o->source == CRAWL_SOURCE_WEB,
             CC_E_INVAL, "crawl: unknown source %d", o->source);
    CC_CHECK(o->source != CRAWL_SOURCE_SEARCH || (o->spec && !search_spec_needs_base(o->spec)),
             CC_E_INVAL, "crawl: the search source needs a spec with a base URL");
    CC_CHECK(o->source != CRAWL_SOURCE_WARC || (o->warcs && o->n_warcs > 0), CC_E_INVAL,
             "crawl: the warc source needs WARC files");
    CC_CHECK(o->source != CRAWL_SOURCE_WEB ||
                 (o->seeds && o->n_seeds > 0 && o->depth >= 0 && o->max_pages > 0),
             CC_E_INVAL, "crawl: the web source needs seeds, a depth >= 0 and a page budget");
    CC_CHECK(o->cap > 0 && o->parallel_units > 0 && o->threads > 0 && o->shard_pairs > 0 &&
                 o->commit_pairs > 0,
             CC_E_INVAL, "crawl: cap, parallel units, threads, shard pairs must be positive");
    crawl cr;
    memset(&cr, 0, sizeof cr);
    cr.o = o;
    cr.s = stats;
    cr.t0 = now_s();
    cr.last_commit = cr.last_metrics = cr.t0;
    cc_status st = crawl_open(&cr);
    if (st == CC_OK)
        st = crawl_loop(&cr);
    cc_progress_done();
    if (cr.e && cr.pool_up) {
        cc_status ms = write_metrics(&cr);
        if (ms != CC_OK)
            cc_log_warn("metrics.prom: %s", cc_errmsg());
    }
    int complete = 0;
    if (st == CC_OK && cr.c) {
        coord_counts cc;
        st = coord_get_counts(cr.c, &cc);
        if (st == CC_OK) {
            stats->units_left = cc.units[COORD_UNIT_PENDING] + cc.units[COORD_UNIT_LEASED] +
                                cc.units[COORD_UNIT_DEAD];
            stats->units_dead = cc.units[COORD_UNIT_DEAD];
            complete = stats->units_left == 0;
        }
    }
    /* Seal the last shard only when the crawl is complete; a stopped crawl resumes into it. */
    crawl_close(&cr, st == CC_OK && complete);
    stats->seconds = now_s() - cr.t0;
    if (st == CC_OK) {
        char path[4096];
        st = cc_path_join(path, sizeof path, o->out_dir, "stats.json");
        if (st == CC_OK)
            st = crawl_stats_write_json(stats, path);
    }
    return st;
}
