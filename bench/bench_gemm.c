/* bench/bench_gemm.c — GFLOP/s of the trainer's matrix products (trainer/layers.h matmul_forward
 * and matmul_backward, i.e. OpenBLAS sgemm split by rows over the OpenMP team) at the shapes of
 * the tiny and base32 configs, on 1 and 2 threads, against the machine's peak estimate.
 *
 * usage: bench_gemm [--batch B] [--reps R] [--config tiny|base32|both]
 *
 * For each Linear of a config (patch conv, qkv, attn_proj, fc, fc_proj of both towers, with
 * N = B·T rows), three products are timed: forward (out = inp @ W^T), backward-input
 * (dinp += dout @ W) and backward-weight (dW += dout^T @ inp), each 2·N·C·OC FLOP. Each figure is
 * the median wall time over R repetitions (default 3) after one warm-up. Peak = cores × MHz ×
 * FLOP/cycle, with 32 fp32 FLOP/cycle for AVX2 + FMA (two 256-bit FMA pipes; also what AMD Zen 4
 * reaches with AVX-512) from /proc/cpuinfo's flags and "cpu MHz". Wall times on a shared machine
 * are noisy: compare medians. Exit 0, or 1 on a bad option or allocation failure.
 */
#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bench/bench_opts.h"
#include "common/rng.h"
#include "trainer/layers.h"

static double now_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

/* Peak fp32 GFLOP/s of `cores` cores from /proc/cpuinfo (0 when unreadable). */
static double peak_gflops(int cores, double *mhz_out, int *flop_cycle_out)
{
    FILE *f = fopen("/proc/cpuinfo", "r");
    if (!f)
        return 0.0;
    char line[4096];
    double mhz = 0.0;
    int avx2 = 0, fma = 0;
    while (fgets(line, sizeof line, f)) {
        if (mhz == 0.0 && strncmp(line, "cpu MHz", 7) == 0) {
            const char *c = strchr(line, ':');
            if (c)
                mhz = strtod(c + 1, NULL);
        } else if (strncmp(line, "flags", 5) == 0 && !avx2) {
            avx2 = strstr(line, " avx2") != NULL;
            fma = strstr(line, " fma") != NULL;
        }
    }
    fclose(f);
    int fc = avx2 && fma ? 32 : 8; /* SSE: 4 wide, mul + add */
    *mhz_out = mhz;
    *flop_cycle_out = fc;
    return cores * mhz * 1e-3 * fc;
}

typedef struct shape {
    const char *name;
    int N, C, OC;
} shape;

static float *rand_floats(size_t n, cc_rng *r)
{
    float *p = malloc(n * sizeof(float));
    if (p)
        for (size_t i = 0; i < n; i++)
            p[i] = cc_rng_float(r) - 0.5f;
    return p;
}

/* Times the three products of one shape on the current thread count; GFLOP/s into g[3]. */
static int time_shape(const shape *s, int reps, double g[3])
{
    cc_rng r;
    cc_rng_seed(&r, 1);
    size_t ni = (size_t)s->N * s->C, nw = (size_t)s->OC * s->C, no = (size_t)s->N * s->OC;
    float *inp = rand_floats(ni, &r), *w = rand_floats(nw, &r), *out = rand_floats(no, &r);
    float *dinp = rand_floats(ni, &r), *dw = rand_floats(nw, &r);
    int rc = 0;
    if (!inp || !w || !out || !dinp || !dw) {
        fprintf(stderr, "bench_gemm: out of memory at %s\n", s->name);
        rc = 1;
        goto done;
    }
    double flop = 2.0 * s->N * s->C * s->OC;
    for (int op = 0; op < 3; op++) {
        double t[MAX_REPS];
        for (int k = -1; k < reps; k++) {
            double t0 = now_s();
            if (op == 0)
                matmul_forward(out, inp, w, NULL, s->N, s->C, s->OC);
            else if (op == 1)
                matmul_backward(dinp, NULL, NULL, out, inp, w, s->N, s->C, s->OC);
            else
                matmul_backward(NULL, dw, NULL, out, inp, w, s->N, s->C, s->OC);
            if (k >= 0)
                t[k] = now_s() - t0;
        }
        g[op] = flop / median(t, (size_t)reps) / 1e9;
    }
done:
    free(inp), free(w), free(out), free(dinp), free(dw);
    return rc;
}

/* The Linear shapes of a config at batch B (vision rows B·(1+P), patch rows B·P, text B·T). */
static size_t config_shapes(const char *cfg, int B, shape *s)
{
    size_t n = 0;
    int S, p, Cv, Ct, T = 77;
    if (strcmp(cfg, "tiny") == 0)
        S = 64, p = 8, Cv = 192, Ct = 128;
    else
        S = 224, p = 32, Cv = 768, Ct = 512;
    int P = (S / p) * (S / p), Nv = B * (P + 1), Nt = B * T;
    s[n++] = (shape){"v.conv", B * P, 3 * p * p, Cv};
    s[n++] = (shape){"v.qkv", Nv, Cv, 3 * Cv};
    s[n++] = (shape){"v.attn_proj", Nv, Cv, Cv};
    s[n++] = (shape){"v.fc", Nv, Cv, 4 * Cv};
    s[n++] = (shape){"v.fc_proj", Nv, 4 * Cv, Cv};
    s[n++] = (shape){"t.qkv", Nt, Ct, 3 * Ct};
    s[n++] = (shape){"t.attn_proj", Nt, Ct, Ct};
    s[n++] = (shape){"t.fc", Nt, Ct, 4 * Ct};
    s[n++] = (shape){"t.fc_proj", Nt, 4 * Ct, Ct};
    return n;
}

int main(int argc, char **argv)
{
    uint64_t batch = 128, reps = 3;
    const char *which = "both";
    const bench_num nums[] = {{"--batch", 1, 4096, &batch}, {"--reps", 1, MAX_REPS, &reps}};
    for (int i = 1; i < argc; i += 2) {
        if (i + 1 >= argc) {
            fprintf(stderr, "bench_gemm: %s needs a value\n", argv[i]);
            return 1;
        }
        if (strcmp(argv[i], "--config") == 0) {
            which = argv[i + 1];
            if (strcmp(which, "tiny") && strcmp(which, "base32") && strcmp(which, "both")) {
                fprintf(stderr, "bench_gemm: --config is tiny, base32 or both\n");
                return 1;
            }
            continue;
        }
        int rc = bench_set_num("bench_gemm", nums, 2, argv[i], argv[i + 1]);
        if (rc) {
            if (rc > 0)
                fprintf(stderr, "usage: bench_gemm [--batch B] [--reps R] [--config C]\n");
            return 1;
        }
    }
    const int maxt = omp_get_max_threads();
    int threads[2] = {1, maxt > 1 ? 2 : 1};
    double mhz = 0;
    int fc = 0;
    double peak1 = peak_gflops(1, &mhz, &fc);
    printf("peak estimate: 1 core %.1f GFLOP/s, 2 cores %.1f GFLOP/s (%.0f MHz x %d FLOP/cycle; "
           "the MHz /proc/cpuinfo shows, turbo may go above it)\n",
           peak1, 2 * peak1, mhz, fc);
    printf("%-7s %-12s %6s %5s %5s | GFLOP/s fwd, bwd-inp, bwd-w at 1 thread | at %d threads\n",
           "config", "layer", "N", "C", "OC", threads[1]);
    const char *cfgs[] = {"tiny", "base32"};
    for (int ci = 0; ci < 2; ci++) {
        if (strcmp(which, "both") != 0 && strcmp(which, cfgs[ci]) != 0)
            continue;
        shape s[16];
        size_t n = config_shapes(cfgs[ci], (int)batch, s);
        double tot_flop = 0, tot_t[2] = {0, 0};
        for (size_t k = 0; k < n; k++) {
            double g[2][3];
            for (int ti = 0; ti < 2; ti++) {
                omp_set_num_threads(threads[ti]);
                if (time_shape(&s[k], (int)reps, g[ti]))
                    return 1;
                double f = 2.0 * s[k].N * s[k].C * s[k].OC;
                for (int op = 0; op < 3; op++)
                    tot_t[ti] += f / (g[ti][op] * 1e9);
            }
            tot_flop += 3 * 2.0 * s[k].N * s[k].C * s[k].OC;
            printf("%-7s %-12s %6d %5d %5d | %6.1f %6.1f %6.1f | %6.1f %6.1f %6.1f\n", cfgs[ci],
                   s[k].name, s[k].N, s[k].C, s[k].OC, g[0][0], g[0][1], g[0][2], g[1][0], g[1][1],
                   g[1][2]);
        }
        printf("%-7s all matmuls (fwd + bwd), batch %d: %.1f GFLOP/s at 1 thread, %.1f at %d\n",
               cfgs[ci], (int)batch, tot_flop / tot_t[0] / 1e9, tot_flop / tot_t[1] / 1e9,
               threads[1]);
    }
    omp_set_num_threads(maxt);
    return 0;
}
