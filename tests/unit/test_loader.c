/* tests/unit/test_loader.c — the trainer's data loader: permutation, determinism across thread
 * counts, rank split, resume, normalization, augmentation, corrupt records. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "common/log.h"
#include "filters/image.h"
#include "shards/shard.h"
#include "trainer/loader.h"

#define SOT 49406
#define EOT 49407

static const float mean[3] = {0.48145466f, 0.4578275f, 0.40821073f};
static const float stdv[3] = {0.26862954f, 0.26130258f, 0.27577711f};

/* Bytes as token ids between SOT and EOT; an empty caption is an error (a corrupt record). */
static cc_status tok_bytes(void *ctx, const char *text, size_t len, int32_t *out, uint32_t n)
{
    int *calls = ctx;
    if (calls)
        __atomic_fetch_add(calls, 1, __ATOMIC_RELAXED);
    if (len == 0)
        return cc_fail(CC_E_FORMAT, "empty caption");
    memset(out, 0, n * sizeof *out);
    uint32_t k = 0;
    out[k++] = SOT;
    for (size_t i = 0; i < len && k < n - 1; i++)
        out[k++] = (unsigned char)text[i];
    out[k] = EOT;
    return CC_OK;
}

enum { REC_OK = 0, REC_GARBAGE = 1, REC_EMPTY_CAPTION = 2 };

/* The picture of record i: a w x h pattern that differs per record. */
static void pattern(img_rgb *im, uint32_t w, uint32_t h, size_t i)
{
    assert_int_equal(img_rgb_alloc(im, w, h, 0), CC_OK);
    for (uint32_t y = 0; y < h; y++)
        for (uint32_t x = 0; x < w; x++) {
            uint8_t *p = im->px + ((size_t)y * w + x) * 3;
            p[0] = (uint8_t)(x * 4 + i * 13);
            p[1] = (uint8_t)(y * 5 + i * 7);
            p[2] = (uint8_t)((x + y) * 3);
        }
}

typedef struct ds {
    char *dir;
    size_t n;
    cc_buf *img; /* (n) the stored image bytes of each record */
} ds;

static void rmtree(const char *d)
{
    char cmd[4200];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", d);
    assert_int_equal(system(cmd), 0);
}

/* A sealed run of n records, 7 per shard; kind[i] (or REC_OK when kind is NULL) says what
 * record i is. */
static ds ds_make(size_t n, const int *kind)
{
    ds d;
    d.dir = strdup("/tmp/cc-test-loader-XXXXXX");
    assert_non_null(mkdtemp(d.dir));
    d.n = n;
    d.img = calloc(n, sizeof *d.img);
    shard_writer_opts wo;
    shard_writer_opts_default(&wo);
    wo.max_pairs = 7;
    wo.dict_samples = 0;
    wo.max_bytes = 64u << 20;
    shard_writer *w;
    assert_int_equal(shard_writer_open(d.dir, &wo, &w), CC_OK);
    img_rgb im = {0};
    for (size_t i = 0; i < n; i++) {
        int k = kind ? kind[i] : REC_OK;
        cc_buf_init(&d.img[i], 1 << 24);
        uint32_t iw = 64 + (uint32_t)(i % 3) * 16, ih = 48;
        if (k == REC_GARBAGE) {
            for (size_t j = 0; j < 300; j++)
                assert_int_equal(cc_buf_append(&d.img[i], &(uint8_t){(uint8_t)(j * 7 + i)}, 1),
                                 CC_OK);
        } else {
            pattern(&im, iw, ih, i);
            assert_int_equal(img_encode_jpeg(&im, 90, &d.img[i]), CC_OK);
        }
        char cap[64], url[64];
        snprintf(cap, sizeof cap, "%s", k == REC_EMPTY_CAPTION ? "" : "a caption");
        if (k != REC_EMPTY_CAPTION)
            snprintf(cap, sizeof cap, "caption of record %zu", i);
        snprintf(url, sizeof url, "https://example.com/%zu.jpg", i);
        shard_record r;
        memset(&r, 0, sizeof r);
        assert_int_equal(shard_pair_uid(url, cap, r.uid), CC_OK);
        r.caption = cap;
        r.url = url;
        r.page_url = "";
        r.license = "";
        r.query_id = SHARD_NO_QUERY;
        r.image = d.img[i].data;
        r.image_len = d.img[i].len;
        r.image_format = SHARD_IMG_JPEG;
        r.width = r.orig_width = iw;
        r.height = r.orig_height = ih;
        assert_int_equal(shard_writer_add(w, &r), CC_OK);
    }
    img_rgb_free(&im);
    assert_int_equal(shard_writer_close(w, 1), CC_OK);
    return d;
}

static void ds_free(ds *d)
{
    rmtree(d->dir);
    for (size_t i = 0; i < d->n; i++)
        cc_buf_free(&d->img[i]);
    free(d->img);
    free(d->dir);
}

static void opts_for(loader_opts *o, const ds *d)
{
    loader_opts_default(o);
    o->manifest = d->dir;
    o->image_size = 24;
    o->context = 16;
    o->batch = 5;
    o->seed = 42;
    o->threads = 2;
    o->prefetch = 2;
    o->augment = 1;
    o->scale_min = 0.3f;
    o->scale_max = 1.0f;
    o->tokenize = tok_bytes;
}

/* A copy of a delivered batch. */
typedef struct copy {
    uint64_t epoch, batch;
    uint64_t *index;
    int32_t *tokens;
    float *images;
} copy;

static void take(const loader_opts *o, const loader_batch *b, copy *c)
{
    size_t img_n = (size_t)b->n * 3 * o->image_size * o->image_size;
    c->epoch = b->epoch;
    c->batch = b->batch;
    c->index = malloc(b->n * sizeof *c->index);
    c->tokens = malloc((size_t)b->n * o->context * sizeof *c->tokens);
    c->images = malloc(img_n * sizeof *c->images);
    memcpy(c->index, b->index, b->n * sizeof *c->index);
    memcpy(c->tokens, b->tokens, (size_t)b->n * o->context * sizeof *c->tokens);
    memcpy(c->images, b->images, img_n * sizeof *c->images);
}

static void copy_free(copy *c)
{
    free(c->index);
    free(c->tokens);
    free(c->images);
}

/* Runs a loader for nb batches into out[0..nb). */
static void run(const loader_opts *o, size_t nb, copy *out)
{
    loader *l;
    assert_int_equal(loader_new(o, &l), CC_OK);
    for (size_t i = 0; i < nb; i++) {
        const loader_batch *b;
        assert_int_equal(loader_next(l, &b), CC_OK);
        assert_int_equal(b->n, o->batch);
        take(o, b, &out[i]);
    }
    loader_free(l);
}

static void assert_copy_equal(const loader_opts *o, const copy *a, const copy *b)
{
    assert_int_equal(a->epoch, b->epoch);
    assert_int_equal(a->batch, b->batch);
    assert_memory_equal(a->index, b->index, o->batch * sizeof *a->index);
    assert_memory_equal(a->tokens, b->tokens, (size_t)o->batch * o->context * sizeof *a->tokens);
    assert_memory_equal(a->images, b->images,
                        (size_t)o->batch * 3 * o->image_size * o->image_size * sizeof(float));
}

/* ---- tests --------------------------------------------------------------------------------- */

static void test_perm(void **state)
{
    (void)state;
    const uint64_t ns[] = {1, 2, 3, 5, 16, 17, 1000, 4097};
    for (size_t t = 0; t < sizeof ns / sizeof *ns; t++) {
        uint64_t n = ns[t];
        uint8_t *seen = calloc(n, 1);
        for (uint64_t seed = 0; seed < 3; seed++)
            for (uint64_t e = 0; e < 3; e++) {
                memset(seen, 0, n);
                for (uint64_t p = 0; p < n; p++) {
                    uint64_t x = loader_perm(seed, e, n, p);
                    assert_true(x < n);
                    assert_int_equal(seen[x], 0);
                    seen[x] = 1;
                    assert_int_equal(loader_perm(seed, e, n, p), x); /* a pure function */
                }
            }
        free(seen);
    }
    /* Different epochs and seeds give different orders, and none is the identity. */
    uint64_t n = 1000, same_e = 0, same_s = 0, fixed = 0;
    for (uint64_t p = 0; p < n; p++) {
        uint64_t a = loader_perm(7, 0, n, p);
        same_e += a == loader_perm(7, 1, n, p);
        same_s += a == loader_perm(8, 0, n, p);
        fixed += a == p;
    }
    assert_true(same_e < 20);
    assert_true(same_s < 20);
    assert_true(fixed < 20);
}

/* Same batches (indices, tokens, pixels) with 1 and 3 threads and different prefetch depths;
 * each epoch visits every record once; the pixels are what loader_image makes. */
static void test_deterministic_threads(void **state)
{
    (void)state;
    ds d = ds_make(40, NULL);
    loader_opts o;
    opts_for(&o, &d);
    enum { NB = 12 }; /* 8 batches per epoch: crosses into epoch 1 */
    copy a[NB], b[NB];
    o.threads = 1;
    o.prefetch = 1;
    run(&o, NB, a);
    o.threads = 3;
    o.prefetch = 4;
    run(&o, NB, b);
    for (size_t i = 0; i < NB; i++) {
        assert_int_equal(a[i].epoch, i / 8);
        assert_int_equal(a[i].batch, i % 8);
        assert_copy_equal(&o, &a[i], &b[i]);
    }
    uint8_t seen[40] = {0};
    for (size_t i = 0; i < 8; i++)
        for (size_t j = 0; j < 5; j++) {
            uint64_t x = a[i].index[j];
            assert_true(x < 40);
            assert_int_equal(seen[x], 0);
            seen[x] = 1;
            assert_int_equal(x, loader_perm(o.seed, 0, 40, i * 5 + j));
        }
    /* Pixels and tokens of a sample are those of its record. */
    size_t img_n = 3 * (size_t)o.image_size * o.image_size;
    float *ref = malloc(img_n * sizeof *ref);
    for (size_t i = 7; i < 10; i++)
        for (size_t j = 0; j < 5; j++) {
            uint64_t x = a[i].index[j];
            assert_int_equal(loader_image(d.img[x].data, d.img[x].len, o.image_size, 1, o.scale_min,
                                          o.scale_max, o.seed, a[i].epoch, x, ref),
                             CC_OK);
            assert_memory_equal(ref, a[i].images + j * img_n, img_n * sizeof *ref);
            char cap[64];
            int len = snprintf(cap, sizeof cap, "caption of record %llu", (unsigned long long)x);
            const int32_t *t = a[i].tokens + j * o.context;
            assert_int_equal(t[0], SOT);
            for (int k = 0; k < 14; k++)
                assert_int_equal(t[1 + k], k < len ? (unsigned char)cap[k] : 0);
            assert_int_equal(t[15], EOT);
        }
    free(ref);
    for (size_t i = 0; i < NB; i++) {
        copy_free(&a[i]);
        copy_free(&b[i]);
    }
    ds_free(&d);
}

/* world = 2: the ranks see disjoint records that together cover the epoch's first 2*per-rank
 * positions. */
static void test_rank_split(void **state)
{
    (void)state;
    ds d = ds_make(41, NULL);
    loader_opts o;
    opts_for(&o, &d);
    o.batch = 3;
    o.world = 2;
    /* 41 records: 20 per rank, 6 batches of 3 per epoch. */
    copy r[2][6];
    for (uint32_t rank = 0; rank < 2; rank++) {
        o.rank = rank;
        loader *l;
        assert_int_equal(loader_new(&o, &l), CC_OK);
        loader_stats st;
        loader_get_stats(l, &st);
        assert_int_equal(st.records, 41);
        assert_int_equal(st.batches_per_epoch, 6);
        loader_free(l);
        run(&o, 6, r[rank]);
    }
    uint8_t seen[41] = {0};
    for (int rank = 0; rank < 2; rank++)
        for (int i = 0; i < 6; i++) {
            assert_int_equal(r[rank][i].epoch, 0);
            for (int j = 0; j < 3; j++) {
                uint64_t x = r[rank][i].index[j];
                assert_int_equal(seen[x], 0);
                seen[x] = 1;
            }
        }
    for (uint64_t p = 0; p < 36; p++)
        assert_int_equal(seen[loader_perm(o.seed, 0, 41, p)], 1);
    for (uint64_t p = 36; p < 41; p++)
        assert_int_equal(seen[loader_perm(o.seed, 0, 41, p)], 0);
    for (int rank = 0; rank < 2; rank++)
        for (int i = 0; i < 6; i++)
            copy_free(&r[rank][i]);
    ds_free(&d);
}

/* Resuming from loader_position gives the same following batches, across an epoch boundary. */
static void test_resume(void **state)
{
    (void)state;
    ds d = ds_make(22, NULL);
    loader_opts o;
    opts_for(&o, &d);
    o.batch = 4; /* 5 batches per epoch */
    enum { NB = 12, CUT = 4 };
    copy a[NB], b[NB - CUT];
    loader *l;
    assert_int_equal(loader_new(&o, &l), CC_OK);
    uint64_t e, bt;
    loader_position(l, &e, &bt);
    assert_int_equal(e, 0);
    assert_int_equal(bt, 0);
    uint64_t re = 0, rb = 0;
    for (size_t i = 0; i < NB; i++) {
        const loader_batch *bb;
        assert_int_equal(loader_next(l, &bb), CC_OK);
        take(&o, bb, &a[i]);
        if (i + 1 == CUT)
            loader_position(l, &re, &rb);
    }
    loader_position(l, &e, &bt);
    assert_int_equal(e, 2);
    assert_int_equal(bt, 2);
    loader_stats st;
    loader_get_stats(l, &st);
    assert_int_equal(st.samples, NB * 4);
    assert_int_equal(st.corrupt, 0);
    loader_free(l);
    assert_int_equal(re, 0);
    assert_int_equal(rb, 4);
    o.start_epoch = re;
    o.start_batch = rb;
    o.threads = 3;
    run(&o, NB - CUT, b);
    for (size_t i = 0; i < NB - CUT; i++)
        assert_copy_equal(&o, &a[CUT + i], &b[i]);
    /* A start at the end of an epoch rolls into the next one. */
    o.start_epoch = 1;
    o.start_batch = 5;
    copy c[1];
    run(&o, 1, c);
    assert_copy_equal(&o, &a[10], &c[0]);
    copy_free(&c[0]);
    for (size_t i = 0; i < NB; i++)
        copy_free(&a[i]);
    for (size_t i = 0; i < NB - CUT; i++)
        copy_free(&b[i]);
    ds_free(&d);
}

/* A solid colour gives CLIP-normalized constants; a picture of two halves keeps its geometry in
 * the centre crop. */
static void test_normalize(void **state)
{
    (void)state;
    img_rgb im = {0}, dec = {0};
    cc_buf jpg;
    cc_buf_init(&jpg, 1 << 24);
    assert_int_equal(img_rgb_alloc(&im, 96, 64, 0), CC_OK);
    for (size_t i = 0; i < 96 * 64; i++) {
        im.px[3 * i] = 200;
        im.px[3 * i + 1] = 100;
        im.px[3 * i + 2] = 50;
    }
    assert_int_equal(img_encode_jpeg(&im, 95, &jpg), CC_OK);
    img_limits lim;
    img_limits_default(&lim);
    img_reason why;
    assert_int_equal(img_decode(jpg.data, jpg.len, &lim, 0, 0, &dec, NULL, &why), CC_OK);
    const uint8_t *c = dec.px + (32 * 96 + 48) * 3; /* what JPEG made of the colour */
    for (int k = 0; k < 3; k++)
        assert_true(abs((int)c[k] - (int[]){200, 100, 50}[k]) <= 3);
    for (uint32_t S = 8; S <= 64; S *= 2) { /* S = 8, 16: DCT-scaled decodes; 64: full size */
        float *out = malloc(3 * (size_t)S * S * sizeof *out);
        assert_int_equal(loader_image(jpg.data, jpg.len, S, 0, 1, 1, 0, 0, 0, out), CC_OK);
        for (int k = 0; k < 3; k++) {
            float want = ((float)c[k] / 255.0f - mean[k]) / stdv[k];
            for (size_t i = 0; i < (size_t)S * S; i++)
                assert_float_equal(out[k * S * S + i], want, 2.0f / 255.0f / stdv[k]);
        }
        free(out);
    }
    /* A large picture that the 1/8 DCT scale still leaves over 2S: the area path. */
    img_rgb big = {0};
    assert_int_equal(img_rgb_alloc(&big, 640, 480, 0), CC_OK);
    for (size_t i = 0; i < 640 * 480; i++) {
        big.px[3 * i] = 200;
        big.px[3 * i + 1] = 100;
        big.px[3 * i + 2] = 50;
    }
    cc_buf_reset(&jpg);
    assert_int_equal(img_encode_jpeg(&big, 95, &jpg), CC_OK);
    img_rgb_free(&big);
    float small[3 * 8 * 8];
    assert_int_equal(loader_image(jpg.data, jpg.len, 8, 0, 1, 1, 0, 0, 0, small), CC_OK);
    for (int k = 0; k < 3; k++)
        for (size_t i = 0; i < 64; i++)
            assert_float_equal(small[k * 64 + i], ((float)c[k] / 255.0f - mean[k]) / stdv[k],
                               3.0f / 255.0f / stdv[k]);
    /* Left third red, middle third green, right third blue (96 wide): the centre 64x64 crop
     * holds x in [16, 80): red for x < 32, green up to 64, blue after. */
    for (uint32_t y = 0; y < 64; y++)
        for (uint32_t x = 0; x < 96; x++) {
            uint8_t *p = im.px + ((size_t)y * 96 + x) * 3;
            p[0] = x < 32 ? 255 : 0;
            p[1] = x >= 32 && x < 64 ? 255 : 0;
            p[2] = x >= 64 ? 255 : 0;
        }
    cc_buf_reset(&jpg);
    assert_int_equal(img_encode_jpeg(&im, 95, &jpg), CC_OK);
    const uint32_t S = 32;
    float out[3 * 32 * 32];
    assert_int_equal(loader_image(jpg.data, jpg.len, S, 0, 1, 1, 0, 0, 0, out), CC_OK);
    const float hi[3] = {(1 - mean[0]) / stdv[0], (1 - mean[1]) / stdv[1], (1 - mean[2]) / stdv[2]};
    for (uint32_t x = 0; x < S; x++) {
        int want = x < 6 ? 0 : x >= 10 && x < 22 ? 1 : x >= 26 ? 2 : -1;
        if (want < 0)
            continue; /* near an edge (JPEG ringing, interpolation) */
        for (int k = 0; k < 3; k++) {
            float v = out[k * S * S + 16 * S + x];
            if (k == want)
                assert_true(v > hi[k] - 0.5f);
            else
                assert_true(v < 0);
        }
    }
    /* Garbage is CC_E_FORMAT. */
    assert_int_equal(loader_image("not an image", 12, S, 0, 1, 1, 0, 0, 0, out), CC_E_FORMAT);
    cc_buf_free(&jpg);
    img_rgb_free(&im);
    img_rgb_free(&dec);
}

/* out (3,S,S) is the centre crop of dec (full size) by a plain per-pixel bilinear in doubles. */
static void assert_centre_ref(const img_rgb *dec, uint32_t S, const float *out)
{
    const uint32_t w = dec->w, h = dec->h, side = w < h ? w : h;
    const double x0 = (w - side) / 2, y0 = (h - side) / 2;
    for (uint32_t oy = 0; oy < S; oy++)
        for (uint32_t ox = 0; ox < S; ox++) {
            double sx = x0 + (ox + 0.5) * side / S - 0.5, sy = y0 + (oy + 0.5) * side / S - 0.5;
            sx = sx < 0 ? 0 : sx > w - 1 ? w - 1 : sx;
            sy = sy < 0 ? 0 : sy > h - 1 ? h - 1 : sy;
            uint32_t xa = (uint32_t)sx, ya = (uint32_t)sy;
            uint32_t xb = xa < w - 1 ? xa + 1 : xa, yb = ya < h - 1 ? ya + 1 : ya;
            double fx = sx - xa, fy = sy - ya;
            for (int c = 0; c < 3; c++) {
                double p00 = dec->px[(ya * w + xa) * 3 + c], p01 = dec->px[(ya * w + xb) * 3 + c];
                double p10 = dec->px[(yb * w + xa) * 3 + c], p11 = dec->px[(yb * w + xb) * 3 + c];
                double v =
                    (p00 * (1 - fx) + p01 * fx) * (1 - fy) + (p10 * (1 - fx) + p11 * fx) * fy;
                double want = (v / 255 - mean[c]) / stdv[c];
                assert_float_equal(out[(size_t)c * S * S + oy * S + ox], want, 1e-3);
            }
        }
}

/* The fused crop + bilinear resize equals a plain per-pixel version in doubles. */
static void test_bilinear_reference(void **state)
{
    (void)state;
    img_rgb im = {0}, dec = {0};
    pattern(&im, 60, 44, 5);
    cc_buf jpg;
    cc_buf_init(&jpg, 1 << 24);
    assert_int_equal(img_encode_jpeg(&im, 90, &jpg), CC_OK);
    img_limits lim;
    img_limits_default(&lim);
    img_reason why;
    assert_int_equal(img_decode(jpg.data, jpg.len, &lim, 0, 0, &dec, NULL, &why), CC_OK);
    const uint32_t sizes[] = {30, 44, 57}; /* downscale (full-size decode), same, upscale */
    for (size_t t = 0; t < 3; t++) {
        const uint32_t S = sizes[t];
        float *out = malloc(3 * (size_t)S * S * sizeof *out);
        assert_int_equal(loader_image(jpg.data, jpg.len, S, 0, 1, 1, 0, 0, 0, out), CC_OK);
        assert_centre_ref(&dec, S, out);
        free(out);
    }
    /* EXIF orientation 6 (rotate 90°): the crop is taken on the oriented 44 x 60 picture. An APP1
     * segment goes right after SOI. */
    static const uint8_t app1[] = {0xff, 0xe1, 0x00, 0x22, 'E',  'x',  'i',  'f',  0,
                                   0,    'M',  'M',  0x00, 0x2a, 0x00, 0x00, 0x00, 0x08,
                                   0x00, 0x01, 0x01, 0x12, 0x00, 0x03, 0x00, 0x00, 0x00,
                                   0x01, 0x00, 0x06, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00};
    cc_buf rot;
    cc_buf_init(&rot, 1 << 24);
    assert_int_equal(cc_buf_append(&rot, jpg.data, 2), CC_OK);
    assert_int_equal(cc_buf_append(&rot, app1, sizeof app1), CC_OK);
    assert_int_equal(cc_buf_append(&rot, jpg.data + 2, jpg.len - 2), CC_OK);
    img_decode_info info;
    assert_int_equal(img_decode(rot.data, rot.len, &lim, 0, 0, &dec, &info, &why), CC_OK);
    assert_int_equal(info.orientation, 6);
    assert_int_equal(dec.w, 44);
    assert_int_equal(dec.h, 60);
    float out[3 * 30 * 30], out2[3 * 30 * 30];
    assert_int_equal(loader_image(rot.data, rot.len, 30, 0, 1, 1, 0, 0, 0, out), CC_OK);
    assert_centre_ref(&dec, 30, out);
    assert_int_equal(loader_image(rot.data, rot.len, 30, 1, 0.2f, 1, 3, 1, 4, out), CC_OK);
    assert_int_equal(loader_image(rot.data, rot.len, 30, 1, 0.2f, 1, 3, 1, 4, out2), CC_OK);
    assert_memory_equal(out, out2, sizeof out);
    cc_buf_free(&rot);
    cc_buf_free(&jpg);
    img_rgb_free(&im);
    img_rgb_free(&dec);
}

/* augment = 1: the crop depends on (seed, epoch, index) and nothing else. */
static void test_augment(void **state)
{
    (void)state;
    img_rgb im = {0};
    pattern(&im, 128, 96, 3);
    cc_buf jpg;
    cc_buf_init(&jpg, 1 << 24);
    assert_int_equal(img_encode_jpeg(&im, 90, &jpg), CC_OK);
    const uint32_t S = 32;
    const size_t n = 3 * S * S;
    float *o[5];
    for (int e = 0; e < 5; e++) {
        o[e] = malloc(n * sizeof(float));
        assert_int_equal(loader_image(jpg.data, jpg.len, S, 1, 0.08f, 1, 9, (uint64_t)e, 1, o[e]),
                         CC_OK);
    }
    for (int a = 0; a < 5; a++)
        for (int b = a + 1; b < 5; b++)
            assert_memory_not_equal(o[a], o[b], n * sizeof(float));
    float *again = malloc(n * sizeof(float));
    assert_int_equal(loader_image(jpg.data, jpg.len, S, 1, 0.08f, 1, 9, 2, 1, again), CC_OK);
    assert_memory_equal(again, o[2], n * sizeof(float));
    assert_int_equal(loader_image(jpg.data, jpg.len, S, 1, 0.08f, 1, 9, 2, 2, again), CC_OK);
    assert_memory_not_equal(again, o[2], n * sizeof(float));
    assert_int_equal(loader_image(jpg.data, jpg.len, S, 1, 0.08f, 1, 10, 2, 1, again), CC_OK);
    assert_memory_not_equal(again, o[2], n * sizeof(float));
    /* Without augmentation the epoch does not matter. */
    assert_int_equal(loader_image(jpg.data, jpg.len, S, 0, 1, 1, 9, 0, 1, o[0]), CC_OK);
    assert_int_equal(loader_image(jpg.data, jpg.len, S, 0, 1, 1, 9, 3, 1, o[1]), CC_OK);
    assert_memory_equal(o[0], o[1], n * sizeof(float));
    /* Every value lies in the normalized range of 8-bit pixels. */
    for (size_t i = 0; i < n; i++) {
        int k = (int)(i / (S * S));
        assert_true(o[4][i] >= -mean[k] / stdv[k] - 1e-4f);
        assert_true(o[4][i] <= (1 - mean[k]) / stdv[k] + 1e-4f);
    }
    for (int e = 0; e < 5; e++)
        free(o[e]);
    free(again);
    cc_buf_free(&jpg);
    img_rgb_free(&im);
}

/* Garbage image bytes and an untokenizable caption are counted and skipped. */
static void test_corrupt_skipped(void **state)
{
    (void)state;
    int kind[40] = {0};
    kind[5] = kind[17] = REC_GARBAGE;
    kind[23] = REC_EMPTY_CAPTION;
    ds d = ds_make(40, kind);
    loader_opts o;
    opts_for(&o, &d);
    cc_log_level lv = cc_log_get_level();
    cc_log_set_level(CC_LOG_QUIET);
    int calls = 0;
    o.tokenize_ctx = &calls;
    o.threads = 3;
    loader *l;
    assert_int_equal(loader_new(&o, &l), CC_OK);
    for (int i = 0; i < 16; i++) { /* two epochs */
        const loader_batch *b;
        assert_int_equal(loader_next(l, &b), CC_OK);
        for (uint32_t j = 0; j < b->n; j++)
            assert_true(b->index[j] != 5 && b->index[j] != 17 && b->index[j] != 23);
    }
    /* Each sample walks from its position past bad records: the count is exact. */
    uint64_t want = 0;
    for (uint64_t e = 0; e < 2; e++)
        for (uint64_t p = 0; p < 40; p++)
            for (uint64_t k = p; kind[loader_perm(o.seed, e, 40, k % 40)] != REC_OK; k++)
                want++;
    assert_true(want >= 6);
    loader_stats st;
    loader_get_stats(l, &st);
    assert_int_equal(st.corrupt, want);
    assert_int_equal(st.samples, 80);
    loader_free(l);
    assert_true(calls >= 80);
    cc_log_set_level(lv);
    ds_free(&d);
}

/* All records bad, or most of them: CC_E_FORMAT, no crash, and the error sticks. */
static void test_corrupt_fatal(void **state)
{
    (void)state;
    cc_log_level lv = cc_log_get_level();
    cc_log_set_level(CC_LOG_QUIET);
    int kind[100];
    for (int i = 0; i < 100; i++)
        kind[i] = REC_GARBAGE;
    ds d = ds_make(10, kind);
    loader_opts o;
    opts_for(&o, &d);
    loader *l;
    assert_int_equal(loader_new(&o, &l), CC_OK);
    const loader_batch *b;
    assert_int_equal(loader_next(l, &b), CC_E_FORMAT);
    assert_null(b);
    assert_int_equal(loader_next(l, &b), CC_E_FORMAT);
    loader_free(l);
    ds_free(&d);

    /* 70 of 100 bad: each sample still finds a good record, but the ratio stops the run. */
    for (int i = 0; i < 100; i++)
        kind[i] = i % 10 < 7 ? REC_GARBAGE : REC_OK;
    d = ds_make(100, kind);
    opts_for(&o, &d);
    o.batch = 10;
    assert_int_equal(loader_new(&o, &l), CC_OK);
    cc_status st = CC_OK;
    int got = 0;
    while (got < 10 && (st = loader_next(l, &b)) == CC_OK)
        got++;
    assert_int_equal(st, CC_E_FORMAT);
    assert_true(got >= 1); /* not before 64 records were tried */
    loader_free(l);
    ds_free(&d);

    /* 10 of 100 bad: a whole epoch goes through. */
    for (int i = 0; i < 100; i++)
        kind[i] = i % 10 == 3 ? REC_GARBAGE : REC_OK;
    d = ds_make(100, kind);
    opts_for(&o, &d);
    o.batch = 10;
    assert_int_equal(loader_new(&o, &l), CC_OK);
    for (int i = 0; i < 10; i++)
        assert_int_equal(loader_next(l, &b), CC_OK);
    loader_stats ls;
    loader_get_stats(l, &ls);
    assert_true(ls.corrupt >= 10);
    loader_free(l);
    ds_free(&d);
    cc_log_set_level(lv);
}

static void test_invalid(void **state)
{
    (void)state;
    ds d = ds_make(10, NULL);
    loader_opts o;
    opts_for(&o, &d);
    loader *l = (loader *)&o;
    o.batch = 11;
    assert_int_equal(loader_new(&o, &l), CC_E_INVAL);
    assert_null(l);
    o.batch = 6;
    o.world = 2;
    assert_int_equal(loader_new(&o, &l), CC_E_INVAL);
    o.world = 1;
    o.batch = 10;
    assert_int_equal(loader_new(&o, &l), CC_OK);
    loader_free(l);
    o.tokenize = NULL;
    assert_int_equal(loader_new(&o, &l), CC_E_INVAL);
    o.tokenize = tok_bytes;
    o.rank = 1;
    assert_int_equal(loader_new(&o, &l), CC_E_INVAL);
    o.rank = 0;
    o.threads = 0;
    assert_int_equal(loader_new(&o, &l), CC_E_INVAL);
    o.threads = 1;
    o.scale_min = 0;
    assert_int_equal(loader_new(&o, &l), CC_E_INVAL);
    o.scale_min = 0.5f;
    o.manifest = "/nonexistent/loader/run";
    assert_int_not_equal(loader_new(&o, &l), CC_OK);
    loader_free(NULL);
    ds_free(&d);
}

/* Freeing with batches still in flight (workers blocked on a full ring) stops cleanly. */
static void test_free_busy(void **state)
{
    (void)state;
    ds d = ds_make(30, NULL);
    loader_opts o;
    opts_for(&o, &d);
    o.threads = 4;
    o.prefetch = 3;
    for (int k = 0; k < 3; k++) {
        loader *l;
        assert_int_equal(loader_new(&o, &l), CC_OK);
        const loader_batch *b;
        for (int i = 0; i < k; i++)
            assert_int_equal(loader_next(l, &b), CC_OK);
        loader_free(l);
    }
    ds_free(&d);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_perm),          cmocka_unit_test(test_deterministic_threads),
        cmocka_unit_test(test_rank_split),    cmocka_unit_test(test_resume),
        cmocka_unit_test(test_normalize),     cmocka_unit_test(test_bilinear_reference),
        cmocka_unit_test(test_augment),       cmocka_unit_test(test_corrupt_skipped),
        cmocka_unit_test(test_corrupt_fatal), cmocka_unit_test(test_invalid),
        cmocka_unit_test(test_free_busy),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
