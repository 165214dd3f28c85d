/* tests/unit/test_model.c — the CLIP model (trainer/model.h): configs and parameter counts, the
 * tensor table, initialisation, a whole-model gradient check by finite differences on a micro
 * config, inference equal to the forward's embeddings, and overfitting one micro batch.
 *
 * The gradient check perturbs up to GC_PER_TENSOR random elements of every tensor by ±GC_EPS (in
 * float; the loss is the model's float loss) and passes an element when
 * |numeric - analytic| <= GC_ABS + GC_REL * max(|numeric|, |analytic|).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/rng.h"
#include "trainer/model.h"

#define GC_EPS 1e-2f
#define GC_ABS 2e-4
#define GC_REL 2e-2
#define GC_PER_TENSOR 6

/* ---- helpers ------------------------------------------------------------------------------- */

/* The micro config: 16 px images in 8 px patches (4 patches + class token), two layers of width
 * 16 in each tower, 20 tokens, context 6, E 8. */
static clip_config micro(void)
{
    clip_config c = {.image_size = 16,
                     .patch = 8,
                     .vision_width = 16,
                     .vision_layers = 2,
                     .vision_heads = 2,
                     .context = 6,
                     .vocab = 20,
                     .text_width = 16,
                     .text_layers = 2,
                     .text_heads = 2,
                     .embed_dim = 8};
    snprintf(c.name, sizeof c.name, "micro");
    return c;
}

/* A batch of B random images and token rows; the EOT (vocab-1) is at varied positions, one row
 * has none (pooled at T-1) and one has two (the first counts). */
static void micro_batch(const clip_config *c, int B, uint64_t seed, float *images, int32_t *tok)
{
    cc_rng r;
    cc_rng_seed(&r, seed);
    const int S = c->image_size, T = c->context;
    for (size_t i = 0; i < (size_t)B * 3 * S * S; i++)
        images[i] = cc_rng_normal(&r);
    for (int b = 0; b < B; b++) {
        for (int t = 0; t < T; t++)
            tok[b * T + t] = (int32_t)cc_rng_below(&r, (uint64_t)c->vocab - 1);
        if (b % 3 == 0)
            tok[b * T + 2 + b % (T - 2)] = c->vocab - 1;
        else if (b % 3 == 1) {
            tok[b * T + 1] = c->vocab - 1;
            tok[b * T + 4] = c->vocab - 1;
        }
    }
}

/* The hand formula of docs/TRAINER.md. */
static size_t formula_params(const clip_config *c)
{
    size_t p = c->patch, Cv = c->vision_width, Ct = c->text_width, E = c->embed_dim;
    size_t P = (size_t)(c->image_size / c->patch) * (c->image_size / c->patch);
    size_t V = c->vocab, T = c->context, Lv = c->vision_layers, Lt = c->text_layers;
    return Cv * 3 * p * p + Cv + (1 + P) * Cv + 2 * Cv + Lv * (12 * Cv * Cv + 13 * Cv) + 2 * Cv +
           E * Cv + V * Ct + T * Ct + Lt * (12 * Ct * Ct + 13 * Ct) + 2 * Ct + E * Ct + 1;
}

/* ---- configs and the table ------------------------------------------------------------------ */

static void test_configs(void **state)
{
    (void)state;
    clip_config c;
    const char *names[] = {"tiny", "small", "base32"};
    for (size_t i = 0; i < 3; i++) {
        assert_int_equal(clip_config_by_name(names[i], 49408, 77, &c), CC_OK);
        assert_string_equal(c.name, names[i]);
        assert_int_equal(clip_config_check(&c), CC_OK);
        size_t n = clip_config_num_params(&c);
        assert_int_equal(n, formula_params(&c));
        print_message("%-6s V=49408 T=77: %zu parameters, %.2f GFLOP per sample (fwd+bwd)\n",
                      names[i], n, clip_config_flops_per_sample(&c) / 1e9);
    }
    // base32 with CLIP's tokenizer is ViT-B/32: 151,277,313 parameters
    assert_int_equal(clip_config_by_name("base32", 49408, 77, &c), CC_OK);
    assert_int_equal(clip_config_num_params(&c), 151277313);
    assert_int_equal(c.vision_heads, 12);
    assert_int_equal(c.text_heads, 8);
    assert_int_equal(clip_config_by_name("tiny", 1000, 32, &c), CC_OK);
    assert_int_equal(c.vision_heads, 3);
    assert_int_equal(c.text_heads, 2);
    assert_int_equal(c.vocab, 1000);
    assert_int_equal(c.context, 32);
    // FLOPs: the formula by hand for tiny (P = 64, Tv = 65)
    double f = 2.0 * 64 * 192 * 192 + 4 * (24.0 * 65 * 192 * 192 + 4.0 * 65 * 65 * 192) +
               2.0 * 192 * 128 + 4 * (24.0 * 32 * 128 * 128 + 4.0 * 32 * 32 * 128) +
               2.0 * 128 * 128;
    assert_true(fabs(clip_config_flops_per_sample(&c) - 3 * f) < 1.0);

    assert_int_equal(clip_config_by_name("huge", 1000, 77, &c), CC_E_NOTFOUND);
    assert_non_null(strstr(cc_errmsg(), "tiny"));
    clip_config bad = micro();
    bad.image_size = 20;
    assert_int_equal(clip_config_check(&bad), CC_E_INVAL);
    bad = micro();
    bad.text_heads = 3;
    assert_int_equal(clip_config_check(&bad), CC_E_INVAL);
    bad = micro();
    bad.vocab = 2;
    assert_int_equal(clip_config_check(&bad), CC_E_INVAL);
    bad = micro();
    bad.context = 2;
    assert_int_equal(clip_config_check(&bad), CC_E_INVAL);
    bad = micro();
    bad.vision_layers = 0;
    assert_int_equal(clip_config_check(&bad), CC_E_INVAL);
    clip_model *m = NULL;
    assert_int_equal(clip_model_new(&bad, 4, &m), CC_E_INVAL);
    assert_null(m);
    bad = micro();
    assert_int_equal(clip_model_new(&bad, 0, &m), CC_E_INVAL);
}

static int is_decayed_name(const char *n)
{
    const char *d[] = {"v.conv",      "v.qkv_w",     "v.attn_proj_w", "v.fc_w",
                       "v.fc_proj_w", "v_proj",      "t.qkv_w",       "t.attn_proj_w",
                       "t.fc_w",      "t.fc_proj_w", "t_proj"};
    for (size_t i = 0; i < sizeof d / sizeof d[0]; i++)
        if (strcmp(n, d[i]) == 0)
            return 1;
    return 0;
}

static void test_tensor_table(void **state)
{
    (void)state;
    clip_config c;
    assert_int_equal(clip_config_by_name("tiny", 1000, 32, &c), CC_OK);
    clip_model *m;
    assert_int_equal(clip_model_new(&c, 2, &m), CC_OK);
    assert_int_equal(clip_model_max_batch(m), 2);
    assert_string_equal(clip_model_config(m)->name, "tiny");
    size_t n = clip_model_tensor_count(m), off = 0;
    assert_int_equal(n, 38);
    for (size_t i = 0; i < n; i++) {
        const clip_tensor *t = clip_model_tensor(m, i);
        assert_int_equal(t->offset, off); /* no gap, no overlap */
        size_t prod = 1;
        assert_true(t->ndim >= 1 && t->ndim <= 4);
        for (int d = 0; d < t->ndim; d++)
            prod *= (size_t)t->shape[d];
        assert_int_equal(prod, t->count);
        assert_int_equal(t->decay, is_decayed_name(t->name));
        assert_ptr_equal(clip_model_tensor_find(m, t->name), t);
        for (size_t j = 0; j < i; j++)
            assert_true(strcmp(clip_model_tensor(m, j)->name, t->name) != 0);
        off += t->count;
    }
    assert_int_equal(off, clip_model_num_params(m));
    assert_int_equal(off, clip_config_num_params(&c));
    assert_null(clip_model_tensor(m, n));
    assert_null(clip_model_tensor_find(m, "v.nope"));
    // the order and shapes of the published layout
    assert_string_equal(clip_model_tensor(m, 0)->name, "v.conv");
    assert_int_equal(clip_model_tensor(m, 0)->shape[1], 3 * 8 * 8);
    assert_string_equal(clip_model_tensor(m, 7)->name, "v.qkv_w");
    assert_int_equal(clip_model_tensor(m, 7)->shape[0], 4);
    assert_int_equal(clip_model_tensor(m, 7)->shape[1], 3 * 192);
    assert_string_equal(clip_model_tensor(m, 19)->name, "v_proj");
    assert_string_equal(clip_model_tensor(m, 20)->name, "t.wte");
    assert_int_equal(clip_model_tensor(m, 20)->shape[0], 1000);
    assert_string_equal(clip_model_tensor(m, 36)->name, "t_proj");
    assert_string_equal(clip_model_tensor(m, 37)->name, "logit_scale");
    assert_int_equal(clip_model_tensor(m, 37)->offset, clip_model_num_params(m) - 1);
    clip_model_free(m);
    clip_model_free(NULL);
}

/* ---- initialisation ------------------------------------------------------------------------- */

static double tensor_std(clip_model *m, const char *name)
{
    const clip_tensor *t = clip_model_tensor_find(m, name);
    const float *p = clip_model_params(m) + t->offset;
    double s = 0, s2 = 0;
    for (size_t i = 0; i < t->count; i++) {
        s += p[i];
        s2 += (double)p[i] * p[i];
    }
    s /= (double)t->count;
    return sqrt(s2 / (double)t->count - s * s);
}

static int tensor_all(clip_model *m, const char *name, float v)
{
    const clip_tensor *t = clip_model_tensor_find(m, name);
    const float *p = clip_model_params(m) + t->offset;
    for (size_t i = 0; i < t->count; i++)
        if (p[i] != v)
            return 0;
    return 1;
}

static void test_init(void **state)
{
    (void)state;
    clip_config c;
    assert_int_equal(clip_config_by_name("tiny", 1000, 32, &c), CC_OK);
    clip_model *a, *b;
    assert_int_equal(clip_model_new(&c, 1, &a), CC_OK);
    assert_int_equal(clip_model_new(&c, 1, &b), CC_OK);
    size_t n = clip_model_num_params(a);
    int threads = omp_get_max_threads();
    omp_set_num_threads(1);
    clip_model_init(a, 42);
    omp_set_num_threads(threads > 1 ? threads : 2);
    clip_model_init(b, 42);
    omp_set_num_threads(threads);
    assert_memory_equal(clip_model_params(a), clip_model_params(b), n * sizeof(float));
    clip_model_init(b, 43);
    assert_true(memcmp(clip_model_params(a), clip_model_params(b), n * sizeof(float)) != 0);

    // the scheme of model.h: standard deviations within 5%, constants exact
    const double L = 4, Cv = 192, Ct = 128;
    struct {
        const char *name;
        double sd;
    } sds[] = {{"v.conv", 1 / sqrt(192.0)},
               {"v.pos", 1 / sqrt(Cv)},
               {"v.qkv_w", 1 / sqrt(Cv)},
               {"v.attn_proj_w", 1 / sqrt(2 * L * Cv)},
               {"v.fc_w", 1 / sqrt(2 * Cv)},
               {"v.fc_proj_w", 1 / sqrt(2 * L * Cv)},
               {"v_proj", 1 / sqrt(Cv)},
               {"t.wte", 0.02},
               {"t.wpe", 0.01},
               {"t.qkv_w", 1 / sqrt(Ct)},
               {"t.fc_proj_w", 1 / sqrt(2 * L * Ct)},
               {"t_proj", 1 / sqrt(Ct)}};
    for (size_t i = 0; i < sizeof sds / sizeof sds[0]; i++) {
        double sd = tensor_std(a, sds[i].name);
        if (fabs(sd / sds[i].sd - 1.0) > 0.05)
            fail_msg("%s: std %.5f, want %.5f", sds[i].name, sd, sds[i].sd);
    }
    const char *ones[] = {"v.ln_pre_w", "v.ln_1_w", "v.ln_2_w",    "v.ln_post_w",
                          "t.ln_1_w",   "t.ln_2_w", "t.ln_final_w"};
    for (size_t i = 0; i < sizeof ones / sizeof ones[0]; i++)
        assert_true(tensor_all(a, ones[i], 1.0f));
    const char *zeros[] = {"v.ln_pre_b",  "v.qkv_b",      "v.attn_proj_b", "v.fc_b",
                           "v.fc_proj_b", "t.ln_final_b", "t.qkv_b",       "t.fc_b"};
    for (size_t i = 0; i < sizeof zeros / sizeof zeros[0]; i++)
        assert_true(tensor_all(a, zeros[i], 0.0f));
    assert_true(tensor_all(a, "logit_scale", logf(1.0f / 0.07f)));
    clip_model_free(a);
    clip_model_free(b);
}

/* ---- gradient check ------------------------------------------------------------------------- */

static void test_gradient_check(void **state)
{
    (void)state;
    clip_config c = micro();
    const int B = 3, S = c.image_size, T = c.context;
    clip_model *m;
    assert_int_equal(clip_model_new(&c, B, &m), CC_OK);
    clip_model_init(m, 7);
    // move every parameter off its initial constant, so LN gains/biases and biases matter
    float *p = clip_model_params(m), *g = clip_model_grads(m);
    size_t n = clip_model_num_params(m);
    cc_rng r;
    cc_rng_seed(&r, 99);
    for (size_t i = 0; i + 1 < n; i++)
        p[i] += 0.1f * cc_rng_normal(&r);
    p[n - 1] = 1.0f; /* logit_scale: scale e */
    float images[3 * 3 * 16 * 16];
    int32_t tok[3 * 6];
    micro_batch(&c, B, 5, images, tok);
    (void)S;
    (void)T;

    float loss = clip_model_forward(m, images, tok, B);
    assert_true(isfinite(loss));
    clip_model_zero_grad(m);
    clip_model_backward(m);
    float *ana = malloc(n * sizeof(float));
    assert_non_null(ana);
    memcpy(ana, g, n * sizeof(float));
    // a second backward accumulates; zero_grad clears
    clip_model_backward(m);
    for (size_t i = 0; i < n; i += 97)
        assert_true(fabsf(g[i] - 2.0f * ana[i]) <= 1e-5f * (1.0f + fabsf(ana[i])));
    clip_model_zero_grad(m);
    for (size_t i = 0; i < n; i++)
        assert_true(g[i] == 0.0f);

    double worst_rel = 0, worst_abs = 0;
    int checked = 0;
    for (size_t k = 0; k < clip_model_tensor_count(m); k++) {
        const clip_tensor *t = clip_model_tensor(m, k);
        int nonzero = 0;
        for (int j = 0; j < GC_PER_TENSOR && j < (int)t->count; j++) {
            size_t i =
                t->offset + (t->count <= GC_PER_TENSOR ? (size_t)j : cc_rng_below(&r, t->count));
            float save = p[i], xp = save + GC_EPS, xm = save - GC_EPS;
            p[i] = xp;
            double fp = clip_model_forward(m, images, tok, B);
            p[i] = xm;
            double fm = clip_model_forward(m, images, tok, B);
            p[i] = save;
            double num = (fp - fm) / ((double)xp - (double)xm);
            double err = fabs(num - ana[i]), scale = fmax(fabs(num), fabs(ana[i]));
            if (err > GC_ABS + GC_REL * scale)
                fail_msg("%s[%zu]: analytic %.6g, numeric %.6g", t->name, i - t->offset, ana[i],
                         num);
            if (scale > 1e-2 && err / scale > worst_rel)
                worst_rel = err / scale;
            worst_abs = fmax(worst_abs, err);
            nonzero += ana[i] != 0.0f;
            checked++;
        }
        // every tensor takes part (t.wte: only the rows of used tokens, so allow zeros there)
        if (strcmp(t->name, "t.wte") != 0 && nonzero == 0)
            fail_msg("%s: all checked gradients are zero", t->name);
    }
    print_message("gradient check: %d elements over %zu tensors, largest relative error %.2e "
                  "(|g| > 1e-2), absolute %.2e\n",
                  checked, clip_model_tensor_count(m), worst_rel, worst_abs);
    free(ana);
    clip_model_free(m);
}

/* ---- inference and training ----------------------------------------------------------------- */

static void test_encode_equals_forward(void **state)
{
    (void)state;
    clip_config c = micro();
    const int B = 4, E = c.embed_dim;
    clip_model *m;
    assert_int_equal(clip_model_new(&c, B, &m), CC_OK);
    clip_model_init(m, 3);
    float images[4 * 3 * 16 * 16], img[4 * 8], txt[4 * 8], img2[2 * 8];
    int32_t tok[4 * 6];
    micro_batch(&c, B, 11, images, tok);
    float loss = clip_model_forward(m, images, tok, B);
    assert_true(loss > 0.0f && isfinite(loss));
    memcpy(img, clip_model_image_embeddings(m), sizeof img);
    memcpy(txt, clip_model_text_embeddings(m), sizeof txt);
    // logits = exp(logit_scale) img @ txt^T, embeddings unit norm
    float scale = 1.0f / 0.07f;
    for (int i = 0; i < B; i++) {
        double nn = 0;
        for (int e = 0; e < E; e++)
            nn += (double)img[i * E + e] * img[i * E + e];
        assert_true(fabs(nn - 1.0) < 1e-5);
        for (int j = 0; j < B; j++) {
            double d = 0;
            for (int e = 0; e < E; e++)
                d += (double)img[i * E + e] * txt[j * E + e];
            assert_true(fabs(clip_model_logits(m)[i * B + j] - scale * d) < 1e-4);
        }
    }
    float out[4 * 8];
    clip_model_encode_images(m, images, B, out);
    assert_memory_equal(out, img, sizeof img);
    clip_model_encode_texts(m, tok, B, out);
    assert_memory_equal(out, txt, sizeof txt);
    // a smaller batch gives the same rows (samples do not interact before the loss)
    clip_model_encode_images(m, images + 3 * 16 * 16, 2, img2);
    for (int k = 0; k < 2 * E; k++)
        assert_true(fabsf(img2[k] - img[E + k]) < 1e-6f);
    // the EOT rule: changing a token after the first EOT changes nothing
    int32_t tok2[4 * 6];
    memcpy(tok2, tok, sizeof tok);
    tok2[1 * 6 + 5] = (tok2[1 * 6 + 5] + 1) % 19; /* row 1: EOT at 1 and 4 */
    clip_model_encode_texts(m, tok2, B, out);
    assert_memory_equal(out, txt, sizeof txt);
    tok2[1 * 6 + 0] = (tok2[1 * 6 + 0] + 1) % 19; /* before it: changes the embedding */
    clip_model_encode_texts(m, tok2, B, out);
    assert_true(memcmp(out + E, txt + E, E * sizeof(float)) != 0);
    clip_model_free(m);
}

static void test_overfit(void **state)
{
    (void)state;
    clip_config c = micro();
    const int B = 4;
    clip_model *m;
    assert_int_equal(clip_model_new(&c, B, &m), CC_OK);
    clip_model_init(m, 1);
    float images[4 * 3 * 16 * 16];
    int32_t tok[4 * 6];
    micro_batch(&c, B, 21, images, tok);
    float *p = clip_model_params(m), *g = clip_model_grads(m);
    size_t n = clip_model_num_params(m);
    float first = 0, loss = 0;
    for (int step = 0; step < 30; step++) {
        loss = clip_model_forward(m, images, tok, B);
        if (step == 0)
            first = loss;
        clip_model_zero_grad(m);
        clip_model_backward(m);
        for (size_t i = 0; i + 1 < n; i++)
            p[i] -= 0.1f * g[i];
    }
    print_message("overfit: loss %.4f → %.4f in 30 SGD steps\n", first, loss);
    assert_true(loss < 0.05f * first);
    clip_model_free(m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_configs),
        cmocka_unit_test(test_tensor_table),
        cmocka_unit_test(test_init),
        cmocka_unit_test(test_gradient_check),
        cmocka_unit_test(test_encode_equals_forward),
        cmocka_unit_test(test_overfit),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
