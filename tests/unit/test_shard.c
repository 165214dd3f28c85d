/* tests/unit/test_shard.c — record codec, writer, reader, manifest, verify. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/file.h"
#include "shards/shard.h"

/* A deterministic record i with an image of img_len bytes (contents derived from i). */
typedef struct fake {
    shard_record r;
    char caption[128], url[128];
    uint32_t qids[3];
    uint8_t *img;
} fake;

static void fake_make(fake *f, uint64_t i, size_t img_len)
{
    memset(f, 0, sizeof *f);
    cc_hash128 u = cc_hash128_of(&i, sizeof i);
    cc_hash128_to_bytes(u, f->r.uid);
    snprintf(f->caption, sizeof f->caption, "a photo of thing number %llu, \"quoted\" é",
             (unsigned long long)i);
    snprintf(f->url, sizeof f->url, "https://example.com/img/%llu.jpg", (unsigned long long)i);
    f->r.caption = f->caption;
    f->r.url = f->url;
    f->r.page_url = "https://example.com/page";
    f->r.license = i % 2 ? "CC-BY-4.0" : "";
    f->qids[0] = (uint32_t)i;
    f->qids[1] = (uint32_t)i * 7;
    f->qids[2] = 99;
    f->r.query_id = i % 5 ? (uint32_t)i : SHARD_NO_QUERY;
    f->r.query_ids = f->qids;
    f->r.n_query_ids = (uint32_t)(i % 4);
    f->img = malloc(img_len ? img_len : 1);
    for (size_t k = 0; k < img_len; k++)
        f->img[k] = (uint8_t)(k * 31 + i);
    f->r.image = f->img;
    f->r.image_len = img_len;
    f->r.image_format = SHARD_IMG_JPEG;
    f->r.width = 100 + (uint32_t)i;
    f->r.height = 50;
    f->r.orig_width = 1000;
    f->r.orig_height = 500 + (uint32_t)i;
    memset(f->r.content_hash, (int)(i & 0xff), 16);
    f->r.phash = 0x0123456789abcdefull ^ i;
    f->r.fetch_time_ms = 1700000000000ll + (int64_t)i;
}

static void assert_same(const shard_record *a, const shard_record *b)
{
    assert_memory_equal(a->uid, b->uid, 16);
    assert_string_equal(a->caption, b->caption);
    assert_string_equal(a->url, b->url);
    assert_string_equal(a->page_url, b->page_url);
    assert_string_equal(a->license, b->license);
    assert_int_equal(a->query_id, b->query_id);
    assert_int_equal(a->n_query_ids, b->n_query_ids);
    if (a->n_query_ids)
        assert_memory_equal(a->query_ids, b->query_ids, a->n_query_ids * 4);
    assert_int_equal(a->image_len, b->image_len);
    if (a->image_len)
        assert_memory_equal(a->image, b->image, a->image_len);
    assert_int_equal(a->image_format, b->image_format);
    assert_int_equal(a->width, b->width);
    assert_int_equal(a->height, b->height);
    assert_int_equal(a->orig_width, b->orig_width);
    assert_int_equal(a->orig_height, b->orig_height);
    assert_memory_equal(a->content_hash, b->content_hash, 16);
    assert_true(a->phash == b->phash);
    assert_true(a->fetch_time_ms == b->fetch_time_ms);
}

static char *tmpdir(void)
{
    char *d = strdup("/tmp/cc-test-shard-XXXXXX");
    assert_non_null(mkdtemp(d));
    return d;
}

static void rmtree(const char *d)
{
    char cmd[4200];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", d);
    assert_int_equal(system(cmd), 0);
}

static void test_codec_roundtrip(void **state)
{
    (void)state;
    shard_codec *c;
    assert_int_equal(shard_codec_new(3, &c), CC_OK);
    cc_buf out;
    cc_buf_init(&out, 1 << 24);
    for (uint64_t i = 0; i < 20; i++) {
        fake f;
        fake_make(&f, i, i * 37);
        assert_int_equal(shard_codec_encode(c, &f.r, 0, &out), CC_OK);
        shard_record d;
        assert_int_equal(shard_codec_decode(c, out.data, out.len, &d), CC_OK);
        assert_same(&f.r, &d);
        free(f.img);
    }
    /* Short metadata without a dictionary is stored raw (codec byte 0 at offset 16); long
     * metadata is zstd-compressed (1); with a dictionary, zstd + dictionary (2). */
    fake f;
    fake_make(&f, 7, 64);
    assert_int_equal(shard_codec_encode(c, &f.r, 1, &out), CC_OK);
    assert_int_equal(out.data[16], 0);
    char *longcap = malloc(20000);
    for (int i = 0; i < 19999; i++)
        longcap[i] = "a photo of a cat "[i % 17];
    longcap[19999] = '\0';
    f.r.caption = longcap;
    assert_int_equal(shard_codec_encode(c, &f.r, 0, &out), CC_OK);
    assert_int_equal(out.data[16], 1);
    assert_true(out.len < 2000);
    shard_record d;
    assert_int_equal(shard_codec_decode(c, out.data, out.len, &d), CC_OK);
    assert_same(&f.r, &d);
    static const char dict[] = "https://example.com/img/ a photo of thing number CC-BY-4.0";
    assert_int_equal(shard_codec_set_dict(c, dict, sizeof dict), CC_OK);
    f.r.caption = f.caption;
    assert_int_equal(shard_codec_encode(c, &f.r, 1, &out), CC_OK);
    assert_int_equal(out.data[16], 2);
    assert_int_equal(shard_codec_decode(c, out.data, out.len, &d), CC_OK);
    assert_same(&f.r, &d);
    /* A reader without the dictionary says so instead of misreading. */
    assert_int_equal(shard_codec_set_dict(c, NULL, 0), CC_OK);
    assert_int_equal(shard_codec_decode(c, out.data, out.len, &d), CC_E_FORMAT);
    assert_non_null(strstr(cc_errmsg(), "dictionary"));
    free(longcap);
    free(f.img);
    cc_buf_free(&out);
    shard_codec_free(c);
}

static void test_codec_rejects_damage(void **state)
{
    (void)state;
    shard_codec *c;
    assert_int_equal(shard_codec_new(3, &c), CC_OK);
    cc_buf out;
    cc_buf_init(&out, 1 << 24);
    fake f;
    fake_make(&f, 3, 300);
    assert_int_equal(shard_codec_encode(c, &f.r, 0, &out), CC_OK);
    uint8_t *copy = malloc(out.len);
    shard_record d;
    /* Every single-bit flip is caught (checksum or header checks), and no prefix decodes. */
    for (size_t i = 0; i < out.len; i++) {
        for (int b = 0; b < 8; b++) {
            memcpy(copy, out.data, out.len);
            copy[i] ^= (uint8_t)(1 << b);
            assert_int_not_equal(shard_codec_decode(c, copy, out.len, &d), CC_OK);
        }
    }
    for (size_t n = 0; n < out.len; n++)
        assert_int_not_equal(shard_codec_decode(c, out.data, n, &d), CC_OK);
    /* A newer version says so. */
    memcpy(copy, out.data, out.len);
    copy[4] = 2;
    assert_int_equal(shard_codec_decode(c, copy, out.len, &d), CC_E_VERSION);
    free(copy);
    free(f.img);
    cc_buf_free(&out);
    shard_codec_free(c);
}

static void test_codec_limits(void **state)
{
    (void)state;
    shard_codec *c;
    assert_int_equal(shard_codec_new(3, &c), CC_OK);
    cc_buf out;
    cc_buf_init(&out, 1 << 24);
    fake f;
    fake_make(&f, 1, 10);
    char *big = malloc(SHARD_MAX_TEXT + 2);
    memset(big, 'a', SHARD_MAX_TEXT + 1);
    big[SHARD_MAX_TEXT + 1] = '\0';
    f.r.caption = big;
    assert_int_equal(shard_codec_encode(c, &f.r, 0, &out), CC_E_LIMIT);
    free(big);
    free(f.img);
    cc_buf_free(&out);
    shard_codec_free(c);
}

/* Reads the whole run back and checks record i of the run equals fake i (in order). */
static uint64_t check_run(const char *dir, size_t img_len)
{
    shard_manifest *m;
    assert_int_equal(shard_manifest_load(dir, &m), CC_OK);
    uint64_t next = 0;
    for (size_t s = 0; s < m->n; s++) {
        char path[4096];
        assert_int_equal(shard_manifest_shard_path(m, s, path, sizeof path), CC_OK);
        shard_reader *r;
        assert_int_equal(shard_reader_open(path, &m->entries[s], &r), CC_OK);
        shard_view *v;
        assert_int_equal(shard_view_open(r, &v), CC_OK);
        for (uint64_t i = 0; i < shard_reader_count(r); i++, next++) {
            shard_record d;
            fake f;
            fake_make(&f, next, img_len);
            assert_int_equal(shard_view_get(v, i, &d), CC_OK);
            assert_same(&f.r, &d);
            uint64_t at;
            assert_int_equal(shard_view_find(v, f.r.uid, &at), CC_OK);
            assert_int_equal(at, i);
            free(f.img);
        }
        shard_record d;
        assert_int_equal(shard_view_get(v, shard_reader_count(r), &d), CC_E_NOTFOUND);
        /* The cursor scan gives the same records in the same order, from any start. */
        uint64_t first = next - shard_reader_count(r), at, start = shard_reader_count(r) / 3;
        assert_int_equal(shard_view_seek(v, start), CC_OK);
        for (uint64_t i = start; i < shard_reader_count(r); i++) {
            fake f;
            fake_make(&f, first + i, img_len);
            assert_int_equal(shard_view_next(v, &at, &d), CC_OK);
            assert_int_equal(at, i);
            assert_same(&f.r, &d);
            free(f.img);
        }
        assert_int_equal(shard_view_next(v, &at, &d), CC_E_NOTFOUND);
        shard_view_close(v);
        shard_reader_close(r);
    }
    assert_int_equal(shard_manifest_total(m), next);
    shard_manifest_free(m);
    return next;
}

static void write_n(shard_writer *w, uint64_t from, uint64_t to, size_t img_len)
{
    for (uint64_t i = from; i < to; i++) {
        fake f;
        fake_make(&f, i, img_len);
        assert_int_equal(shard_writer_add(w, &f.r), CC_OK);
        free(f.img);
    }
}

static void test_writer_rolls_by_count(void **state)
{
    (void)state;
    char *d = tmpdir();
    shard_writer_opts o;
    shard_writer_opts_default(&o);
    o.max_pairs = 300;
    o.batch_pairs = 64;
    o.dict_samples = 100; /* exercise the dictionary path */
    shard_writer *w;
    assert_int_equal(shard_writer_open(d, &o, &w), CC_OK);
    write_n(w, 0, 1000, 200);
    assert_int_equal(shard_writer_close(w, 1), CC_OK);
    assert_int_equal(check_run(d, 200), 1000);
    shard_manifest *m;
    assert_int_equal(shard_manifest_load(d, &m), CC_OK);
    assert_int_equal(m->n, 4);
    assert_int_equal(m->entries[0].count, 300);
    assert_int_equal(m->entries[3].count, 100);
    shard_manifest_free(m);
    rmtree(d);
    free(d);
}

static void test_writer_rolls_by_bytes(void **state)
{
    (void)state;
    char *d = tmpdir();
    shard_writer_opts o;
    shard_writer_opts_default(&o);
    o.max_bytes = 1 << 20; /* 1 MiB shards, 40 KB records: about 22 per shard */
    o.batch_pairs = 16;
    shard_writer *w;
    assert_int_equal(shard_writer_open(d, &o, &w), CC_OK);
    write_n(w, 0, 120, 40000);
    assert_int_equal(shard_writer_close(w, 1), CC_OK);
    assert_int_equal(check_run(d, 40000), 120);
    shard_manifest *m;
    assert_int_equal(shard_manifest_load(d, &m), CC_OK);
    assert_true(m->n >= 5);
    for (size_t i = 0; i < m->n; i++)
        assert_true(m->entries[i].bytes <= (1u << 20));
    shard_manifest_free(m);
    rmtree(d);
    free(d);
}

static void test_writer_map_full_replays(void **state)
{
    (void)state;
    /* One transaction's batch larger than the whole map: LMDB reports MDB_MAP_FULL mid-batch and
     * the batch must land, whole, across shards. The estimate is defeated by a batch that is
     * committed only at the end (batch_pairs larger than a shard holds). */
    char *d = tmpdir();
    shard_writer_opts o;
    shard_writer_opts_default(&o);
    o.max_bytes = 1 << 20;
    o.batch_pairs = 1000;
    o.roll_early = 0;
    shard_writer *w;
    assert_int_equal(shard_writer_open(d, &o, &w), CC_OK);
    write_n(w, 0, 60, 30000);
    assert_int_equal(shard_writer_close(w, 1), CC_OK);
    assert_int_equal(check_run(d, 30000), 60);
    /* Nothing but MDB_MAP_FULL can have rolled these shards. */
    shard_manifest *m;
    assert_int_equal(shard_manifest_load(d, &m), CC_OK);
    assert_true(m->n >= 2);
    shard_manifest_free(m);
    rmtree(d);
    free(d);
}

static void test_writer_too_large(void **state)
{
    (void)state;
    char *d = tmpdir();
    shard_writer_opts o;
    shard_writer_opts_default(&o);
    o.max_bytes = 1 << 20;
    shard_writer *w;
    assert_int_equal(shard_writer_open(d, &o, &w), CC_OK);
    fake f;
    fake_make(&f, 0, 900000);
    assert_int_equal(shard_writer_add(w, &f.r), CC_E_LIMIT);
    free(f.img);
    write_n(w, 0, 3, 100);
    assert_int_equal(shard_writer_close(w, 1), CC_OK);
    assert_int_equal(check_run(d, 100), 3);
    rmtree(d);
    free(d);
}

static void test_writer_duplicate_uid(void **state)
{
    (void)state;
    char *d = tmpdir();
    shard_writer *w;
    assert_int_equal(shard_writer_open(d, NULL, &w), CC_OK);
    uint8_t uid[16];
    assert_int_equal(shard_writer_last_uid(w, uid), CC_E_NOTFOUND);
    write_n(w, 0, 5, 10);
    fake f;
    fake_make(&f, 2, 10);
    assert_int_equal(shard_writer_add(w, &f.r), CC_E_EXISTS);
    free(f.img);
    write_n(w, 5, 8, 10);
    assert_int_equal(shard_writer_close(w, 1), CC_OK);
    assert_int_equal(check_run(d, 10), 8);
    rmtree(d);
    free(d);
}

static void test_writer_resume_and_abort(void **state)
{
    (void)state;
    char *d = tmpdir();
    shard_writer_opts o;
    shard_writer_opts_default(&o);
    o.max_pairs = 50;
    shard_writer *w;
    assert_int_equal(shard_writer_open(d, &o, &w), CC_OK);
    write_n(w, 0, 70, 64);
    assert_int_equal(shard_writer_commit(w), CC_OK);
    write_n(w, 70, 75, 64);
    shard_writer_abort(w); /* 70..74 are dropped */
    assert_int_equal(shard_writer_committed(w), 70);
    /* A second writer on the same folder is refused while the first holds it. */
    shard_writer *w2;
    assert_int_equal(shard_writer_open(d, &o, &w2), CC_E_BUSY);
    write_n(w, 70, 72, 64);
    assert_int_equal(shard_writer_commit(w), CC_OK);
    assert_int_equal(shard_writer_close(w, 0), CC_OK); /* the open shard stays unsealed */

    assert_int_equal(shard_writer_open(d, &o, &w), CC_OK);
    assert_int_equal(shard_writer_committed(w), 72);
    uint8_t uid[16];
    fake f;
    fake_make(&f, 71, 1); /* the last pair, in the open shard */
    assert_int_equal(shard_writer_last_uid(w, uid), CC_OK);
    assert_memory_equal(uid, f.r.uid, 16);
    free(f.img);
    write_n(w, 72, 130, 64);
    assert_int_equal(shard_writer_close(w, 1), CC_OK);
    assert_int_equal(shard_writer_open(d, &o, &w), CC_OK);
    fake_make(&f, 129, 1); /* the last pair, in the last sealed shard */
    assert_int_equal(shard_writer_last_uid(w, uid), CC_OK);
    assert_memory_equal(uid, f.r.uid, 16);
    free(f.img);
    assert_int_equal(shard_writer_close(w, 1), CC_OK);
    assert_int_equal(check_run(d, 64), 130);
    rmtree(d);
    free(d);
}

/* A crash between rename and manifest append leaves shard-N.lmdb unlisted next to its .open
 * twin; the resumed writer redoes the seal. A torn manifest line is ignored. */
static void test_writer_recovers_interrupted_seal(void **state)
{
    (void)state;
    char *d = tmpdir();
    shard_writer_opts o;
    shard_writer_opts_default(&o);
    o.max_pairs = 40;
    shard_writer *w;
    assert_int_equal(shard_writer_open(d, &o, &w), CC_OK);
    write_n(w, 0, 50, 32);
    assert_int_equal(shard_writer_close(w, 0), CC_OK); /* shard 0 sealed, shard 1 open */
    char p[4200], q[4200];
    snprintf(p, sizeof p, "%s/shard-000001.lmdb.open", d);
    snprintf(q, sizeof q, "%s/shard-000001.lmdb", d);
    char cmd[9000];
    snprintf(cmd, sizeof cmd, "cp '%s' '%s' && printf 'shard-000001.lmdb\\t10\\t12' >> '%s/%s'", p,
             q, d, SHARD_MANIFEST_NAME);
    assert_int_equal(system(cmd), 0);
    snprintf(q, sizeof q, "%s/shard-000001.lmdb.tmp", d);
    int fd = open(q, O_WRONLY | O_CREAT, 0644);
    assert_true(fd >= 0);
    close(fd);

    shard_manifest *m;
    assert_int_equal(shard_manifest_load(d, &m), CC_OK);
    assert_int_equal(m->n, 1); /* the torn line is not an entry */
    shard_manifest_free(m);

    assert_int_equal(shard_writer_open(d, &o, &w), CC_OK);
    assert_int_equal(shard_writer_committed(w), 50);
    assert_false(cc_exists(q)); /* .tmp removed */
    write_n(w, 50, 90, 32);
    assert_int_equal(shard_writer_close(w, 1), CC_OK);
    assert_int_equal(check_run(d, 32), 90);
    rmtree(d);
    free(d);
}

static void flip_byte(const char *path, long off)
{
    int fd = open(path, O_RDWR);
    assert_true(fd >= 0);
    uint8_t b;
    assert_int_equal(pread(fd, &b, 1, off), 1);
    b ^= 0x10;
    assert_int_equal(pwrite(fd, &b, 1, off), 1);
    close(fd);
}

static void count_problem(void *ctx, const char *shard, uint64_t index, const char *what)
{
    assert_string_equal(shard, "shard-000000.lmdb");
    assert_true(index == UINT64_MAX);
    assert_non_null(strstr(what, "shard-000000.lmdb"));
    ++*(int *)ctx;
}

static void test_reader_refuses_damaged(void **state)
{
    (void)state;
    char *d = tmpdir();
    shard_writer *w;
    assert_int_equal(shard_writer_open(d, NULL, &w), CC_OK);
    write_n(w, 0, 30, 500);
    assert_int_equal(shard_writer_close(w, 1), CC_OK);
    shard_manifest *m;
    assert_int_equal(shard_manifest_load(d, &m), CC_OK);
    char path[4096];
    assert_int_equal(shard_manifest_shard_path(m, 0, path, sizeof path), CC_OK);
    shard_reader *r;
    long size = (long)m->entries[0].bytes;
    long offs[] = {0, 100, 4096 + 10, size / 2, size - 1};
    for (size_t k = 0; k < sizeof offs / sizeof offs[0]; k++) {
        flip_byte(path, offs[k]);
        assert_int_equal(shard_reader_open(path, &m->entries[0], &r), CC_E_CHECKSUM);
        assert_non_null(strstr(cc_errmsg(), "checksum mismatch"));
        flip_byte(path, offs[k]);
    }
    assert_int_equal(truncate(path, size - 4096), 0);
    assert_int_equal(shard_reader_open(path, &m->entries[0], &r), CC_E_CHECKSUM);
    assert_non_null(strstr(cc_errmsg(), "truncated"));

    /* verify reports the shard as bad and keeps going. */
    shard_verify_report rep;
    int problems = 0;
    assert_int_equal(shard_verify(m, NULL, count_problem, &problems, &rep), CC_OK);
    assert_int_equal(rep.bad_shards, 1);
    assert_int_equal(problems, 1);
    shard_manifest_free(m);
    rmtree(d);
    free(d);
}

/* Four threads, one view each, read the same shard in different orders; every record decodes to
 * what was written. */
typedef struct reader_job {
    shard_reader *r;
    uint64_t stride, errors;
} reader_job;

static void *read_all(void *arg)
{
    reader_job *j = arg;
    shard_view *v;
    if (shard_view_open(j->r, &v) != CC_OK) {
        j->errors++;
        return NULL;
    }
    uint64_t n = shard_reader_count(j->r);
    for (int round = 0; round < 3; round++) {
        for (uint64_t k = 0; k < n; k++) {
            uint64_t i = (k * j->stride) % n;
            shard_record d;
            fake f;
            fake_make(&f, i, 700);
            if (shard_view_get(v, i, &d) != CC_OK || strcmp(d.caption, f.caption) != 0 ||
                d.image_len != 700 || memcmp(d.image, f.img, 700) != 0)
                j->errors++;
            free(f.img);
        }
    }
    shard_view_close(v);
    return NULL;
}

static void test_reader_threads(void **state)
{
    (void)state;
    char *d = tmpdir();
    shard_writer *w;
    assert_int_equal(shard_writer_open(d, NULL, &w), CC_OK);
    write_n(w, 0, 997, 700);
    assert_int_equal(shard_writer_close(w, 1), CC_OK);
    shard_manifest *m;
    assert_int_equal(shard_manifest_load(d, &m), CC_OK);
    char path[4096];
    assert_int_equal(shard_manifest_shard_path(m, 0, path, sizeof path), CC_OK);
    shard_reader *r;
    assert_int_equal(shard_reader_open(path, &m->entries[0], &r), CC_OK);
    pthread_t t[4];
    reader_job jobs[4];
    for (int i = 0; i < 4; i++) {
        jobs[i] = (reader_job){.r = r, .stride = (uint64_t)(1 + 2 * i * 37), .errors = 0};
        assert_int_equal(pthread_create(&t[i], NULL, read_all, &jobs[i]), 0);
    }
    for (int i = 0; i < 4; i++) {
        pthread_join(t[i], NULL);
        assert_int_equal(jobs[i].errors, 0);
    }
    shard_reader_close(r);
    shard_manifest_free(m);
    rmtree(d);
    free(d);
}

/* Manifests that are not ours, newer, or damaged are refused with the line that is wrong. */
static void test_manifest_errors(void **state)
{
    (void)state;
    char *d = tmpdir();
    char path[4200];
    snprintf(path, sizeof path, "%s/%s", d, SHARD_MANIFEST_NAME);
    static const struct {
        const char *text;
        cc_status st;
        const char *needle;
    } cases[] = {
        {"hello\n", CC_E_FORMAT, "not a clipcrawl manifest"},
        {"hello", CC_E_FORMAT, "not a clipcrawl manifest"},
        {"# clipcrawl manifest 2\n", CC_E_VERSION, "upgrade"},
        {"# clipcrawl manifest 1\nshard-000000.lmdb\t1\t2\n", CC_E_FORMAT, ":2:"},
        {"# clipcrawl manifest 1\n../../etc/passwd\t1\t2\t"
         "0123456789abcdef0123456789abcdef\t5\n",
         CC_E_FORMAT, ":2:"},
        {"# clipcrawl manifest 1\nshard-000000.lmdb\tx\t2\t"
         "0123456789abcdef0123456789abcdef\t5\n",
         CC_E_FORMAT, ":2:"},
        {"# clipcrawl manifest 1\nshard-000000.lmdb\t1\t2\t"
         "0123456789abcdef0123456789abcdeg\t5\n",
         CC_E_FORMAT, ":2:"},
        {"# clipcrawl manifest 1\n# c\nshard-000000.lmdb\t1\t2\t"
         "0123456789abcdef0123456789abcdef\t5\nshard-000001.lmdb\t3",
         CC_OK, NULL},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        FILE *f = fopen(path, "w");
        assert_non_null(f);
        fputs(cases[i].text, f);
        fclose(f);
        shard_manifest *m = NULL;
        assert_int_equal(shard_manifest_load(d, &m), cases[i].st);
        if (cases[i].needle)
            assert_non_null(strstr(cc_errmsg(), cases[i].needle));
        if (m) {
            assert_int_equal(m->n, 1);
            assert_int_equal(m->entries[0].count, 1);
            assert_int_equal(m->entries[0].bytes, 2);
            assert_int_equal(m->entries[0].sealed_at, 5);
        }
        shard_manifest_free(m);
    }
    /* Empty, or the first append torn mid-header: nothing sealed yet. */
    const char *empty[] = {"", "# clipcrawl man"};
    for (size_t i = 0; i < 2; i++) {
        FILE *f = fopen(path, "w");
        assert_non_null(f);
        fputs(empty[i], f);
        fclose(f);
        shard_manifest *m = NULL;
        assert_int_equal(shard_manifest_load(d, &m), CC_OK);
        assert_int_equal(m->n, 0);
        shard_manifest_free(m);
    }
    unlink(path);
    shard_manifest *m = NULL;
    assert_int_equal(shard_manifest_load(d, &m), CC_E_NOTFOUND);
    rmtree(d);
    free(d);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_codec_roundtrip),
        cmocka_unit_test(test_codec_rejects_damage),
        cmocka_unit_test(test_codec_limits),
        cmocka_unit_test(test_writer_rolls_by_count),
        cmocka_unit_test(test_writer_rolls_by_bytes),
        cmocka_unit_test(test_writer_map_full_replays),
        cmocka_unit_test(test_writer_too_large),
        cmocka_unit_test(test_writer_duplicate_uid),
        cmocka_unit_test(test_writer_resume_and_abort),
        cmocka_unit_test(test_writer_recovers_interrupted_seal),
        cmocka_unit_test(test_reader_refuses_damaged),
        cmocka_unit_test(test_reader_threads),
        cmocka_unit_test(test_manifest_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
