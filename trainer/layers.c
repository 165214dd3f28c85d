/* trainer/layers.c — the CLIP trainer's layers (see layers.h for the conventions).
 *
 * Matrix products go through cblas_sgemm over the whole (N = B*T) row block at once, split by
 * rows over the OpenMP team with OpenBLAS itself single-threaded (see blas_single_thread).
 * Attention runs parallel over (b, h), each head's two products (and the backward's four) as
 * sgemm calls on strided views of qkv (measured at B 128, T 65, C 192: about 2x the plain
 * vectorized loops). Everything else is a plain loop with OpenMP on the outer index; inner loops
 * over a row carry `#pragma omp simd` so that they vectorize without -ffast-math.
 *
 * Reductions whose result is shared across rows (dbias, LN's dweight/dbias, dcls, dpos, dwte) are
 * split by column instead of by row, so that no two threads write the same element and the sums
 * are the same on any thread count.
 */
#include "trainer/layers.h"

#include <cblas.h>
#include <math.h>
#include <omp.h>
#include <string.h>

/* The share [*lo, *hi) of n items of the calling thread of an OpenMP team: contiguous, in thread
 * order. Called outside a parallel region it is everything. */
static void team_share(int n, int *lo, int *hi)
{
    int nt = omp_get_num_threads(), t = omp_get_thread_num();
    *lo = (int)((long long)n * t / nt);
    *hi = (int)((long long)n * (t + 1) / nt);
}

/* Column shares for the by-column reductions: like team_share, but on multiples of 16 floats so
 * that no two threads write one cache line. Each column's sum runs over the rows in order, so the
 * result does not depend on the thread count. */
static void team_share_cols(int n, int *lo, int *hi)
{
    int nt = omp_get_num_threads(), t = omp_get_thread_num();
    int per = ((n + nt - 1) / nt + 15) / 16 * 16;
    *lo = t * per < n ? t * per : n;
    *hi = *lo + per < n ? *lo + per : n;
}

/* OpenBLAS runs single-threaded inside our OpenMP team: with its own pthread pool next to
 * libgomp's, the two spin against each other on the same cores (measured: a third of the time in
 * sched_yield at 2 threads). Every sgemm below is split over the team by rows of its output. */
static void blas_single_thread(void)
{
    if (openblas_get_num_threads() != 1)
        openblas_set_num_threads(1);
}

/* ---------------------------------------------------------------------------------------------
 * matmul */

void matmul_forward(float *out, const float *inp, const float *weight, const float *bias, int N,
                    int C, int OC)
{
    // inp (N,C), weight (OC,C), bias (OC), out (N,OC); each thread a block of rows
    blas_single_thread();
#pragma omp parallel
    {
        int n0, n1;
        team_share(N, &n0, &n1);
        if (n1 > n0) {
            if (bias)
                for (int n = n0; n < n1; n++)
                    memcpy(out + (size_t)n * OC, bias, (size_t)OC * sizeof(float));
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, n1 - n0, OC, C, 1.0f,
                        inp + (size_t)n0 * C, C, weight, C, bias ? 1.0f : 0.0f,
                        out + (size_t)n0 * OC, OC);
        }
    }
}

void matmul_backward(float *dinp, float *dweight, float *dbias, const float *dout, const float *inp,
                     const float *weight, int N, int C, int OC)
{
    // dout (N,OC); dinp (N,C) += dout @ weight, by rows of dinp; dweight (OC,C) += dout^T @ inp,
    // by rows of dweight; dbias (OC) += column sums of dout, by columns
    blas_single_thread();
#pragma omp parallel
    {
        int lo, hi;
        if (dinp) {
            team_share(N, &lo, &hi);
            if (hi > lo)
                cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, hi - lo, C, OC, 1.0f,
                            dout + (size_t)lo * OC, OC, weight, C, 1.0f, dinp + (size_t)lo * C, C);
        }
        if (dweight) {
            team_share(OC, &lo, &hi);
            if (hi > lo)
                cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, hi - lo, C, N, 1.0f, dout + lo,
                            OC, inp, C, 1.0f, dweight + (size_t)lo * C, C);
        }
        if (dbias) {
            team_share_cols(OC, &lo, &hi);
            for (int n = 0; n < N && hi > lo; n++) {
                const float *d = dout + (size_t)n * OC;
#pragma omp simd
                for (int o = lo; o < hi; o++)
                    dbias[o] += d[o];
            }
        }
    }
}

void matmul_forward_ref(float *out, const float *inp, const float *weight, const float *bias, int N,
                        int C, int OC)
{
    for (int n = 0; n < N; n++) {
        for (int o = 0; o < OC; o++) {
            double s = bias ? bias[o] : 0.0;
            for (int c = 0; c < C; c++)
                s += (double)inp[(size_t)n * C + c] * weight[(size_t)o * C + c];
            out[(size_t)n * OC + o] = (float)s;
        }
    }
}

void matmul_backward_ref(float *dinp, float *dweight, float *dbias, const float *dout,
                         const float *inp, const float *weight, int N, int C, int OC)
{
    if (dinp) {
        for (int n = 0; n < N; n++) {
            for (int c = 0; c < C; c++) {
                double s = 0.0;
                for (int o = 0; o < OC; o++)
                    s += (double)dout[(size_t)n * OC + o] * weight[(size_t)o * C + c];
                dinp[(size_t)n * C + c] += (float)s;
            }
        }
    }
    if (dweight) {
        for (int o = 0; o < OC; o++) {
            for (int c = 0; c < C; c++) {
                double s = 0.0;
                for (int n = 0; n < N; n++)
                    s += (double)dout[(size_t)n * OC + o] * inp[(size_t)n * C + c];
                dweight[(size_t)o * C + c] += (float)s;
            }
        }
    }
    if (dbias) {
        for (int o = 0; o < OC; o++) {
            double s = 0.0;
            for (int n = 0; n < N; n++)
                s += dout[(size_t)n * OC + o];
            dbias[o] += (float)s;
        }
    }
}

/* ---------------------------------------------------------------------------------------------
 * layernorm */

void layernorm_forward(float *out, float *mean, float *rstd, const float *inp, const float *weight,
                       const float *bias, int N, int C)
{
    // inp (N,C), out (N,C), mean (N), rstd (N); two passes (mean, then centred variance)
#pragma omp parallel for schedule(static)
    for (int n = 0; n < N; n++) {
        const float *x = inp + (size_t)n * C;
        float *y = out + (size_t)n * C;
        float s = 0.0f;
#pragma omp simd reduction(+ : s)
        for (int c = 0; c < C; c++)
            s += x[c];
        float m = s / (float)C;
        float v = 0.0f;
#pragma omp simd reduction(+ : v)
        for (int c = 0; c < C; c++)
            v += (x[c] - m) * (x[c] - m);
        float r = 1.0f / sqrtf(v / (float)C + LAYERNORM_EPS);
#pragma omp simd
        for (int c = 0; c < C; c++)
            y[c] = (x[c] - m) * r * weight[c] + bias[c];
        mean[n] = m;
        rstd[n] = r;
    }
}

void layernorm_backward(float *dinp, float *dweight, float *dbias, const float *dout,
                        const float *inp, const float *weight, const float *mean, const float *rstd,
                        int N, int C)
{
    // dinp: per row, (dnorm - mean(dnorm) - norm * mean(dnorm * norm)) * rstd, dnorm = dout * w
    if (dinp) {
#pragma omp parallel for schedule(static)
        for (int n = 0; n < N; n++) {
            const float *x = inp + (size_t)n * C, *dy = dout + (size_t)n * C;
            float *dx = dinp + (size_t)n * C;
            float m = mean[n], r = rstd[n];
            float a = 0.0f, b = 0.0f;
#pragma omp simd reduction(+ : a, b)
            for (int c = 0; c < C; c++) {
                float dn = dy[c] * weight[c];
                a += dn;
                b += dn * (x[c] - m) * r;
            }
            a /= (float)C;
            b /= (float)C;
#pragma omp simd
            for (int c = 0; c < C; c++) {
                float norm = (x[c] - m) * r;
                dx[c] += (dy[c] * weight[c] - a - norm * b) * r;
            }
        }
    }
    // dweight += sum over rows of dout * norm, dbias += sum of dout: by columns
    if (dweight || dbias) {
#pragma omp parallel
        {
            int c0, c1;
            team_share_cols(C, &c0, &c1);
            for (int n = 0; n < N && c1 > c0; n++) {
                const float *x = inp + (size_t)n * C, *dy = dout + (size_t)n * C;
                float m = mean[n], r = rstd[n];
                if (dweight) {
#pragma omp simd
                    for (int c = c0; c < c1; c++)
                        dweight[c] += dy[c] * (x[c] - m) * r;
                }
                if (dbias) {
#pragma omp simd
                    for (int c = c0; c < c1; c++)
                        dbias[c] += dy[c];
                }
            }
        }
    }
}

/* ---------------------------------------------------------------------------------------------
 * element-wise */

#define QUICKGELU_K 1.702f

void quickgelu_forward(float *out, const float *inp, size_t n)
{
#pragma omp parallel for schedule(static)
    for (size_t i = 0; i < n; i++) {
        float x = inp[i];
        out[i] = x / (1.0f + expf(-QUICKGELU_K * x));
    }
}

void quickgelu_backward(float *dinp, const float *inp, const float *dout, size_t n)
{
    // d/dx x s(kx) = s + k x s (1 - s)
#pragma omp parallel for schedule(static)
    for (size_t i = 0; i < n; i++) {
        float x = inp[i];
        float s = 1.0f / (1.0f + expf(-QUICKGELU_K * x));
        dinp[i] += dout[i] * (s + QUICKGELU_K * x * s * (1.0f - s));
    }
}

void residual_forward(float *out, const float *a, const float *b, size_t n)
{
#pragma omp parallel for simd schedule(static)
    for (size_t i = 0; i < n; i++)
        out[i] = a[i] + b[i];
}

void residual_backward(float *da, float *db, const float *dout, size_t n)
{
    if (da) {
#pragma omp parallel for simd schedule(static)
        for (size_t i = 0; i < n; i++)
            da[i] += dout[i];
    }
    if (db) {
#pragma omp parallel for simd schedule(static)
        for (size_t i = 0; i < n; i++)
            db[i] += dout[i];
    }
}

/* ---------------------------------------------------------------------------------------------
 * attention
 *
 * Per (b, h) with hs = C/NH: q, k, v rows of head h at qkv + (b*T + t)*3C + {0, C, 2C} + h*hs.
 * att (B,NH,T,T): row t holds softmax_t2(q_t . k_t2 / sqrt(hs)); causal rows are zero past t. */

size_t attention_scratch_floats(int B, int T, int C, int NH)
{
    (void)C;
    /* One (T,T) block per (b, h): the backward's d(att), then d(scores). */
    return (size_t)B * NH * T * T;
}

void attention_forward(float *out, float *att, const float *qkv, float *scratch, int B, int T,
                       int C, int NH, int causal)
{
    // qkv (B,T,3C), att (B,NH,T,T), out (B,T,C); per (b,h): att = softmax(q k^T / sqrt(hs)),
    // out_h = att v, both products single-threaded sgemm on the strided head views (ld 3C)
    (void)scratch;
    const int hs = C / NH, C3 = 3 * C;
    const float scale = 1.0f / sqrtf((float)hs);
    blas_single_thread();
#pragma omp parallel for collapse(2) schedule(static)
    for (int b = 0; b < B; b++) {
        for (int h = 0; h < NH; h++) {
            const float *q = qkv + (size_t)b * T * C3 + (size_t)h * hs;
            const float *k = q + C, *v = q + 2 * C;
            float *a = att + ((size_t)b * NH + h) * T * T;
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, T, T, hs, scale, q, C3, k, C3,
                        0.0f, a, T);
            for (int t = 0; t < T; t++) {
                float *row = a + (size_t)t * T;
                int tmax = causal ? t + 1 : T;
                float mx = -INFINITY, sum = 0.0f;
                for (int t2 = 0; t2 < tmax; t2++)
                    mx = row[t2] > mx ? row[t2] : mx;
                for (int t2 = 0; t2 < tmax; t2++) {
                    row[t2] = expf(row[t2] - mx);
                    sum += row[t2];
                }
                float inv = 1.0f / sum;
                for (int t2 = 0; t2 < tmax; t2++)
                    row[t2] *= inv;
                for (int t2 = tmax; t2 < T; t2++)
                    row[t2] = 0.0f;
            }
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, T, hs, T, 1.0f, a, T, v, C3,
                        0.0f, out + (size_t)b * T * C + (size_t)h * hs, C);
        }
    }
}

void attention_backward(float *dqkv, float *scratch, const float *dout, const float *qkv,
                        const float *att, int B, int T, int C, int NH, int causal)
{
    // dout (B,T,C) → dqkv (B,T,3C) +=; per (b,h) with the (T,T) scratch block d:
    //   d = dout_h v^T; dv += att^T dout_h; d = att * (d - rowsum(att * d)) / sqrt(hs);
    //   dq += d k; dk += d^T q. Causal rows need nothing more: att is zero past t.
    (void)causal;
    const int hs = C / NH, C3 = 3 * C;
    const float scale = 1.0f / sqrtf((float)hs);
    blas_single_thread();
#pragma omp parallel for collapse(2) schedule(static)
    for (int b = 0; b < B; b++) {
        for (int h = 0; h < NH; h++) {
            const size_t o = (size_t)b * T * C3 + (size_t)h * hs;
            const float *q = qkv + o, *k = q + C, *v = q + 2 * C;
            float *dq = dqkv + o, *dk = dq + C, *dv = dq + 2 * C;
            const float *dy = dout + (size_t)b * T * C + (size_t)h * hs;
            const float *a = att + ((size_t)b * NH + h) * T * T;
            float *d = scratch + ((size_t)b * NH + h) * T * T;
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, T, T, hs, 1.0f, dy, C, v, C3, 0.0f,
                        d, T);
            cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, T, hs, T, 1.0f, a, T, dy, C, 1.0f,
                        dv, C3);
            for (int t = 0; t < T; t++) {
                const float *ar = a + (size_t)t * T;
                float *dr = d + (size_t)t * T;
                float dot = 0.0f;
#pragma omp simd reduction(+ : dot)
                for (int t2 = 0; t2 < T; t2++)
                    dot += ar[t2] * dr[t2];
#pragma omp simd
                for (int t2 = 0; t2 < T; t2++)
                    dr[t2] = ar[t2] * (dr[t2] - dot) * scale;
            }
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, T, hs, T, 1.0f, d, T, k, C3,
                        1.0f, dq, C3);
            cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, T, hs, T, 1.0f, d, T, q, C3, 1.0f,
                        dk, C3);
        }
    }
}

void attention_forward_ref(float *out, float *att, const float *qkv, float *scratch, int B, int T,
                           int C, int NH, int causal)
{
    (void)scratch;
    const int hs = C / NH;
    const double scale = 1.0 / sqrt((double)hs);
    for (int b = 0; b < B; b++) {
        for (int h = 0; h < NH; h++) {
            for (int t = 0; t < T; t++) {
                double s[T], mx = -INFINITY, sum = 0.0;
                for (int t2 = 0; t2 < T; t2++) {
                    double d = 0.0;
                    for (int i = 0; i < hs; i++)
                        d += (double)qkv[((size_t)b * T + t) * 3 * C + h * hs + i] *
                             qkv[((size_t)b * T + t2) * 3 * C + C + h * hs + i];
                    s[t2] = (causal && t2 > t) ? -INFINITY : d * scale;
                    if (s[t2] > mx)
                        mx = s[t2];
                }
                for (int t2 = 0; t2 < T; t2++) {
                    s[t2] = (causal && t2 > t) ? 0.0 : exp(s[t2] - mx);
                    sum += s[t2];
                }
                float *row = att + (((size_t)b * NH + h) * T + t) * T;
                for (int t2 = 0; t2 < T; t2++)
                    row[t2] = (float)(s[t2] / sum);
                for (int i = 0; i < hs; i++) {
                    double o = 0.0;
                    for (int t2 = 0; t2 < T; t2++)
                        o += s[t2] / sum * qkv[((size_t)b * T + t2) * 3 * C + 2 * C + h * hs + i];
                    out[((size_t)b * T + t) * C + h * hs + i] = (float)o;
                }
            }
        }
    }
}

void attention_backward_ref(float *dqkv, float *scratch, const float *dout, const float *qkv,
                            const float *att, int B, int T, int C, int NH, int causal)
{
    (void)scratch;
    (void)causal; /* att is zero past t in causal rows, so the plain formulas hold */
    const int hs = C / NH;
    const double scale = 1.0 / sqrt((double)hs);
    for (int b = 0; b < B; b++) {
        for (int h = 0; h < NH; h++) {
            const float *a = att + ((size_t)b * NH + h) * T * T;
            for (int t = 0; t < T; t++) {
                double datt[T], dot = 0.0;
                const float *dy = dout + ((size_t)b * T + t) * C + h * hs;
                for (int t2 = 0; t2 < T; t2++) {
                    double d = 0.0;
                    for (int i = 0; i < hs; i++)
                        d += (double)dy[i] * qkv[((size_t)b * T + t2) * 3 * C + 2 * C + h * hs + i];
                    datt[t2] = d;
                    dot += d * a[(size_t)t * T + t2];
                }
                for (int t2 = 0; t2 < T; t2++) {
                    double w = a[(size_t)t * T + t2];
                    double ds = w * (datt[t2] - dot) * scale;
                    for (int i = 0; i < hs; i++) {
                        size_t qi = ((size_t)b * T + t) * 3 * C + h * hs + i;
                        size_t ki = ((size_t)b * T + t2) * 3 * C + C + h * hs + i;
                        size_t vi = ki + C;
                        dqkv[qi] += (float)(ds * qkv[ki]);
                        dqkv[ki] += (float)(ds * qkv[qi]);
                        dqkv[vi] += (float)(w * dy[i]);
                    }
                }
            }
        }
    }
}

/* ---------------------------------------------------------------------------------------------
 * embeddings and row moves */

void patchify_forward(float *out, const float *img, int B, int H, int W, int p)
{
    // img (B,3,H,W) → out (B, (H/p)(W/p), 3p²), each patch (channel, dy, dx)
    const int nh = H / p, nw = W / p, P = nh * nw, K = 3 * p * p;
#pragma omp parallel for collapse(2) schedule(static)
    for (int b = 0; b < B; b++) {
        for (int i = 0; i < P; i++) {
            int py = i / nw, px = i % nw;
            float *o = out + ((size_t)b * P + i) * K;
            for (int c = 0; c < 3; c++)
                for (int dy = 0; dy < p; dy++)
                    memcpy(o + (size_t)(c * p + dy) * p,
                           img + (((size_t)b * 3 + c) * H + (size_t)py * p + dy) * W +
                               (size_t)px * p,
                           (size_t)p * sizeof(float));
        }
    }
}

void vit_embed_forward(float *out, const float *patches, const float *cls, const float *pos, int B,
                       int P, int C)
{
    // out (B,1+P,C): row 0 cls + pos[0], row 1+i patches[i] + pos[1+i]
#pragma omp parallel for collapse(2) schedule(static)
    for (int b = 0; b < B; b++) {
        for (int j = 0; j <= P; j++) {
            const float *src = j == 0 ? cls : patches + ((size_t)b * P + j - 1) * C;
            const float *pp = pos + (size_t)j * C;
            float *o = out + ((size_t)b * (P + 1) + j) * C;
#pragma omp simd
            for (int c = 0; c < C; c++)
                o[c] = src[c] + pp[c];
        }
    }
}

void vit_embed_backward(float *dpatches, float *dcls, float *dpos, const float *dout, int B, int P,
                        int C)
{
    if (dpatches) {
#pragma omp parallel for collapse(2) schedule(static)
        for (int b = 0; b < B; b++)
            for (int i = 0; i < P; i++) {
                const float *d = dout + ((size_t)b * (P + 1) + 1 + i) * C;
                float *o = dpatches + ((size_t)b * P + i) * C;
#pragma omp simd
                for (int c = 0; c < C; c++)
                    o[c] += d[c];
            }
    }
    // dpos row j and dcls: sums over the batch, one row per iteration
#pragma omp parallel for schedule(static)
    for (int j = 0; j <= P; j++) {
        for (int b = 0; b < B; b++) {
            const float *d = dout + ((size_t)b * (P + 1) + j) * C;
            if (dpos) {
                float *o = dpos + (size_t)j * C;
#pragma omp simd
                for (int c = 0; c < C; c++)
                    o[c] += d[c];
            }
            if (j == 0 && dcls) {
#pragma omp simd
                for (int c = 0; c < C; c++)
                    dcls[c] += d[c];
            }
        }
    }
}

void token_embed_forward(float *out, const int32_t *tokens, const float *wte, const float *wpe,
                         int B, int T, int C)
{
#pragma omp parallel for collapse(2) schedule(static)
    for (int b = 0; b < B; b++) {
        for (int t = 0; t < T; t++) {
            const float *e = wte + (size_t)tokens[(size_t)b * T + t] * C;
            const float *pp = wpe + (size_t)t * C;
            float *o = out + ((size_t)b * T + t) * C;
#pragma omp simd
            for (int c = 0; c < C; c++)
                o[c] = e[c] + pp[c];
        }
    }
}

void token_embed_backward(float *dwte, float *dwpe, const float *dout, const int32_t *tokens, int B,
                          int T, int C)
{
    // dwte: rows repeat across (b,t), so threads split the channels instead
    if (dwte) {
#pragma omp parallel
        {
            int c0, c1;
            team_share_cols(C, &c0, &c1);
            for (size_t bt = 0; bt < (size_t)B * T && c1 > c0; bt++) {
                float *o = dwte + (size_t)tokens[bt] * C;
                const float *d = dout + bt * C;
#pragma omp simd
                for (int c = c0; c < c1; c++)
                    o[c] += d[c];
            }
        }
    }
    if (dwpe) {
#pragma omp parallel for schedule(static)
        for (int t = 0; t < T; t++) {
            float *o = dwpe + (size_t)t * C;
            for (int b = 0; b < B; b++) {
                const float *d = dout + ((size_t)b * T + t) * C;
#pragma omp simd
                for (int c = 0; c < C; c++)
                    o[c] += d[c];
            }
        }
    }
}

void gather_rows_forward(float *out, const float *inp, const int32_t *idx, int B, int T, int C)
{
    for (int b = 0; b < B; b++)
        memcpy(out + (size_t)b * C, inp + ((size_t)b * T + idx[b]) * C, (size_t)C * sizeof(float));
}

void gather_rows_backward(float *dinp, const float *dout, const int32_t *idx, int B, int T, int C)
{
    for (int b = 0; b < B; b++) {
        float *o = dinp + ((size_t)b * T + idx[b]) * C;
        const float *d = dout + (size_t)b * C;
        for (int c = 0; c < C; c++)
            o[c] += d[c];
    }
}

/* ---------------------------------------------------------------------------------------------
 * normalization and loss */

#define L2NORM_EPS 1e-12f

void l2norm_forward(float *out, float *norm, const float *inp, int N, int C)
{
#pragma omp parallel for schedule(static)
    for (int n = 0; n < N; n++) {
        const float *x = inp + (size_t)n * C;
        double s = 0.0;
        for (int c = 0; c < C; c++)
            s += (double)x[c] * x[c];
        float nr = (float)sqrt(s);
        if (!(nr > L2NORM_EPS))
            nr = L2NORM_EPS;
        norm[n] = nr;
        for (int c = 0; c < C; c++)
            out[(size_t)n * C + c] = x[c] / nr;
    }
}

void l2norm_backward(float *dinp, const float *dout, const float *out, const float *norm, int N,
                     int C)
{
    // y = x / |x|: dx = (dy - y (y . dy)) / |x|; where the norm was floored, y = x / eps: dx = dy /
    // eps
#pragma omp parallel for schedule(static)
    for (int n = 0; n < N; n++) {
        const float *y = out + (size_t)n * C, *dy = dout + (size_t)n * C;
        float *dx = dinp + (size_t)n * C;
        float nr = norm[n];
        float dot = 0.0f;
        if (nr > L2NORM_EPS) {
            for (int c = 0; c < C; c++)
                dot += y[c] * dy[c];
        }
        for (int c = 0; c < C; c++)
            dx[c] += (dy[c] - y[c] * dot) / nr;
    }
}

float clip_loss_forward(float *logits, float *probs_i, float *probs_t, const float *img,
                        const float *txt, float logit_scale, int N, int E)
{
    // logits (N,N) = exp(ls) img @ txt^T; probs_i: row softmax; probs_t: column softmax (stored
    // in place, probs_t[i*N + j] = softmax over i of logits[., j])
    const float scale = expf(logit_scale);
    blas_single_thread();
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, N, N, E, scale, img, E, txt, E, 0.0f,
                logits, N);
    double loss_i = 0.0, loss_t = 0.0;
#pragma omp parallel for schedule(static) reduction(+ : loss_i)
    for (int i = 0; i < N; i++) {
        const float *l = logits + (size_t)i * N;
        float mx = -INFINITY;
        for (int j = 0; j < N; j++)
            mx = l[j] > mx ? l[j] : mx;
        double sum = 0.0;
        for (int j = 0; j < N; j++) {
            float e = expf(l[j] - mx);
            probs_i[(size_t)i * N + j] = e;
            sum += e;
        }
        for (int j = 0; j < N; j++)
            probs_i[(size_t)i * N + j] = (float)(probs_i[(size_t)i * N + j] / sum);
        loss_i += -((double)l[i] - mx - log(sum));
    }
#pragma omp parallel for schedule(static) reduction(+ : loss_t)
    for (int j = 0; j < N; j++) {
        float mx = -INFINITY;
        for (int i = 0; i < N; i++)
            mx = logits[(size_t)i * N + j] > mx ? logits[(size_t)i * N + j] : mx;
        double sum = 0.0;
        for (int i = 0; i < N; i++) {
            float e = expf(logits[(size_t)i * N + j] - mx);
            probs_t[(size_t)i * N + j] = e;
            sum += e;
        }
        for (int i = 0; i < N; i++)
            probs_t[(size_t)i * N + j] = (float)(probs_t[(size_t)i * N + j] / sum);
        loss_t += -((double)logits[(size_t)j * N + j] - mx - log(sum));
    }
    return (float)((loss_i + loss_t) / (2.0 * N));
}

void clip_loss_backward(float *dimg, float *dtxt, float *dlogit_scale, const float *logits,
                        const float *probs_i, const float *probs_t, const float *img,
                        const float *txt, float logit_scale, float dloss, int N, int E)
{
    // dlogits[i,j] = dloss / (2N) (probs_i[i,j] + probs_t[i,j] - 2 [i == j]), recomputed where used
    // (no scratch): dimg_i += s sum_j dlogits[i,j] txt_j; dtxt_j += s sum_i dlogits[i,j] img_i;
    // d logit_scale = sum dlogits * logits (logits = exp(ls) sim)
    const float scale = expf(logit_scale);
    const float g = dloss / (2.0f * (float)N);
    if (dimg) {
#pragma omp parallel for schedule(static)
        for (int i = 0; i < N; i++) {
            float *o = dimg + (size_t)i * E;
            for (int j = 0; j < N; j++) {
                size_t ij = (size_t)i * N + j;
                float dl = g * (probs_i[ij] + probs_t[ij] - (i == j ? 2.0f : 0.0f)) * scale;
                const float *x = txt + (size_t)j * E;
#pragma omp simd
                for (int e = 0; e < E; e++)
                    o[e] += dl * x[e];
            }
        }
    }
    if (dtxt) {
#pragma omp parallel for schedule(static)
        for (int j = 0; j < N; j++) {
            float *o = dtxt + (size_t)j * E;
            for (int i = 0; i < N; i++) {
                size_t ij = (size_t)i * N + j;
                float dl = g * (probs_i[ij] + probs_t[ij] - (i == j ? 2.0f : 0.0f)) * scale;
                const float *x = img + (size_t)i * E;
#pragma omp simd
                for (int e = 0; e < E; e++)
                    o[e] += dl * x[e];
            }
        }
    }
    if (dlogit_scale) {
        double s = 0.0;
        for (size_t ij = 0; ij < (size_t)N * N; ij++) {
            size_t i = ij / (size_t)N, j = ij % (size_t)N;
            s += (double)g * (probs_i[ij] + probs_t[ij] - (i == j ? 2.0 : 0.0)) * logits[ij];
        }
        *dlogit_scale += (float)s;
    }
}
