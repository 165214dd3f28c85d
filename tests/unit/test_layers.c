/* tests/unit/test_layers.c — the trainer's layers (trainer/layers.h).
 *
 * Every backward is checked against central finite differences of loss = sum(out * w), w random,
 * on small shapes: each input and parameter element is moved by ±FD_EPS (in float; the step used
 * is the one the float actually took) and the loss is summed in double. An element passes when
 * |numeric - analytic| <= FD_ABS + FD_REL * max(|numeric|, |analytic|). The fast kernels are held
 * equal to their _ref versions (FAST_TOL relative to the row's scale) on shapes that are and are
 * not multiples of 4 and 8, causal and not.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/rng.h"
#include "trainer/layers.h"

#define FD_EPS 1e-3f
#define FD_ABS 1e-3
#define FD_REL 1e-2
#define FAST_TOL 1e-5

/* ---- helpers ------------------------------------------------------------------------------- */

static cc_rng rng;

static float *randv(size_t n, float scale)
{
    float *p = malloc((n ? n : 1) * sizeof(float));
    assert_non_null(p);
    for (size_t i = 0; i < n; i++)
        p[i] = scale * (2.0f * cc_rng_float(&rng) - 1.0f);
    return p;
}

static float *zerov(size_t n)
{
    float *p = calloc(n ? n : 1, sizeof(float));
    assert_non_null(p);
    return p;
}

static double dotw(const float *out, const float *w, size_t n)
{
    double s = 0.0;
    for (size_t i = 0; i < n; i++)
        s += (double)out[i] * w[i];
    return s;
}

typedef double (*loss_fn)(void *ctx);

static double worst_rel; /* the largest relative error seen (|g| > 0.1), for the summary */
static double worst_abs; /* the largest absolute error seen */

/* Checks g (n) against central differences of f over the n elements of x. */
static void check_grad(const char *what, loss_fn f, void *ctx, float *x, const float *g, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        float save = x[i];
        float xp = save + FD_EPS, xm = save - FD_EPS;
        x[i] = xp;
        double fp = f(ctx);
        x[i] = xm;
        double fm = f(ctx);
        x[i] = save;
        double num = (fp - fm) / ((double)xp - (double)xm);
        double err = fabs(num - g[i]);
        double scale = fmax(fabs(num), fabs(g[i]));
        if (scale > 0.1 && err / scale > worst_rel)
            worst_rel = err / scale;
        if (err > FD_ABS + FD_REL * scale)
            fail_msg("%s[%zu]: analytic %.6g, numeric %.6g", what, i, g[i], num);
        if (err > worst_abs)
            worst_abs = err;
    }
}

static void assert_close(const char *what, const float *a, const float *b, size_t n, double tol)
{
    for (size_t i = 0; i < n; i++)
        if (!(fabs((double)a[i] - b[i]) <= tol * (1.0 + fabs((double)b[i]))))
            fail_msg("%s[%zu]: %.8g vs %.8g", what, i, a[i], b[i]);
}

/* ---- matmul --------------------------------------------------------------------------------- */

typedef struct mm_ctx {
    int N, C, OC;
    float *inp, *w, *b, *out, *wts;
} mm_ctx;

static double mm_loss(void *p)
{
    mm_ctx *c = p;
    matmul_forward(c->out, c->inp, c->w, c->b, c->N, c->C, c->OC);
    return dotw(c->out, c->wts, (size_t)c->N * c->OC);
}

static void test_matmul_grad(void **state)
{
    (void)state;
    mm_ctx c = {.N = 5, .C = 7, .OC = 6};
    size_t ni = (size_t)c.N * c.C, nw = (size_t)c.OC * c.C, no = (size_t)c.N * c.OC;
    c.inp = randv(ni, 1.0f);
    c.w = randv(nw, 1.0f);
    c.b = randv(c.OC, 1.0f);
    c.out = zerov(no);
    c.wts = randv(no, 1.0f);
    float *di = zerov(ni), *dw = zerov(nw), *db = zerov(c.OC);
    mm_loss(&c);
    matmul_backward(di, dw, db, c.wts, c.inp, c.w, c.N, c.C, c.OC);
    check_grad("matmul dinp", mm_loss, &c, c.inp, di, ni);
    check_grad("matmul dweight", mm_loss, &c, c.w, dw, nw);
    check_grad("matmul dbias", mm_loss, &c, c.b, db, c.OC);
    // accumulation: a second call doubles; NULL gradients are skipped
    float *di2 = zerov(ni);
    memcpy(di2, di, ni * sizeof(float));
    matmul_backward(di2, NULL, NULL, c.wts, c.inp, c.w, c.N, c.C, c.OC);
    for (size_t i = 0; i < ni; i++)
        assert_true(fabsf(di2[i] - 2.0f * di[i]) <= 1e-5f * (1.0f + fabsf(di[i])));
    free(di2);
    free(c.inp), free(c.w), free(c.b), free(c.out), free(c.wts), free(di), free(dw), free(db);
}

static void test_matmul_fast_vs_ref(void **state)
{
    (void)state;
    const int shapes[][3] = {{1, 1, 1}, {7, 13, 5}, {33, 67, 129}, {64, 96, 192}, {130, 64, 3}};
    for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++) {
        int N = shapes[s][0], C = shapes[s][1], OC = shapes[s][2];
        size_t ni = (size_t)N * C, nw = (size_t)OC * C, no = (size_t)N * OC;
        float *inp = randv(ni, 1.0f), *w = randv(nw, 1.0f), *b = randv(OC, 1.0f);
        float *o1 = zerov(no), *o2 = zerov(no), *dout = randv(no, 1.0f);
        for (int withb = 0; withb < 2; withb++) {
            matmul_forward(o1, inp, w, withb ? b : NULL, N, C, OC);
            matmul_forward_ref(o2, inp, w, withb ? b : NULL, N, C, OC);
            assert_close("matmul out", o1, o2, no, FAST_TOL * sqrt(C));
        }
        // backward from the same non-zero start (accumulation)
        float *di1 = randv(ni, 1.0f), *dw1 = randv(nw, 1.0f), *db1 = randv(OC, 1.0f);
        float *di2 = zerov(ni), *dw2 = zerov(nw), *db2 = zerov(OC);
        memcpy(di2, di1, ni * sizeof(float));
        memcpy(dw2, dw1, nw * sizeof(float));
        memcpy(db2, db1, OC * sizeof(float));
        matmul_backward(di1, dw1, db1, dout, inp, w, N, C, OC);
        matmul_backward_ref(di2, dw2, db2, dout, inp, w, N, C, OC);
        assert_close("matmul dinp", di1, di2, ni, FAST_TOL * sqrt(OC));
        assert_close("matmul dweight", dw1, dw2, nw, FAST_TOL * sqrt(N));
        assert_close("matmul dbias", db1, db2, OC, FAST_TOL * sqrt(N));
        free(inp), free(w), free(b), free(o1), free(o2), free(dout);
        free(di1), free(dw1), free(db1), free(di2), free(dw2), free(db2);
    }
}

/* ---- layernorm ------------------------------------------------------------------------------ */

typedef struct ln_ctx {
    int N, C;
    float *inp, *w, *b, *out, *mean, *rstd, *wts;
} ln_ctx;

static double ln_loss(void *p)
{
    ln_ctx *c = p;
    layernorm_forward(c->out, c->mean, c->rstd, c->inp, c->w, c->b, c->N, c->C);
    return dotw(c->out, c->wts, (size_t)c->N * c->C);
}

static void test_layernorm(void **state)
{
    (void)state;
    ln_ctx c = {.N = 4, .C = 8};
    size_t n = (size_t)c.N * c.C;
    c.inp = randv(n, 2.0f);
    c.w = randv(c.C, 1.0f);
    c.b = randv(c.C, 1.0f);
    c.out = zerov(n);
    c.mean = zerov(c.N);
    c.rstd = zerov(c.N);
    c.wts = randv(n, 1.0f);
    float *di = zerov(n), *dw = zerov(c.C), *db = zerov(c.C);
    ln_loss(&c);
    // the statistics: mean and 1/sqrt(biased var + eps)
    for (int r = 0; r < c.N; r++) {
        double m = 0, v = 0;
        for (int k = 0; k < c.C; k++)
            m += c.inp[r * c.C + k];
        m /= c.C;
        for (int k = 0; k < c.C; k++)
            v += (c.inp[r * c.C + k] - m) * (c.inp[r * c.C + k] - m);
        v /= c.C;
        assert_true(fabs(c.mean[r] - m) < 1e-5);
        assert_true(fabs(c.rstd[r] - 1.0 / sqrt(v + LAYERNORM_EPS)) < 1e-4 * c.rstd[r]);
    }
    layernorm_backward(di, dw, db, c.wts, c.inp, c.w, c.mean, c.rstd, c.N, c.C);
    check_grad("layernorm dinp", ln_loss, &c, c.inp, di, n);
    check_grad("layernorm dweight", ln_loss, &c, c.w, dw, c.C);
    check_grad("layernorm dbias", ln_loss, &c, c.b, db, c.C);
    free(c.inp), free(c.w), free(c.b), free(c.out), free(c.mean), free(c.rstd), free(c.wts);
    free(di), free(dw), free(db);
}

/* ---- element-wise --------------------------------------------------------------------------- */

typedef struct ew_ctx {
    size_t n;
    float *a, *b, *out, *wts;
} ew_ctx;

static double gelu_loss(void *p)
{
    ew_ctx *c = p;
    quickgelu_forward(c->out, c->a, c->n);
    return dotw(c->out, c->wts, c->n);
}

static double res_loss(void *p)
{
    ew_ctx *c = p;
    residual_forward(c->out, c->a, c->b, c->n);
    return dotw(c->out, c->wts, c->n);
}

static void test_elementwise(void **state)
{
    (void)state;
    ew_ctx c = {.n = 37};
    c.a = randv(c.n, 4.0f);
    c.b = randv(c.n, 1.0f);
    c.out = zerov(c.n);
    c.wts = randv(c.n, 1.0f);
    float *da = zerov(c.n), *db = zerov(c.n);
    gelu_loss(&c);
    for (size_t i = 0; i < c.n; i++) {
        double x = c.a[i];
        assert_true(fabs(c.out[i] - x / (1.0 + exp(-1.702 * x))) < 1e-5);
    }
    quickgelu_backward(da, c.a, c.wts, c.n);
    check_grad("quickgelu", gelu_loss, &c, c.a, da, c.n);
    memset(da, 0, c.n * sizeof(float));
    res_loss(&c);
    residual_backward(da, db, c.wts, c.n);
    check_grad("residual da", res_loss, &c, c.a, da, c.n);
    check_grad("residual db", res_loss, &c, c.b, db, c.n);
    free(c.a), free(c.b), free(c.out), free(c.wts), free(da), free(db);
}

/* ---- attention ------------------------------------------------------------------------------ */

typedef struct at_ctx {
    int B, T, C, NH, causal;
    float *qkv, *att, *out, *scratch, *wts;
} at_ctx;

static double at_loss(void *p)
{
    at_ctx *c = p;
    attention_forward(c->out, c->att, c->qkv, c->scratch, c->B, c->T, c->C, c->NH, c->causal);
    return dotw(c->out, c->wts, (size_t)c->B * c->T * c->C);
}

static void test_attention_grad(void **state)
{
    (void)state;
    for (int causal = 0; causal < 2; causal++) {
        at_ctx c = {.B = 2, .T = 5, .C = 8, .NH = 2, .causal = causal};
        size_t nq = (size_t)c.B * c.T * 3 * c.C, no = (size_t)c.B * c.T * c.C;
        c.qkv = randv(nq, 1.5f);
        c.att = zerov((size_t)c.B * c.NH * c.T * c.T);
        c.out = zerov(no);
        c.scratch = zerov(attention_scratch_floats(c.B, c.T, c.C, c.NH));
        c.wts = randv(no, 1.0f);
        float *dq = zerov(nq);
        at_loss(&c);
        attention_backward(dq, c.scratch, c.wts, c.qkv, c.att, c.B, c.T, c.C, c.NH, c.causal);
        check_grad(causal ? "attention (causal) dqkv" : "attention dqkv", at_loss, &c, c.qkv, dq,
                   nq);
        free(c.qkv), free(c.att), free(c.out), free(c.scratch), free(c.wts), free(dq);
    }
}

static void test_attention_fast_vs_ref(void **state)
{
    (void)state;
    const int shapes[][4] = {
        {1, 1, 4, 1}, {2, 7, 12, 3}, {3, 17, 20, 2}, {2, 50, 64, 1}, {1, 77, 128, 2}};
    for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++) {
        for (int causal = 0; causal < 2; causal++) {
            int B = shapes[s][0], T = shapes[s][1], C = shapes[s][2], NH = shapes[s][3];
            size_t nq = (size_t)B * T * 3 * C, no = (size_t)B * T * C;
            size_t na = (size_t)B * NH * T * T, ns = attention_scratch_floats(B, T, C, NH);
            float *qkv = randv(nq, 2.0f), *dout = randv(no, 1.0f), *scr = zerov(ns);
            float *o1 = zerov(no), *o2 = zerov(no), *a1 = randv(na, 1.0f), *a2 = zerov(na);
            attention_forward(o1, a1, qkv, scr, B, T, C, NH, causal);
            attention_forward_ref(o2, a2, qkv, scr, B, T, C, NH, causal);
            assert_close("attention att", a1, a2, na, FAST_TOL);
            assert_close("attention out", o1, o2, no, FAST_TOL * 4);
            // rows are distributions; causal rows are zero past the diagonal
            for (size_t r = 0; r < (size_t)B * NH * T; r++) {
                double sum = 0;
                int t = (int)(r % (size_t)T);
                for (int t2 = 0; t2 < T; t2++) {
                    float v = a1[r * T + t2];
                    assert_true(v >= 0.0f);
                    if (causal && t2 > t)
                        assert_true(v == 0.0f);
                    sum += v;
                }
                assert_true(fabs(sum - 1.0) < 1e-5);
            }
            float *d1 = randv(nq, 1.0f), *d2 = zerov(nq);
            memcpy(d2, d1, nq * sizeof(float));
            attention_backward(d1, scr, dout, qkv, a1, B, T, C, NH, causal);
            attention_backward_ref(d2, scr, dout, qkv, a1, B, T, C, NH, causal);
            assert_close("attention dqkv", d1, d2, nq, FAST_TOL * 8);
            free(qkv), free(dout), free(scr), free(o1), free(o2), free(a1), free(a2);
            free(d1), free(d2);
        }
    }
}

/* ---- embeddings and rows -------------------------------------------------------------------- */

static void test_patchify(void **state)
{
    (void)state;
    const int B = 2, H = 8, W = 12, p = 4, nw = W / p, P = (H / p) * nw, K = 3 * p * p;
    float *img = randv((size_t)B * 3 * H * W, 1.0f), *out = zerov((size_t)B * P * K);
    patchify_forward(out, img, B, H, W, p);
    for (int b = 0; b < B; b++)
        for (int i = 0; i < P; i++)
            for (int c = 0; c < 3; c++)
                for (int dy = 0; dy < p; dy++)
                    for (int dx = 0; dx < p; dx++) {
                        int y = (i / nw) * p + dy, x = (i % nw) * p + dx;
                        assert_true(out[((size_t)b * P + i) * K + (c * p + dy) * p + dx] ==
                                    img[(((size_t)b * 3 + c) * H + y) * W + x]);
                    }
    free(img), free(out);
}

typedef struct ve_ctx {
    int B, P, C;
    float *patches, *cls, *pos, *out, *wts;
} ve_ctx;

static double ve_loss(void *p)
{
    ve_ctx *c = p;
    vit_embed_forward(c->out, c->patches, c->cls, c->pos, c->B, c->P, c->C);
    return dotw(c->out, c->wts, (size_t)c->B * (c->P + 1) * c->C);
}

static void test_vit_embed(void **state)
{
    (void)state;
    ve_ctx c = {.B = 3, .P = 4, .C = 5};
    size_t np = (size_t)c.B * c.P * c.C, no = (size_t)c.B * (c.P + 1) * c.C;
    c.patches = randv(np, 1.0f);
    c.cls = randv(c.C, 1.0f);
    c.pos = randv((size_t)(c.P + 1) * c.C, 1.0f);
    c.out = zerov(no);
    c.wts = randv(no, 1.0f);
    float *dp = zerov(np), *dc = zerov(c.C), *dpos = zerov((size_t)(c.P + 1) * c.C);
    ve_loss(&c);
    assert_true(c.out[c.C * (c.P + 1)] == c.cls[0] + c.pos[0]); /* row 0 of sample 1 */
    vit_embed_backward(dp, dc, dpos, c.wts, c.B, c.P, c.C);
    check_grad("vit_embed dpatches", ve_loss, &c, c.patches, dp, np);
    check_grad("vit_embed dcls", ve_loss, &c, c.cls, dc, c.C);
    check_grad("vit_embed dpos", ve_loss, &c, c.pos, dpos, (size_t)(c.P + 1) * c.C);
    free(c.patches), free(c.cls), free(c.pos), free(c.out), free(c.wts), free(dp), free(dc);
    free(dpos);
}

typedef struct te_ctx {
    int B, T, C;
    int32_t *tok;
    float *wte, *wpe, *out, *wts;
} te_ctx;

static double te_loss(void *p)
{
    te_ctx *c = p;
    token_embed_forward(c->out, c->tok, c->wte, c->wpe, c->B, c->T, c->C);
    return dotw(c->out, c->wts, (size_t)c->B * c->T * c->C);
}

static void test_token_embed(void **state)
{
    (void)state;
    int32_t tok[] = {1, 3, 3, 0, 5, 1, 1, 2}; /* repeats: the scatter must add */
    te_ctx c = {.B = 2, .T = 4, .C = 6, .tok = tok};
    const int V = 6;
    size_t no = (size_t)c.B * c.T * c.C;
    c.wte = randv((size_t)V * c.C, 1.0f);
    c.wpe = randv((size_t)c.T * c.C, 1.0f);
    c.out = zerov(no);
    c.wts = randv(no, 1.0f);
    float *dwte = zerov((size_t)V * c.C), *dwpe = zerov((size_t)c.T * c.C);
    te_loss(&c);
    token_embed_backward(dwte, dwpe, c.wts, c.tok, c.B, c.T, c.C);
    check_grad("token_embed dwte", te_loss, &c, c.wte, dwte, (size_t)V * c.C);
    check_grad("token_embed dwpe", te_loss, &c, c.wpe, dwpe, (size_t)c.T * c.C);
    for (int k = 0; k < c.C; k++)
        assert_true(dwte[4 * c.C + k] == 0.0f); /* token 4 is unused */
    free(c.wte), free(c.wpe), free(c.out), free(c.wts), free(dwte), free(dwpe);
}

typedef struct gr_ctx {
    int B, T, C;
    int32_t *idx;
    float *inp, *out, *wts;
} gr_ctx;

static double gr_loss(void *p)
{
    gr_ctx *c = p;
    gather_rows_forward(c->out, c->inp, c->idx, c->B, c->T, c->C);
    return dotw(c->out, c->wts, (size_t)c->B * c->C);
}

static void test_gather_rows(void **state)
{
    (void)state;
    int32_t idx[] = {2, 0, 3};
    gr_ctx c = {.B = 3, .T = 4, .C = 5, .idx = idx};
    size_t ni = (size_t)c.B * c.T * c.C;
    c.inp = randv(ni, 1.0f);
    c.out = zerov((size_t)c.B * c.C);
    c.wts = randv((size_t)c.B * c.C, 1.0f);
    float *di = zerov(ni);
    gr_loss(&c);
    assert_true(c.out[c.C] == c.inp[(size_t)(1 * c.T + 0) * c.C]);
    gather_rows_backward(di, c.wts, c.idx, c.B, c.T, c.C);
    check_grad("gather_rows", gr_loss, &c, c.inp, di, ni);
    free(c.inp), free(c.out), free(c.wts), free(di);
}

/* ---- l2norm and the loss -------------------------------------------------------------------- */

typedef struct l2_ctx {
    int N, C;
    float *inp, *out, *norm, *wts;
} l2_ctx;

static double l2_loss(void *p)
{
    l2_ctx *c = p;
    l2norm_forward(c->out, c->norm, c->inp, c->N, c->C);
    return dotw(c->out, c->wts, (size_t)c->N * c->C);
}

static void test_l2norm(void **state)
{
    (void)state;
    l2_ctx c = {.N = 4, .C = 6};
    size_t n = (size_t)c.N * c.C;
    c.inp = randv(n, 2.0f);
    c.out = zerov(n);
    c.norm = zerov(c.N);
    c.wts = randv(n, 1.0f);
    float *di = zerov(n);
    l2_loss(&c);
    for (int r = 0; r < c.N; r++) {
        double s = 0;
        for (int k = 0; k < c.C; k++)
            s += (double)c.out[r * c.C + k] * c.out[r * c.C + k];
        assert_true(fabs(s - 1.0) < 1e-6);
    }
    l2norm_backward(di, c.wts, c.out, c.norm, c.N, c.C);
    check_grad("l2norm", l2_loss, &c, c.inp, di, n);
    // a zero row: the norm is floored (F.normalize's eps), the output stays zero, no NaN
    memset(c.inp, 0, (size_t)c.C * sizeof(float));
    l2_loss(&c);
    assert_true(c.norm[0] == 1e-12f);
    for (int k = 0; k < c.C; k++)
        assert_true(c.out[k] == 0.0f);
    free(c.inp), free(c.out), free(c.norm), free(c.wts), free(di);
}

typedef struct cl_ctx {
    int N, E;
    float ls;
    float *img, *txt, *logits, *pi, *pt;
} cl_ctx;

static double cl_loss(void *p)
{
    cl_ctx *c = p;
    return clip_loss_forward(c->logits, c->pi, c->pt, c->img, c->txt, c->ls, c->N, c->E);
}

static void test_clip_loss_hand(void **state)
{
    (void)state;
    float logits[4], pi[4], pt[4];
    // identical embeddings: every logit equal, both softmaxes uniform → ln 2, d logit_scale 0
    float same[6] = {0.6f, 0.8f, 0.0f, 0.6f, 0.8f, 0.0f};
    float loss = clip_loss_forward(logits, pi, pt, same, same, logf(1.0f / 0.07f), 2, 3);
    assert_true(fabsf(loss - logf(2.0f)) < 1e-6f);
    float dimg[6] = {0}, dtxt[6] = {0}, dls = 0.0f;
    clip_loss_backward(dimg, dtxt, &dls, logits, pi, pt, same, same, logf(1.0f / 0.07f), 1.0f, 2,
                       3);
    assert_true(fabsf(dls) < 1e-6f);
    // orthonormal pairs with logit_scale 0: logits = I, loss = ln(1 + e^-1) both ways
    float eye[4] = {1, 0, 0, 1};
    loss = clip_loss_forward(logits, pi, pt, eye, eye, 0.0f, 2, 2);
    assert_true(fabsf(loss - logf(1.0f + expf(-1.0f))) < 1e-6f);
    assert_true(fabsf(pi[0] - 1.0f / (1.0f + expf(-1.0f))) < 1e-6f);
    assert_true(fabsf(pt[2] - 1.0f / (1.0f + expf(1.0f))) < 1e-6f); /* column 0, row 1 */
}

static void test_clip_loss_grad(void **state)
{
    (void)state;
    cl_ctx c = {.N = 4, .E = 5, .ls = 1.3f};
    size_t n = (size_t)c.N * c.E, nn = (size_t)c.N * c.N;
    c.img = randv(n, 1.0f);
    c.txt = randv(n, 1.0f);
    c.logits = zerov(nn);
    c.pi = zerov(nn);
    c.pt = zerov(nn);
    float *di = zerov(n), *dt = zerov(n), dls = 0.0f;
    cl_loss(&c);
    clip_loss_backward(di, dt, &dls, c.logits, c.pi, c.pt, c.img, c.txt, c.ls, 1.0f, c.N, c.E);
    check_grad("clip_loss dimg", cl_loss, &c, c.img, di, n);
    check_grad("clip_loss dtxt", cl_loss, &c, c.txt, dt, n);
    check_grad("clip_loss dlogit_scale", cl_loss, &c, &c.ls, &dls, 1);
    // dloss scales the gradient (recompute: the checks left the buffers of a perturbed point)
    float *di2 = zerov(n), dls2 = 0.0f;
    cl_loss(&c);
    clip_loss_backward(di2, NULL, &dls2, c.logits, c.pi, c.pt, c.img, c.txt, c.ls, 0.5f, c.N, c.E);
    assert_true(fabsf(dls2 - 0.5f * dls) <= 1e-6f * (1.0f + fabsf(dls)));
    assert_true(fabsf(di2[3] - 0.5f * di[3]) <= 1e-6f * (1.0f + fabsf(di[3])));
    free(c.img), free(c.txt), free(c.logits), free(c.pi), free(c.pt), free(di), free(dt), free(di2);
}

static void test_summary(void **state)
{
    (void)state;
    print_message("finite differences: largest relative error %.2e (|g| > 0.1), absolute %.2e\n",
                  worst_rel, worst_abs);
}

int main(void)
{
    cc_rng_seed(&rng, 1234);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_matmul_grad),    cmocka_unit_test(test_matmul_fast_vs_ref),
        cmocka_unit_test(test_layernorm),      cmocka_unit_test(test_elementwise),
        cmocka_unit_test(test_attention_grad), cmocka_unit_test(test_attention_fast_vs_ref),
        cmocka_unit_test(test_patchify),       cmocka_unit_test(test_vit_embed),
        cmocka_unit_test(test_token_embed),    cmocka_unit_test(test_gather_rows),
        cmocka_unit_test(test_l2norm),         cmocka_unit_test(test_clip_loss_hand),
        cmocka_unit_test(test_clip_loss_grad), cmocka_unit_test(test_summary),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
