/* trainer/train.c — the training loop (see train.h and docs/TRAINER.md). */
#include "trainer/train.h"

#include <cblas.h>
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/file.h"
#include "common/hash.h"
#include "common/log.h"
#include "trainer/bpe.h"
#include "trainer/ckpt.h"
#include "trainer/loader.h"
#include "trainer/optim.h"

void train_opts_default(train_opts *o)
{
    memset(o, 0, sizeof *o);
    o->model = "tiny";
    o->batch = 128;
    o->steps = 1000;
    o->lr = 5e-4f;
    o->warmup = UINT64_MAX;
    o->weight_decay = 0.2f;
    o->seed = 1;
    o->log_every = 10;
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static cc_status tokenize(void *ctx, const char *text, size_t len, int32_t *out, uint32_t ctx_len)
{
    return bpe_encode((const bpe *)ctx, text, len, out, ctx_len, NULL);
}

/* The options a checkpoint must agree with to be resumed. */
static cc_status check_resume(const ckpt_meta *k, const train_opts *o, const clip_config *cfg,
                              uint64_t warmup, uint64_t tok_hash)
{
#define SAME(cond, what, fmt, a, b)                                                                \
    CC_CHECK(cond, CC_E_INVAL,                                                                     \
             "--resume: " what " " fmt " differs from the checkpoint's " fmt                       \
             " (use the same flags, or a new --out)",                                              \
             a, b)
    SAME(!strcmp(k->cfg.name, cfg->name), "--model", "%s", cfg->name, k->cfg.name);
    SAME(k->cfg.vocab == cfg->vocab && k->cfg.context == cfg->context, "the tokenizer's vocab",
         "%d", cfg->vocab, k->cfg.vocab);
    SAME(k->tokenizer_hash == tok_hash, "--tokenizer (its contents)", "%016" PRIx64, tok_hash,
         k->tokenizer_hash);
    SAME(k->batch == o->batch, "--batch", "%u", o->batch, k->batch);
    SAME(k->seed == o->seed, "--seed", "%" PRIu64, o->seed, k->seed);
    SAME(k->lr == o->lr, "--lr", "%g", (double)o->lr, (double)k->lr);
    SAME(k->min_lr == o->min_lr, "--min-lr", "%g", (double)o->min_lr, (double)k->min_lr);
    SAME(k->warmup == warmup, "--warmup", "%" PRIu64, warmup, k->warmup);
    SAME(k->weight_decay == o->weight_decay, "--wd", "%g", (double)o->weight_decay,
         (double)k->weight_decay);
    SAME(k->clip_norm == o->clip_norm, "--clip-grad", "%g", (double)o->clip_norm,
         (double)k->clip_norm);
#undef SAME
    return CC_OK;
}

/* Keeps the header and the rows of steps <= step of OUT/log.csv (a resumed run rewrites the
 * steps after its checkpoint). */
cc_status train_log_cut(const char *path, uint64_t step)
{
    cc_buf b;
    cc_buf_init(&b, (size_t)1 << 30);
    cc_status st = cc_read_file(path, &b);
    if (st == CC_E_NOTFOUND) {
        cc_buf_free(&b);
        return CC_OK;
    }
    if (st != CC_OK) {
        cc_buf_free(&b);
        return st;
    }
    size_t keep = 0;
    const char *p = (const char *)b.data, *end = p + b.len;
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        if (!nl)
            break; /* a torn last row */
        char *e;
        unsigned long long s = strtoull(p, &e, 10);
        if (e != p && s > step)
            break;
        keep = (size_t)(nl + 1 - (const char *)b.data);
        p = nl + 1;
    }
    st = truncate(path, (off_t)keep) == 0 ? CC_OK
                                          : cc_fail(CC_E_IO, "%s: %s", path, strerror(errno));
    cc_buf_free(&b);
    return st;
}

typedef struct run {
    const train_opts *o;
    bpe *tok;
    clip_model *m;
    adamw *opt;
    loader *ld;
    clip_config cfg;
    ckpt_meta meta;
    FILE *log;
    char ckpt_path[4096], log_path[4096];
} run;

static cc_status save_ckpt(run *r, uint64_t step)
{
    r->meta.step = step;
    loader_position(r->ld, &r->meta.loader_epoch, &r->meta.loader_batch);
    r->meta.adam_steps = adamw_steps(r->opt);
    if (r->log && fflush(r->log) != 0)
        return cc_fail(CC_E_IO, "%s: %s", r->log_path, strerror(errno));
    if (r->log)
        fsync(fileno(r->log));
    return ckpt_save(r->ckpt_path, &r->meta, clip_model_params(r->m), adamw_m(r->opt),
                     adamw_v(r->opt));
}

static cc_status write_run_json(const run *r, const train_result *res, double flops)
{
    char path[4096];
    CC_TRY(cc_path_join(path, sizeof path, r->o->out, "run.json"));
    cc_file_out fo;
    CC_TRY(cc_file_out_open(&fo, path));
    char s[4096];
    const clip_config *c = &r->cfg;
    int n = snprintf(
        s, sizeof s,
        "{\"model\": \"%s\", \"params\": %zu, \"flops_per_sample\": %.0f, \"image_size\": %d, "
        "\"patch\": %d, \"vision_width\": %d, \"vision_layers\": %d, \"text_width\": %d, "
        "\"text_layers\": %d, \"embed_dim\": %d, \"vocab\": %d, \"context\": %d,\n"
        " \"batch\": %u, \"steps\": %" PRIu64 ", \"lr\": %g, \"warmup\": %" PRIu64
        ", \"weight_decay\": %g, \"seed\": %" PRIu64 ", \"threads\": %d,\n"
        " \"first_loss\": %.6f, \"last_loss\": %.6f, \"seconds\": %.3f, \"samples_per_s\": %.2f, "
        "\"data_wait_s\": %.3f, \"corrupt_records\": %" PRIu64 ", \"achieved_gflops\": %.2f}\n",
        c->name, clip_model_num_params(r->m), flops, c->image_size, c->patch, c->vision_width,
        c->vision_layers, c->text_width, c->text_layers, c->embed_dim, c->vocab, c->context,
        r->o->batch, res->steps, (double)r->o->lr, r->meta.warmup, (double)r->o->weight_decay,
        r->o->seed, omp_get_max_threads(), (double)res->first_loss, (double)res->last_loss,
        res->seconds, res->samples_per_s, res->data_wait_s, res->corrupt,
        res->samples_per_s * flops / 1e9);
    cc_status st = cc_file_out_put(&fo, s, (size_t)n);
    if (st != CC_OK) {
        cc_file_out_abort(&fo);
        return st;
    }
    return cc_file_out_commit_plain(&fo);
}

static cc_status setup(run *r, uint64_t *start_step)
{
    const train_opts *o = r->o;
    CC_CHECK(o->data && o->tokenizer && o->out, CC_E_INVAL,
             "--data, --tokenizer and --out are needed");
    CC_CHECK(o->batch >= 2, CC_E_INVAL,
             "--batch must be at least 2 (a contrastive loss needs pairs)");
    CC_CHECK(o->steps >= 1, CC_E_INVAL, "--steps must be at least 1");
    CC_CHECK(o->lr > 0 && isfinite(o->lr), CC_E_INVAL, "--lr must be positive");
    CC_TRY(cc_mkdir(o->out));
    CC_TRY(cc_path_join(r->ckpt_path, sizeof r->ckpt_path, o->out, "ckpt.bin"));
    CC_TRY(cc_path_join(r->log_path, sizeof r->log_path, o->out, "log.csv"));

    cc_buf tb;
    cc_buf_init(&tb, (size_t)256 << 20);
    cc_status st = cc_read_file(o->tokenizer, &tb);
    uint64_t tok_hash = st == CC_OK ? cc_hash64(tb.data, tb.len) : 0;
    cc_buf_free(&tb);
    CC_TRY(st);
    CC_TRY(bpe_load(o->tokenizer, &r->tok));
    CC_TRY(
        clip_config_by_name(o->model, (int)bpe_vocab(r->tok), (int)bpe_context(r->tok), &r->cfg));
    CC_TRY(clip_model_new(&r->cfg, (int)o->batch, &r->m));
    adamw_opts ao;
    adamw_opts_default(&ao);
    ao.weight_decay = o->weight_decay;
    ao.clip_norm = o->clip_norm;
    CC_TRY(adamw_new(clip_model_num_params(r->m), &ao, &r->opt));

    uint64_t warmup = o->warmup == UINT64_MAX ? o->steps / 10 : o->warmup;
    ckpt_meta *k = &r->meta;
    memset(k, 0, sizeof *k);
    k->cfg = r->cfg;
    k->seed = o->seed;
    k->total_steps = o->steps;
    k->warmup = warmup;
    k->batch = o->batch;
    k->lr = o->lr;
    k->min_lr = o->min_lr;
    k->weight_decay = o->weight_decay;
    k->clip_norm = o->clip_norm;
    k->tokenizer_hash = tok_hash;
    k->n = clip_model_num_params(r->m);

    *start_step = 0;
    uint64_t epoch = 0, batch = 0;
    if (o->resume && cc_exists(r->ckpt_path)) {
        ckpt_meta got;
        CC_TRY(ckpt_load_meta(r->ckpt_path, &got));
        CC_TRY(check_resume(&got, o, &r->cfg, warmup, tok_hash));
        CC_TRY(ckpt_load(r->ckpt_path, &got, clip_model_params(r->m), adamw_m(r->opt),
                         adamw_v(r->opt), clip_model_num_params(r->m)));
        adamw_set_steps(r->opt, got.adam_steps);
        *start_step = got.step;
        epoch = got.loader_epoch;
        batch = got.loader_batch;
        CC_TRY(train_log_cut(r->log_path, got.step));
        cc_log_info("resuming at step %" PRIu64 " (epoch %" PRIu64 ", batch %" PRIu64 ")", got.step,
                    epoch, batch);
    } else {
        CC_CHECK(!cc_exists(r->ckpt_path) || o->resume, CC_E_EXISTS,
                 "%s exists: pass --resume to continue that run, or choose a new --out",
                 r->ckpt_path);
        clip_model_init(r->m, o->seed);
        FILE *f = fopen(r->log_path, "w");
        CC_CHECK(f, CC_E_IO, "%s: %s", r->log_path, strerror(errno));
        fclose(f);
    }
    r->log = fopen(r->log_path, "a");
    CC_CHECK(r->log, CC_E_IO, "%s: %s", r->log_path, strerror(errno));
    if (ftell(r->log) == 0)
        fputs("step,epoch,loss,lr,logit_scale,grad_norm,samples_s,data_wait_ms,step_ms\n", r->log);

    loader_opts lo;
    loader_opts_default(&lo);
    lo.manifest = o->data;
    lo.image_size = (uint32_t)r->cfg.image_size;
    lo.context = (uint32_t)r->cfg.context;
    lo.batch = o->batch;
    lo.seed = o->seed;
    lo.augment = 1;
    lo.start_epoch = epoch;
    lo.start_batch = batch;
    lo.tokenize = tokenize;
    lo.tokenize_ctx = r->tok;
    int cores = (int)sysconf(_SC_NPROCESSORS_ONLN);
    lo.threads = o->loader_threads > 0 ? o->loader_threads : (cores / 2 > 1 ? cores / 2 : 1);
    return loader_new(&lo, &r->ld);
}

cc_status train_run(const train_opts *o, train_result *res)
{
    memset(res, 0, sizeof *res);
    int threads = o->threads > 0 ? o->threads : (int)sysconf(_SC_NPROCESSORS_ONLN);
    omp_set_num_threads(threads);
    openblas_set_num_threads(threads);

    run r;
    memset(&r, 0, sizeof r);
    r.o = o;
    uint64_t step0 = 0;
    cc_status st = setup(&r, &step0);
    const clip_tensor *ls = st == CC_OK ? clip_model_tensor_find(r.m, "logit_scale") : NULL;
    double flops = st == CC_OK ? clip_config_flops_per_sample(&r.cfg) : 0;
    if (st == CC_OK)
        cc_log_info("model %s: %zu parameters, %.2f GFLOP per sample (forward + backward); batch "
                    "%u, %d threads",
                    r.cfg.name, clip_model_num_params(r.m), flops / 1e9, o->batch, threads);

    uint64_t end = o->stop_after && o->stop_after < o->steps ? o->stop_after : o->steps;
    float recent[10];
    size_t nrecent = 0;
    double t_start = now_s(), wait_total = 0, eval_total = 0;
    const size_t nt = st == CC_OK ? clip_model_tensor_count(r.m) : 0;
    clip_tensor *tensors = nt ? malloc(nt * sizeof *tensors) : NULL;
    for (size_t i = 0; i < nt && tensors; i++)
        tensors[i] = *clip_model_tensor(r.m, i);
    if (st == CC_OK && !tensors)
        st = cc_fail(CC_E_NOMEM, "out of memory");

    for (uint64_t step = step0; st == CC_OK && step < end; step++) {
        double t0 = now_s();
        const loader_batch *b;
        st = loader_next(r.ld, &b);
        if (st != CC_OK)
            break;
        double t1 = now_s();
        float loss = clip_model_forward(r.m, b->images, b->tokens, (int)b->n);
        if (!isfinite(loss)) {
            st = cc_fail(CC_E_INVAL,
                         "step %" PRIu64
                         ": the loss is %f (diverged; lower --lr or set --clip-grad)",
                         step + 1, (double)loss);
            break;
        }
        clip_model_zero_grad(r.m);
        clip_model_backward(r.m);
        float lr = lr_at(step, r.meta.warmup, o->steps, o->lr, o->min_lr);
        float gn =
            adamw_step(r.opt, clip_model_params(r.m), clip_model_grads(r.m), tensors, nt, lr);
        double t2 = now_s();
        float scale = expf(clip_model_params(r.m)[ls->offset]);
        wait_total += t1 - t0;
        if (res->steps == 0)
            res->first_loss = loss;
        res->steps++;
        recent[nrecent++ % 10] = loss;
        fprintf(r.log, "%" PRIu64 ",%" PRIu64 ",%.6f,%.6g,%.4f,%.4f,%.1f,%.2f,%.2f\n", step + 1,
                b->epoch, (double)loss, (double)lr, (double)scale, (double)gn,
                (double)b->n / (t2 - t0), 1e3 * (t1 - t0), 1e3 * (t2 - t0));
        if (o->log_every && ((step + 1) % o->log_every == 0 || step + 1 == end))
            cc_log_info("step %" PRIu64 "/%" PRIu64
                        "  loss %.4f  lr %.3g  scale %.2f  %.0f samples/s"
                        "  data wait %.0f%%",
                        step + 1, o->steps, (double)loss, (double)lr, (double)scale,
                        (double)b->n / (t2 - t0), 100.0 * (t1 - t0) / (t2 - t0));
        if (o->ckpt_every && (step + 1) % o->ckpt_every == 0 && step + 1 < end)
            st = save_ckpt(&r, step + 1);
        if (st == CC_OK && o->on_eval && o->eval_every &&
            ((step + 1) % o->eval_every == 0 || step + 1 == end)) {
            double te = now_s();
            if (o->on_eval(o->eval_ctx, r.m, step + 1))
                end = step + 1;
            eval_total += now_s() - te;
        }
        if (st == CC_OK && step + 1 == end)
            st = save_ckpt(&r, step + 1);
    }
    res->seconds = now_s() - t_start - eval_total; /* evaluation is not training time */
    res->data_wait_s = wait_total;
    if (res->steps) {
        size_t k = nrecent < 10 ? nrecent : 10;
        double sum = 0;
        for (size_t i = 0; i < k; i++)
            sum += recent[i];
        res->last_loss = (float)(sum / (double)k);
        res->samples_per_s = (double)res->steps * o->batch / res->seconds;
    }
    if (r.ld) {
        loader_stats ls_;
        loader_get_stats(r.ld, &ls_);
        res->corrupt = ls_.corrupt;
    }
    uint64_t total = step0 + res->steps;
    if (st == CC_OK) {
        train_result full = *res;
        full.steps = total;
        st = write_run_json(&r, &full, flops);
    }
    res->steps = total;
    free(tensors);
    if (r.log)
        fclose(r.log);
    loader_free(r.ld);
    adamw_free(r.opt);
    clip_model_free(r.m);
    bpe_free(r.tok);
    return st;
}
