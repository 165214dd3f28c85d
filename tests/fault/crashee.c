/* tests/fault/crashee.c — a shard writer made to be killed, and the checker of what it leaves.
 *
 * usage: crashee write --dir D --total N [options]
 *        crashee check --dir D --total N [options] [--reported K] [--final]
 * options (give check the same ones as the writer of D):
 *   --max-pairs P     pairs per shard (default 40)
 *   --max-bytes M     map size = most bytes per shard (default 1 GiB)
 *   --batch B         records per commit (default 7)
 *   --img-bytes S     typical image size; record i has S/2 .. 3S/2 - 1 bytes (default 3000)
 *   --value-bytes V   instead, size each image so that the encoded record value is V bytes
 *   --dict-samples K  train the metadata dictionary after K records; 0 = never (default 0)
 *   --dict-size Z     dictionary capacity in bytes (default: the writer's)
 *   --map-full-only   roll shards only on MDB_MAP_FULL (writer's roll_early = 0), which makes
 *                     the writer replay the pending batch record by record
 *   --auto            let the writer commit every B records by itself (batch_pairs = B) instead
 *                     of calling shard_writer_commit every B records
 *
 * write: opens a writer on D (resuming), prints "resumed K" with K = shard_writer_committed(),
 * adds records K..N-1 and prints "committed C" (flushed) each time a commit has returned and C
 * records are durable; at the end seals, closes and prints "done". Record i is derived from i
 * alone (rec_make), so any process can tell what record i must be.
 *
 * check: describes the folder as a crash left it ("pre ..."), then opens the writer (which
 * recovers), reads C = shard_writer_committed() and closes without sealing; opens it a second
 * time (recovery must be idempotent). Then it reads everything a reader would: every manifest
 * shard (checksum-verified) and the unsealed .open shard; the records must be exactly records
 * 0..C-1 in order with every field equal. It also requires K <= C <= K + B for the last reported
 * K (nothing reported durable was lost; at most one batch past it became durable), no stray
 * .tmp, stale .open or unlisted shard file, and no unknown file. --final adds: C == N, no .open
 * shard, and shard_verify() finds no problem. Prints "ok ..." and exits 0, or prints what is
 * wrong on stderr and exits 1. Exit 2: bad arguments.
 */
#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/file.h"
#include "common/hash.h"
#include "common/status.h"
#include "shards/shard.h"

#define PATH_CAP 4096

typedef struct args {
    int write;
    const char *dir;
    uint64_t total, max_pairs, max_bytes, batch, img_bytes, value_bytes, dict_samples, dict_size;
    uint64_t reported;
    int have_reported, final, autocommit, map_full_only;
} args;

/* ---- deterministic records ----------------------------------------------------------------- */

static uint64_t mix64(uint64_t x)
{
    x += 0x9e3779b97f4a7c15ull;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
    return x ^ (x >> 31);
}

/* Record i of every run; fields point into the struct (image into img, which rec_make owns). */
typedef struct rec {
    shard_record r;
    char caption[512], url[160], page[160];
    uint32_t qids[5];
    uint8_t *img;
    size_t img_cap;
    shard_codec *codec; /* measures the encoded size for --value-bytes */
    cc_buf enc;
} rec;

static void rec_free(rec *f)
{
    free(f->img);
    shard_codec_free(f->codec);
    cc_buf_free(&f->enc);
}

static const char *const licenses[] = {"", "CC-BY-4.0", "CC0-1.0", "CC-BY-SA-4.0 \"quoted\""};
static const char *const words[] = {"red", "small", "cat", "über", "on", "a", "日本", "\\path"};

/* Fills f with record i: every field derived from i alone. The image has S/2 .. 3S/2 - 1 bytes
 * (S = --img-bytes), or as many as make the encoded value exactly --value-bytes long. */
static int rec_make(rec *f, uint64_t i, const args *a)
{
    uint64_t h = mix64(i);
    memset(&f->r, 0, sizeof f->r);
    cc_hash128_to_bytes(cc_hash128_of(&i, sizeof i), f->r.uid);
    int n = snprintf(f->caption, sizeof f->caption, "crash record %" PRIu64 ":", i);
    for (uint64_t w = 0; w < h % 23 && n > 0 && (size_t)n < sizeof f->caption - 16; w++)
        n += snprintf(f->caption + n, sizeof f->caption - (size_t)n, " %s",
                      words[(h >> (w % 60)) % 8]);
    snprintf(f->url, sizeof f->url, "https://host-%" PRIu64 ".example.org/img/%" PRIu64 ".jpg",
             i % 17, i);
    snprintf(f->page, sizeof f->page, "https://host-%" PRIu64 ".example.org/p/%" PRIu64, i % 17,
             i / 3);
    f->r.caption = f->caption;
    f->r.url = f->url;
    f->r.page_url = i % 11 ? f->page : "";
    f->r.license = licenses[i % 4];
    f->r.query_id = i % 5 ? (uint32_t)(h >> 40) : SHARD_NO_QUERY;
    f->r.n_query_ids = (uint32_t)(i % 6);
    for (uint32_t k = 0; k < 5; k++)
        f->qids[k] = (uint32_t)mix64(i * 5 + k);
    f->r.query_ids = f->qids;
    f->r.image_format = (uint8_t)(1 + i % 3);
    f->r.width = 64 + (uint32_t)(h % 448);
    f->r.height = 64 + (uint32_t)(h >> 20) % 448;
    f->r.orig_width = f->r.width * 3;
    f->r.orig_height = f->r.height * 3 + (uint32_t)(i % 2);
    uint64_t ch = h ^ 0xc0ffee;
    cc_hash128_to_bytes(cc_hash128_of(&ch, sizeof ch), f->r.content_hash);
    f->r.phash = h ^ 0x5555aaaa5555aaaaull;
    f->r.fetch_time_ms = 1700000000000ll + (int64_t)(i * 1013);

    size_t len = (size_t)(a->img_bytes / 2 + (a->img_bytes ? h % a->img_bytes : 0));
    if (a->value_bytes) {
        /* The image is stored raw after the metadata: its length shifts the value 1:1. */
        if (!f->codec) {
            if (shard_codec_new(3, &f->codec) != CC_OK)
                return -1;
            cc_buf_init(&f->enc, SHARD_MAX_META + 64);
        }
        if (shard_codec_encode(f->codec, &f->r, 0, &f->enc) != CC_OK)
            return -1;
        len = f->enc.len < a->value_bytes ? a->value_bytes - f->enc.len : 0;
    }
    if (len > f->img_cap) {
        uint8_t *p = realloc(f->img, len);
        if (!p)
            return -1;
        f->img = p;
        f->img_cap = len;
    }
    for (size_t k = 0; k < len; k++)
        f->img[k] = (uint8_t)(k * 31 + (k >> 9) + i * 7);
    f->r.image = f->img;
    f->r.image_len = len;
    return 0;
}

/* Compares a read record with the expected one; returns the first differing field or NULL. */
static const char *rec_diff(const shard_record *a, const shard_record *b)
{
    if (memcmp(a->uid, b->uid, 16) != 0)
        return "uid";
    if (strcmp(a->caption, b->caption) != 0)
        return "caption";
    if (strcmp(a->url, b->url) != 0)
        return "url";
    if (strcmp(a->page_url, b->page_url) != 0)
        return "page_url";
    if (strcmp(a->license, b->license) != 0)
        return "license";
    if (a->query_id != b->query_id)
        return "query_id";
    if (a->n_query_ids != b->n_query_ids ||
        (a->n_query_ids && memcmp(a->query_ids, b->query_ids, a->n_query_ids * 4u) != 0))
        return "query_ids";
    if (a->image_len != b->image_len ||
        (a->image_len && memcmp(a->image, b->image, a->image_len) != 0))
        return "image";
    if (a->image_format != b->image_format)
        return "image_format";
    if (a->width != b->width || a->height != b->height || a->orig_width != b->orig_width ||
        a->orig_height != b->orig_height)
        return "size";
    if (memcmp(a->content_hash, b->content_hash, 16) != 0)
        return "content_hash";
    if (a->phash != b->phash)
        return "phash";
    if (a->fetch_time_ms != b->fetch_time_ms)
        return "fetch_time_ms";
    return NULL;
}

/* ---- arguments ----------------------------------------------------------------------------- */

static void usage(void)
{
    fprintf(stderr,
            "usage: crashee write --dir D --total N [--max-pairs P] [--max-bytes M] [--batch B]\n"
            "                     [--img-bytes S | --value-bytes V] [--dict-samples K] "
            "[--dict-size Z]\n"
            "                     [--auto] [--map-full-only]\n"
            "       crashee check --dir D --total N [same options] [--reported K] [--final]\n");
}

static int parse_u64(const char *name, const char *s, uint64_t lo, uint64_t hi, uint64_t *out)
{
    char *end;
    errno = 0;
    unsigned long long v = *s >= '0' && *s <= '9' ? strtoull(s, &end, 10) : 0;
    if (*s < '0' || *s > '9' || errno || *end || v < lo || v > hi) {
        fprintf(stderr, "crashee: %s needs a number in %" PRIu64 "..%" PRIu64 ", got '%s'\n", name,
                lo, hi, s);
        return -1;
    }
    *out = v;
    return 0;
}

static int parse_args(int argc, char **argv, args *a)
{
    memset(a, 0, sizeof *a);
    a->max_pairs = 40;
    a->max_bytes = 1ull << 30;
    a->batch = 7;
    a->img_bytes = 3000;
    uint64_t total = UINT64_MAX, reported = UINT64_MAX;
    const struct {
        const char *name;
        uint64_t lo, hi, *out;
    } nums[] = {
        {"--total", 0, UINT32_MAX, &total},
        {"--max-pairs", 1, UINT32_MAX, &a->max_pairs},
        {"--max-bytes", 1u << 20, 1ull << 40, &a->max_bytes},
        {"--batch", 1, 1u << 20, &a->batch},
        {"--img-bytes", 0, 16u << 20, &a->img_bytes},
        {"--value-bytes", 0, 16u << 20, &a->value_bytes},
        {"--dict-samples", 0, 1u << 20, &a->dict_samples},
        {"--dict-size", 1024, 64u << 20, &a->dict_size},
        {"--reported", 0, UINT32_MAX, &reported},
    };
    if (argc < 2 || (strcmp(argv[1], "write") != 0 && strcmp(argv[1], "check") != 0))
        return -1;
    a->write = strcmp(argv[1], "write") == 0;
    for (int i = 2; i < argc; i++) {
        const char *o = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(o, "--final") == 0) {
            a->final = 1;
            continue;
        }
        if (strcmp(o, "--auto") == 0) {
            a->autocommit = 1;
            continue;
        }
        if (strcmp(o, "--map-full-only") == 0) {
            a->map_full_only = 1;
            continue;
        }
        if (!v) {
            fprintf(stderr, "crashee: %s needs a value\n", o);
            return -1;
        }
        i++;
        if (strcmp(o, "--dir") == 0) {
            a->dir = v;
            continue;
        }
        size_t k = 0;
        while (k < sizeof nums / sizeof nums[0] && strcmp(o, nums[k].name) != 0)
            k++;
        if (k == sizeof nums / sizeof nums[0]) {
            fprintf(stderr, "crashee: unknown option '%s'\n", o);
            return -1;
        }
        if (parse_u64(o, v, nums[k].lo, nums[k].hi, nums[k].out) != 0)
            return -1;
    }
    if (!a->dir || total == UINT64_MAX) {
        fprintf(stderr, "crashee: --dir and --total are required\n");
        return -1;
    }
    a->total = total;
    a->have_reported = reported != UINT64_MAX;
    a->reported = a->have_reported ? reported : 0;
    return 0;
}

static void writer_opts(const args *a, shard_writer_opts *o)
{
    shard_writer_opts_default(o);
    o->max_pairs = a->max_pairs;
    o->max_bytes = a->max_bytes;
    /* Explicit mode: the writer must not commit on its own between our commits (it still does
     * when it rolls to the next shard, which stays inside one batch). */
    o->batch_pairs = a->autocommit ? (uint32_t)a->batch : UINT32_MAX;
    o->dict_samples = (uint32_t)a->dict_samples;
    if (a->dict_size)
        o->dict_size = (uint32_t)a->dict_size;
    o->roll_early = !a->map_full_only;
}

/* ---- write --------------------------------------------------------------------------------- */

static int fail_st(const char *what)
{
    fprintf(stderr, "crashee: %s: %s\n", what, cc_errmsg());
    return 1;
}

static int run_write(const args *a)
{
    shard_writer_opts o;
    writer_opts(a, &o);
    shard_writer *w;
    if (shard_writer_open(a->dir, &o, &w) != CC_OK)
        return fail_st("open");
    uint64_t k = shard_writer_committed(w), last = k;
    printf("resumed %" PRIu64 "\n", k);
    fflush(stdout);
    rec f = {0};
    int rc = 0;
    for (uint64_t i = k; i < a->total && rc == 0; i++) {
        if (rec_make(&f, i, a) != 0) {
            fprintf(stderr, "crashee: out of memory\n");
            rc = 1;
            break;
        }
        if (shard_writer_add(w, &f.r) != CC_OK) {
            rc = fail_st("add");
            break;
        }
        int commit = !a->autocommit && ((i + 1 - k) % a->batch == 0 || i + 1 == a->total);
        if (commit && shard_writer_commit(w) != CC_OK) {
            rc = fail_st("commit");
            break;
        }
        uint64_t c = shard_writer_committed(w);
        /* After an explicit commit every added record is durable; otherwise fewer than one
         * batch is pending. */
        if (c > i + 1 || c + a->batch <= i + 1 || (commit && c != i + 1)) {
            fprintf(stderr,
                    "crashee: %" PRIu64 " records added, writer says %" PRIu64 " committed\n",
                    i + 1, c);
            rc = 1;
        } else if (c != last) {
            printf("committed %" PRIu64 "\n", c);
            fflush(stdout);
            last = c;
        }
    }
    rec_free(&f);
    if (rc) {
        shard_writer_close(w, 0);
        return rc;
    }
    if (shard_writer_close(w, 1) != CC_OK)
        return fail_st("close");
    if (last != a->total)
        printf("committed %" PRIu64 "\n", a->total);
    printf("done\n");
    fflush(stdout);
    return 0;
}

/* ---- check --------------------------------------------------------------------------------- */

/* Parses "shard-DIGITS.lmdb" + suffix exactly; returns 1 and the number on a match. */
static int shard_file(const char *name, const char *suffix, uint64_t *no)
{
    size_t n = strlen(name), sl = strlen(suffix);
    if (n <= 6 + 5 + sl || strncmp(name, "shard-", 6) != 0 || strcmp(name + n - sl, suffix) != 0 ||
        strncmp(name + n - sl - 5, ".lmdb", 5) != 0)
        return 0;
    uint64_t v = 0;
    for (size_t i = 6; i < n - sl - 5; i++) {
        if (name[i] < '0' || name[i] > '9' || v > UINT32_MAX)
            return 0;
        v = v * 10 + (uint64_t)(name[i] - '0');
    }
    *no = v;
    return 1;
}

static int listed(const shard_manifest *m, const char *name)
{
    for (size_t i = 0; m && i < m->n; i++)
        if (strcmp(m->entries[i].name, name) == 0)
            return 1;
    return 0;
}

/* What the folder holds, by kind of file. */
typedef struct scan {
    int tmp, open, unlisted, stale_open, unknown, torn_manifest;
    uint64_t open_no;
    char first_unknown[300];
} scan;

static int dir_scan(const char *dir, scan *s)
{
    memset(s, 0, sizeof *s);
    shard_manifest *m = NULL;
    cc_status st = shard_manifest_load(dir, &m);
    if (st != CC_OK && st != CC_E_NOTFOUND) {
        fprintf(stderr, "crashee: manifest: %s\n", cc_errmsg());
        return -1;
    }
    char path[PATH_CAP];
    cc_buf text;
    cc_buf_init(&text, 64u << 20);
    if (cc_path_join(path, sizeof path, dir, SHARD_MANIFEST_NAME) == CC_OK &&
        cc_read_file(path, &text) == CC_OK && text.len && text.data[text.len - 1] != '\n')
        s->torn_manifest = 1;
    cc_buf_free(&text);
    DIR *d = opendir(dir);
    if (!d) {
        fprintf(stderr, "crashee: %s: %s\n", dir, strerror(errno));
        shard_manifest_free(m);
        return -1;
    }
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        const char *n = de->d_name;
        uint64_t no;
        char sealed[SHARD_NAME_MAX];
        if (strcmp(n, ".") == 0 || strcmp(n, "..") == 0 || strcmp(n, SHARD_MANIFEST_NAME) == 0 ||
            strcmp(n, "writer.lock") == 0)
            continue;
        if (shard_file(n, ".tmp", &no)) {
            s->tmp++;
        } else if (shard_file(n, ".open", &no)) {
            snprintf(sealed, sizeof sealed, "shard-%06" PRIu64 ".lmdb", no);
            if (listed(m, sealed)) {
                s->stale_open++;
            } else {
                s->open++;
                s->open_no = no;
            }
        } else if (shard_file(n, "", &no)) {
            if (!listed(m, n))
                s->unlisted++;
        } else {
            if (!s->unknown++)
                snprintf(s->first_unknown, sizeof s->first_unknown, "%s", n);
        }
    }
    closedir(d);
    shard_manifest_free(m);
    return 0;
}

/* Reads every record of an opened shard and compares it with records next, next+1, ... */
static int check_shard(shard_reader *r, const char *name, uint64_t *next, uint64_t limit,
                       const args *a, rec *f)
{
    shard_view *v;
    if (shard_view_open(r, &v) != CC_OK)
        return fail_st(name);
    int rc = 0;
    uint64_t n = shard_reader_count(r);
    for (uint64_t i = 0; i < n && rc == 0; i++, ++*next) {
        shard_record got;
        uint64_t at;
        const char *diff;
        if (*next >= limit) {
            fprintf(stderr,
                    "crashee: %s holds record %" PRIu64 " (index %" PRIu64 ") but only %" PRIu64
                    " are committed: an uncommitted or doubled record is visible\n",
                    name, *next, i, limit);
            rc = 1;
        } else if (shard_view_get(v, i, &got) != CC_OK) {
            rc = fail_st(name);
        } else if (rec_make(f, *next, a) != 0) {
            fprintf(stderr, "crashee: out of memory\n");
            rc = 1;
        } else if ((diff = rec_diff(&got, &f->r)) != NULL) {
            fprintf(stderr,
                    "crashee: %s index %" PRIu64 ": expected record %" PRIu64
                    ", field %s differs (lost, doubled or damaged record)\n",
                    name, i, *next, diff);
            rc = 1;
        } else if (shard_view_find(v, f->r.uid, &at) != CC_OK || at != i) {
            fprintf(stderr,
                    "crashee: %s: uid of record %" PRIu64 " does not map to index %" PRIu64 "\n",
                    name, *next, i);
            rc = 1;
        }
    }
    shard_record extra;
    if (rc == 0 && shard_view_get(v, n, &extra) != CC_E_NOTFOUND) {
        fprintf(stderr, "crashee: %s: a record past its count %" PRIu64 " is readable\n", name, n);
        rc = 1;
    }
    shard_view_close(v);
    return rc;
}

static void report_problem(void *ctx, const char *shard, uint64_t index, const char *what)
{
    ++*(uint64_t *)ctx;
    fprintf(stderr, "crashee: verify: %s [%" PRIu64 "]: %s\n", shard, index, what);
}

static int run_check(const args *a)
{
    scan pre, post;
    if (!cc_exists(a->dir)) {
        /* Killed before the writer created the folder: fine only if nothing was reported. */
        if (a->reported) {
            fprintf(stderr, "crashee: %s is gone, %" PRIu64 " records were reported committed\n",
                    a->dir, a->reported);
            return 1;
        }
        memset(&pre, 0, sizeof pre);
    } else if (dir_scan(a->dir, &pre) != 0) {
        return 1;
    }
    /* One line that says where the kill landed, for the campaign's counts. */
    printf("pre tmp=%d open=%d unlisted=%d stale_open=%d torn_manifest=%d\n", pre.tmp, pre.open,
           pre.unlisted, pre.stale_open, pre.torn_manifest);

    shard_writer_opts o;
    writer_opts(a, &o);
    shard_writer *w;
    uint64_t c, c2;
    if (shard_writer_open(a->dir, &o, &w) != CC_OK)
        return fail_st("recovery (writer open)");
    c = shard_writer_committed(w);
    if (shard_writer_close(w, 0) != CC_OK)
        return fail_st("close after recovery");
    if (shard_writer_open(a->dir, &o, &w) != CC_OK)
        return fail_st("second writer open");
    c2 = shard_writer_committed(w);
    if (shard_writer_close(w, 0) != CC_OK)
        return fail_st("second close");
    if (c2 != c) {
        fprintf(stderr, "crashee: recovery is not stable: %" PRIu64 " then %" PRIu64 "\n", c, c2);
        return 1;
    }
    uint64_t k = a->have_reported ? a->reported : 0;
    if (c < k) {
        fprintf(stderr,
                "crashee: %" PRIu64 " records were reported committed, only %" PRIu64 " survived\n",
                k, c);
        return 1;
    }
    if (c > k + a->batch || c > a->total) {
        fprintf(stderr,
                "crashee: %" PRIu64 " records durable, but the last report said %" PRIu64
                " (batch %" PRIu64 ", total %" PRIu64 ")\n",
                c, k, a->batch, a->total);
        return 1;
    }

    if (dir_scan(a->dir, &post) != 0)
        return 1;
    if (post.tmp || post.unlisted || post.stale_open || post.open > 1 || post.unknown) {
        fprintf(stderr,
                "crashee: after recovery: %d .tmp, %d unlisted shard, %d stale .open, %d .open, "
                "%d unknown file(s)%s%s\n",
                post.tmp, post.unlisted, post.stale_open, post.open, post.unknown,
                post.unknown ? ", e.g. " : "", post.first_unknown);
        return 1;
    }

    shard_manifest *m = NULL;
    cc_status st = shard_manifest_load(a->dir, &m);
    if (st != CC_OK && st != CC_E_NOTFOUND) /* none yet: the count check below still applies */
        return fail_st("manifest");
    rec f = {0};
    int rc = 0;
    uint64_t next = 0, prev_no = 0, open_records = 0;
    char path[PATH_CAP];
    for (size_t i = 0; m && i < m->n && rc == 0; i++) {
        const shard_manifest_entry *e = &m->entries[i];
        uint64_t no;
        shard_reader *r;
        if (!shard_file(e->name, "", &no) || (i > 0 && no <= prev_no) || e->count == 0) {
            fprintf(stderr,
                    "crashee: manifest line %zu (%s, %" PRIu64 " pairs) is out of order or empty\n",
                    i + 1, e->name, e->count);
            rc = 1;
        } else if (shard_manifest_shard_path(m, i, path, sizeof path) != CC_OK ||
                   shard_reader_open(path, e, &r) != CC_OK) {
            rc = fail_st(e->name);
        } else {
            rc = check_shard(r, e->name, &next, c, a, &f);
            shard_reader_close(r);
        }
        prev_no = no;
    }
    uint64_t sealed = next;
    if (rc == 0 && post.open) {
        char name[SHARD_NAME_MAX + 8];
        shard_reader *r;
        snprintf(name, sizeof name, "shard-%06" PRIu64 ".lmdb.open", post.open_no);
        if (m && m->n && post.open_no <= prev_no) {
            fprintf(stderr, "crashee: %s is numbered below a sealed shard\n", name);
            rc = 1;
        } else if (cc_path_join(path, sizeof path, a->dir, name) != CC_OK ||
                   shard_reader_open(path, NULL, &r) != CC_OK) {
            rc = fail_st(name);
        } else {
            rc = check_shard(r, name, &next, c, a, &f);
            shard_reader_close(r);
        }
        open_records = next - sealed;
    }
    if (rc == 0 && next != c) {
        fprintf(stderr,
                "crashee: the writer counts %" PRIu64 " committed records, readers find %" PRIu64
                "\n",
                c, next);
        rc = 1;
    }
    if (rc == 0 && a->final) {
        shard_verify_report rep;
        uint64_t problems = 0;
        if (c != a->total || post.open) {
            fprintf(stderr,
                    "crashee: final: %" PRIu64 " of %" PRIu64
                    " records committed, %d unsealed shard(s)\n",
                    c, a->total, post.open);
            rc = 1;
        } else if (!m || shard_verify(m, NULL, report_problem, &problems, &rep) != CC_OK) {
            rc = m ? fail_st("verify") : (fprintf(stderr, "crashee: final: no manifest\n"), 1);
        } else if (problems || rep.bad_shards || rep.bad_records || rep.records != a->total) {
            fprintf(stderr, "crashee: verify: %" PRIu64 " problems, %" PRIu64 " records\n",
                    problems, rep.records);
            rc = 1;
        }
    }
    if (rc == 0)
        printf("ok committed=%" PRIu64 " sealed_shards=%zu sealed_records=%" PRIu64
               " open_records=%" PRIu64 "\n",
               c, m ? m->n : (size_t)0, sealed, open_records);
    rec_free(&f);
    shard_manifest_free(m);
    return rc;
}

int main(int argc, char **argv)
{
    args a;
    if (parse_args(argc, argv, &a) != 0) {
        usage();
        return 2;
    }
    int rc = a.write ? run_write(&a) : run_check(&a);
    fflush(stdout);
    return rc;
}
