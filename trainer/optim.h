/* trainer/optim.h — AdamW with decoupled weight decay, the learning-rate schedule, gradient
 * clipping.
 *
 * AdamW (Loshchilov & Hutter), as torch.optim.AdamW computes it, per parameter p with gradient g
 * at step t (1-based):
 *   m = β1 m + (1-β1) g;  v = β2 v + (1-β2) g²
 *   p -= lr · wd · p            (only tensors with decay = 1, see clip_tensor)
 *   p -= lr · (m / (1-β1^t)) / (sqrt(v / (1-β2^t)) + ε)
 * CLIP's values are the defaults: β1 0.9, β2 0.98, ε 1e-6, weight decay 0.2.
 * Schedule: linear warm-up from 0 to lr over warmup steps, then cosine decay to min_lr at total
 * steps (lr_at), as open_clip's cosine_lr.
 *
 * Threads: an adamw belongs to one thread; adamw_step uses OpenMP inside.
 */
#ifndef CC_OPTIM_H
#define CC_OPTIM_H

#include <stddef.h>
#include <stdint.h>

#include "common/status.h"
#include "trainer/model.h"

typedef struct adamw_opts {
    float beta1; /* 0.9 */
    float beta2; /* 0.98 */
    float eps; /* 1e-6 */
    float weight_decay; /* 0.2 */
    float clip_norm; /* global gradient-norm clipping threshold; 0 = off (default) */
} adamw_opts;

void adamw_opts_default(adamw_opts *o);

typedef struct adamw adamw;

/* Optimizer state (m and v, n floats each, zeroed; step 0) for n parameters. CC_E_NOMEM. */
cc_status adamw_new(size_t n, const adamw_opts *o, adamw **out);
void adamw_free(adamw *a); /* accepts NULL */

/* One update of params from grads (n floats each) at learning rate lr. Weight decay applies to
 * the tensors of the layout with decay = 1 (tensors, nt entries, covering [0, n)). When
 * clip_norm > 0 and the global L2 norm of grads exceeds it, grads are scaled by clip_norm/norm
 * first (grads is written). Afterwards the tensor named "logit_scale", when present, is clamped to
 * [0, ln 100]. Returns the global gradient norm before clipping. */
float adamw_step(adamw *a, float *params, float *grads, const clip_tensor *tensors, size_t nt,
                 float lr);

/* State for checkpoints: the step count and the m, v arrays (n floats each, read-write). */
uint64_t adamw_steps(const adamw *a);
void adamw_set_steps(adamw *a, uint64_t t);
float *adamw_m(adamw *a);
float *adamw_v(adamw *a);
size_t adamw_size(const adamw *a);

/* The learning rate at step (0-based): step < warmup → lr·(step+1)/warmup; afterwards cosine
 * from lr down to min_lr at total; lr·… stays min_lr past total. */
float lr_at(uint64_t step, uint64_t warmup, uint64_t total, float lr, float min_lr);

/* The L2 norm of n floats (double accumulation). */
float grad_norm(const float *g, size_t n);

#endif
