/* cli/pack.c — `clipcrawl shards pack`: image files + captions → text and image filters →
 * dedupe → sealed shards.
 *
 * The list is read in batches. For each batch, the main thread parses lines, drops repeated
 * lines (same path and caption = same uid) and lines whose pair the run already holds (resume),
 * then worker threads run the filter path on the rest (caption rules, file read, decode, checks,
 * resize, encode, hashes) into per-item buffers; the main thread then takes the results in list
 * order — dedupe by content hash and pHash, writer — so the output does not depend on --threads.
 *
 * Resume: the run's own records (shard_writer_scan) give the uids already packed and the
 * content hashes and pHashes for dedupe, so a re-run with the same list adds exactly the pairs a
 * clean run would have added after them. A list whose new pairs would come before pairs the run
 * holds is another list: refused.
 */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli/cli.h"
#include "cli/filter_flags.h"
#include "common/file.h"
#include "common/log.h"
#include "filters/dedupe.h"
#include "filters/phash.h"
#include "query_lists/match.h"
#include "query_lists/querylist.h"
#include "query_lists/quota.h"
#include "shards/shard.h"

#define LIST_LINE_MAX (SHARD_MAX_TEXT + 8192)
/* Bound of the uid / content-hash sets: only stops a runaway; memory follows use. */
#define PACK_MAX_KEYS (1ull << 32)
/* Items per batch and thread: enough to keep threads busy across uneven image sizes. */
#define ITEMS_PER_THREAD 8

static const char pack_usage[] =
    "usage: clipcrawl shards pack --from LIST.tsv --out DIR [options]\n"
    "\n"
    "Packs image files and captions into sealed shards through the crawler's filter path:\n"
    "caption rules, then decode with limits, size/aspect/blank checks, resize, JPEG re-encode,\n"
    "content hash and pHash, dedupe. Each line of LIST.tsv is PATH<TAB>CAPTION; a relative\n"
    "PATH is taken from the list's folder. Every skipped or rejected line is counted by reason.\n"
    "Re-running the same command after an interruption resumes: the pairs already committed are\n"
    "not added again, and the result is what one uninterrupted run gives.\n"
    "\n"
    "  --max-pairs N     pairs per shard (default 10000)\n"
    "  --max-bytes SIZE  bytes per shard file, e.g. 512M (default 1G)\n"
    "  --batch N         pairs per durable commit (default 256)\n"
    "  --zstd-level N    metadata compression level (default 3)\n"
    "  --no-dict         do not train a per-shard metadata dictionary\n"
    "  --queries FILE    a queries.tsv (clipcrawl queries build): keep only pairs whose caption\n"
    "                    contains a query; each counts for the rarest matched query with room\n"
    "  --cap N           pairs per query with --queries (default 20000)\n"
    "  -q, --quiet / -v, --verbose\n"
    "\n";

/* Outcome of one item. */
enum item_kind { ITEM_OK, ITEM_MISSING, ITEM_TEXT, ITEM_IMAGE, ITEM_NO_QUERY };
/* Matched query ids kept per pair (the record keeps them all, up to this many). */
#define ITEM_MAX_QUERIES 64
/* Most queries a list given to pack may have. */
#define PACK_MAX_QUERIES (50u * 1000 * 1000)

typedef struct pack_item {
    char *line; /* owned copy of the list line; path and caption point into it */
    const char *path, *caption;
    uint64_t lineno;
    uint8_t uid[16];
    int kind; /* enum item_kind */
    text_reason treason;
    img_reason ireason;
    char msg[192];
    cc_buf text; /* normalized caption (NUL-terminated) */
    cc_buf image; /* bytes to store */
    uint8_t format;
    uint32_t width, height, orig_width, orig_height;
    cc_hash128 content_hash;
    uint64_t phash;
    int64_t mtime_ms;
    uint32_t qids[ITEM_MAX_QUERIES]; /* matched query ids, ascending (with --queries) */
    size_t n_qids;
} pack_item;

typedef struct pack_pool pack_pool;

typedef struct pack_worker {
    pack_pool *pool;
    pthread_t tid;
    img_filter *filter;
    cc_buf file; /* the image file's bytes */
} pack_worker;

struct pack_pool {
    const cli_filter_flags *flags;
    const qmatcher *qm; /* NULL without --queries */
    const char *listdir;
    pthread_mutex_t mu;
    pthread_cond_t start, done;
    uint64_t generation; /* bumped for each batch */
    int quit;
    pack_item *items;
    size_t n, next, finished;
    int nworkers;
    pack_worker *workers;
};

typedef struct pack_counts {
    uint64_t added, resumed, missing, duplicate_line, duplicate_image, near_duplicate;
    uint64_t no_query, query_full;
    uint64_t text[TEXT_R_COUNT], image[IMG_R_COUNT];
} pack_counts;

/* ---- the filter path of one item (worker threads) ------------------------------------------ */

static void item_run(pack_worker *wk, pack_item *it)
{
    const cli_filter_flags *fl = wk->pool->flags;
    it->kind = ITEM_OK;
    it->msg[0] = '\0';
    text_result tr;
    if (text_check(&fl->text, it->caption, strlen(it->caption), &it->text, &tr) != CC_OK) {
        it->kind = ITEM_TEXT;
        it->treason = TEXT_R_TOO_LONG;
        snprintf(it->msg, sizeof it->msg, "caption: %s", cc_errmsg());
        return;
    }
    if (tr.reason != TEXT_OK) {
        it->kind = ITEM_TEXT;
        it->treason = tr.reason;
        snprintf(it->msg, sizeof it->msg, "caption rejected (%s): %s", text_reason_name(tr.reason),
                 tr.message);
        return;
    }
    if (wk->pool->qm) {
        size_t k = qmatcher_find(wk->pool->qm, tr.text, tr.len, it->qids, ITEM_MAX_QUERIES);
        it->n_qids = k < ITEM_MAX_QUERIES ? k : ITEM_MAX_QUERIES;
        if (k == 0) {
            it->kind = ITEM_NO_QUERY;
            snprintf(it->msg, sizeof it->msg, "the caption contains no query");
            return;
        }
    }
    char full[4096];
    if (it->path[0] == '/')
        snprintf(full, sizeof full, "%s", it->path);
    else if (cc_path_join(full, sizeof full, wk->pool->listdir, it->path) != CC_OK) {
        it->kind = ITEM_MISSING;
        snprintf(it->msg, sizeof it->msg, "path too long");
        return;
    }
    cc_buf_reset(&wk->file);
    cc_status st = cc_read_file(full, &wk->file);
    if (st == CC_E_LIMIT) {
        it->kind = ITEM_IMAGE;
        it->ireason = IMG_R_TOO_LARGE;
        snprintf(it->msg, sizeof it->msg, "larger than %zu bytes", fl->img.limits.max_bytes);
        return;
    }
    if (st != CC_OK) {
        it->kind = ITEM_MISSING;
        snprintf(it->msg, sizeof it->msg, "%s", cc_errmsg());
        return;
    }
    struct stat sb;
    it->mtime_ms =
        stat(full, &sb) == 0 ? (int64_t)sb.st_mtim.tv_sec * 1000 + sb.st_mtim.tv_nsec / 1000000 : 0;
    img_filter_result res;
    st = img_filter_run(wk->filter, wk->file.data, wk->file.len, &res);
    if (st != CC_OK || res.reason != IMG_OK) {
        it->kind = ITEM_IMAGE;
        it->ireason = st != CC_OK ? IMG_R_MEMORY : res.reason;
        snprintf(it->msg, sizeof it->msg, "image rejected (%s): %s", img_reason_name(it->ireason),
                 st != CC_OK ? cc_errmsg() : res.message);
        return;
    }
    cc_buf_reset(&it->image);
    if (cc_buf_append(&it->image, res.out, res.out_len) != CC_OK) {
        it->kind = ITEM_IMAGE;
        it->ireason = IMG_R_TOO_LARGE;
        snprintf(it->msg, sizeof it->msg, "output larger than a shard record may hold");
        return;
    }
    it->format = res.out_format;
    it->width = res.out_width;
    it->height = res.out_height;
    it->orig_width = res.src_width;
    it->orig_height = res.src_height;
    it->content_hash = res.content_hash;
    it->phash = res.phash;
}

static void *worker_main(void *arg)
{
    pack_worker *wk = arg;
    pack_pool *p = wk->pool;
    uint64_t seen = 0;
    pthread_mutex_lock(&p->mu);
    for (;;) {
        while (!p->quit && p->generation == seen)
            pthread_cond_wait(&p->start, &p->mu);
        if (p->quit)
            break;
        seen = p->generation;
        while (p->next < p->n) {
            pack_item *it = &p->items[p->next++];
            pthread_mutex_unlock(&p->mu);
            item_run(wk, it);
            pthread_mutex_lock(&p->mu);
            if (++p->finished == p->n)
                pthread_cond_signal(&p->done);
        }
    }
    pthread_mutex_unlock(&p->mu);
    return NULL;
}

/* Runs the filter path on items[0..n) with every worker; returns when all are done. */
static void pool_run(pack_pool *p, pack_item *items, size_t n)
{
    if (n == 0)
        return;
    pthread_mutex_lock(&p->mu);
    p->items = items;
    p->n = n;
    p->next = p->finished = 0;
    p->generation++;
    pthread_cond_broadcast(&p->start);
    while (p->finished < p->n)
        pthread_cond_wait(&p->done, &p->mu);
    pthread_mutex_unlock(&p->mu);
}

static void pool_stop(pack_pool *p)
{
    pthread_mutex_lock(&p->mu);
    p->quit = 1;
    pthread_cond_broadcast(&p->start);
    pthread_mutex_unlock(&p->mu);
    for (int i = 0; i < p->nworkers; i++) {
        pthread_join(p->workers[i].tid, NULL);
        img_filter_free(p->workers[i].filter);
        cc_buf_free(&p->workers[i].file);
    }
    free(p->workers);
    pthread_mutex_destroy(&p->mu);
    pthread_cond_destroy(&p->start);
    pthread_cond_destroy(&p->done);
}

static cc_status pool_start(pack_pool *p, const cli_filter_flags *flags, const qmatcher *qm,
                            const char *listdir)
{
    memset(p, 0, sizeof *p);
    p->flags = flags;
    p->qm = qm;
    p->listdir = listdir;
    pthread_mutex_init(&p->mu, NULL);
    pthread_cond_init(&p->start, NULL);
    pthread_cond_init(&p->done, NULL);
    p->workers = calloc((size_t)flags->threads, sizeof *p->workers);
    if (!p->workers)
        return cc_fail(CC_E_NOMEM, "out of memory for %d workers", flags->threads);
    for (int i = 0; i < flags->threads; i++) {
        pack_worker *wk = &p->workers[i];
        wk->pool = p;
        /* A file over the image byte limit fails the read with CC_E_LIMIT (too_large). */
        cc_buf_init(&wk->file, flags->img.limits.max_bytes);
        cc_status st = img_filter_new(&flags->img, &wk->filter);
        if (st == CC_OK && pthread_create(&wk->tid, NULL, worker_main, wk) != 0)
            st = cc_fail(CC_E_NOMEM, "cannot start a worker thread");
        if (st != CC_OK) {
            img_filter_free(wk->filter);
            cc_buf_free(&wk->file);
            p->nworkers = i;
            pool_stop(p);
            return st;
        }
        p->nworkers = i + 1;
    }
    return CC_OK;
}

/* ---- list lines ---------------------------------------------------------------------------- */

/* Splits "PATH\tCAPTION\n" in place; returns 0 or -1 when malformed. */
static int split_line(char *line, char **path, char **caption)
{
    size_t n = strlen(line);
    while (n && (line[n - 1] == '\n' || line[n - 1] == '\r'))
        line[--n] = '\0';
    char *tab = strchr(line, '\t');
    if (!tab || tab == line)
        return -1;
    *tab = '\0';
    *path = line;
    *caption = tab + 1;
    return 0;
}

/* ---- dedupe state -------------------------------------------------------------------------- */

typedef struct pack_state {
    uint64_t *qcounts; /* pairs per query id (with --queries) */
    uint64_t n_queries, cap;
    key_set *run_uids; /* pairs the run held when this command started */
    key_set *content; /* content hashes of stored pairs (dedupe exact) */
    neardup_index *near; /* pHashes of stored pairs (dedupe near) */
    uint64_t loaded;
    cc_status st;
} pack_state;

static int load_record(void *ctx, const shard_record *r)
{
    pack_state *s = ctx;
    int a = key_set_add(s->run_uids, r->uid, 16);
    int b = s->content ? key_set_add_hash(s->content, cc_hash128_from_bytes(r->content_hash)) : 0;
    if (a < 0 || b < 0) {
        s->st = (cc_status) - (a < 0 ? a : b);
        return 1;
    }
    if (s->near && (s->st = neardup_add(s->near, r->phash, s->loaded)) != CC_OK)
        return 1;
    if (s->qcounts && r->query_id != SHARD_NO_QUERY) {
        if (r->query_id >= s->n_queries) {
            s->st = cc_fail(CC_E_FORMAT,
                            "the run holds a pair of query %u, but the list has %" PRIu64
                            " queries: pack with the list the run was made with",
                            r->query_id, s->n_queries);
            return 1;
        }
        s->qcounts[r->query_id]++;
    }
    s->loaded++;
    return 0;
}

/* Takes an accepted item's image through dedupe; returns 0 to keep it, else the counter. */
static uint64_t *dedupe_item(pack_state *s, const pack_item *it, pack_counts *pc)
{
    if (s->content && key_set_contains_hash(s->content, it->content_hash))
        return &pc->duplicate_image;
    if (s->near && neardup_find(s->near, it->phash, NULL, NULL))
        return &pc->near_duplicate;
    return NULL;
}

static cc_status remember_item(pack_state *s, const pack_item *it, uint64_t index)
{
    if (s->content) {
        int r = key_set_add_hash(s->content, it->content_hash);
        if (r < 0)
            return (cc_status)-r;
    }
    if (s->near)
        CC_TRY(neardup_add(s->near, it->phash, index));
    return CC_OK;
}

static void print_reasons(const pack_counts *pc)
{
    cli_print_rejects(pc->text, NULL, pc->image);
}

/* ---- the command --------------------------------------------------------------------------- */

typedef struct pack_run {
    const char *cmd, *from, *out;
    FILE *list;
    shard_writer *w;
    pack_pool pool;
    int pool_up;
    pack_state state;
    pack_item *items;
    size_t cap;
    key_set *seen; /* uids of the list's lines so far */
    pack_counts pc;
    uint64_t held; /* pairs the run held at the start */
    uint64_t lineno;
    char *line;
    const char *queries; /* --queries FILE */
    uint64_t qcap; /* --cap */
    query_list *ql;
    qmatcher *qm;
} pack_run;

/* Reads up to cap pending items; returns how many, or -1 on a bad line (reported). */
static long read_batch(pack_run *r, size_t *n_out)
{
    size_t n = 0;
    while (n < r->cap && fgets(r->line, LIST_LINE_MAX, r->list)) {
        r->lineno++;
        size_t len = strlen(r->line);
        if (len == LIST_LINE_MAX - 1 && r->line[len - 1] != '\n') {
            cli_error(r->cmd, "%s:%" PRIu64 ": line longer than %d bytes", r->from, r->lineno,
                      LIST_LINE_MAX);
            return -1;
        }
        if (r->line[0] == '\n' || r->line[0] == '#')
            continue;
        char *path, *caption;
        if (split_line(r->line, &path, &caption) != 0) {
            cli_error(r->cmd, "%s:%" PRIu64 ": expected PATH<TAB>CAPTION", r->from, r->lineno);
            return -1;
        }
        uint8_t uid[16];
        if (shard_pair_uid(path, caption, uid) != CC_OK) {
            cli_fail(r->cmd, CC_E_NOMEM);
            return -1;
        }
        int dup = key_set_add(r->seen, uid, 16);
        if (dup < 0) {
            cli_error(r->cmd, "the uids of %s: %s", r->from, cc_errmsg());
            return -1;
        }
        if (dup) {
            cc_log_warn("%s:%" PRIu64 ": the same path and caption again, skipped", r->from,
                        r->lineno);
            r->pc.duplicate_line++;
            continue;
        }
        if (r->held && key_set_contains(r->state.run_uids, uid, 16)) {
            r->pc.resumed++;
            continue;
        }
        pack_item *it = &r->items[n];
        free(it->line);
        size_t pl = strlen(path) + 1, cl = strlen(caption) + 1;
        it->line = malloc(pl + cl);
        if (!it->line) {
            cli_fail(r->cmd, cc_fail(CC_E_NOMEM, "out of memory"));
            return -1;
        }
        memcpy(it->line, path, pl);
        memcpy(it->line + pl, caption, cl);
        it->path = it->line;
        it->caption = it->line + pl;
        it->lineno = r->lineno;
        memcpy(it->uid, uid, 16);
        n++;
    }
    if (ferror(r->list)) {
        cli_error(r->cmd, "%s: read error", r->from);
        return -1;
    }
    *n_out = n;
    return 0;
}

/* Takes a processed batch in list order into the writer. */
static int write_batch(pack_run *r, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        pack_item *it = &r->items[i];
        if (it->kind != ITEM_OK) {
            if (it->kind == ITEM_MISSING)
                r->pc.missing++;
            else if (it->kind == ITEM_NO_QUERY)
                r->pc.no_query++;
            else if (it->kind == ITEM_TEXT)
                r->pc.text[it->treason]++;
            else
                r->pc.image[it->ireason]++;
            /* Rejections are counted in the summary; one line each only with --verbose, a missing
             * file (the list's fault, not the web's) always. */
            if (it->kind == ITEM_MISSING)
                cc_log_warn("%s:%" PRIu64 ": %s: %s, skipped", r->from, it->lineno, it->path,
                            it->msg);
            else
                cc_log_debug("%s:%" PRIu64 ": %s: %s, skipped", r->from, it->lineno, it->path,
                             it->msg);
            continue;
        }
        uint64_t *dup = dedupe_item(&r->state, it, &r->pc);
        if (dup) {
            ++*dup;
            cc_log_debug("%s:%" PRIu64 ": %s: %s, skipped", r->from, it->lineno, it->path,
                         dup == &r->pc.duplicate_image ? "the same image bytes as a stored pair"
                                                       : "a near-duplicate of a stored image");
            continue;
        }
        /* The query the pair counts for: the rarest matched one with room (query_lists/quota.h). */
        long pick = -1;
        if (r->state.qcounts) {
            uint64_t counts[ITEM_MAX_QUERIES];
            for (size_t k = 0; k < it->n_qids; k++)
                counts[k] = r->state.qcounts[it->qids[k]];
            pick = quota_pick(it->qids, counts, it->n_qids, r->state.cap);
            if (pick < 0) {
                r->pc.query_full++;
                cc_log_debug("%s:%" PRIu64 ": %s: every matched query is full, skipped", r->from,
                             it->lineno, it->path);
                continue;
            }
        }
        if (r->pc.resumed < r->held) {
            /* A new pair while the run still holds pairs this list has not reached. */
            cli_error(r->cmd,
                      "%s holds %" PRIu64 " pairs, and %s:%" PRIu64 " would be added before "
                      "the ones this list has not reached yet: pack each list into its own folder",
                      r->out, r->held, r->from, it->lineno);
            return CLI_EXIT_FAIL;
        }
        shard_record rec;
        memset(&rec, 0, sizeof rec);
        memcpy(rec.uid, it->uid, 16);
        rec.caption = (const char *)it->text.data;
        rec.url = it->path;
        rec.page_url = "";
        rec.license = "";
        rec.query_id = pick >= 0 ? it->qids[pick] : SHARD_NO_QUERY;
        rec.query_ids = it->qids;
        rec.n_query_ids = pick >= 0 ? (uint32_t)it->n_qids : 0;
        rec.image = it->image.data;
        rec.image_len = it->image.len;
        rec.image_format = it->format;
        rec.width = it->width;
        rec.height = it->height;
        rec.orig_width = it->orig_width;
        rec.orig_height = it->orig_height;
        cc_hash128_to_bytes(it->content_hash, rec.content_hash);
        rec.phash = it->phash;
        rec.fetch_time_ms = it->mtime_ms;
        cc_status st = shard_writer_add(r->w, &rec);
        if (st == CC_OK)
            st = remember_item(&r->state, it, r->held + r->pc.added);
        if (st != CC_OK)
            return cli_fail(r->cmd, st);
        if (pick >= 0)
            r->state.qcounts[it->qids[pick]]++;
        r->pc.added++;
        cc_progress("packed %" PRIu64 " pairs", r->pc.added);
    }
    return CLI_EXIT_OK;
}

static int pack_main(pack_run *r, const cli_filter_flags *fl, const char *listdir)
{
    cc_status st;
    if ((st = key_set_new(PACK_MAX_KEYS, &r->seen)) != CC_OK ||
        (st = key_set_new(PACK_MAX_KEYS, &r->state.run_uids)) != CC_OK ||
        (fl->dedupe != CLI_DEDUPE_NONE &&
         (st = key_set_new(PACK_MAX_KEYS, &r->state.content)) != CC_OK) ||
        (fl->dedupe == CLI_DEDUPE_NEAR &&
         (st = neardup_new(fl->near_distance, UINT32_MAX, &r->state.near)) != CC_OK))
        return cli_fail(r->cmd, st);
    if (r->queries) {
        /* Each pair counts for one query it matches, at most --cap pairs a query. */
        if ((st = query_list_load(r->queries, PACK_MAX_QUERIES, &r->ql)) != CC_OK ||
            (st = qmatcher_build(r->ql, &r->qm)) != CC_OK)
            return cli_fail(r->cmd, st);
        r->state.n_queries = query_list_count(r->ql);
        r->state.cap = r->qcap;
        r->state.qcounts = calloc(r->state.n_queries ? r->state.n_queries : 1, sizeof(uint64_t));
        if (!r->state.qcounts)
            return cli_fail(r->cmd, cc_fail(CC_E_NOMEM, "out of memory for the query counts"));
    }
    /* Resume: what the run holds is the truth about what was packed. */
    r->held = shard_writer_committed(r->w);
    if (r->held) {
        st = shard_writer_scan(r->w, load_record, &r->state);
        if (st == CC_OK)
            st = r->state.st;
        if (st != CC_OK)
            return cli_fail(r->cmd, st);
        cc_log_info("%s holds %" PRIu64 " pairs: resuming", r->out, r->held);
    }
    r->cap = (size_t)fl->threads * ITEMS_PER_THREAD;
    r->items = calloc(r->cap, sizeof *r->items);
    r->line = malloc(LIST_LINE_MAX);
    if (!r->items || !r->line)
        return cli_fail(r->cmd, cc_fail(CC_E_NOMEM, "out of memory"));
    for (size_t i = 0; i < r->cap; i++) {
        cc_buf_init(&r->items[i].text, SHARD_MAX_TEXT + 1);
        cc_buf_init(&r->items[i].image, SHARD_MAX_IMAGE);
    }
    if ((st = pool_start(&r->pool, fl, r->qm, listdir)) != CC_OK)
        return cli_fail(r->cmd, st);
    r->pool_up = 1;
    for (;;) {
        size_t n;
        if (read_batch(r, &n) != 0)
            return CLI_EXIT_FAIL;
        if (n == 0)
            break;
        pool_run(&r->pool, r->items, n);
        int rc = write_batch(r, n);
        if (rc != CLI_EXIT_OK)
            return rc;
    }
    if (r->pc.resumed < r->held) {
        cli_error(r->cmd,
                  "%s holds %" PRIu64 " more pairs than %s has entries: pack each list into its "
                  "own folder",
                  r->out, r->held - r->pc.resumed, r->from);
        return CLI_EXIT_FAIL;
    }
    return CLI_EXIT_OK;
}

static void pack_run_free(pack_run *r)
{
    if (r->pool_up)
        pool_stop(&r->pool);
    for (size_t i = 0; r->items && i < r->cap; i++) {
        free(r->items[i].line);
        cc_buf_free(&r->items[i].text);
        cc_buf_free(&r->items[i].image);
    }
    free(r->items);
    free(r->line);
    key_set_free(r->seen);
    key_set_free(r->state.run_uids);
    key_set_free(r->state.content);
    neardup_free(r->state.near);
    free(r->state.qcounts);
    qmatcher_free(r->qm);
    query_list_free(r->ql);
}

static int print_summary(const char *cmd, const char *out, const pack_counts *pc)
{
    /* A run that packed nothing has sealed nothing: no manifest yet, and that is no error. */
    shard_manifest *m = NULL;
    cc_status st = shard_manifest_load(out, &m);
    if (st != CC_OK && st != CC_E_NOTFOUND)
        return cli_fail(cmd, st);
    uint64_t bytes = 0;
    for (size_t i = 0; m && i < m->n; i++)
        bytes += m->entries[i].bytes;
    printf("packed %" PRIu64 " pairs (%" PRIu64 " already there) into %s: %zu shards, %" PRIu64
           " pairs, %.1f MiB\n",
           pc->added, pc->resumed, out, m ? m->n : 0, m ? shard_manifest_total(m) : 0,
           (double)bytes / 1048576.0);
    shard_manifest_free(m);
    uint64_t skipped = pc->missing + pc->duplicate_line + pc->duplicate_image + pc->near_duplicate;
    if (skipped)
        printf("skipped %" PRIu64 ": %" PRIu64 " missing or unreadable, %" PRIu64
               " repeated line, %" PRIu64 " duplicate image, %" PRIu64 " near-duplicate image\n",
               skipped, pc->missing, pc->duplicate_line, pc->duplicate_image, pc->near_duplicate);
    if (pc->no_query + pc->query_full)
        printf("queries: %" PRIu64 " captions matched no query, %" PRIu64
               " matched only full queries\n",
               pc->no_query, pc->query_full);
    print_reasons(pc);
    return CLI_EXIT_OK;
}

int cli_shards_pack(int argc, char **argv)
{
    const char *cmd = "shards pack";
    static const struct option lo[] = {{"from", required_argument, 0, 'f'},
                                       {"out", required_argument, 0, 'o'},
                                       {"max-pairs", required_argument, 0, 'P'},
                                       {"max-bytes", required_argument, 0, 'B'},
                                       {"batch", required_argument, 0, 'b'},
                                       {"zstd-level", required_argument, 0, 'z'},
                                       {"no-dict", no_argument, 0, 'D'},
                                       {"queries", required_argument, 0, 'Q'},
                                       {"cap", required_argument, 0, 'C'},
                                       CLI_FILTER_LONG,
                                       CLI_COMMON_LONG,
                                       {0, 0, 0, 0}};
    char usage[sizeof pack_usage + 4096];
    snprintf(usage, sizeof usage, "%s%s", pack_usage, cli_filter_usage);
    pack_run r;
    memset(&r, 0, sizeof r);
    r.cmd = cmd;
    r.qcap = QUOTA_DEFAULT_CAP;
    shard_writer_opts o;
    shard_writer_opts_default(&o);
    cli_filter_flags fl;
    cli_filter_flags_default(&fl);
    uint64_t v;
    int c, rc = CLI_EXIT_USAGE;
    char err[512];
    while ((c = cli_next_opt(argc, argv, "qvh", lo)) != -1) {
        switch (c) {
        case 0:
            break;
        case 'f':
            r.from = optarg;
            break;
        case 'o':
            r.out = optarg;
            break;
        case 'P':
            if (cli_parse_size(optarg, &o.max_pairs) || o.max_pairs == 0) {
                cli_usage_error(cmd, usage, "--max-pairs needs a positive number");
                goto done;
            }
            break;
        case 'B':
            if (cli_parse_size(optarg, &o.max_bytes) || o.max_bytes < (1u << 20)) {
                cli_usage_error(cmd, usage, "--max-bytes needs a size of at least 1M");
                goto done;
            }
            break;
        case 'b':
            if (cli_parse_size(optarg, &v) || v == 0 || v > 1000000) {
                cli_usage_error(cmd, usage, "--batch needs a number in 1..1000000");
                goto done;
            }
            o.batch_pairs = (uint32_t)v;
            break;
        case 'z':
            if (cli_parse_size(optarg, &v) || v < 1 || v > 19) {
                cli_usage_error(cmd, usage, "--zstd-level needs a number in 1..19");
                goto done;
            }
            o.zstd_level = (int)v;
            break;
        case 'D':
            o.dict_samples = 0;
            break;
        case 'Q':
            r.queries = optarg;
            break;
        case 'C':
            if (cli_parse_size(optarg, &r.qcap) || r.qcap == 0) {
                cli_usage_error(cmd, usage, "--cap needs a positive number");
                goto done;
            }
            break;
        case 'h':
            fputs(usage, stdout);
            rc = CLI_EXIT_OK;
            goto done;
        default: {
            int k = cli_filter_flags_parse(&fl, c, optarg, err, sizeof err);
            if (k == 1)
                break;
            cli_usage_error(cmd, usage, k < 0 ? err : NULL);
            goto done;
        }
        }
    }
    if (!r.from || !r.out) {
        cli_usage_error(cmd, usage, "--from and --out are required");
        goto done;
    }
    if (optind != argc) {
        cli_usage_error(cmd, usage, "unexpected argument");
        goto done;
    }
    rc = CLI_EXIT_FAIL;
    r.list = fopen(r.from, "r");
    if (!r.list) {
        cli_error(cmd, "%s: %s", r.from, strerror(errno));
        goto done;
    }
    char listdir[4096];
    snprintf(listdir, sizeof listdir, "%s", r.from);
    char *slash = strrchr(listdir, '/');
    if (!slash)
        snprintf(listdir, sizeof listdir, ".");
    else if (slash == listdir)
        listdir[1] = '\0'; /* the list is in "/" */
    else
        *slash = '\0';
    cc_status st = shard_writer_open(r.out, &o, &r.w);
    if (st != CC_OK) {
        rc = cli_fail(cmd, st);
        goto done;
    }
    rc = pack_main(&r, &fl, listdir);
    cc_progress_done();
    /* On failure, commit what was added and leave the shard unsealed for a resume. */
    st = shard_writer_close(r.w, rc == CLI_EXIT_OK);
    r.w = NULL;
    if (st != CC_OK && rc == CLI_EXIT_OK)
        rc = cli_fail(cmd, st);
    if (rc == CLI_EXIT_OK)
        rc = print_summary(cmd, r.out, &r.pc);
done:
    pack_run_free(&r);
    if (r.w)
        shard_writer_close(r.w, 0);
    if (r.list)
        fclose(r.list);
    cli_filter_flags_free(&fl);
    return rc;
}
