/* trainer/loader.c — the data loader (see loader.h for the contract).
 *
 * Work split. A batch is a run of `batch` samples; the samples of all batches are numbered by one
 * linear counter (next_sample) that the workers take in chunks under the mutex. A chunk belongs
 * to one batch g and is written straight into ring slot g % prefetch; workers never take a sample
 * of batch g before the consumer has released batch g - prefetch. Each slot counts its finished
 * samples; the consumer waits for its slot's count to reach `batch`. Every sample is a pure
 * function of (manifest, seed, epoch, position), so which worker makes it never matters.
 *
 * Corrupt records. Sample at position p takes the record at p; if that record is unreadable,
 * undecodable or untokenizable, it takes the record at position p+1, p+2, … (mod N), counting each
 * bad one. The counts travel with the batch and are added to the stats when the batch is
 * delivered, so the CC_E_FORMAT decision (corrupt > tried / 2 after 64 tried) depends only on
 * the data, not on timing.
 */
#include "trainer/loader.h"

#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/log.h"
#include "common/rng.h"
#include "filters/image.h"
#include "filters/probe.h"
#include "shards/shard.h"

#define LOADER_CHUNK 4u /* samples a worker takes per lock */
#define LOADER_WALK 256u /* positions a sample walks past corrupt records before giving up */
#define LOADER_WARN_MAX 16u /* corrupt records logged one by one */
#define LOADER_MIN_TRIED 64u /* the corrupt ratio is judged after this many records tried */

/* CLIP's normalization constants (OpenAI's preprocessing). */
static const float clip_mean[3] = {0.48145466f, 0.4578275f, 0.40821073f};
static const float clip_std[3] = {0.26862954f, 0.26130258f, 0.27577711f};

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* ---- permutation ------------------------------------------------------------------------- */

/* One pass of the 4-round Feistel network over 2*half bits. */
static uint64_t feistel(const uint64_t key[4], unsigned half, uint64_t x)
{
    const uint64_t mask = (UINT64_C(1) << half) - 1;
    uint64_t l = x >> half, r = x & mask;
    for (int i = 0; i < 4; i++) {
        uint64_t nl = r;
        r = l ^ (cc_mix64(r + key[i]) & mask);
        l = nl;
    }
    return l << half | r;
}

uint64_t loader_perm(uint64_t seed, uint64_t epoch, uint64_t n, uint64_t pos)
{
    if (n <= 1)
        return 0;
    unsigned half = 1; /* domain 4^half >= n; half <= 32 so the shifts stay defined */
    while (half < 32 && (UINT64_C(1) << (2 * half)) < n)
        half++;
    uint64_t key[4];
    uint64_t k0 = cc_mix64(seed ^ cc_mix64(epoch + UINT64_C(0x9e3779b97f4a7c15)));
    for (int i = 0; i < 4; i++)
        key[i] = cc_mix64(k0 + (uint64_t)(i + 1) * UINT64_C(0xbf58476d1ce4e5b9));
    /* Cycle walking: the domain is < 4n, so fewer than 4 passes on average; the walk always
     * ends because pos itself lies on its cycle. */
    uint64_t x = pos % n;
    do
        x = feistel(key, half, x);
    while (x >= n);
    return x;
}

/* ---- one image ----------------------------------------------------------------------------- */

/* Per-thread scratch for the image path (reused across samples). */
typedef struct img_scratch {
    img_rgb dec, crop, rs;
    img_limits lim;
    int32_t *xi; /* (2*S) left and right source column of each output column */
    float *xw; /* (7*S) weight of the right column, then two horizontal-pass rows (3,S) */
    uint32_t cap_s;
} img_scratch;

static void scratch_free(img_scratch *sc)
{
    img_rgb_free(&sc->dec);
    img_rgb_free(&sc->crop);
    img_rgb_free(&sc->rs);
    free(sc->xi);
    free(sc->xw);
    memset(sc, 0, sizeof *sc);
}

/* The crop box (integer pixels of the w x h image): torchvision's RandomResizedCrop.get_params
 * when augment, else the centre square of side min(w, h). */
static void crop_box(uint32_t w, uint32_t h, int augment, float smin, float smax, cc_rng *rng,
                     uint32_t *x0, uint32_t *y0, uint32_t *cw, uint32_t *ch)
{
    if (!augment) {
        uint32_t s = w < h ? w : h;
        *cw = *ch = s;
        *x0 = (w - s) / 2;
        *y0 = (h - s) / 2;
        return;
    }
    const double area = (double)w * h, lr0 = log(3.0 / 4.0), lr1 = log(4.0 / 3.0);
    for (int t = 0; t < 10; t++) {
        double ta = area * (smin + (smax - smin) * (double)cc_rng_float(rng));
        double ar = exp(lr0 + (lr1 - lr0) * (double)cc_rng_float(rng));
        double fw = round(sqrt(ta * ar)), fh = round(sqrt(ta / ar));
        if (fw >= 1 && fw <= w && fh >= 1 && fh <= h) {
            *cw = (uint32_t)fw;
            *ch = (uint32_t)fh;
            *y0 = (uint32_t)cc_rng_below(rng, (uint64_t)(h - *ch) + 1);
            *x0 = (uint32_t)cc_rng_below(rng, (uint64_t)(w - *cw) + 1);
            return;
        }
    }
    /* Fallback: the whole image, clipped to the aspect ratio range, centred. */
    double in = (double)w / h;
    uint32_t fw = w, fh = h;
    if (in < 3.0 / 4.0)
        fh = (uint32_t)round(w / (3.0 / 4.0));
    else if (in > 4.0 / 3.0)
        fw = (uint32_t)round(h * (4.0 / 3.0));
    fw = fw < 1 ? 1 : fw > w ? w : fw;
    fh = fh < 1 ? 1 : fh > h ? h : fh;
    *cw = fw;
    *ch = fh;
    *x0 = (w - fw) / 2;
    *y0 = (h - fh) / 2;
}

/* Horizontal pass of source row y into planar floats h (3,S): for each output column, the lerp
 * of its two source columns. */
static void hpass(const img_scratch *sc, const img_rgb *im, uint32_t y, uint32_t S, float *h)
{
    const uint8_t *r = im->px + (size_t)y * im->w * 3;
    float *h0 = h, *h1 = h + S, *h2 = h + 2 * (size_t)S;
    for (uint32_t ox = 0; ox < S; ox++) {
        const int32_t i0 = sc->xi[2 * ox], i1 = sc->xi[2 * ox + 1];
        const float wx = sc->xw[ox];
        h0[ox] = r[i0] + (r[i1] - r[i0]) * wx;
        h1[ox] = r[i0 + 1] + (r[i1 + 1] - r[i0 + 1]) * wx;
        h2[ox] = r[i0 + 2] + (r[i1 + 2] - r[i0 + 2]) * wx;
    }
}

/* Bilinear sampling of the box (bx, by, bw, bh) — decoded-image pixels, fractional — into S x S,
 * pixel centres aligned, normalized into out (3,S,S). Used when the box is at most 2S a side, where
 * bilinear loses little. Separable: each source row is interpolated horizontally once (two rows
 * cached), then each output row is a vertical lerp of two such rows — the same float operations
 * as the plain four-pixel formula, in the same order. */
static cc_status sample_bilinear(img_scratch *sc, const img_rgb *im, double bx, double by,
                                 double bw, double bh, uint32_t S, float *out)
{
    if (sc->cap_s < S) {
        int32_t *xi = realloc(sc->xi, 2 * (size_t)S * sizeof *xi);
        if (!xi)
            return cc_fail(CC_E_NOMEM, "loader: out of memory");
        sc->xi = xi;
        float *xw = realloc(sc->xw, 7 * (size_t)S * sizeof *xw);
        if (!xw)
            return cc_fail(CC_E_NOMEM, "loader: out of memory");
        sc->xw = xw;
        sc->cap_s = S;
    }
    const double maxx = (double)im->w - 1, maxy = (double)im->h - 1;
    for (uint32_t ox = 0; ox < S; ox++) {
        double sx = bx + (ox + 0.5) * bw / S - 0.5;
        sx = sx < 0 ? 0 : sx > maxx ? maxx : sx;
        int32_t i0 = (int32_t)sx;
        sc->xi[2 * ox] = 3 * i0;
        sc->xi[2 * ox + 1] = 3 * (i0 < (int32_t)maxx ? i0 + 1 : i0);
        sc->xw[ox] = (float)(sx - i0);
    }
    float a[3], b[3];
    for (int c = 0; c < 3; c++) {
        a[c] = 1.0f / (255.0f * clip_std[c]);
        b[c] = -clip_mean[c] / clip_std[c];
    }
    /* hr[k] (3,S): the horizontal pass of source row row[k]; -1 = empty */
    float *hr[2] = {sc->xw + S, sc->xw + 4 * (size_t)S};
    int64_t row[2] = {-1, -1};
    const size_t plane = (size_t)S * S;
    for (uint32_t oy = 0; oy < S; oy++) {
        double sy = by + (oy + 0.5) * bh / S - 0.5;
        sy = sy < 0 ? 0 : sy > maxy ? maxy : sy;
        uint32_t y0 = (uint32_t)sy, y1 = y0 < (uint32_t)maxy ? y0 + 1 : y0;
        const float wy = (float)(sy - y0);
        /* Rows only move forward: keep whichever cached row is still needed. */
        if (row[0] != y0) {
            if (row[1] == y0) {
                float *t = hr[0];
                hr[0] = hr[1];
                hr[1] = t;
                row[0] = y0;
                row[1] = -1;
            } else {
                hpass(sc, im, y0, S, hr[0]);
                row[0] = y0;
            }
        }
        if (row[1] != y1) {
            hpass(sc, im, y1, S, hr[1]);
            row[1] = y1;
        }
        for (int c = 0; c < 3; c++) {
            const float *t = hr[0] + (size_t)c * S, *u = hr[1] + (size_t)c * S;
            float *o = out + c * plane + (size_t)oy * S;
            const float ac = a[c], bc = b[c];
            for (uint32_t ox = 0; ox < S; ox++)
                o[ox] = (t[ox] + (u[ox] - t[ox]) * wy) * ac + bc;
        }
    }
    return CC_OK;
}

/* Area path for boxes larger than 2S (a big image that even the 1/8 DCT scale leaves large):
 * copies the box (rounded to pixels), area-resizes it to S x S, normalizes. */
static cc_status sample_area(img_scratch *sc, const img_rgb *im, double bx, double by, double bw,
                             double bh, uint32_t S, float *out)
{
    uint32_t x0 = (uint32_t)floor(bx), y0 = (uint32_t)floor(by);
    uint32_t w = (uint32_t)round(bw), h = (uint32_t)round(bh);
    x0 = x0 >= im->w ? im->w - 1 : x0;
    y0 = y0 >= im->h ? im->h - 1 : y0;
    w = w < 1 ? 1 : w > im->w - x0 ? im->w - x0 : w;
    h = h < 1 ? 1 : h > im->h - y0 ? im->h - y0 : h;
    CC_TRY(img_rgb_alloc(&sc->crop, w, h, 0));
    for (uint32_t y = 0; y < h; y++)
        memcpy(sc->crop.px + (size_t)y * w * 3, im->px + ((size_t)(y0 + y) * im->w + x0) * 3,
               (size_t)w * 3);
    CC_TRY(img_resize(&sc->crop, S, S, &sc->rs));
    const size_t plane = (size_t)S * S;
    for (int c = 0; c < 3; c++) {
        const float a = 1.0f / (255.0f * clip_std[c]), b = -clip_mean[c] / clip_std[c];
        const uint8_t *p = sc->rs.px + c;
        float *o = out + c * plane;
        for (size_t i = 0; i < plane; i++)
            o[i] = p[3 * i] * a + b;
    }
    return CC_OK;
}

/* loader_image with caller scratch. CC_E_NOMEM is the only status that is not about the bytes. */
static cc_status make_image(img_scratch *sc, const void *bytes, size_t len, uint32_t S, int augment,
                            float smin, float smax, uint64_t seed, uint64_t epoch, uint64_t index,
                            float *out)
{
    img_probe pr;
    if (img_probe_bytes(bytes, len, &pr) != CC_OK)
        return cc_wrap(CC_E_FORMAT, "image");
    cc_rng rng;
    cc_rng_stream(&rng, seed, epoch, index);
    uint32_t x0, y0, cw, ch;
    crop_box(pr.width, pr.height, augment, smin, smax, &rng, &x0, &y0, &cw, &ch);
    /* The smallest DCT scale that leaves the crop at least S x S. */
    double f = fmax((double)S / cw, (double)S / ch);
    uint32_t mw = 0, mh = 0;
    if (f < 1) {
        mw = (uint32_t)ceil(f * pr.width);
        mh = (uint32_t)ceil(f * pr.height);
    }
    img_reason why;
    img_decode_info info;
    cc_status st = img_decode(bytes, len, &sc->lim, mw, mh, &sc->dec, &info, &why);
    if (st == CC_E_NOMEM)
        return st;
    if (st != CC_OK)
        return cc_wrap(CC_E_FORMAT, "image (%s)", img_reason_name(why));
    if (info.width != pr.width || info.height != pr.height) {
        /* EXIF orientation swapped the sides: redo the box on the oriented picture. */
        cc_rng_stream(&rng, seed, epoch, index);
        crop_box(info.width, info.height, augment, smin, smax, &rng, &x0, &y0, &cw, &ch);
    }
    const double sx = (double)sc->dec.w / info.width, sy = (double)sc->dec.h / info.height;
    const double bx = x0 * sx, by = y0 * sy, bw = cw * sx, bh = ch * sy;
    if (bw > 2.0 * S || bh > 2.0 * S)
        return sample_area(sc, &sc->dec, bx, by, bw, bh, S, out);
    return sample_bilinear(sc, &sc->dec, bx, by, bw, bh, S, out);
}

cc_status loader_image(const void *bytes, size_t len, uint32_t S, int augment, float scale_min,
                       float scale_max, uint64_t seed, uint64_t epoch, uint64_t index, float *out)
{
    CC_CHECK(S > 0 && out && (bytes || !len), CC_E_INVAL, "loader_image: bad arguments");
    img_scratch sc;
    memset(&sc, 0, sizeof sc);
    img_limits_default(&sc.lim);
    cc_status st =
        make_image(&sc, bytes, len, S, augment, scale_min, scale_max, seed, epoch, index, out);
    scratch_free(&sc);
    return st;
}

/* ---- the loader ---------------------------------------------------------------------------- */

typedef struct slot {
    loader_batch b;
    uint32_t done; /* samples finished */
    uint64_t corrupt, tried;
    cc_status err; /* first worker error for this batch */
    char errmsg[512];
} slot;

typedef struct worker {
    struct loader *l;
    pthread_t th;
    shard_view **views; /* (n_shards) opened on first use, in the worker's own thread */
    img_scratch sc;
} worker;

struct loader {
    loader_opts o;
    shard_manifest *m;
    shard_reader **readers; /* (n_shards) */
    uint64_t *first; /* (n_shards+1) global index of each shard's record 0; first[n] = N */
    size_t n_shards;
    uint64_t N, bpe; /* records, batches per epoch for this rank */
    uint64_t base; /* linear number (epoch * bpe + batch) of the first batch */
    slot *slots;
    uint32_t nslots;
    worker *workers;
    int started;

    pthread_mutex_t mu;
    pthread_cond_t cv_work, cv_done;
    uint64_t next_sample; /* next sample to hand out, counted from batch base */
    uint64_t released; /* batches the consumer is done with */
    int holding; /* the consumer holds batch `released` */
    int stop;
    double work_s;

    cc_status fatal; /* sticky error of loader_next */
    char fatal_msg[512];
    uint64_t delivered, corrupt, tried;
    double wait_s;
    atomic_uint warned;
};

void loader_opts_default(loader_opts *o)
{
    memset(o, 0, sizeof *o);
    o->image_size = 224;
    o->context = 77;
    o->batch = 256;
    o->world = 1;
    o->threads = 2;
    o->prefetch = 3;
    o->augment = 1;
    o->scale_min = 0.9f;
    o->scale_max = 1.0f;
}

/* The shard holding global record idx (first[s] <= idx < first[s+1]). */
static size_t shard_of(const loader *l, uint64_t idx)
{
    size_t lo = 0, hi = l->n_shards;
    while (hi - lo > 1) {
        size_t mid = lo + (hi - lo) / 2;
        if (l->first[mid] <= idx)
            lo = mid;
        else
            hi = mid;
    }
    return lo;
}

/* Makes the sample of record idx into img/tok. *bad = 1 when the record is at fault (the status
 * then says why); other failures (memory, LMDB) are the loader's own. */
static cc_status make_sample(worker *w, uint64_t idx, uint64_t epoch, float *img, int32_t *tok,
                             int *bad)
{
    loader *l = w->l;
    size_t s = shard_of(l, idx);
    uint64_t local = idx - l->first[s];
    *bad = 0;
    if (!w->views[s])
        CC_TRY(shard_view_open(l->readers[s], &w->views[s]));
    shard_record rec;
    cc_status st = shard_view_get(w->views[s], local, &rec);
    if (st == CC_OK)
        st = l->o.tokenize(l->o.tokenize_ctx, rec.caption, strlen(rec.caption), tok, l->o.context);
    if (st == CC_OK)
        st = make_image(&w->sc, rec.image, rec.image_len, l->o.image_size, l->o.augment,
                        l->o.scale_min, l->o.scale_max, l->o.seed, epoch, idx, img);
    if (st == CC_OK || st == CC_E_NOMEM)
        return st;
    *bad = 1;
    unsigned k = atomic_fetch_add(&l->warned, 1u);
    if (k < LOADER_WARN_MAX)
        cc_log_warn("loader: %s record %llu (global %llu) skipped: %s", l->m->entries[s].name,
                    (unsigned long long)local, (unsigned long long)idx, cc_errmsg());
    else if (k == LOADER_WARN_MAX)
        cc_log_warn("loader: more corrupt records; counted, no longer logged");
    return st;
}

/* Fills samples [s0, s0+cnt) of relative batch g into its slot. */
static cc_status fill(worker *w, uint64_t g, uint32_t s0, uint32_t cnt, uint64_t *corrupt,
                      uint64_t *tried)
{
    loader *l = w->l;
    const loader_opts *o = &l->o;
    slot *sl = &l->slots[g % l->nslots];
    const uint64_t lin = l->base + g, epoch = lin / l->bpe, bi = lin % l->bpe;
    const size_t img_n = 3 * (size_t)o->image_size * o->image_size;
    uint64_t walk = l->N < LOADER_WALK ? l->N : LOADER_WALK;
    for (uint32_t i = s0; i < s0 + cnt; i++) {
        const uint64_t pos = (bi * o->batch + i) * o->world + o->rank;
        float *img = sl->b.images + i * img_n;
        int32_t *tok = sl->b.tokens + (size_t)i * o->context;
        uint64_t k = 0;
        for (; k < walk; k++) {
            uint64_t idx = loader_perm(o->seed, epoch, l->N, (pos + k) % l->N);
            int bad;
            ++*tried;
            cc_status st = make_sample(w, idx, epoch, img, tok, &bad);
            if (st == CC_OK) {
                sl->b.index[i] = idx;
                break;
            }
            if (!bad)
                return st;
            ++*corrupt;
        }
        if (k == walk)
            return cc_fail(
                CC_E_FORMAT, "loader: no readable record in %llu positions from %llu of epoch %llu",
                (unsigned long long)walk, (unsigned long long)pos, (unsigned long long)epoch);
    }
    return CC_OK;
}

static void *worker_main(void *arg)
{
    worker *w = arg;
    loader *l = w->l;
    const uint32_t B = l->o.batch;
    pthread_mutex_lock(&l->mu);
    while (!l->stop) {
        uint64_t g = l->next_sample / B;
        if (g >= l->released + l->nslots) {
            pthread_cond_wait(&l->cv_work, &l->mu);
            continue;
        }
        uint32_t s0 = (uint32_t)(l->next_sample % B);
        uint32_t cnt = B - s0 < LOADER_CHUNK ? B - s0 : LOADER_CHUNK;
        l->next_sample += cnt;
        slot *sl = &l->slots[g % l->nslots];
        if (s0 == 0) {
            uint64_t lin = l->base + g;
            sl->b.epoch = lin / l->bpe;
            sl->b.batch = lin % l->bpe;
        }
        pthread_mutex_unlock(&l->mu);

        double t0 = now_s();
        uint64_t corrupt = 0, tried = 0;
        cc_status st = fill(w, g, s0, cnt, &corrupt, &tried);
        double dt = now_s() - t0;

        pthread_mutex_lock(&l->mu);
        l->work_s += dt;
        sl->done += cnt;
        sl->corrupt += corrupt;
        sl->tried += tried;
        if (st != CC_OK && sl->err == CC_OK) {
            sl->err = st;
            snprintf(sl->errmsg, sizeof sl->errmsg, "%s", cc_errmsg());
        }
        if (sl->done == B)
            pthread_cond_broadcast(&l->cv_done);
    }
    pthread_mutex_unlock(&l->mu);
    for (size_t s = 0; s < l->n_shards; s++)
        shard_view_close(w->views[s]);
    return NULL;
}

void loader_free(loader *l)
{
    if (!l)
        return;
    if (l->started) {
        pthread_mutex_lock(&l->mu);
        l->stop = 1;
        pthread_cond_broadcast(&l->cv_work);
        pthread_mutex_unlock(&l->mu);
        for (int i = 0; i < l->started; i++)
            pthread_join(l->workers[i].th, NULL);
    }
    if (l->workers) {
        for (int i = 0; i < l->o.threads; i++) {
            free(l->workers[i].views);
            scratch_free(&l->workers[i].sc);
        }
        free(l->workers);
    }
    if (l->slots) {
        for (uint32_t i = 0; i < l->nslots; i++) {
            free(l->slots[i].b.images);
            free(l->slots[i].b.tokens);
            free(l->slots[i].b.index);
        }
        free(l->slots);
    }
    if (l->readers) {
        for (size_t s = 0; s < l->n_shards; s++)
            shard_reader_close(l->readers[s]);
        free(l->readers);
    }
    free(l->first);
    shard_manifest_free(l->m);
    pthread_cond_destroy(&l->cv_work);
    pthread_cond_destroy(&l->cv_done);
    pthread_mutex_destroy(&l->mu);
    free(l);
}

cc_status loader_new(const loader_opts *o, loader **out)
{
    *out = NULL;
    CC_CHECK(o && o->manifest && o->tokenize, CC_E_INVAL,
             "loader: manifest and tokenize are required");
    CC_CHECK(o->image_size >= 1 && o->image_size <= 4096, CC_E_INVAL,
             "loader: image_size %u out of 1..4096", o->image_size);
    CC_CHECK(o->context >= 2 && o->context <= 65536, CC_E_INVAL,
             "loader: context %u out of 2..65536", o->context);
    CC_CHECK(o->batch >= 1 && o->world >= 1 && o->rank < o->world, CC_E_INVAL,
             "loader: bad batch %u / rank %u / world %u", o->batch, o->rank, o->world);
    CC_CHECK(o->threads >= 1 && o->threads <= 256 && o->prefetch >= 1 && o->prefetch <= 64,
             CC_E_INVAL, "loader: threads %d (1..256) / prefetch %d (1..64)", o->threads,
             o->prefetch);
    CC_CHECK(o->scale_min > 0 && o->scale_min <= o->scale_max && o->scale_max <= 1, CC_E_INVAL,
             "loader: scale range [%g, %g] not within (0, 1]", (double)o->scale_min,
             (double)o->scale_max);

    loader *l = calloc(1, sizeof *l);
    CC_CHECK(l, CC_E_NOMEM, "loader: out of memory");
    l->o = *o;
    pthread_mutex_init(&l->mu, NULL);
    pthread_cond_init(&l->cv_work, NULL);
    pthread_cond_init(&l->cv_done, NULL);
    atomic_init(&l->warned, 0u);
    cc_status st;
    CC_TRY_GOTO(st, shard_manifest_load(o->manifest, &l->m), fail);
    l->n_shards = l->m->n;
    l->readers = calloc(l->n_shards ? l->n_shards : 1, sizeof *l->readers);
    l->first = calloc(l->n_shards + 1, sizeof *l->first);
    if (!l->readers || !l->first) {
        st = cc_fail(CC_E_NOMEM, "loader: out of memory");
        goto fail;
    }
    for (size_t s = 0; s < l->n_shards; s++) {
        char path[4200];
        CC_TRY_GOTO(st, shard_manifest_shard_path(l->m, s, path, sizeof path), fail);
        CC_TRY_GOTO(st, shard_reader_open(path, &l->m->entries[s], &l->readers[s]), fail);
        if (shard_reader_count(l->readers[s]) != l->m->entries[s].count) {
            st = cc_fail(CC_E_FORMAT, "loader: %s holds %llu records, the manifest says %llu",
                         l->m->entries[s].name,
                         (unsigned long long)shard_reader_count(l->readers[s]),
                         (unsigned long long)l->m->entries[s].count);
            goto fail;
        }
        l->first[s + 1] = l->first[s] + l->m->entries[s].count;
    }
    l->N = l->first[l->n_shards];
    uint64_t per_rank = l->N / o->world;
    l->bpe = per_rank / o->batch;
    if (l->bpe == 0) {
        st = cc_fail(CC_E_INVAL, "loader: %llu records, fewer than world %u x batch %u",
                     (unsigned long long)l->N, o->world, o->batch);
        goto fail;
    }
    l->base = o->start_epoch * l->bpe + o->start_batch;

    /* The ring: every slot's arrays allocated once. */
    l->nslots = (uint32_t)o->prefetch;
    l->slots = calloc(l->nslots, sizeof *l->slots);
    if (!l->slots) {
        st = cc_fail(CC_E_NOMEM, "loader: out of memory");
        goto fail;
    }
    const size_t img_n = 3 * (size_t)o->image_size * o->image_size;
    for (uint32_t i = 0; i < l->nslots; i++) {
        loader_batch *b = &l->slots[i].b;
        b->n = o->batch;
        b->images = malloc(img_n * o->batch * sizeof *b->images);
        b->tokens = malloc((size_t)o->context * o->batch * sizeof *b->tokens);
        b->index = malloc((size_t)o->batch * sizeof *b->index);
        if (!b->images || !b->tokens || !b->index) {
            st = cc_fail(CC_E_NOMEM, "loader: out of memory for %u batches of %u", l->nslots,
                         o->batch);
            goto fail;
        }
    }
    l->workers = calloc((size_t)o->threads, sizeof *l->workers);
    if (!l->workers) {
        st = cc_fail(CC_E_NOMEM, "loader: out of memory");
        goto fail;
    }
    for (int i = 0; i < o->threads; i++) {
        worker *w = &l->workers[i];
        w->l = l;
        img_limits_default(&w->sc.lim);
        w->views = calloc(l->n_shards, sizeof *w->views);
        if (!w->views) {
            st = cc_fail(CC_E_NOMEM, "loader: out of memory");
            goto fail;
        }
    }
    for (int i = 0; i < o->threads; i++) {
        if (pthread_create(&l->workers[i].th, NULL, worker_main, &l->workers[i]) != 0) {
            st = cc_fail(CC_E_NOMEM, "loader: cannot start worker thread %d", i);
            goto fail;
        }
        l->started++;
    }
    *out = l;
    return CC_OK;
fail:
    loader_free(l);
    return st;
}

cc_status loader_next(loader *l, const loader_batch **out)
{
    *out = NULL;
    if (l->fatal != CC_OK)
        return cc_fail(l->fatal, "%s", l->fatal_msg);
    pthread_mutex_lock(&l->mu);
    if (l->holding) {
        slot *old = &l->slots[l->released % l->nslots];
        old->done = 0;
        old->corrupt = old->tried = 0;
        l->released++;
        l->holding = 0;
        pthread_cond_broadcast(&l->cv_work);
    }
    slot *sl = &l->slots[l->released % l->nslots];
    if (sl->done < l->o.batch) {
        double t0 = now_s();
        while (sl->done < l->o.batch)
            pthread_cond_wait(&l->cv_done, &l->mu);
        l->wait_s += now_s() - t0;
    }
    l->holding = 1;
    pthread_mutex_unlock(&l->mu);

    l->corrupt += sl->corrupt;
    l->tried += sl->tried;
    if (sl->err != CC_OK) {
        l->fatal = sl->err;
        snprintf(l->fatal_msg, sizeof l->fatal_msg, "%s", sl->errmsg);
    } else if (l->tried >= LOADER_MIN_TRIED && l->corrupt * 2 > l->tried) {
        l->fatal = CC_E_FORMAT;
        snprintf(l->fatal_msg, sizeof l->fatal_msg,
                 "loader: %llu of %llu records tried are corrupt (more than half)",
                 (unsigned long long)l->corrupt, (unsigned long long)l->tried);
    }
    if (l->fatal != CC_OK)
        return cc_fail(l->fatal, "%s", l->fatal_msg);
    l->delivered++;
    *out = &sl->b;
    return CC_OK;
}

void loader_position(const loader *l, uint64_t *epoch, uint64_t *batch)
{
    /* delivered batches follow base; the next one is base + delivered */
    uint64_t lin = l->base + l->delivered;
    *epoch = lin / l->bpe;
    *batch = lin % l->bpe;
}

void loader_get_stats(const loader *l, loader_stats *out)
{
    memset(out, 0, sizeof *out);
    out->records = l->N;
    out->batches_per_epoch = l->bpe;
    out->samples = l->delivered * l->o.batch;
    out->corrupt = l->corrupt;
    out->wait_s = l->wait_s;
    pthread_mutex_t *mu = (pthread_mutex_t *)&l->mu; /* the lock, not the loader, changes */
    pthread_mutex_lock(mu);
    out->work_s = l->work_s;
    pthread_mutex_unlock(mu);
}
