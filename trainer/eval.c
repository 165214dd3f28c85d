/* trainer/eval.c — retrieval recall@K and zero-shot classification (see eval.h). */
#include "trainer/eval.h"

#include <cblas.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "shards/shard.h"
#include "trainer/loader.h"

const char *const eval_clip_templates[] = {
    "a photo of a {}.",
    "a blurry photo of a {}.",
    "a black and white photo of a {}.",
    "a low contrast photo of a {}.",
    "a high contrast photo of a {}.",
    "a bad photo of a {}.",
    "a good photo of a {}.",
    "a photo of a small {}.",
    "a photo of a big {}.",
    "a photo of the {}.",
    "a blurry photo of the {}.",
    "a black and white photo of the {}.",
    "a low contrast photo of the {}.",
    "a high contrast photo of the {}.",
    "a bad photo of the {}.",
    "a good photo of the {}.",
    "a photo of the small {}.",
    "a photo of the big {}.",
};
const int eval_clip_template_count =
    (int)(sizeof eval_clip_templates / sizeof *eval_clip_templates);

/* A batch being filled for the model. */
typedef struct embed_batch {
    clip_model *m;
    int B, S, T, E;
    int n;
    float *images; /* (B,3,S,S) */
    int32_t *tokens; /* (B,T) */
    float *img, *txt; /* growing outputs */
    size_t len, cap;
} embed_batch;

static cc_status batch_flush(embed_batch *b)
{
    if (!b->n)
        return CC_OK;
    if (b->len + (size_t)b->n > b->cap) {
        size_t nc = b->cap ? 2 * b->cap : 1024;
        while (nc < b->len + (size_t)b->n)
            nc *= 2;
        float *ni = realloc(b->img, nc * (size_t)b->E * sizeof(float));
        if (ni)
            b->img = ni;
        float *nt = realloc(b->txt, nc * (size_t)b->E * sizeof(float));
        if (nt)
            b->txt = nt;
        CC_CHECK(ni && nt, CC_E_NOMEM, "out of memory");
        b->cap = nc;
    }
    clip_model_encode_images(b->m, b->images, b->n, b->img + b->len * (size_t)b->E);
    clip_model_encode_texts(b->m, b->tokens, b->n, b->txt + b->len * (size_t)b->E);
    b->len += (size_t)b->n;
    b->n = 0;
    return CC_OK;
}

/* The walk of eval_embed_manifest: one record into the batch. */
typedef struct embed_walk {
    embed_batch *b;
    const bpe *tok;
    size_t max_n;
    uint64_t bad;
    cc_status st;
} embed_walk;

static int embed_record(void *ctx, const shard_manifest_entry *e, uint64_t idx,
                        const shard_record *rec)
{
    embed_walk *w = ctx;
    embed_batch *b = w->b;
    float *im = b->images + (size_t)b->n * 3 * (size_t)b->S * (size_t)b->S;
    int32_t *tk = b->tokens + (size_t)b->n * (size_t)b->T;
    if (loader_image(rec->image, rec->image_len, (uint32_t)b->S, 0, 1, 1, 0, 0, idx, im) != CC_OK ||
        bpe_encode(w->tok, rec->caption, strlen(rec->caption), tk, (uint32_t)b->T, NULL) != CC_OK) {
        if (w->bad++ < 5)
            cc_log_warn("%s record %llu skipped: %s", e->name, (unsigned long long)idx,
                        cc_errmsg());
        return 0;
    }
    if (++b->n == b->B && (w->st = batch_flush(b)) != CC_OK)
        return 1;
    return w->max_n && b->len + (size_t)b->n >= w->max_n;
}

cc_status eval_embed_manifest(clip_model *m, const bpe *tok, const char *manifest, size_t max_n,
                              float **img, float **txt, size_t *n, uint64_t *skipped)
{
    const clip_config *cfg = clip_model_config(m);
    embed_batch b = {.m = m,
                     .B = clip_model_max_batch(m),
                     .S = cfg->image_size,
                     .T = cfg->context,
                     .E = cfg->embed_dim};
    embed_walk w = {.b = &b, .tok = tok, .max_n = max_n, .st = CC_OK};
    shard_manifest *man = NULL;
    cc_status st = shard_manifest_load(manifest, &man);
    b.images = malloc((size_t)b.B * 3 * (size_t)b.S * (size_t)b.S * sizeof(float));
    b.tokens = malloc((size_t)b.B * (size_t)b.T * sizeof(int32_t));
    if (st == CC_OK && (!b.images || !b.tokens))
        st = cc_fail(CC_E_NOMEM, "out of memory");
    if (st == CC_OK)
        st = shard_manifest_walk(man, embed_record, &w, NULL);
    if (st == CC_OK)
        st = w.st;
    if (st == CC_OK)
        st = batch_flush(&b);
    uint64_t bad = w.bad;
    if (st == CC_OK && b.len == 0)
        st = cc_fail(CC_E_INVAL, "%s: no record could be evaluated (%llu skipped)", manifest,
                     (unsigned long long)bad);
    shard_manifest_free(man);
    free(b.images);
    free(b.tokens);
    if (st != CC_OK) {
        free(b.img);
        free(b.txt);
        return st;
    }
    *img = b.img;
    *txt = b.txt;
    *n = b.len;
    if (skipped)
        *skipped = bad;
    return CC_OK;
}

/* Rank of the true match among row's scores: how many entries score at least as high as the
 * true one, besides itself (ties count against it). */
static size_t rank_of(const float *row, size_t N, size_t truth)
{
    size_t r = 0;
    for (size_t j = 0; j < N; j++)
        if (j != truth && row[j] >= row[truth])
            r++;
    return r;
}

cc_status eval_recall(const float *img, const float *txt, size_t N, int E, const int *ks, int nk,
                      double *i2t, double *t2i)
{
    /* Similarities a block of rows at a time, so memory stays O(block × N). */
    const size_t blk = 256;
    float *sim = malloc(blk * N * sizeof(float));
    size_t *hits_i = calloc((size_t)nk, sizeof *hits_i),
           *hits_t = calloc((size_t)nk, sizeof *hits_t);
    if (!sim || !hits_i || !hits_t) {
        free(sim);
        free(hits_i);
        free(hits_t);
        return cc_fail(CC_E_NOMEM, "out of memory");
    }
    for (int dir = 0; dir < 2; dir++) {
        const float *q = dir == 0 ? img : txt, *d = dir == 0 ? txt : img;
        size_t *hits = dir == 0 ? hits_i : hits_t;
        for (size_t i0 = 0; i0 < N; i0 += blk) {
            size_t nb = N - i0 < blk ? N - i0 : blk;
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)nb, (int)N, E, 1.0f,
                        q + i0 * (size_t)E, E, d, E, 0.0f, sim, (int)N);
            for (size_t r = 0; r < nb; r++) {
                size_t rk = rank_of(sim + r * N, N, i0 + r);
                for (int k = 0; k < nk; k++)
                    if (rk < (size_t)ks[k])
                        hits[k]++;
            }
        }
    }
    for (int k = 0; k < nk; k++) {
        i2t[k] = (double)hits_i[k] / (double)N;
        t2i[k] = (double)hits_t[k] / (double)N;
    }
    free(sim);
    free(hits_i);
    free(hits_t);
    return CC_OK;
}

static void normalize(float *v, int E)
{
    double s = 0;
    for (int e = 0; e < E; e++)
        s += (double)v[e] * v[e];
    float inv = s > 0 ? (float)(1.0 / sqrt(s)) : 0.0f;
    for (int e = 0; e < E; e++)
        v[e] *= inv;
}

cc_status eval_class_embeddings(clip_model *m, const bpe *tok, const char *const *names, int C,
                                const char *const *templates, int nt, float *out)
{
    const clip_config *cfg = clip_model_config(m);
    const int E = cfg->embed_dim, T = cfg->context, B = clip_model_max_batch(m);
    CC_CHECK(nt > 0 && C > 0, CC_E_INVAL, "zero-shot needs at least one class and one template");
    /* Every (class, template) prompt, in batches of the model's size; prompt j is class j / nt. */
    const size_t total = (size_t)C * (size_t)nt;
    int32_t *tokens = malloc((size_t)B * (size_t)T * sizeof *tokens);
    float *emb = malloc((size_t)B * (size_t)E * sizeof *emb);
    cc_status st = tokens && emb ? CC_OK : cc_fail(CC_E_NOMEM, "out of memory");
    if (st == CC_OK)
        memset(out, 0, (size_t)C * (size_t)E * sizeof *out);
    for (size_t j0 = 0; st == CC_OK && j0 < total; j0 += (size_t)B) {
        int nb = total - j0 < (size_t)B ? (int)(total - j0) : B;
        for (int t = 0; st == CC_OK && t < nb; t++) {
            size_t j = j0 + (size_t)t;
            const char *name = names[j / (size_t)nt], *tpl = templates[j % (size_t)nt];
            const char *hole = strstr(tpl, "{}");
            char text[1024];
            int len = hole ? snprintf(text, sizeof text, "%.*s%s%s", (int)(hole - tpl), tpl, name,
                                      hole + 2)
                           : snprintf(text, sizeof text, "%s %s", tpl, name);
            if (len < 0 || (size_t)len >= sizeof text)
                st = cc_fail(CC_E_INVAL, "prompt too long: template '%s', class '%s'", tpl, name);
            else
                st = bpe_encode(tok, text, (size_t)len, tokens + (size_t)t * (size_t)T, (uint32_t)T,
                                NULL);
        }
        if (st != CC_OK)
            break;
        clip_model_encode_texts(m, tokens, nb, emb);
        for (int t = 0; t < nb; t++) {
            float *e = emb + (size_t)t * (size_t)E;
            normalize(e, E); /* already unit length; kept so the rule does not depend on it */
            float *acc = out + ((j0 + (size_t)t) / (size_t)nt) * (size_t)E;
            for (int k = 0; k < E; k++)
                acc[k] += e[k];
        }
    }
    for (int c = 0; st == CC_OK && c < C; c++)
        normalize(out + (size_t)c * (size_t)E, E);
    free(tokens);
    free(emb);
    return st;
}

void eval_zeroshot(const float *img, size_t N, const float *cls, int C, int E, const int *labels,
                   int *pred, double *top1, double *top5, uint64_t *confusion)
{
    size_t hit1 = 0, hit5 = 0;
    if (confusion)
        memset(confusion, 0, (size_t)C * (size_t)C * sizeof *confusion);
#pragma omp parallel for reduction(+ : hit1, hit5) schedule(static)
    for (size_t i = 0; i < N; i++) {
        const float *x = img + i * (size_t)E;
        int best = 0;
        float bs = -INFINITY, truth_s = -INFINITY;
        for (int c = 0; c < C; c++) {
            float s = 0;
            for (int e = 0; e < E; e++)
                s += x[e] * cls[(size_t)c * (size_t)E + e];
            if (s > bs) {
                bs = s;
                best = c;
            }
            if (labels && c == labels[i])
                truth_s = s;
        }
        pred[i] = best;
        if (labels) {
            int above = 0; /* classes scoring higher than the true one */
            for (int c = 0; c < C; c++) {
                float s = 0;
                for (int e = 0; e < E; e++)
                    s += x[e] * cls[(size_t)c * (size_t)E + e];
                if (c != labels[i] && s >= truth_s)
                    above++;
            }
            hit1 += above == 0;
            hit5 += above < 5;
        }
    }
    if (labels) {
        *top1 = N ? (double)hit1 / (double)N : 0;
        *top5 = N ? (double)hit5 / (double)N : 0;
        if (confusion)
            for (size_t i = 0; i < N; i++)
                confusion[(size_t)labels[i] * (size_t)C + (size_t)pred[i]]++;
    }
}
