/* bench/bench_shards.c — shard write throughput, metadata dictionary payoff, and random-order
 * reads through the shard reader against a sequential read of the webdataset tar export.
 *
 * usage: bench_shards --images DIR --work DIR [--json FILE] [--records N] [--reps R]
 *                     [--write-reps W] [--read-max-pairs P] [--seed S]
 *
 * DIR/list.tsv ("PATH<TAB>CAPTION", as tests/fixtures/mkimages writes it) names the images; all
 * are loaded into memory and turned into records with crawler-like metadata (URLs on a few
 * hundred hosts, page URLs, licenses, query ids). --records N (default: one per image) cycles
 * through the images with fresh uids and URLs.
 *
 * Measured, single thread unless said otherwise, each figure the median of its repetitions:
 *   write     pairs/s and MB/s (sealed shard bytes) through shard_writer with default options
 *             (batch 256, seal at close), with the metadata dictionary (default) and without
 *             (dict_samples = 0), alternating ABBA, each run in a fresh folder after sync();
 *             plus the time of the final close (commit + seal) and the sealed bytes.
 *   metadata  stored metadata bytes per record from shard_codec: raw, zstd, zstd + a dictionary
 *             trained like the writer's (first 1024 records, 16 KiB), on the records after the
 *             training set; and the training time.
 *   read      on a run written with --read-max-pairs pairs per shard and exported with
 *             shard_export_webdataset, all files in page cache (read once first):
 *             (a) random order: a shuffled permutation of every (shard, index), one view per
 *                 shard, shard_view_get, then XXH3-64 of every image byte and of the caption;
 *             (b) tar sequential: each tar read() in 1 MiB chunks, ustar headers parsed, each
 *                 member handled in place (image and caption hashed the same way, JSON skipped),
 *                 as a streaming webdataset loader does;
 *             (c) shard sequential: every shard in index order through one view;
 *             (d) random order in 2 threads, each with its own views, each taking half of the
 *                 permutation;
 *             (e) random order, shard_view_get alone (the reader's own cost).
 *             The order-independent sum of the per-record hashes must be the same for (a)-(d).
 * Prints a table and writes the same figures as JSON (--json). Exit 0, or 1 on any error.
 * Timings on a shared machine are noisy: compare ratios and medians, not single runs.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <zdict.h>

#include "bench/bench_opts.h"
#include "common/buf.h"
#include "common/file.h"
#include "common/hash.h"
#include "common/status.h"
#include "shards/shard.h"

#define PATH_CAP 4096
#define CHUNK (1u << 20) /* tar read size */
#define MAX_MEMBER (80u << 20) /* largest tar member the reader accepts */
#define DICT_TRAIN 1024u /* the writer's default dict_samples */
#define DICT_SIZE 16384u /* and dict_size */

typedef struct opts {
    const char *images, *work, *json;
    uint64_t records, reps, write_reps, read_max_pairs, seed;
} opts;

/* ---- small helpers ------------------------------------------------------------------------- */

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static uint64_t splitmix64(uint64_t *s)
{
    uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

/* The per-record value every reader must agree on, from the XXH3-64 of the image bytes and of
 * the caption; summed over records (order-independent). */
static uint64_t pair_hash(uint64_t image_h, uint64_t caption_h)
{
    return image_h * 0x9e3779b97f4a7c15ull ^ caption_h;
}

static int fail(const char *what)
{
    fprintf(stderr, "bench_shards: %s: %s\n", what, cc_errmsg());
    return 1;
}

static int remove_tree(const char *path)
{
    /* Removing a benchmark folder: paths come from our own arguments. */
    char cmd[PATH_CAP + 32];
    if (snprintf(cmd, sizeof cmd, "rm -rf '%s'", path) >= (int)sizeof cmd || strchr(path, '\''))
        return -1;
    return system(cmd) == 0 ? 0 : -1;
}

/* ---- input images and records -------------------------------------------------------------- */

typedef struct image {
    cc_buf bytes;
    char *caption;
    uint8_t format;
    uint32_t width, height;
} image;

/* Width and height from a JPEG's SOF marker or a PNG's IHDR; 0 when not found. */
static void image_size(const uint8_t *p, size_t n, uint8_t *fmt, uint32_t *w, uint32_t *h)
{
    *fmt = SHARD_IMG_UNKNOWN;
    *w = *h = 0;
    if (n >= 24 && memcmp(p, "\x89PNG\r\n\x1a\n", 8) == 0) {
        *fmt = SHARD_IMG_PNG;
        *w = (uint32_t)p[16] << 24 | (uint32_t)p[17] << 16 | (uint32_t)p[18] << 8 | p[19];
        *h = (uint32_t)p[20] << 24 | (uint32_t)p[21] << 16 | (uint32_t)p[22] << 8 | p[23];
        return;
    }
    if (n < 4 || p[0] != 0xff || p[1] != 0xd8)
        return;
    *fmt = SHARD_IMG_JPEG;
    for (size_t i = 2; i + 9 < n;) {
        if (p[i] != 0xff) {
            i++;
            continue;
        }
        uint8_t m = p[i + 1];
        size_t len = (size_t)p[i + 2] << 8 | p[i + 3];
        /* SOF0..SOF15 except DHT (C4), JPG (C8), DAC (CC). */
        if (m >= 0xc0 && m <= 0xcf && m != 0xc4 && m != 0xc8 && m != 0xcc) {
            *h = (uint32_t)p[i + 5] << 8 | p[i + 6];
            *w = (uint32_t)p[i + 7] << 8 | p[i + 8];
            return;
        }
        if (m == 0xd8 || m == 0x01 || (m >= 0xd0 && m <= 0xd7) || m == 0xff) {
            i += m == 0xff ? 1 : 2;
            continue;
        }
        i += 2 + len;
    }
}

/* Loads DIR/list.tsv and every image it names. */
static int load_images(const char *dir, image **out, size_t *n_out, uint64_t *bytes)
{
    char path[PATH_CAP];
    cc_buf list;
    cc_buf_init(&list, 64u << 20);
    if (cc_path_join(path, sizeof path, dir, "list.tsv") != CC_OK ||
        cc_read_file(path, &list) != CC_OK || cc_buf_append(&list, "", 1) != CC_OK) {
        cc_buf_free(&list);
        return fail("image list");
    }
    size_t cap = 0, n = 0;
    image *v = NULL;
    int rc = 0;
    *bytes = 0;
    for (char *line = (char *)list.data; rc == 0 && *line;) {
        char *nl = strchr(line, '\n'), *tab = strchr(line, '\t');
        if (nl)
            *nl = '\0';
        if (!tab || (nl && tab > nl)) {
            fprintf(stderr, "bench_shards: %s: line without a tab: '%.60s'\n", path, line);
            rc = 1;
            break;
        }
        *tab = '\0';
        if (n == cap) {
            cap = cap ? cap * 2 : 1024;
            image *nv = realloc(v, cap * sizeof *nv);
            if (!nv) {
                rc = 1;
                break;
            }
            v = nv;
        }
        image *im = &v[n];
        memset(im, 0, sizeof *im);
        cc_buf_init(&im->bytes, SHARD_MAX_IMAGE);
        im->caption = strdup(tab + 1);
        n++;
        char ipath[PATH_CAP];
        if (!im->caption || cc_path_join(ipath, sizeof ipath, dir, line) != CC_OK ||
            cc_read_file(ipath, &im->bytes) != CC_OK) {
            rc = fail(line);
            break;
        }
        image_size(im->bytes.data, im->bytes.len, &im->format, &im->width, &im->height);
        *bytes += im->bytes.len;
        line = nl ? nl + 1 : line + strlen(line);
    }
    cc_buf_free(&list);
    if (rc == 0 && n == 0) {
        fprintf(stderr, "bench_shards: %s lists no image\n", path);
        rc = 1;
    }
    *out = v;
    *n_out = n;
    return rc;
}

/* Record i: image i % n_images with metadata shaped like a crawl's. */
typedef struct rec {
    shard_record r;
    char url[200], page[200];
    uint32_t qids[3];
} rec;

static const char *const licenses[] = {
    "",
    "",
    "",
    "CC-BY-4.0",
    "CC-BY-SA-4.0",
    "CC0-1.0",
    "https://creativecommons.org/licenses/by-nc/4.0/",
    "public domain",
};
static const char *const sections[] = {"gallery",   "photos", "blog/2023",
                                       "wiki/File", "stock",  "news/world"};

static void rec_make(rec *f, uint64_t i, const image *imgs, size_t n_imgs)
{
    const image *im = &imgs[i % n_imgs];
    uint64_t s = i ^ 0x5eedf00dull, h = splitmix64(&s), h2 = splitmix64(&s);
    unsigned host = (unsigned)(h % 300);
    memset(&f->r, 0, sizeof f->r);
    cc_hash128_to_bytes(cc_hash128_of(&i, sizeof i), f->r.uid);
    snprintf(f->url, sizeof f->url,
             "https://cdn%u.host-%u.example.org/%s/%04" PRIu64 "/img-%06" PRIu64 ".%s",
             (unsigned)(h2 % 4), host, sections[h % 6], i / 100, i, shard_image_ext(im->format));
    snprintf(f->page, sizeof f->page, "https://www.host-%u.example.org/%s/%" PRIu64 "-%s.html",
             host, sections[h % 6], (h2 >> 8) % 100000, (h2 >> 40) % 2 ? "view" : "detail");
    f->r.caption = im->caption;
    f->r.url = f->url;
    f->r.page_url = f->page;
    f->r.license = licenses[(h >> 20) % 8];
    f->qids[0] = (uint32_t)(h2 % 50000);
    f->qids[1] = (uint32_t)((h2 >> 16) % 50000);
    f->qids[2] = (uint32_t)((h2 >> 32) % 50000);
    f->r.query_id = f->qids[0];
    f->r.query_ids = f->qids;
    f->r.n_query_ids = 1 + (uint32_t)(h % 3);
    f->r.image = im->bytes.data;
    f->r.image_len = im->bytes.len;
    f->r.image_format = im->format;
    f->r.width = im->width;
    f->r.height = im->height;
    uint32_t scale = 1 + (uint32_t)(h % 4);
    f->r.orig_width = im->width * scale;
    f->r.orig_height = im->height * scale;
    cc_hash128_to_bytes(cc_hash128_of(im->bytes.data, im->bytes.len), f->r.content_hash);
    f->r.phash = h2;
    f->r.fetch_time_ms = 1700000000000ll + (int64_t)(i * 937 + h % 1000);
}

/* ---- metadata sizes ------------------------------------------------------------------------ */

typedef struct meta_stats {
    double raw; /* metadata block bytes per record, records after the training set */
    double zstd; /* stored bytes (value minus image) without a dictionary: the codec's choice */
    double dict; /* the same with the dictionary */
    uint64_t dict_bytes, measured;
    double train_secs; /* ZDICT_trainFromBuffer on the training set */
} meta_stats;

static int measure_meta(const image *imgs, size_t n_imgs, uint64_t n, meta_stats *ms)
{
    shard_codec *c = NULL;
    cc_buf enc, samples;
    cc_buf_init(&enc, SHARD_MAX_IMAGE + SHARD_MAX_META + 64);
    cc_buf_init(&samples, (size_t)DICT_TRAIN * SHARD_MAX_META);
    size_t sizes[DICT_TRAIN];
    uint64_t train = n / 2 < DICT_TRAIN ? n / 2 : DICT_TRAIN;
    uint8_t dict[DICT_SIZE];
    rec f;
    int rc = 1;
    memset(ms, 0, sizeof *ms);
    if (shard_codec_new(3, &c) != CC_OK)
        goto out;
    for (uint64_t i = 0; i < train; i++) {
        rec_make(&f, i, imgs, n_imgs);
        if (shard_codec_encode(c, &f.r, 0, &enc) != CC_OK ||
            cc_buf_append(&samples, shard_codec_last_meta(c)->data,
                          shard_codec_last_meta(c)->len) != CC_OK)
            goto out;
        sizes[i] = shard_codec_last_meta(c)->len;
    }
    double t0 = now_s();
    size_t dn = ZDICT_trainFromBuffer(dict, sizeof dict, samples.data, sizes, (unsigned)train);
    ms->train_secs = now_s() - t0;
    if (ZDICT_isError(dn)) {
        fprintf(stderr, "bench_shards: dictionary training: %s\n", ZDICT_getErrorName(dn));
        goto out;
    }
    ms->dict_bytes = dn;
    uint64_t raw = 0, z = 0, zd = 0;
    for (uint64_t i = train; i < n; i++) {
        rec_make(&f, i, imgs, n_imgs);
        if (shard_codec_set_dict(c, NULL, 0) != CC_OK ||
            shard_codec_encode(c, &f.r, 0, &enc) != CC_OK)
            goto out;
        raw += shard_codec_last_meta(c)->len;
        z += enc.len - f.r.image_len;
        if (shard_codec_set_dict(c, dict, dn) != CC_OK ||
            shard_codec_encode(c, &f.r, 1, &enc) != CC_OK)
            goto out;
        zd += enc.len - f.r.image_len;
    }
    ms->measured = n - train;
    if (ms->measured) {
        /* Stored bytes include the 32-byte value header. */
        ms->raw = (double)raw / (double)ms->measured;
        ms->zstd = (double)z / (double)ms->measured;
        ms->dict = (double)zd / (double)ms->measured;
    }
    rc = 0;
out:
    if (rc)
        fail("metadata measurement");
    shard_codec_free(c);
    cc_buf_free(&enc);
    cc_buf_free(&samples);
    return rc;
}

/* ---- write --------------------------------------------------------------------------------- */

typedef struct write_result {
    double secs[MAX_REPS], seal[MAX_REPS];
    uint64_t shard_bytes, shards;
} write_result;

static int manifest_bytes(const char *dir, uint64_t *bytes, uint64_t *shards)
{
    shard_manifest *m;
    if (shard_manifest_load(dir, &m) != CC_OK)
        return fail("manifest");
    *bytes = 0;
    for (size_t i = 0; i < m->n; i++)
        *bytes += m->entries[i].bytes;
    *shards = m->n;
    shard_manifest_free(m);
    return 0;
}

/* Writes records 0..n-1 into a fresh dir: secs from open to sealed, seal_secs of them in the
 * final shard_writer_close (commit and seal of the last shard). */
static int write_run(const char *dir, const shard_writer_opts *o, const image *imgs, size_t n_imgs,
                     uint64_t n, double *secs, double *seal_secs)
{
    if (remove_tree(dir) != 0) {
        fprintf(stderr, "bench_shards: cannot clear %s\n", dir);
        return 1;
    }
    /* Deleting the previous run frees (and on this file system may discard) hundreds of MB:
     * let that finish before the clock starts. */
    sync();
    rec f;
    shard_writer *w;
    double t0 = now_s();
    if (shard_writer_open(dir, o, &w) != CC_OK)
        return fail("writer open");
    for (uint64_t i = 0; i < n; i++) {
        rec_make(&f, i, imgs, n_imgs);
        if (shard_writer_add(w, &f.r) != CC_OK) {
            shard_writer_close(w, 0);
            return fail("add");
        }
    }
    double t1 = now_s();
    if (shard_writer_close(w, 1) != CC_OK)
        return fail("close");
    *secs = now_s() - t0;
    *seal_secs = now_s() - t1;
    return 0;
}

/* ---- reads --------------------------------------------------------------------------------- */

typedef struct run_views {
    shard_manifest *m;
    shard_reader **readers;
} run_views;

typedef struct slot {
    uint32_t shard;
    uint32_t index;
} slot;

/* One reading thread: its own view per shard, slots [from, to). touch: hash every image and
 * caption byte (else only shard_view_get's own work is done). */
typedef struct reader_job {
    const slot *slots;
    shard_view **views;
    size_t from, to;
    int touch, rc;
    uint64_t sum;
} reader_job;

static void *slot_reader(void *arg)
{
    reader_job *j = arg;
    uint64_t sum = 0;
    for (size_t k = j->from; k < j->to; k++) {
        shard_record r;
        if (shard_view_get(j->views[j->slots[k].shard], j->slots[k].index, &r) != CC_OK) {
            j->rc = fail("get");
            break;
        }
        if (j->touch)
            sum +=
                pair_hash(cc_hash64(r.image, r.image_len), cc_hash64(r.caption, strlen(r.caption)));
        else
            sum += r.image_len;
    }
    j->sum = sum;
    return NULL;
}

/* Every record of every shard in index order through the cursor scan (shard_view_next), one
 * thread, views opened before the clock starts. */
static int scan_all(const run_views *rv, uint64_t *sum, double *secs)
{
    size_t ns = rv->m->n;
    shard_view **views = calloc(ns, sizeof *views);
    int rc = views ? 0 : 1;
    for (size_t s = 0; s < ns && rc == 0; s++)
        if (shard_view_open(rv->readers[s], &views[s]) != CC_OK)
            rc = fail("view");
    uint64_t acc = 0;
    double t0 = now_s();
    for (size_t s = 0; s < ns && rc == 0; s++) {
        shard_record r;
        uint64_t at;
        cc_status st;
        shard_view_seek(views[s], 0);
        while ((st = shard_view_next(views[s], &at, &r)) == CC_OK)
            acc +=
                pair_hash(cc_hash64(r.image, r.image_len), cc_hash64(r.caption, strlen(r.caption)));
        if (st != CC_E_NOTFOUND)
            rc = fail("scan");
    }
    *secs = now_s() - t0;
    *sum = acc;
    for (size_t s = 0; views && s < ns; s++)
        shard_view_close(views[s]);
    free(views);
    return rc;
}

/* Reads slots[0..n) in nthreads threads (at most 2), each with its own views (opened before the
 * clock starts); sets the seconds taken and the sum of the per-record hashes. */
static int read_slots(const run_views *rv, const slot *slots, size_t n, int nthreads, int touch,
                      uint64_t *sum, double *secs)
{
    reader_job jobs[2] = {{0}};
    pthread_t tid[2];
    size_t ns = rv->m->n;
    int rc = 0, started = 0;
    for (int t = 0; t < nthreads && rc == 0; t++) {
        jobs[t] = (reader_job){slots,
                               calloc(ns, sizeof(shard_view *)),
                               n * (size_t)t / (size_t)nthreads,
                               n * (size_t)(t + 1) / (size_t)nthreads,
                               touch,
                               0,
                               0};
        rc = jobs[t].views ? 0 : 1;
        for (size_t s = 0; s < ns && rc == 0; s++)
            if (shard_view_open(rv->readers[s], &jobs[t].views[s]) != CC_OK)
                rc = fail("view");
    }
    double t0 = now_s();
    if (rc == 0 && nthreads == 1)
        slot_reader(&jobs[0]);
    for (int t = 0; rc == 0 && nthreads > 1 && t < nthreads; t++) {
        if (pthread_create(&tid[t], NULL, slot_reader, &jobs[t]) != 0)
            rc = 1;
        else
            started++;
    }
    for (int t = 0; t < started; t++)
        pthread_join(tid[t], NULL);
    *secs = now_s() - t0;
    *sum = 0;
    for (int t = 0; t < nthreads; t++) {
        *sum += jobs[t].sum;
        rc |= jobs[t].rc;
        for (size_t s = 0; jobs[t].views && s < ns; s++)
            shard_view_close(jobs[t].views[s]);
        free(jobs[t].views);
    }
    return rc;
}

/* A streaming tar reader: read() into a buffer, members handled in place. */
typedef struct tar_in {
    int fd;
    uint8_t *buf;
    size_t cap, start, end;
} tar_in;

/* Makes n bytes available at buf + start: 0, 1 at end of file, -1 on error. */
static int tar_need(tar_in *t, size_t n)
{
    if (t->end - t->start >= n)
        return 0;
    if (n > t->cap) {
        size_t cap = (n + CHUNK - 1) / CHUNK * CHUNK;
        if (cap > MAX_MEMBER + CHUNK)
            return -1;
        uint8_t *b = realloc(t->buf, cap);
        if (!b)
            return -1;
        t->buf = b;
        t->cap = cap;
    }
    memmove(t->buf, t->buf + t->start, t->end - t->start);
    t->end -= t->start;
    t->start = 0;
    while (t->end < n) {
        size_t want = t->cap - t->end < CHUNK ? t->cap - t->end : CHUNK;
        ssize_t r = read(t->fd, t->buf + t->end, want);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0)
            return -1;
        if (r == 0)
            return 1;
        t->end += (size_t)r;
    }
    return 0;
}

static uint64_t octal(const uint8_t *p, size_t n)
{
    uint64_t v = 0;
    for (size_t i = 0; i < n && p[i] >= '0' && p[i] <= '7'; i++)
        v = v << 3 | (uint64_t)(p[i] - '0');
    return v;
}

/* Reads one tar: each KEY's image and caption are hashed into *sum, *pairs counted. */
static int read_tar(const char *path, tar_in *t, uint64_t *sum, uint64_t *pairs)
{
    t->fd = open(path, O_RDONLY | O_CLOEXEC);
    if (t->fd < 0) {
        fprintf(stderr, "bench_shards: %s: %s\n", path, strerror(errno));
        return 1;
    }
    t->start = t->end = 0;
    char key[101] = "";
    uint64_t img_h = 0, cap_h = 0;
    int have = 0, rc = 0;
    for (;;) {
        int r = tar_need(t, 512);
        if (r != 0) {
            rc = 1; /* an archive ends with zero blocks, not mid-header */
            break;
        }
        const uint8_t *h = t->buf + t->start;
        if (h[0] == 0)
            break; /* end-of-archive block */
        char name[101];
        memcpy(name, h, 100);
        name[100] = '\0';
        uint64_t size = octal(h + 124, 12), padded = (size + 511) / 512 * 512;
        int regular = h[156] == '0' || h[156] == '\0'; /* h moves with the next tar_need */
        t->start += 512;
        if (padded > MAX_MEMBER || tar_need(t, (size_t)padded) != 0) {
            rc = 1;
            break;
        }
        const uint8_t *data = t->buf + t->start;
        char *dot = strrchr(name, '.');
        if (regular && dot) {
            *dot = '\0';
            if (have && strcmp(key, name) != 0) {
                *sum += pair_hash(img_h, cap_h);
                ++*pairs;
                have = 0;
            }
            memcpy(key, name, sizeof key);
            have = 1;
            if (strcmp(dot + 1, "txt") == 0)
                cap_h = cc_hash64(data, (size_t)size);
            else if (strcmp(dot + 1, "json") != 0)
                img_h = cc_hash64(data, (size_t)size);
        }
        t->start += (size_t)padded;
    }
    if (rc == 0 && have) {
        *sum += pair_hash(img_h, cap_h);
        ++*pairs;
    }
    if (rc)
        fprintf(stderr, "bench_shards: %s: truncated or malformed tar\n", path);
    close(t->fd);
    return rc;
}

/* 0 when a read pass saw the same records as the first one (by their summed hashes). */
static int same_records(const char *method, uint64_t sum, uint64_t want)
{
    if (sum == want)
        return 0;
    fprintf(stderr,
            "bench_shards: %s read gives hash sum %016" PRIx64 ", expected %016" PRIx64
            ": the readers disagree on the records\n",
            method, sum, want);
    return 1;
}

/* Reads every byte of a file once (to bring it into page cache). */
static int warm_file(const char *path, uint64_t *bytes)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return 1;
    static uint8_t buf[CHUNK];
    ssize_t r;
    while ((r = read(fd, buf, sizeof buf)) > 0)
        *bytes += (uint64_t)r;
    close(fd);
    return r < 0;
}

/* ---- main ---------------------------------------------------------------------------------- */

static void usage(void)
{
    fprintf(stderr, "usage: bench_shards --images DIR --work DIR [--json FILE] [--records N]\n"
                    "                    [--reps R] [--write-reps W] [--read-max-pairs P]\n"
                    "                    [--seed S]\n");
}

static int parse_args(int argc, char **argv, opts *o)
{
    memset(o, 0, sizeof *o);
    o->reps = 7;
    o->write_reps = 4;
    o->read_max_pairs = 500;
    o->seed = 1;
    const bench_num nums[] = {
        {"--records", 1, UINT32_MAX, &o->records},
        {"--reps", 1, MAX_REPS, &o->reps},
        {"--write-reps", 1, MAX_REPS, &o->write_reps},
        {"--read-max-pairs", 1, UINT32_MAX, &o->read_max_pairs},
        {"--seed", 0, UINT64_MAX, &o->seed},
    };
    for (int i = 1; i < argc; i += 2) {
        const char *k = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!v) {
            fprintf(stderr, "bench_shards: %s needs a value\n", k);
            return -1;
        }
        if (strcmp(k, "--images") == 0) {
            o->images = v;
            continue;
        }
        if (strcmp(k, "--work") == 0) {
            o->work = v;
            continue;
        }
        if (strcmp(k, "--json") == 0) {
            o->json = v;
            continue;
        }
        int r = bench_set_num("bench_shards", nums, sizeof nums / sizeof nums[0], k, v);
        if (r == 1)
            fprintf(stderr, "bench_shards: unknown option %s\n", k);
        if (r != 0)
            return -1;
    }
    if (!o->images || !o->work) {
        fprintf(stderr, "bench_shards: --images and --work are required\n");
        return -1;
    }
    return 0;
}

typedef struct results {
    uint64_t n, n_images, image_bytes, read_shards;
    write_result wr[2]; /* 0: dictionary (default options), 1: no dictionary */
    meta_stats meta;
    double export_secs;
    uint64_t export_bytes, lmdb_bytes;
    double rnd[MAX_REPS], tar[MAX_REPS], seq[MAX_REPS], rnd2[MAX_REPS], get[MAX_REPS];
    double scan[MAX_REPS];
} results;

/* The read measurements, in table order. */
typedef struct read_row {
    const char *key, *label;
    const double *secs;
} read_row;

static size_t read_rows(const results *r, read_row out[6])
{
    out[0] = (read_row){"random", "(a) random order, shard reader, 1 thread", r->rnd};
    out[1] = (read_row){"tar_sequential", "(b) sequential webdataset tar, 1 thread", r->tar};
    out[2] = (read_row){"shard_sequential", "(c) sequential shard reader, 1 thread", r->seq};
    out[3] = (read_row){"random_2_threads", "(d) random order, shard reader, 2 threads", r->rnd2};
    out[4] = (read_row){"random_get_only", "(e) random order, shard_view_get only", r->get};
    out[5] = (read_row){"shard_scan", "(f) sequential scan, shard_view_next, 1 thread", r->scan};
    return 6;
}

static void print_json(FILE *f, const opts *o, const results *r)
{
    double n = (double)r->n;
    fprintf(f,
            "{\n  \"records\": %" PRIu64 ",\n  \"images\": %" PRIu64
            ",\n  \"image_bytes\": %" PRIu64 ",\n  \"cpus\": %ld,\n  \"write\": {\n",
            r->n, r->n_images, r->image_bytes, sysconf(_SC_NPROCESSORS_ONLN));
    for (int k = 0; k < 2; k++) {
        const write_result *w = &r->wr[k];
        double med = median(w->secs, o->write_reps);
        fprintf(f,
                "    \"%s\": {\"pairs_per_s\": %.1f, \"mb_per_s\": %.2f, \"seal_seconds\": %.4f, "
                "\"shard_bytes\": %" PRIu64 ", \"shards\": %" PRIu64
                ", \"bytes_per_record\": %.1f, \"seconds\": [",
                k == 0 ? "dict" : "no_dict", n / med, (double)w->shard_bytes / med / 1e6,
                median(w->seal, o->write_reps), w->shard_bytes, w->shards,
                (double)w->shard_bytes / n);
        for (uint64_t i = 0; i < o->write_reps; i++)
            fprintf(f, "%s%.4f", i ? ", " : "", w->secs[i]);
        fprintf(f, "]}%s\n", k == 0 ? "," : "");
    }
    fprintf(f,
            "  },\n  \"metadata\": {\"raw_bytes\": %.1f, \"zstd_bytes\": %.1f, "
            "\"zstd_dict_bytes\": %.1f, \"dict_bytes\": %" PRIu64 ", \"dict_train_seconds\": "
            "%.4f, \"records_measured\": %" PRIu64 ", \"sealed_saving_per_record\": %.1f},\n",
            r->meta.raw, r->meta.zstd, r->meta.dict, r->meta.dict_bytes, r->meta.train_secs,
            r->meta.measured, ((double)r->wr[1].shard_bytes - (double)r->wr[0].shard_bytes) / n);
    read_row rows[6];
    size_t nr = read_rows(r, rows);
    fprintf(f,
            "  \"read\": {\"shards\": %" PRIu64 ", \"max_pairs\": %" PRIu64
            ", \"shard_bytes\": %" PRIu64 ", \"tar_bytes\": %" PRIu64 ", \"reps\": %" PRIu64
            ", \"export_pairs_per_s\": %.1f,\n    \"random_over_tar\": %.3f",
            r->read_shards, o->read_max_pairs, r->lmdb_bytes, r->export_bytes, o->reps,
            n / r->export_secs, median(r->tar, o->reps) / median(r->rnd, o->reps));
    for (size_t k = 0; k < nr; k++) {
        fprintf(f, ",\n    \"%s\": {\"pairs_per_s\": %.1f, \"seconds\": [", rows[k].key,
                n / median(rows[k].secs, o->reps));
        for (uint64_t i = 0; i < o->reps; i++)
            fprintf(f, "%s%.5f", i ? ", " : "", rows[k].secs[i]);
        fprintf(f, "]}");
    }
    fprintf(f, "\n  }\n}\n");
}

static void print_table(const opts *o, const results *r)
{
    double n = (double)r->n, per_pair = (double)r->image_bytes / n;
    printf("\nclipcrawl shard benchmark: %" PRIu64 " records from %" PRIu64
           " images (%.1f MB, %.1f KB per image), %ld CPUs\n",
           r->n, r->n_images, (double)r->image_bytes / 1e6, per_pair / 1e3,
           sysconf(_SC_NPROCESSORS_ONLN));

    printf("\nwrite: default options (batch 256, 10000 pairs per shard), sealed at close;"
           " median of %" PRIu64 "\n",
           o->write_reps);
    printf("  %-31s %9s %8s %9s %13s %7s %10s\n", "", "pairs/s", "MB/s", "seal s", "shard bytes",
           "shards", "bytes/pair");
    for (int k = 0; k < 2; k++) {
        const write_result *w = &r->wr[k];
        double med = median(w->secs, o->write_reps);
        printf("  %-31s %9.0f %8.1f %9.3f %13" PRIu64 " %7" PRIu64 " %10.1f\n",
               k == 0 ? "metadata dictionary (default)" : "no dictionary (dict_samples 0)", n / med,
               (double)w->shard_bytes / med / 1e6, median(w->seal, o->write_reps), w->shard_bytes,
               w->shards, (double)w->shard_bytes / n);
    }
    double saved = (double)r->wr[1].shard_bytes - (double)r->wr[0].shard_bytes;
    printf("  MB/s = sealed shard bytes per second; seal s = the final close (commit, compact copy,"
           " fsync, hash)\n");
    printf("  sealed bytes saved by the dictionary: %.1f per record (%.2f%% of the run)\n",
           saved / n, 100.0 * saved / (double)r->wr[1].shard_bytes);

    printf("\nmetadata per record as stored (value minus image, 32-byte header included),\n"
           "  %" PRIu64 " records after the %" PRIu64 "-record training set:\n",
           r->meta.measured, r->n - r->meta.measured);
    printf("  metadata block %.1f B; stored with the header: without a dictionary (raw) %.1f B,\n"
           "  zstd-3 + %" PRIu64 "-byte dictionary %.1f B:\n"
           "  saves %.1f B per pair (%.2f%% of a %.0f-byte pair); training took %.3f s\n",
           r->meta.raw, r->meta.zstd, r->meta.dict_bytes, r->meta.dict, r->meta.zstd - r->meta.dict,
           100.0 * (r->meta.zstd - r->meta.dict) / (per_pair + r->meta.zstd),
           per_pair + r->meta.zstd, r->meta.train_secs);

    printf("\nread: %" PRIu64 " shards of <= %" PRIu64 " pairs (%.1f MB), tar export %.1f MB,"
           " page cache warm; median of %" PRIu64 "\n",
           r->read_shards, o->read_max_pairs, (double)r->lmdb_bytes / 1e6,
           (double)r->export_bytes / 1e6, o->reps);
    printf("  %-44s %10s %10s\n", "", "pairs/s", "MB/s");
    read_row rows[6];
    size_t nr = read_rows(r, rows);
    for (size_t k = 0; k < nr; k++) {
        double pps = n / median(rows[k].secs, o->reps);
        printf("  %-44s %10.0f %10.1f\n", rows[k].label, pps, pps * per_pair / 1e6);
    }
    printf("  (a)-(d), (f) hash every image and caption byte (XXH3-64); (e) only what\n"
           "  shard_view_get does itself (lookup, header checks, metadata decode; each file's\n"
           "  XXH3-128 was checked once when its reader opened). MB/s counts image bytes.\n");
    printf("  random / sequential tar = %.2f (goal >= 0.90); export: %.0f pairs/s\n\n",
           median(r->tar, o->reps) / median(r->rnd, o->reps), n / r->export_secs);
}

/* Path of a file in the work folder. */
static int work_path(const opts *o, const char *name, char *out)
{
    return cc_path_join(out, PATH_CAP, o->work, name) == CC_OK ? 0 : fail("path");
}

int main(int argc, char **argv)
{
    opts o;
    if (parse_args(argc, argv, &o) != 0) {
        usage();
        return 2;
    }
    results *res = calloc(1, sizeof *res);
    image *imgs = NULL;
    size_t n_imgs = 0;
    slot *slots = NULL;
    run_views rv = {0};
    tar_in tin = {.fd = -1};
    int rc = 1;
    char dir[PATH_CAP], tardir[PATH_CAP], path[PATH_CAP];
    if (!res || cc_mkdir(o.work) != CC_OK)
        goto out;
    if (load_images(o.images, &imgs, &n_imgs, &res->image_bytes) != 0)
        goto out;
    res->n_images = n_imgs;
    res->n = o.records ? o.records : n_imgs;
    /* image_bytes from here on: the bytes of the records (images may repeat). */
    res->image_bytes = 0;
    for (uint64_t i = 0; i < res->n; i++)
        res->image_bytes += imgs[i % n_imgs].bytes.len;
    fprintf(stderr, "bench_shards: %" PRIu64 " records, %.1f MB of images\n", res->n,
            (double)res->image_bytes / 1e6);

    /* Metadata sizes with and without a dictionary. */
    if (measure_meta(imgs, n_imgs, res->n, &res->meta) != 0)
        goto out;

    /* Write: default options, with and without the dictionary, alternating (ABBA: the run after
     * another is often slower on a shared disk) so that machine noise hits both alike. Each run
     * starts from an empty folder. */
    for (uint64_t rep = 0; rep < o.write_reps; rep++) {
        for (int kk = 0; kk < 2; kk++) {
            int k = (int)(rep % 2) ^ kk;
            shard_writer_opts wo;
            shard_writer_opts_default(&wo);
            if (k == 1)
                wo.dict_samples = 0;
            if (work_path(&o, k == 0 ? "write-dict" : "write-nodict", dir) != 0 ||
                write_run(dir, &wo, imgs, n_imgs, res->n, &res->wr[k].secs[rep],
                          &res->wr[k].seal[rep]) != 0 ||
                manifest_bytes(dir, &res->wr[k].shard_bytes, &res->wr[k].shards) != 0 ||
                remove_tree(dir) != 0)
                goto out;
        }
        fprintf(stderr, "bench_shards: write repetition %" PRIu64 " done\n", rep + 1);
    }

    /* The read run: default options but smaller shards, so that reads cross shards. */
    shard_writer_opts wo;
    shard_writer_opts_default(&wo);
    wo.max_pairs = o.read_max_pairs;
    double ignored;
    if (work_path(&o, "read-run", dir) != 0 || work_path(&o, "read-tar", tardir) != 0 ||
        write_run(dir, &wo, imgs, n_imgs, res->n, &ignored, &ignored) != 0 ||
        remove_tree(tardir) != 0)
        goto out;
    if (shard_manifest_load(dir, &rv.m) != CC_OK) {
        fail("manifest");
        goto out;
    }
    shard_export_stats es;
    double t0 = now_s();
    if (shard_export_webdataset(rv.m, tardir, &es) != CC_OK) {
        fail("export");
        goto out;
    }
    res->export_secs = now_s() - t0;
    res->read_shards = rv.m->n;

    /* Page cache: every shard and tar read once. */
    rv.readers = calloc(rv.m->n, sizeof *rv.readers);
    slots = malloc(res->n * sizeof *slots);
    if (!rv.readers || !slots)
        goto out;
    size_t n_slots = 0;
    for (size_t s = 0; s < rv.m->n; s++) {
        char tarname[SHARD_NAME_MAX + 8];
        snprintf(tarname, sizeof tarname, "%.*s.tar", (int)(strlen(rv.m->entries[s].name) - 5),
                 rv.m->entries[s].name);
        if (shard_manifest_shard_path(rv.m, s, path, sizeof path) != CC_OK ||
            warm_file(path, &res->lmdb_bytes) != 0 ||
            shard_reader_open(path, &rv.m->entries[s], &rv.readers[s]) != CC_OK ||
            cc_path_join(path, sizeof path, tardir, tarname) != CC_OK ||
            warm_file(path, &res->export_bytes) != 0) {
            fail("warm-up");
            goto out;
        }
        for (uint64_t i = 0; i < shard_reader_count(rv.readers[s]) && n_slots < res->n; i++)
            slots[n_slots++] = (slot){(uint32_t)s, (uint32_t)i};
    }
    if (n_slots != res->n || es.records != res->n) {
        fprintf(stderr,
                "bench_shards: the read run holds %zu records, export %" PRIu64
                ", expected %" PRIu64 "\n",
                n_slots, es.records, res->n);
        goto out;
    }
    /* (c) first: sequential order, which also maps every page once. */
    uint64_t want = 0, sum, done_reps = 0;
    if (read_slots(&rv, slots, n_slots, 1, 1, &want, &ignored) != 0)
        goto out;
    uint64_t seed = o.seed;
    slot *perm = malloc(n_slots * sizeof *perm);
    if (!perm)
        goto out;
    memcpy(perm, slots, n_slots * sizeof *perm);
    for (size_t i = n_slots; i > 1; i--) {
        size_t j = (size_t)(splitmix64(&seed) % i);
        slot tmp = perm[i - 1];
        perm[i - 1] = perm[j];
        perm[j] = tmp;
    }
    tin.cap = CHUNK;
    tin.buf = malloc(tin.cap);
    if (!tin.buf) {
        free(perm);
        goto out;
    }
    /* Interleave the methods within each repetition so that machine noise hits all alike. */
    for (uint64_t rep = 0; rep < o.reps; rep++) {
        if (read_slots(&rv, perm, n_slots, 1, 1, &sum, &res->rnd[rep]) != 0 ||
            same_records("random", sum, want) != 0)
            break;
        uint64_t tsum = 0, pairs = 0;
        int bad = 0;
        t0 = now_s();
        for (size_t s = 0; s < rv.m->n && !bad; s++) {
            char tarname[SHARD_NAME_MAX + 8];
            snprintf(tarname, sizeof tarname, "%.*s.tar", (int)(strlen(rv.m->entries[s].name) - 5),
                     rv.m->entries[s].name);
            bad = cc_path_join(path, sizeof path, tardir, tarname) != CC_OK ||
                  read_tar(path, &tin, &tsum, &pairs) != 0;
        }
        res->tar[rep] = now_s() - t0;
        if (bad || same_records("tar", tsum, want) != 0 || pairs != n_slots ||
            read_slots(&rv, slots, n_slots, 1, 1, &sum, &res->seq[rep]) != 0 ||
            same_records("sequential", sum, want) != 0 ||
            read_slots(&rv, perm, n_slots, 2, 1, &sum, &res->rnd2[rep]) != 0 ||
            same_records("2 threads", sum, want) != 0 ||
            read_slots(&rv, perm, n_slots, 1, 0, &sum, &res->get[rep]) != 0 ||
            same_records("get-only", sum, res->image_bytes) != 0 ||
            scan_all(&rv, &sum, &res->scan[rep]) != 0 || same_records("scan", sum, want) != 0)
            break;
        done_reps++;
    }
    if (done_reps != o.reps) {
        fprintf(stderr, "bench_shards: read repetition %" PRIu64 " failed\n", done_reps + 1);
        free(perm);
        goto out;
    }
    free(perm);

    print_table(&o, res);
    if (o.json) {
        FILE *f = fopen(o.json, "w");
        if (!f) {
            fprintf(stderr, "bench_shards: %s: %s\n", o.json, strerror(errno));
            goto out;
        }
        print_json(f, &o, res);
        if (fclose(f) != 0) {
            fprintf(stderr, "bench_shards: %s: write failed\n", o.json);
            goto out;
        }
        printf("figures written to %s\n", o.json);
    }
    rc = 0;
out:
    for (size_t s = 0; rv.m && rv.readers && s < rv.m->n; s++)
        shard_reader_close(rv.readers[s]);
    free(rv.readers);
    shard_manifest_free(rv.m);
    free(slots);
    free(tin.buf);
    for (size_t i = 0; i < n_imgs; i++) {
        cc_buf_free(&imgs[i].bytes);
        free(imgs[i].caption);
    }
    free(imgs);
    free(res);
    return rc;
}
