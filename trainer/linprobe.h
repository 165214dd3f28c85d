/* trainer/linprobe.h — linear probe: multinomial logistic regression on frozen features.
 *
 * The model is softmax(W x + b) over C classes, W (C,D), b (C). Training minimizes the mean
 * cross-entropy over the N examples plus lambda/2 ||W||^2 (the bias is not penalized) with
 * L-BFGS (liblbfgs), from W = 0, b = 0, so a given input always gives the same weights.
 *
 * The L2 strength is chosen as CLIP's linear probes chose it: the training examples are split
 * (per class, from a seed) into a fit part and a validation part, a probe is fit on the first for
 * every lambda of a log-spaced grid, and the lambda with the best validation accuracy wins; ties
 * go to the lower validation cross-entropy, then to the larger lambda. The final probe is then
 * fit on all the training examples with that lambda.
 *
 * Threads: every function is reentrant; matrix products use OpenBLAS's threads and the loops
 * over examples OpenMP's. Probes are plain data, owned by the caller.
 */
#ifndef CC_LINPROBE_H
#define CC_LINPROBE_H

#include <stddef.h>
#include <stdint.h>

#include "common/status.h"

/* A trained probe. W (C,D) row-major and b (C) live in one allocation owned by the probe. */
typedef struct linprobe {
    int D, C;
    float *W, *b;
    double lambda; /* the L2 strength it was fit with */
    double loss; /* the objective at the end (mean cross-entropy + lambda/2 ||W||^2) */
    int iterations; /* L-BFGS iterations taken */
} linprobe;

/* Default iteration cap of linprobe_fit (CLIP used 1000). */
#define LINPROBE_MAX_ITER 1000

/* Fits a probe to x (N,D) with labels y (N, values in [0,C)) and L2 strength lambda >= 0.
 * max_iter caps the L-BFGS iterations (0 = LINPROBE_MAX_ITER); stopping early at the cap or on
 * a line search that can make no more progress keeps the best point reached, as usual for
 * L-BFGS near a minimum. *out is malloc'd; free it with linprobe_free. CC_E_INVAL (N = 0, D or
 * C < 1, a label out of range, lambda < 0 or not finite), CC_E_NOMEM, CC_E_INVAL when liblbfgs
 * rejects its parameters. */
cc_status linprobe_fit(const float *x, const int *y, size_t N, int D, int C, double lambda,
                       int max_iter, linprobe **out);
void linprobe_free(linprobe *p); /* accepts NULL */

/* The training objective at parameters wb (W (C,D) row-major, then b (C); C·D + C values) into
 * *f, and its gradient (same layout) into grad: what linprobe_fit hands L-BFGS, exposed for tests
 * (finite differences) and diagnostics. CC_E_INVAL as linprobe_fit, CC_E_NOMEM. */
cc_status linprobe_objective(const float *x, const int *y, size_t N, int D, int C, double lambda,
                             const double *wb, double *f, double *grad);

/* Predicted class (argmax of W x + b; the lowest class wins a tie) for each of the N rows of
 * x (N, p->D) into pred (N). */
void linprobe_predict(const linprobe *p, const float *x, size_t N, int *pred);
/* Fraction of the N rows whose prediction equals y; 0 when N = 0, -1 when out of memory. */
double linprobe_accuracy(const linprobe *p, const float *x, const int *y, size_t N);

/* The grid linprobe_select uses when given none: 10^-6, 10^-5, ..., 10^2 (9 values). */
extern const double linprobe_default_grid[];
extern const int linprobe_default_grid_count;

/* Splits the N examples for validation: for every class with at least 2 examples,
 * round(val_frac × count) of them (at least 1, at most count - 1), picked by a shuffle from
 * seed, get is_val[i] = 1; the others 0. Classes with one example stay in the fit part. Returns
 * the number put in validation (0 when no class has 2 examples). val_frac in (0,1). */
size_t linprobe_split(const int *y, size_t N, int C, double val_frac, uint64_t seed,
                      unsigned char *is_val);

/* Chooses lambda from grid (ng values; NULL = the default grid) on a linprobe_split(val_frac,
 * seed) of x/y, then fits the final probe on all N examples with it (*out, as linprobe_fit).
 * val_acc (ng, may be NULL) gets each lambda's validation accuracy. When the split leaves no
 * validation example (one example per class), the grid's geometric middle is taken and val_acc
 * is filled with -1. Errors as linprobe_fit. */
cc_status linprobe_select(const float *x, const int *y, size_t N, int D, int C, const double *grid,
                          int ng, double val_frac, uint64_t seed, int max_iter, double *val_acc,
                          linprobe **out);

#endif
