/* bench/bench_train.c — training step speed of the bundled CLIP trainer on synthetic batches
 * (no loader): median step time (forward + backward + AdamW), samples/s, achieved GFLOP/s over
 * the model's FLOPs, and the same for the step's matrix products alone (the exact sgemm shapes of
 * one step run back to back through layers.h), against the machine's fp32 peak.
 *
 * Usage: bench_train [--model NAME] [--batch N] [--steps N] [--threads N] [--vocab N]
 *                    [--context N] [--peak-gflops X]
 * Without --peak-gflops, the peak is measured: one single-threaded 1024^3 sgemm per thread at
 * once.
 * Prints one JSON object on stdout. */
#include <cblas.h>
#include <math.h>
#include <omp.h>
#include <time.h>

#include "bench/bench_opts.h"
#include "common/rng.h"
#include "trainer/layers.h"
#include "trainer/model.h"
#include "trainer/optim.h"

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* One step's matrix products: forward out = in @ W^T and backward dinp, dW, for each Linear. */
typedef struct gemm_shape {
    int N, C, OC;
} gemm_shape;

static size_t step_gemms(const clip_config *c, int B, gemm_shape *g)
{
    size_t n = 0;
    int P = (c->image_size / c->patch) * (c->image_size / c->patch);
    g[n++] = (gemm_shape){B * P, 3 * c->patch * c->patch, c->vision_width};
    for (int tower = 0; tower < 2; tower++) {
        int C = tower ? c->text_width : c->vision_width;
        int L = tower ? c->text_layers : c->vision_layers;
        int N = B * (tower ? c->context : P + 1);
        for (int l = 0; l < L; l++) {
            g[n++] = (gemm_shape){N, C, 3 * C};
            g[n++] = (gemm_shape){N, C, C};
            g[n++] = (gemm_shape){N, C, 4 * C};
            g[n++] = (gemm_shape){N, 4 * C, C};
        }
        g[n++] = (gemm_shape){B, C, c->embed_dim};
    }
    return n;
}

int main(int argc, char **argv)
{
    const char *tool = "bench_train", *model = "tiny";
    uint64_t batch = 128, steps = 10, threads = 0, vocab = 8192, context = 77;
    double peak = 0;
    bench_num nums[] = {{"--batch", 2, 4096, &batch},
                        {"--steps", 3, 10000, &steps},
                        {"--threads", 0, 1024, &threads},
                        {"--vocab", 16, 1 << 20, &vocab},
                        {"--context", 3, 1024, &context}};
    for (int i = 1; i < argc; i++) {
        if (i + 1 >= argc) {
            fprintf(stderr, "%s: %s needs a value\n", tool, argv[i]);
            return 2;
        }
        if (!strcmp(argv[i], "--model")) {
            model = argv[++i];
            continue;
        }
        if (!strcmp(argv[i], "--peak-gflops")) {
            peak = strtod(argv[++i], NULL);
            continue;
        }
        int r = bench_set_num(tool, nums, sizeof nums / sizeof *nums, argv[i], argv[i + 1]);
        if (r) {
            if (r > 0)
                fprintf(stderr, "%s: unknown option %s\n", tool, argv[i]);
            return 2;
        }
        i++;
    }
    if (threads) {
        omp_set_num_threads((int)threads);
        openblas_set_num_threads((int)threads);
    }
    clip_config cfg;
    if (clip_config_by_name(model, (int)vocab, (int)context, &cfg) != CC_OK) {
        fprintf(stderr, "%s: %s\n", tool, cc_errmsg());
        return 2;
    }
    clip_model *m;
    adamw *opt;
    adamw_opts ao;
    adamw_opts_default(&ao);
    if (clip_model_new(&cfg, (int)batch, &m) != CC_OK ||
        adamw_new(clip_model_num_params(m), &ao, &opt) != CC_OK) {
        fprintf(stderr, "%s: %s\n", tool, cc_errmsg());
        return 1;
    }
    clip_model_init(m, 1);
    int B = (int)batch, S = cfg.image_size, T = cfg.context;
    float *images = malloc((size_t)B * 3 * S * S * sizeof(float));
    int32_t *tokens = calloc((size_t)B * T, sizeof(int32_t));
    cc_rng rng;
    cc_rng_seed(&rng, 7);
    for (size_t i = 0; i < (size_t)B * 3 * S * S; i++)
        images[i] = cc_rng_normal(&rng);
    for (int b = 0; b < B; b++) {
        int len = 5 + (int)cc_rng_below(&rng, (uint64_t)(T - 6));
        tokens[(size_t)b * T] = cfg.vocab - 2;
        for (int t = 1; t < len; t++)
            tokens[(size_t)b * T + t] = (int32_t)cc_rng_below(&rng, (uint64_t)cfg.vocab - 2);
        tokens[(size_t)b * T + len] = cfg.vocab - 1;
    }
    size_t nt = clip_model_tensor_count(m);
    clip_tensor *tens = malloc(nt * sizeof *tens);
    for (size_t i = 0; i < nt; i++)
        tens[i] = *clip_model_tensor(m, i);

    double *t_step = malloc(steps * sizeof(double)), *t_gemm = malloc(steps * sizeof(double));
    float loss = 0;
    for (uint64_t s = 0; s < steps + 1; s++) { /* step 0 warms up */
        double t0 = now_s();
        loss = clip_model_forward(m, images, tokens, B);
        clip_model_zero_grad(m);
        clip_model_backward(m);
        adamw_step(opt, clip_model_params(m), clip_model_grads(m), tens, nt, 1e-4f);
        if (s)
            t_step[s - 1] = now_s() - t0;
    }
    /* The GEMMs alone: one step's shapes, forward and backward, on scratch buffers. */
    gemm_shape g[256];
    size_t ng = step_gemms(&cfg, B, g);
    size_t max_in = 0, max_out = 0, max_w = 0;
    double gemm_flops = 0;
    for (size_t i = 0; i < ng; i++) {
        size_t in = (size_t)g[i].N * g[i].C, out = (size_t)g[i].N * g[i].OC,
               w = (size_t)g[i].C * g[i].OC;
        max_in = in > max_in ? in : max_in;
        max_out = out > max_out ? out : max_out;
        max_w = w > max_w ? w : max_w;
        gemm_flops += 3 * 2.0 * (double)g[i].N * g[i].C * g[i].OC;
    }
    float *A = calloc(max_in, sizeof(float)), *dA = calloc(max_in, sizeof(float));
    float *O = calloc(max_out, sizeof(float)), *dO = calloc(max_out, sizeof(float));
    float *W = calloc(max_w, sizeof(float)), *dW = calloc(max_w, sizeof(float));
    for (uint64_t s = 0; s < steps + 1; s++) {
        double t0 = now_s();
        for (size_t i = 0; i < ng; i++) {
            matmul_forward(O, A, W, NULL, g[i].N, g[i].C, g[i].OC);
            matmul_backward(dA, dW, NULL, dO, A, W, g[i].N, g[i].C, g[i].OC);
        }
        if (s)
            t_gemm[s - 1] = now_s() - t0;
    }
    /* The machine's practical fp32 peak: every thread runs its own single-threaded 1024^3 sgemm
     * at once (the trainer's layers split work over OpenMP threads with OpenBLAS single-threaded),
     * best of 3. */
    const int Q = 1024, nthr = omp_get_max_threads();
    float *qa = calloc((size_t)nthr * Q * Q, sizeof(float)),
          *qb = calloc((size_t)nthr * Q * Q, sizeof(float)),
          *qc = calloc((size_t)nthr * Q * Q, sizeof(float));
    openblas_set_num_threads(1);
    double best_sq = 1e30;
    for (int r = 0; r < 3; r++) {
        double t0 = now_s();
#pragma omp parallel
        {
            size_t o = (size_t)omp_get_thread_num() * Q * Q;
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, Q, Q, Q, 1.0f, qa + o, Q, qb + o,
                        Q, 0.0f, qc + o, Q);
        }
        double t = now_s() - t0;
        best_sq = t < best_sq ? t : best_sq;
    }
    double sq_gflops = 2.0 * Q * Q * (double)Q * nthr / best_sq / 1e9;
    free(qa), free(qb), free(qc);
    if (peak <= 0)
        peak = sq_gflops;
    double step = median(t_step, steps), gemm = median(t_gemm, steps);
    double flops = clip_config_flops_per_sample(&cfg) * B;
    printf(
        "{\"model\": \"%s\", \"params\": %zu, \"batch\": %d, \"threads\": %d, \"steps\": %" PRIu64
        ", \"loss\": %.4f, \"step_ms\": %.2f, \"samples_per_s\": %.1f, \"model_gflops\": %.2f, "
        "\"gemm_ms\": %.2f, \"gemm_share\": %.3f, \"gemm_gflops\": %.2f, \"peak_gflops\": %.1f, "
        "\"gemm_of_peak\": %.3f, \"sgemm_peak_gflops\": %.2f}\n",
        cfg.name, clip_model_num_params(m), B, omp_get_max_threads(), steps, (double)loss,
        1e3 * step, B / step, flops / step / 1e9, 1e3 * gemm, gemm / step, gemm_flops / gemm / 1e9,
        peak, peak > 0 ? gemm_flops / gemm / 1e9 / peak : 0.0, sq_gflops);
    free(A), free(dA), free(O), free(dO), free(W), free(dW);
    free(t_step), free(t_gemm), free(tens), free(images), free(tokens);
    adamw_free(opt);
    clip_model_free(m);
    return 0;
}
