/* tests/unit/test_model_ref.c — the whole C model (trainer/model.c) and optimizer
 * (trainer/optim.c) against the PyTorch reference in tests/ref/clip_tiny_ref.bin (written by
 * tests/ref/gen_ref.py from tests/ref/torch_clip.py; format and scheme in tests/ref/README.md).
 *
 * The C side rebuilds the same "tiny" model (vocab 1000, context 77) and batch (B = 8) with
 * common/rng.c, as the generator did in Python, then compares with the float64 PyTorch run:
 *   - the loss: relative 1e-4;
 *   - the embeddings: absolute 1e-4 per entry (unit vectors);
 *   - each tensor's gradient L2 norm: relative 1e-4;
 *   - each tensor's sampled gradient entries (up to 256): |c - r| <= 1e-3·|r| + 1e-3·rms, rms the
 *     tensor's gradient RMS (norm / sqrt(count));
 *   - the losses of 10 AdamW steps (lr_at warm-up 3, cosine to 0 at 10, wd 0.2) and the loss
 *     after them: relative 1e-3.
 * PyTorch's own float32 run sits within 2e-6 (losses, norms) and 7e-5·rms (entries) of the
 * float64 run. On failure the test prints every tensor's deviations, so the wrong one is named.
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

#include "common/buf.h"
#include "common/file.h"
#include "common/rng.h"
#include "trainer/model.h"
#include "trainer/optim.h"

#define REF_PATH "tests/ref/clip_tiny_ref.bin"
#define REF_MAGIC "CCRF"
#define REF_VERSION 1
#define REF_HEADER_SIZE 256
#define REF_REGEN "regenerate it with /usr/bin/python3 tests/ref/gen_ref.py (needs python3-torch)"

#define TOL_LOSS 1e-4 /* relative, loss */
#define TOL_EMB 1e-4 /* absolute, embedding entries */
#define TOL_NORM 1e-4 /* relative, gradient norms */
#define TOL_ENTRY_REL 1e-3 /* gradient entries: relative part */
#define TOL_ENTRY_RMS 1e-3 /* gradient entries: absolute part, times the tensor's RMS */
#define TOL_STEP 1e-3 /* relative, losses of the optimizer steps */

/* ---- the reference file -------------------------------------------------------------------- */

typedef struct ref_tensor {
    char name[33];
    uint32_t ndim, shape[4], count, decay;
    float base, std;
    double norm64, norm32;
    uint32_t n;
    const uint8_t *pos, *g64, *g32; /* n × u32, n × f64, n × f32 (into the file) */
} ref_tensor;

typedef struct ref_file {
    cc_buf bytes;
    char name[33];
    int cfg[11];
    uint32_t B, nt, steps;
    uint64_t seed;
    double loss64, loss32;
    double lr, min_lr, wd, beta1, beta2, eps;
    uint32_t warmup, total;
    uint32_t ncheck;
    float check[16];
    int32_t *tokens; /* B·T */
    const uint8_t *img, *txt; /* B·E f64 each */
    const uint8_t *loss_steps64, *loss_steps32; /* steps+1 f64 each */
    ref_tensor *t;
} ref_file;

/* A bounds-checked cursor over the file. */
typedef struct cursor {
    const uint8_t *p;
    size_t left;
} cursor;

static const uint8_t *take(cursor *c, size_t n)
{
    if (n > c->left)
        fail_msg("%s: truncated (%zu bytes wanted, %zu left); " REF_REGEN, REF_PATH, n, c->left);
    const uint8_t *p = c->p;
    c->p += n;
    c->left -= n;
    return p;
}

static uint32_t get_u32(cursor *c)
{
    return cc_load_u32(take(c, 4));
}

static float f32_at(const uint8_t *p)
{
    uint32_t u = cc_load_u32(p);
    float f;
    memcpy(&f, &u, 4);
    return f;
}

static double f64_at(const uint8_t *p)
{
    uint64_t u = cc_load_u64(p);
    double d;
    memcpy(&d, &u, 8);
    return d;
}

static double get_f64(cursor *c)
{
    return f64_at(take(c, 8));
}

static ref_file ref; /* loaded once by setup */

static void ref_parse(ref_file *r)
{
    cursor c = {r->bytes.data, r->bytes.len};
    const uint8_t *h = take(&c, REF_HEADER_SIZE);
    if (memcmp(h, REF_MAGIC, 4) != 0)
        fail_msg("%s: bad magic (not a reference file); " REF_REGEN, REF_PATH);
    if (cc_load_u16(h + 4) != REF_VERSION || cc_load_u16(h + 6) != REF_HEADER_SIZE)
        fail_msg(
            "%s: version %u, header %u bytes; this test reads version %d (%d bytes): " REF_REGEN,
            REF_PATH, cc_load_u16(h + 4), cc_load_u16(h + 6), REF_VERSION, REF_HEADER_SIZE);
    memcpy(r->name, h + 8, 32);
    r->name[32] = '\0';
    for (int i = 0; i < 11; i++)
        r->cfg[i] = (int)cc_load_u32(h + 40 + 4 * i);
    r->B = cc_load_u32(h + 84);
    r->nt = cc_load_u32(h + 88);
    r->steps = cc_load_u32(h + 92);
    r->seed = cc_load_u64(h + 96);
    r->loss64 = f64_at(h + 104);
    r->loss32 = f64_at(h + 112);
    r->lr = f64_at(h + 120);
    r->warmup = cc_load_u32(h + 128);
    r->total = cc_load_u32(h + 132);
    r->min_lr = f64_at(h + 136);
    r->wd = f64_at(h + 144);
    r->beta1 = f64_at(h + 152);
    r->beta2 = f64_at(h + 160);
    r->eps = f64_at(h + 168);
    r->ncheck = cc_load_u32(h + 176);
    assert_true(r->ncheck <= 16 && r->B >= 1 && r->B <= 64 && r->nt >= 1 && r->nt <= 1000 &&
                r->steps <= 1000);
    for (uint32_t i = 0; i < r->ncheck; i++)
        r->check[i] = f32_at(h + 180 + 4 * i);

    int T = r->cfg[5], E = r->cfg[10];
    assert_true(T >= 3 && T <= 1024 && E >= 1 && E <= 4096);
    size_t ntok = (size_t)r->B * (size_t)T;
    const uint8_t *tok = take(&c, 4 * ntok);
    r->tokens = malloc(ntok * sizeof *r->tokens);
    assert_non_null(r->tokens);
    for (size_t i = 0; i < ntok; i++)
        r->tokens[i] = (int32_t)cc_load_u32(tok + 4 * i);
    r->img = take(&c, 8 * (size_t)r->B * (size_t)E);
    r->txt = take(&c, 8 * (size_t)r->B * (size_t)E);
    r->loss_steps64 = take(&c, 8 * ((size_t)r->steps + 1));
    r->loss_steps32 = take(&c, 8 * ((size_t)r->steps + 1));

    r->t = calloc(r->nt, sizeof *r->t);
    assert_non_null(r->t);
    for (uint32_t k = 0; k < r->nt; k++) {
        ref_tensor *t = &r->t[k];
        memcpy(t->name, take(&c, 32), 32);
        t->name[32] = '\0';
        t->ndim = get_u32(&c);
        for (int d = 0; d < 4; d++)
            t->shape[d] = get_u32(&c);
        t->count = get_u32(&c);
        t->decay = get_u32(&c);
        t->base = f32_at(take(&c, 4));
        t->std = f32_at(take(&c, 4));
        t->norm64 = get_f64(&c);
        t->norm32 = get_f64(&c);
        t->n = get_u32(&c);
        assert_true(t->n <= t->count);
        t->pos = take(&c, 4 * (size_t)t->n);
        t->g64 = take(&c, 8 * (size_t)t->n);
        t->g32 = take(&c, 4 * (size_t)t->n);
        for (uint32_t j = 0; j < t->n; j++)
            assert_true(cc_load_u32(t->pos + 4 * j) < t->count);
    }
    if (c.left != 0)
        fail_msg("%s: %zu bytes after the last tensor; " REF_REGEN, REF_PATH, c.left);
}

static int setup(void **state)
{
    (void)state;
    cc_buf_init(&ref.bytes, 64u << 20);
    if (cc_read_file(REF_PATH, &ref.bytes) != CC_OK) {
        print_error("%s: %s (run the test from the repository root)\n", REF_PATH, cc_errmsg());
        return -1;
    }
    ref_parse(&ref);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    free(ref.tokens);
    free(ref.t);
    cc_buf_free(&ref.bytes);
    return 0;
}

/* ---- rebuilding the reference's model and batch in C --------------------------------------- */

/* FNV-1a, 64-bit: names a tensor's random stream (ccrng.fnv1a64 in Python). */
static uint64_t fnv1a64(const char *s)
{
    uint64_t h = 0xcbf29ce484222325ull;
    for (; *s; s++)
        h = (h ^ (uint8_t)*s) * 0x100000001b3ull;
    return h;
}

static void fill_normals(float *out, size_t n, uint64_t seed, const char *key, float base,
                         float std)
{
    cc_rng r;
    cc_rng_stream(&r, seed, fnv1a64(key), 0);
    for (size_t j = 0; j < n; j++)
        out[j] = base + std * cc_rng_normal(&r);
}

static const char *cfg_key_names[11] = {
    "image_size", "patch",      "vision_width", "vision_layers", "vision_heads", "context",
    "vocab",      "text_width", "text_layers",  "text_heads",    "embed_dim"};

/* The reference's config, through clip_config_by_name, checked against the file's numbers. */
static void ref_config(clip_config *cfg)
{
    assert_int_equal(clip_config_by_name(ref.name, ref.cfg[6], ref.cfg[5], cfg), CC_OK);
    int got[11] = {cfg->image_size,   cfg->patch,      cfg->vision_width, cfg->vision_layers,
                   cfg->vision_heads, cfg->context,    cfg->vocab,        cfg->text_width,
                   cfg->text_layers,  cfg->text_heads, cfg->embed_dim};
    for (int i = 0; i < 11; i++)
        if (got[i] != ref.cfg[i])
            fail_msg("config \"%s\": %s is %d in C, %d in the reference", ref.name,
                     cfg_key_names[i], got[i], ref.cfg[i]);
}

/* A model with the reference's parameters, and the batch's images (caller frees both). */
static clip_model *ref_model(float **images_out)
{
    clip_config cfg;
    ref_config(&cfg);
    clip_model *m = NULL;
    assert_int_equal(clip_model_new(&cfg, (int)ref.B, &m), CC_OK);
    if (clip_model_tensor_count(m) != ref.nt)
        fail_msg("the C layout has %zu tensors, the reference %u", clip_model_tensor_count(m),
                 ref.nt);
    float *params = clip_model_params(m);
    size_t total = 0;
    for (uint32_t k = 0; k < ref.nt; k++) {
        const clip_tensor *t = clip_model_tensor(m, k);
        const ref_tensor *rt = &ref.t[k];
        if (strcmp(t->name, rt->name) != 0 || t->count != rt->count || t->decay != (int)rt->decay)
            fail_msg("tensor %u: C has %s (%zu floats, decay %d), the reference %s (%u floats, "
                     "decay %u)",
                     k, t->name, t->count, t->decay, rt->name, rt->count, rt->decay);
        assert_int_equal(t->offset, total);
        total += t->count;
        fill_normals(params + t->offset, t->count, ref.seed, t->name, rt->base, rt->std);
    }
    assert_int_equal(total, clip_model_num_params(m));

    size_t S = (size_t)cfg.image_size, ni = (size_t)ref.B * 3 * S * S;
    float *images = malloc(ni * sizeof *images);
    assert_non_null(images);
    fill_normals(images, ni, ref.seed, "images", 0.0f, 1.0f);
    *images_out = images;
    return m;
}

/* ---- tests --------------------------------------------------------------------------------- */

/* The Python port of common/rng.c gave the same first images bit for bit. */
static void test_rng_port(void **state)
{
    (void)state;
    float v[16];
    assert_true(ref.ncheck >= 1);
    fill_normals(v, ref.ncheck, ref.seed, "images", 0.0f, 1.0f);
    for (uint32_t i = 0; i < ref.ncheck; i++)
        if (memcmp(&v[i], &ref.check[i], 4) != 0)
            fail_msg("image value %u: C %.9g, Python port %.9g (tests/ref/ccrng.py differs from "
                     "common/rng.c)",
                     i, v[i], ref.check[i]);
}

static double rel_err(double got, double want)
{
    return fabs(got - want) / fmax(fabs(want), 1e-30);
}

static void test_loss_embeddings_gradients(void **state)
{
    (void)state;
    float *images;
    clip_model *m = ref_model(&images);
    int B = (int)ref.B, E = ref.cfg[10];

    clip_model_zero_grad(m);
    float loss = clip_model_forward(m, images, ref.tokens, B);
    clip_model_backward(m);
    int bad = 0;
    print_message("loss: C %.8f, PyTorch float64 %.8f (rel %.2e; float32 PyTorch rel %.2e)\n", loss,
                  ref.loss64, rel_err(loss, ref.loss64), rel_err(ref.loss32, ref.loss64));
    if (!(rel_err(loss, ref.loss64) <= TOL_LOSS))
        bad++;

    const float *emb[2] = {clip_model_image_embeddings(m), clip_model_text_embeddings(m)};
    const uint8_t *want[2] = {ref.img, ref.txt};
    const char *what[2] = {"image", "text"};
    for (int w = 0; w < 2; w++) {
        double worst = 0;
        int at = 0;
        for (int i = 0; i < B * E; i++) {
            double d = fabs(emb[w][i] - f64_at(want[w] + 8 * (size_t)i));
            if (!(d <= worst))
                worst = d, at = i;
        }
        print_message("%s embeddings: max |C - ref| %.2e at (%d, %d)\n", what[w], worst, at / E,
                      at % E);
        if (!(worst <= TOL_EMB))
            bad++;
    }

    /* gradients, tensor by tensor */
    const float *grads = clip_model_grads(m);
    print_message("%-16s %12s %10s %12s %10s\n", "tensor", "norm (ref)", "norm rel", "worst entry",
                  "/rms");
    for (uint32_t k = 0; k < ref.nt; k++) {
        const ref_tensor *rt = &ref.t[k];
        const float *g = grads + clip_model_tensor(m, k)->offset;
        double s = 0;
        for (uint32_t j = 0; j < rt->count; j++)
            s += (double)g[j] * g[j];
        double norm = sqrt(s), nrel = rel_err(norm, rt->norm64);
        double rms = rt->norm64 / sqrt((double)rt->count);
        double worst = 0, worst_c = 0, worst_r = 0;
        uint32_t worst_pos = 0, nbad = 0;
        for (uint32_t j = 0; j < rt->n; j++) {
            uint32_t p = cc_load_u32(rt->pos + 4 * j);
            double r = f64_at(rt->g64 + 8 * (size_t)j), d = fabs(g[p] - r);
            double tol = TOL_ENTRY_REL * fabs(r) + TOL_ENTRY_RMS * rms;
            if (!(d <= tol))
                nbad++;
            if (!(d / fmax(rms, 1e-30) <= worst))
                worst = d / fmax(rms, 1e-30), worst_pos = p, worst_c = g[p], worst_r = r;
        }
        int ok = nrel <= TOL_NORM && nbad == 0;
        print_message("%-16s %12.6e %10.2e %12u %10.2e%s\n", rt->name, rt->norm64, nrel, worst_pos,
                      worst, ok ? "" : "   <-- MISMATCH");
        if (!ok) {
            print_message("    %u of %u sampled entries out of tolerance; entry %u: C %.9g, "
                          "ref %.9g; norm C %.9g, ref %.9g\n",
                          nbad, rt->n, worst_pos, worst_c, worst_r, norm, rt->norm64);
            bad++;
        }
    }
    free(images);
    clip_model_free(m);
    if (bad)
        fail_msg("%d comparison(s) with the PyTorch reference out of tolerance (see the table)",
                 bad);
}

static void test_optimizer_steps(void **state)
{
    (void)state;
    float *images;
    clip_model *m = ref_model(&images);
    int B = (int)ref.B;
    adamw_opts o;
    adamw_opts_default(&o);
    assert_true(fabs(o.beta1 - ref.beta1) < 1e-7 && fabs(o.beta2 - ref.beta2) < 1e-7 &&
                fabs(o.eps - ref.eps) < 1e-12 && fabs(o.weight_decay - ref.wd) < 1e-7);
    adamw *a = NULL;
    assert_int_equal(adamw_new(clip_model_num_params(m), &o, &a), CC_OK);
    size_t nt = clip_model_tensor_count(m);
    clip_tensor *tensors = malloc(nt * sizeof *tensors);
    assert_non_null(tensors);
    for (size_t k = 0; k < nt; k++)
        tensors[k] = *clip_model_tensor(m, k);

    int bad = 0;
    for (uint32_t s = 0; s <= ref.steps; s++) {
        clip_model_zero_grad(m);
        float loss = clip_model_forward(m, images, ref.tokens, B);
        double want = f64_at(ref.loss_steps64 + 8 * (size_t)s);
        double e = rel_err(loss, want);
        print_message("step %2u: loss C %.8f, PyTorch float64 %.8f (rel %.2e; float32 PyTorch "
                      "rel %.2e)%s\n",
                      s, loss, want, e, rel_err(f64_at(ref.loss_steps32 + 8 * (size_t)s), want),
                      e <= TOL_STEP ? "" : "   <-- MISMATCH");
        if (!(e <= TOL_STEP))
            bad++;
        if (s == ref.steps)
            break;
        clip_model_backward(m);
        float lr = lr_at(s, ref.warmup, ref.total, (float)ref.lr, (float)ref.min_lr);
        adamw_step(a, clip_model_params(m), clip_model_grads(m), tensors, nt, lr);
    }
    free(tensors);
    adamw_free(a);
    free(images);
    clip_model_free(m);
    if (bad)
        fail_msg("%d step loss(es) differ from the PyTorch reference by more than rel %.0e", bad,
                 TOL_STEP);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rng_port),
        cmocka_unit_test(test_loss_embeddings_gradients),
        cmocka_unit_test(test_optimizer_steps),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
