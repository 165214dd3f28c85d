/* trainer/optim.c — AdamW, the learning-rate schedule and gradient clipping (see optim.h).
 *
 * The per-element arithmetic follows torch.optim.AdamW (single-tensor path) in fp32, with the
 * scalar factors (bias corrections, step size) computed in double as Python does:
 *   p *= 1 - lr·wd                     (decay tensors only)
 *   m = β1 m + (1-β1) g;  v = β2 v + (1-β2) g·g
 *   p -= (lr / (1-β1^t)) · m / (sqrt(v) / sqrt(1-β2^t) + ε)
 */
#include "trainer/optim.h"

#include <assert.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* Partial sums of grad_norm go to this many fixed chunks, added in order afterwards, so the
 * result does not depend on the thread count. */
#define OPTIM_NORM_CHUNKS 64

struct adamw {
    adamw_opts o;
    size_t n;
    uint64_t t; /* steps taken */
    float *m; /* first moments (n) */
    float *v; /* second moments (n) */
};

void adamw_opts_default(adamw_opts *o)
{
    o->beta1 = 0.9f;
    o->beta2 = 0.98f;
    o->eps = 1e-6f;
    o->weight_decay = 0.2f;
    o->clip_norm = 0.0f;
}

cc_status adamw_new(size_t n, const adamw_opts *o, adamw **out)
{
    *out = NULL;
    adamw *a = calloc(1, sizeof *a);
    if (!a)
        return cc_fail(CC_E_NOMEM, "adamw: out of memory");
    if (o)
        a->o = *o;
    else
        adamw_opts_default(&a->o);
    a->n = n;
    a->m = calloc(n ? n : 1, sizeof(float));
    a->v = calloc(n ? n : 1, sizeof(float));
    if (!a->m || !a->v) {
        adamw_free(a);
        return cc_fail(CC_E_NOMEM, "adamw: out of memory for %zu parameters", n);
    }
    *out = a;
    return CC_OK;
}

void adamw_free(adamw *a)
{
    if (!a)
        return;
    free(a->m);
    free(a->v);
    free(a);
}

uint64_t adamw_steps(const adamw *a)
{
    return a->t;
}

void adamw_set_steps(adamw *a, uint64_t t)
{
    a->t = t;
}

float *adamw_m(adamw *a)
{
    return a->m;
}

float *adamw_v(adamw *a)
{
    return a->v;
}

size_t adamw_size(const adamw *a)
{
    return a->n;
}

float grad_norm(const float *g, size_t n)
{
    double part[OPTIM_NORM_CHUNKS];
    size_t chunk = (n + OPTIM_NORM_CHUNKS - 1) / OPTIM_NORM_CHUNKS;
#pragma omp parallel for schedule(static)
    for (int c = 0; c < OPTIM_NORM_CHUNKS; c++) {
        size_t lo = (size_t)c * chunk, hi = lo + chunk;
        if (hi > n)
            hi = n;
        double s = 0.0;
        for (size_t i = lo; i < hi; i++)
            s += (double)g[i] * (double)g[i];
        part[c] = s;
    }
    double s = 0.0;
    for (int c = 0; c < OPTIM_NORM_CHUNKS; c++)
        s += part[c];
    return (float)sqrt(s);
}

/* The scalars of one step, shared by every element. */
typedef struct adamw_scalars {
    float b1, b2, one_b1, one_b2, eps;
    float step_size; /* lr / (1 - β1^t) */
    float bc2_sqrt; /* sqrt(1 - β2^t) */
    float decay; /* 1 - lr·wd */
} adamw_scalars;

/* Updates elements [lo, hi) of the arrays; runs inside a parallel region (omp for). */
static void adamw_range(adamw *a, float *p, const float *g, size_t lo, size_t hi, int decay,
                        const adamw_scalars *s)
{
    float *m = a->m, *v = a->v;
    ptrdiff_t l = (ptrdiff_t)lo, h = (ptrdiff_t)hi;
#pragma omp for schedule(static)
    for (ptrdiff_t i = l; i < h; i++) {
        float gi = g[i];
        float pi = p[i];
        if (decay)
            pi *= s->decay;
        float mi = s->b1 * m[i] + s->one_b1 * gi;
        float vi = s->b2 * v[i] + s->one_b2 * gi * gi;
        m[i] = mi;
        v[i] = vi;
        float denom = sqrtf(vi) / s->bc2_sqrt + s->eps;
        p[i] = pi - s->step_size * (mi / denom);
    }
}

float adamw_step(adamw *a, float *params, float *grads, const clip_tensor *tensors, size_t nt,
                 float lr)
{
    size_t n = a->n;
    float norm = grad_norm(grads, n);
    if (a->o.clip_norm > 0.0f && norm > a->o.clip_norm) {
        float scale = a->o.clip_norm / norm;
        ptrdiff_t nn = (ptrdiff_t)n;
#pragma omp parallel for schedule(static)
        for (ptrdiff_t i = 0; i < nn; i++)
            grads[i] *= scale;
    }

    a->t++;
    double b1 = a->o.beta1, b2 = a->o.beta2;
    double bc1 = 1.0 - pow(b1, (double)a->t), bc2 = 1.0 - pow(b2, (double)a->t);
    adamw_scalars s = {
        .b1 = a->o.beta1,
        .b2 = a->o.beta2,
        .one_b1 = (float)(1.0 - b1),
        .one_b2 = (float)(1.0 - b2),
        .eps = a->o.eps,
        .step_size = (float)((double)lr / bc1),
        .bc2_sqrt = (float)sqrt(bc2),
        .decay = (float)(1.0 - (double)lr * (double)a->o.weight_decay),
    };

#pragma omp parallel
    {
        /* The tensors are in order; any gap between them (none in a model's layout) gets the
         * update without decay. */
        size_t pos = 0;
        for (size_t k = 0; k < nt; k++) {
            size_t lo = tensors[k].offset, hi = lo + tensors[k].count;
            if (hi > n)
                hi = n;
            if (lo < pos || lo >= hi)
                continue;
            if (lo > pos)
                adamw_range(a, params, grads, pos, lo, 0, &s);
            adamw_range(a, params, grads, lo, hi, tensors[k].decay != 0, &s);
            pos = hi;
        }
        if (pos < n)
            adamw_range(a, params, grads, pos, n, 0, &s);
    }

    for (size_t k = 0; k < nt; k++) {
        if (tensors[k].name && strcmp(tensors[k].name, "logit_scale") == 0 &&
            tensors[k].count >= 1 && tensors[k].offset < n) {
            float *ls = &params[tensors[k].offset];
            const float hi = logf(100.0f);
            if (*ls < 0.0f)
                *ls = 0.0f;
            else if (*ls > hi)
                *ls = hi;
        }
    }
    return norm;
}

float lr_at(uint64_t step, uint64_t warmup, uint64_t total, float lr, float min_lr)
{
    if (step < warmup)
        return (float)((double)lr * (double)(step + 1) / (double)warmup);
    if (step >= total)
        return min_lr;
    double e = (double)(step - warmup), es = (double)(total - warmup);
    double c = 0.5 * (1.0 + cos(M_PI * e / es));
    return (float)((double)min_lr + c * ((double)lr - (double)min_lr));
}
