/* trainer/linprobe.c — multinomial logistic regression with L-BFGS (see linprobe.h). */
#include "trainer/linprobe.h"

#include <cblas.h>
#include <lbfgs.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "common/rng.h"

const double linprobe_default_grid[] = {1e-6, 1e-5, 1e-4, 1e-3, 1e-2, 1e-1, 1, 10, 100};
const int linprobe_default_grid_count =
    (int)(sizeof linprobe_default_grid / sizeof *linprobe_default_grid);

/* What the objective needs: the data and scratch for one evaluation. */
typedef struct fit_ctx {
    const float *x; /* (N,D) */
    const int *y; /* (N) */
    size_t N;
    int D, C;
    double lambda;
    float *W; /* (C,D) float copy of the parameters for sgemm */
    float *G; /* (N,C) logits, then d loss / d logits */
    float *dW; /* (C,D) */
    int iters; /* iterations liblbfgs reported */
} fit_ctx;

/* liblbfgs calls this after every iteration; it only counts them. */
static int progress(void *inst, const lbfgsfloatval_t *x, const lbfgsfloatval_t *g,
                    const lbfgsfloatval_t fx, const lbfgsfloatval_t xnorm,
                    const lbfgsfloatval_t gnorm, const lbfgsfloatval_t step, int n, int k, int ls)
{
    (void)x, (void)g, (void)fx, (void)xnorm, (void)gnorm, (void)step, (void)n, (void)ls;
    ((fit_ctx *)inst)->iters = k;
    return 0;
}

/* Parameters as liblbfgs sees them: W (C,D) row-major, then b (C). */
static lbfgsfloatval_t objective(void *inst, const lbfgsfloatval_t *p, lbfgsfloatval_t *g,
                                 const int n, const lbfgsfloatval_t step)
{
    (void)n;
    (void)step;
    fit_ctx *f = inst;
    const size_t N = f->N, CD = (size_t)f->C * (size_t)f->D;
    const int C = f->C, D = f->D;
    const lbfgsfloatval_t *b = p + CD;
    for (size_t i = 0; i < CD; i++)
        f->W[i] = (float)p[i];
    // logits (N,C) = x (N,D) · W^T (D,C)
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)N, C, D, 1.0f, f->x, D, f->W, D, 0.0f,
                f->G, C);
    double ce = 0;
    const float invN = 1.0f / (float)N;
#pragma omp parallel for reduction(+ : ce) schedule(static)
    for (size_t i = 0; i < N; i++) {
        float *row = f->G + i * (size_t)C;
        double mx = -INFINITY;
        for (int c = 0; c < C; c++) {
            row[c] += (float)b[c];
            if (row[c] > mx)
                mx = row[c];
        }
        double z = 0;
        for (int c = 0; c < C; c++)
            z += exp(row[c] - mx);
        double lz = mx + log(z);
        ce += lz - row[f->y[i]];
        // d mean-CE / d logit = (softmax - onehot) / N
        for (int c = 0; c < C; c++)
            row[c] = (float)exp(row[c] - lz) * invN;
        row[f->y[i]] -= invN;
    }
    // dW (C,D) = G^T (C,N) · x (N,D)
    cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, C, D, (int)N, 1.0f, f->G, C, f->x, D, 0.0f,
                f->dW, D);
    double reg = 0;
    for (size_t i = 0; i < CD; i++) {
        reg += p[i] * p[i];
        g[i] = f->dW[i] + f->lambda * p[i];
    }
    for (int c = 0; c < C; c++) {
        double s = 0;
        for (size_t i = 0; i < N; i++)
            s += f->G[i * (size_t)C + (size_t)c];
        g[CD + (size_t)c] = s;
    }
    return ce / (double)N + 0.5 * f->lambda * reg;
}

cc_status linprobe_fit(const float *x, const int *y, size_t N, int D, int C, double lambda,
                       int max_iter, linprobe **out)
{
    CC_CHECK(N > 0 && D > 0 && C > 0, CC_E_INVAL, "linear probe: no examples, features or classes");
    CC_CHECK(lambda >= 0 && isfinite(lambda), CC_E_INVAL, "linear probe: bad L2 strength %g",
             lambda);
    for (size_t i = 0; i < N; i++)
        CC_CHECK(y[i] >= 0 && y[i] < C, CC_E_INVAL,
                 "linear probe: label %d of example %zu not in [0,%d)", y[i], i, C);
    const size_t CD = (size_t)C * (size_t)D, np = CD + (size_t)C;
    fit_ctx f = {.x = x, .y = y, .N = N, .D = D, .C = C, .lambda = lambda};
    f.W = malloc(CD * sizeof *f.W);
    f.dW = malloc(CD * sizeof *f.dW);
    f.G = malloc(N * (size_t)C * sizeof *f.G);
    lbfgsfloatval_t *p = lbfgs_malloc((int)np);
    linprobe *pr = malloc(sizeof *pr);
    float *wb = malloc(np * sizeof *wb);
    cc_status st = CC_OK;
    if (!f.W || !f.dW || !f.G || !p || !pr || !wb) {
        st = cc_fail(CC_E_NOMEM, "out of memory");
        goto done;
    }
    memset(p, 0, np * sizeof *p);
    lbfgs_parameter_t lp;
    lbfgs_parameter_init(&lp);
    lp.max_iterations = max_iter > 0 ? max_iter : LINPROBE_MAX_ITER;
    lp.epsilon = 1e-6;
    lbfgsfloatval_t fx = 0;
    int ret = lbfgs((int)np, p, &fx, objective, progress, &f, &lp);
    if (ret == LBFGSERR_OUTOFMEMORY) {
        st = cc_fail(CC_E_NOMEM, "out of memory (L-BFGS)");
        goto done;
    }
    if ((ret >= LBFGSERR_INVALID_N && ret <= LBFGSERR_INVALID_ORTHANTWISE_END) ||
        ret == LBFGSERR_UNKNOWNERROR || ret == LBFGSERR_LOGICERROR) {
        st = cc_fail(CC_E_INVAL, "linear probe: L-BFGS rejected its parameters (%d)", ret);
        goto done;
    }
    /* Other codes (converged, iteration cap, a line search that cannot improve further) leave p
     * at the best point reached. */
    for (size_t i = 0; i < np; i++)
        wb[i] = (float)p[i];
    *pr = (linprobe){
        .D = D, .C = C, .W = wb, .b = wb + CD, .lambda = lambda, .loss = fx, .iterations = f.iters};
    *out = pr;
    pr = NULL;
    wb = NULL;
done:
    free(f.W);
    free(f.dW);
    free(f.G);
    lbfgs_free(p);
    free(pr);
    free(wb);
    return st;
}

cc_status linprobe_objective(const float *x, const int *y, size_t N, int D, int C, double lambda,
                             const double *wb, double *f, double *grad)
{
    CC_CHECK(N > 0 && D > 0 && C > 0 && lambda >= 0, CC_E_INVAL, "linear probe: bad arguments");
    for (size_t i = 0; i < N; i++)
        CC_CHECK(y[i] >= 0 && y[i] < C, CC_E_INVAL, "linear probe: label %d not in [0,%d)", y[i],
                 C);
    const size_t CD = (size_t)C * (size_t)D;
    fit_ctx fc = {.x = x, .y = y, .N = N, .D = D, .C = C, .lambda = lambda};
    fc.W = malloc(CD * sizeof *fc.W);
    fc.dW = malloc(CD * sizeof *fc.dW);
    fc.G = malloc(N * (size_t)C * sizeof *fc.G);
    cc_status st = fc.W && fc.dW && fc.G ? CC_OK : cc_fail(CC_E_NOMEM, "out of memory");
    if (st == CC_OK)
        *f = objective(&fc, wb, grad, (int)(CD + (size_t)C), 0);
    free(fc.W);
    free(fc.dW);
    free(fc.G);
    return st;
}

void linprobe_free(linprobe *p)
{
    if (!p)
        return;
    free(p->W);
    free(p);
}

void linprobe_predict(const linprobe *p, const float *x, size_t N, int *pred)
{
    const int D = p->D, C = p->C;
#pragma omp parallel for schedule(static)
    for (size_t i = 0; i < N; i++) {
        const float *xi = x + i * (size_t)D;
        int best = 0;
        float bs = -INFINITY;
        for (int c = 0; c < C; c++) {
            const float *w = p->W + (size_t)c * (size_t)D;
            float s = p->b[c];
            for (int d = 0; d < D; d++)
                s += w[d] * xi[d];
            if (s > bs) {
                bs = s;
                best = c;
            }
        }
        pred[i] = best;
    }
}

double linprobe_accuracy(const linprobe *p, const float *x, const int *y, size_t N)
{
    if (!N)
        return 0;
    int *pred = malloc(N * sizeof *pred);
    if (!pred)
        return -1;
    linprobe_predict(p, x, N, pred);
    size_t hit = 0;
    for (size_t i = 0; i < N; i++)
        hit += pred[i] == y[i];
    free(pred);
    return (double)hit / (double)N;
}

size_t linprobe_split(const int *y, size_t N, int C, double val_frac, uint64_t seed,
                      unsigned char *is_val)
{
    size_t nval = 0;
    memset(is_val, 0, N);
    size_t *idx = malloc((N ? N : 1) * sizeof *idx);
    if (!idx)
        return 0;
    for (int c = 0; c < C; c++) {
        size_t n = 0;
        for (size_t i = 0; i < N; i++)
            if (y[i] == c)
                idx[n++] = i;
        if (n < 2)
            continue;
        /* Fisher–Yates from a stream of its own per class, so classes do not disturb each
         * other's draws. */
        cc_rng r;
        cc_rng_stream(&r, seed, 0x1b9e, (uint64_t)c);
        for (size_t i = n - 1; i > 0; i--) {
            size_t j = (size_t)cc_rng_below(&r, i + 1), t = idx[i];
            idx[i] = idx[j];
            idx[j] = t;
        }
        size_t k = (size_t)lround(val_frac * (double)n);
        if (k < 1)
            k = 1;
        if (k > n - 1)
            k = n - 1;
        for (size_t i = 0; i < k; i++)
            is_val[idx[i]] = 1;
        nval += k;
    }
    free(idx);
    return nval;
}

/* Mean cross-entropy of the probe on x/y (N rows). */
static double probe_xent(const linprobe *p, const float *x, const int *y, size_t N)
{
    double s = 0, *l = malloc((size_t)p->C * sizeof *l);
    if (!l)
        return INFINITY;
    for (size_t i = 0; i < N; i++) {
        const float *xi = x + i * (size_t)p->D;
        double mx = -INFINITY, z = 0, ly = 0;
        for (int c = 0; c < p->C; c++) {
            double v = p->b[c];
            for (int d = 0; d < p->D; d++)
                v += (double)p->W[(size_t)c * (size_t)p->D + (size_t)d] * xi[d];
            l[c] = v;
            if (v > mx)
                mx = v;
        }
        for (int c = 0; c < p->C; c++)
            z += exp(l[c] - mx);
        ly = l[y[i]];
        s += mx + log(z) - ly;
    }
    free(l);
    return N ? s / (double)N : 0;
}

cc_status linprobe_select(const float *x, const int *y, size_t N, int D, int C, const double *grid,
                          int ng, double val_frac, uint64_t seed, int max_iter, double *val_acc,
                          linprobe **out)
{
    if (!grid) {
        grid = linprobe_default_grid;
        ng = linprobe_default_grid_count;
    }
    CC_CHECK(ng > 0 && N > 0 && D > 0, CC_E_INVAL, "linear probe: empty grid or data");
    CC_CHECK(val_frac > 0 && val_frac < 1, CC_E_INVAL,
             "linear probe: validation fraction %g not in (0,1)", val_frac);
    unsigned char *is_val = malloc(N);
    float *xf = malloc(N * (size_t)D * sizeof *xf), *xv = malloc(N * (size_t)D * sizeof *xv);
    int *yf = malloc(N * sizeof *yf), *yv = malloc(N * sizeof *yv);
    cc_status st = CC_OK;
    double best_lambda = grid[ng / 2];
    if (!is_val || !xf || !xv || !yf || !yv) {
        st = cc_fail(CC_E_NOMEM, "out of memory");
        goto done;
    }
    linprobe_split(y, N, C, val_frac, seed, is_val);
    size_t nv = 0, nf = 0;
    for (size_t i = 0; i < N; i++) {
        float *dst = is_val[i] ? xv + nv * (size_t)D : xf + nf * (size_t)D;
        memcpy(dst, x + i * (size_t)D, (size_t)D * sizeof *dst);
        if (is_val[i])
            yv[nv++] = y[i];
        else
            yf[nf++] = y[i];
    }
    if (nv == 0) {
        if (val_acc)
            for (int g = 0; g < ng; g++)
                val_acc[g] = -1;
        best_lambda = sqrt(grid[0] * grid[ng - 1]);
    } else {
        double best_acc = -1, best_xent = INFINITY;
        for (int g = 0; g < ng; g++) {
            linprobe *p = NULL;
            st = linprobe_fit(xf, yf, nf, D, C, grid[g], max_iter, &p);
            if (st != CC_OK)
                goto done;
            double acc = linprobe_accuracy(p, xv, yv, nv), xent = probe_xent(p, xv, yv, nv);
            linprobe_free(p);
            if (val_acc)
                val_acc[g] = acc;
            /* Better accuracy wins; then lower validation loss; then the larger lambda. */
            if (acc > best_acc || (acc == best_acc && xent < best_xent) ||
                (acc == best_acc && xent == best_xent && grid[g] > best_lambda)) {
                best_acc = acc;
                best_xent = xent;
                best_lambda = grid[g];
            }
        }
    }
    st = linprobe_fit(x, y, N, D, C, best_lambda, max_iter, out);
done:
    free(is_val);
    free(xf);
    free(xv);
    free(yf);
    free(yv);
    return st;
}
