/* trainer/train.h — the training loop behind `clipcrawl train`: tokenizer + loader + model +
 * AdamW, a CSV log per step, atomic checkpoints, exact resume.
 *
 * One step: the loader's next batch → clip_model_forward → zero_grad → backward → adamw_step at
 * lr_at(step). Every log_every steps a line is printed; every step a row is appended to
 * OUT/log.csv: step, epoch, loss, lr, logit_scale (exp of the parameter), grad_norm, samples_s
 * (this step), data_wait_ms, step_ms. OUT/ckpt.bin is written every ckpt_every steps and at the
 * end (trainer/ckpt.h); OUT/run.json at the end has the options, the config, and figures.
 *
 * Resume (opts.resume): OUT/ckpt.bin gives parameters, optimizer state, step and loader
 * position; log.csv is cut back to the checkpoint's step, so a killed and resumed run leaves the
 * same log (and, with the same thread count, bit-identical losses) as an uninterrupted one.
 * Options that define the run (model, batch, seed, lr, min_lr, warmup, weight decay, clipping,
 * tokenizer) must match the checkpoint's; a mismatch is an error naming the option. steps may
 * grow (the cosine schedule then follows the new total).
 *
 * Threads: train_run owns the process's OpenMP and OpenBLAS thread counts while it runs.
 */
#ifndef CC_TRAIN_H
#define CC_TRAIN_H

#include <stdint.h>

#include "common/status.h"
#include "trainer/model.h"

typedef struct train_opts {
    const char *data; /* manifest file or shard folder */
    const char *tokenizer; /* bpe file */
    const char *model; /* config name ("tiny") */
    const char *out; /* output folder (created) */
    uint32_t batch; /* 128 */
    uint64_t steps; /* 1000 */
    float lr; /* 5e-4 */
    float min_lr; /* 0 */
    uint64_t warmup; /* 10% of steps when UINT64_MAX (the default) */
    float weight_decay; /* 0.2 */
    float clip_norm; /* 0 = off */
    uint64_t seed; /* 1 */
    int threads; /* OpenMP/BLAS threads for the model; 0 = all cores */
    int loader_threads; /* 0 = 1 worker per 2 cores, at least 1 */
    int resume; /* continue from OUT/ckpt.bin */
    uint64_t log_every; /* printed lines: every 10 steps */
    uint64_t ckpt_every; /* 0 = only at the end */
    uint64_t stop_after; /* stop (with a checkpoint) after this step, 0 = run to steps; for tests
                            of resume */
    /* Called after every step that is a multiple of eval_every (and after the last); may be NULL.
     * Returns nonzero to stop training early. */
    uint64_t eval_every;
    int (*on_eval)(void *ctx, clip_model *m, uint64_t step);
    void *eval_ctx;
} train_opts;

void train_opts_default(train_opts *o);

typedef struct train_result {
    uint64_t steps; /* steps done in total (including before a resume) */
    float first_loss; /* loss of step 1 (of this invocation) */
    float last_loss; /* mean loss of the last min(10, steps) steps of this invocation */
    double seconds; /* wall time of this invocation's steps, evaluations (on_eval) excluded */
    double samples_per_s;
    double data_wait_s;
    uint64_t corrupt; /* records the loader skipped */
} train_result;

/* Cuts a CSV log (a header line, then rows starting with their step) back to the rows of steps
 * <= step; a missing file is fine. For logs kept beside log.csv (an evaluation log) when a run
 * resumes. CC_E_IO. */
cc_status train_log_cut(const char *path, uint64_t step);

/* Runs (or resumes) a training. CC_E_INVAL (bad options, mismatch with the checkpoint), and
 * whatever the loader, tokenizer or files report. */
cc_status train_run(const train_opts *o, train_result *res);

#endif
