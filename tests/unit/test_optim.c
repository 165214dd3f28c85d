/* tests/unit/test_optim.c — AdamW (one step against hand-computed numbers, with and without
 * weight decay, with clipping; many steps against a double-precision re-implementation), the
 * learning-rate schedule, the logit_scale clamp and grad_norm.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>

#include "common/rng.h"
#include "trainer/optim.h"

/* ---- helpers ------------------------------------------------------------------------------- */

static void assert_close(double got, double want, double tol)
{
    if (fabs(got - want) > tol)
        fail_msg("got %.9g, want %.9g (tolerance %.3g)", got, want, tol);
}

static adamw *new_opt(size_t n, float wd, float clip)
{
    adamw_opts o;
    adamw_opts_default(&o);
    o.weight_decay = wd;
    o.clip_norm = clip;
    adamw *a = NULL;
    assert_int_equal(adamw_new(n, &o, &a), CC_OK);
    assert_non_null(a);
    return a;
}

/* A layout of two tensors: "w" (2 floats, decay) then "b" (2 floats, no decay). */
static const clip_tensor two[] = {
    {.name = "w", .offset = 0, .count = 2, .ndim = 1, .shape = {2}, .decay = 1},
    {.name = "b", .offset = 2, .count = 2, .ndim = 1, .shape = {2}, .decay = 0},
};

/* ---- tests --------------------------------------------------------------------------------- */

static void test_defaults_and_state(void **state)
{
    (void)state;
    adamw_opts o;
    adamw_opts_default(&o);
    assert_true(o.beta1 == 0.9f && o.beta2 == 0.98f && o.eps == 1e-6f);
    assert_true(o.weight_decay == 0.2f && o.clip_norm == 0.0f);

    adamw *a = NULL;
    assert_int_equal(adamw_new(5, NULL, &a), CC_OK);
    assert_int_equal(adamw_size(a), 5);
    assert_int_equal(adamw_steps(a), 0);
    for (int i = 0; i < 5; i++)
        assert_true(adamw_m(a)[i] == 0.0f && adamw_v(a)[i] == 0.0f);
    float p[5] = {1, 1, 1, 1, 1}, g[5] = {1, 1, 1, 1, 1};
    adamw_step(a, p, g, NULL, 0, 0.1f); /* no layout: no decay anywhere */
    assert_int_equal(adamw_steps(a), 1);
    for (int i = 0; i < 5; i++)
        assert_close(p[i], 1.0 - 0.1 * (1.0 / (1.0 + 1e-6)), 1e-6);
    adamw_set_steps(a, 41);
    assert_int_equal(adamw_steps(a), 41);
    adamw_free(a);
    adamw_free(NULL);
}

/* Step 1: m̂ = g and v̂ = g², so the update is lr·g/(|g|+ε); decay multiplies by 1 - lr·wd. */
static void test_one_step_by_hand(void **state)
{
    (void)state;
    for (int with_decay = 0; with_decay <= 1; with_decay++) {
        adamw *a = new_opt(4, with_decay ? 0.2f : 0.0f, 0.0f);
        float p[4] = {1.0f, -2.0f, 0.5f, 3.0f};
        float g[4] = {0.1f, -0.2f, 0.3f, 0.0f};
        float norm = adamw_step(a, p, g, two, 2, 0.1f);
        assert_close(norm, sqrt(0.01 + 0.04 + 0.09), 1e-6);
        /* by hand: 0.1/(0.1+1e-6) = 0.99999000010, 0.2/(0.2+1e-6) = 0.99999500002 */
        double d = with_decay ? 0.98 : 1.0; /* 1 - 0.1·0.2 */
        assert_close(p[0], 1.0 * d - 0.099999000010, 1e-6); /* 0.880001 with decay */
        assert_close(p[1], -2.0 * d + 0.099999500002, 1e-6); /* -1.860000 with decay */
        assert_close(p[2], 0.5 - 0.1 * (0.3 / (0.3 + 1e-6)), 1e-6); /* no decay on "b" */
        assert_close(p[3], 3.0, 0.0); /* zero gradient, zero moments: unchanged */
        if (with_decay) {
            assert_close(p[0], 0.880001, 1e-6);
            assert_close(p[1], -1.8600005, 1e-6);
        }
        assert_close(adamw_m(a)[1], 0.1 * -0.2, 1e-8); /* (1-β1) g */
        assert_close(adamw_v(a)[2], 0.02 * 0.09, 1e-8); /* (1-β2) g² */
        adamw_free(a);
    }
}

/* Step 2 by hand, one parameter, no decay: g1 = 1, g2 = -1.
 * m = 0.9·0.1 - 0.1 = -0.01, v = 0.98·0.02 + 0.02 = 0.0396; m̂ = -0.01/0.19, v̂ = 0.0396/0.0396 = 1
 * → update = lr · (-0.0526316)/(1 + 1e-6). */
static void test_two_steps_by_hand(void **state)
{
    (void)state;
    adamw *a = new_opt(1, 0.0f, 0.0f);
    float p = 0.0f, g = 1.0f;
    adamw_step(a, &p, &g, NULL, 0, 1.0f);
    assert_close(p, -1.0 / (1.0 + 1e-6), 1e-6);
    g = -1.0f;
    adamw_step(a, &p, &g, NULL, 0, 1.0f);
    assert_close(adamw_m(a)[0], -0.01, 1e-7);
    assert_close(adamw_v(a)[0], 0.0396, 1e-7);
    assert_close(p, -1.0 / (1.0 + 1e-6) + (0.01 / 0.19) / (1.0 + 1e-6), 1e-6);
    adamw_free(a);
}

static void test_clipping(void **state)
{
    (void)state;
    /* norm 5 > 1: the gradients are scaled to norm 1 before the moments see them */
    adamw *a = new_opt(2, 0.0f, 1.0f);
    float p[2] = {0, 0}, g[2] = {3.0f, 4.0f};
    assert_close(adamw_step(a, p, g, NULL, 0, 0.01f), 5.0, 1e-6);
    assert_close(g[0], 0.6, 1e-6);
    assert_close(g[1], 0.8, 1e-6);
    assert_close(adamw_m(a)[0], 0.06, 1e-7);
    assert_close(adamw_v(a)[1], 0.02 * 0.64, 1e-7);
    adamw_free(a);

    /* norm 5 <= 10: untouched */
    a = new_opt(2, 0.0f, 10.0f);
    float g2[2] = {3.0f, 4.0f};
    assert_close(adamw_step(a, p, g2, NULL, 0, 0.01f), 5.0, 1e-6);
    assert_true(g2[0] == 3.0f && g2[1] == 4.0f);
    assert_close(adamw_m(a)[0], 0.3, 1e-7);
    adamw_free(a);

    /* clipping off (0): untouched however large */
    a = new_opt(2, 0.0f, 0.0f);
    float g3[2] = {300.0f, 400.0f};
    assert_close(adamw_step(a, p, g3, NULL, 0, 0.01f), 500.0, 1e-3);
    assert_true(g3[0] == 300.0f && g3[1] == 400.0f);
    adamw_free(a);
}

/* The update in double, as optim.h states it, for the many-step comparison. */
typedef struct ref_adam {
    double *p, *m, *v;
    uint64_t t;
} ref_adam;

static void ref_step(ref_adam *r, const float *g, const int *decay, size_t n, double lr, double wd,
                     double clip)
{
    double norm = 0.0;
    for (size_t i = 0; i < n; i++)
        norm += (double)g[i] * g[i];
    norm = sqrt(norm);
    double scale = (clip > 0 && norm > clip) ? clip / norm : 1.0;
    r->t++;
    double b1 = 0.9, b2 = 0.98, eps = 1e-6;
    for (size_t i = 0; i < n; i++) {
        double gi = g[i] * scale;
        if (decay[i])
            r->p[i] -= lr * wd * r->p[i];
        r->m[i] = b1 * r->m[i] + (1 - b1) * gi;
        r->v[i] = b2 * r->v[i] + (1 - b2) * gi * gi;
        double mh = r->m[i] / (1 - pow(b1, (double)r->t));
        double vh = r->v[i] / (1 - pow(b2, (double)r->t));
        r->p[i] -= lr * mh / (sqrt(vh) + eps);
    }
}

static void run_many_steps(int threads, float clip, float *out_p, size_t n)
{
    /* three tensors: decay [0,400), no decay [400,700), decay [700,n) */
    const clip_tensor t3[] = {
        {.name = "a", .offset = 0, .count = 400, .decay = 1},
        {.name = "b", .offset = 400, .count = 300, .decay = 0},
        {.name = "c", .offset = 700, .count = n - 700, .decay = 1},
    };
    int *decay = malloc(n * sizeof *decay);
    float *p = malloc(n * sizeof *p), *g = malloc(n * sizeof *g);
    ref_adam r = {calloc(n, sizeof(double)), calloc(n, sizeof(double)), calloc(n, sizeof(double)),
                  0};
    assert_true(decay && p && g && r.p && r.m && r.v);
    cc_rng rng;
    cc_rng_stream(&rng, 7, 0, 0);
    for (size_t i = 0; i < n; i++) {
        p[i] = cc_rng_normal(&rng);
        r.p[i] = p[i];
        decay[i] = i < 400 || i >= 700;
    }
    adamw *a = new_opt(n, 0.2f, clip);
    int saved = omp_get_max_threads();
    omp_set_num_threads(threads);
    for (uint64_t s = 0; s < 25; s++) {
        for (size_t i = 0; i < n; i++) /* gradients of varied scale, some exactly zero */
            g[i] = (i % 97 == 0) ? 0.0f : cc_rng_normal(&rng) * (float)(1 + i % 5) * 0.3f;
        float lr = lr_at(s, 5, 25, 0.01f, 0.001f);
        ref_step(&r, g, decay, n, lr, 0.2, clip);
        adamw_step(a, p, g, t3, 3, lr);
    }
    omp_set_num_threads(saved);
    for (size_t i = 0; i < n; i++)
        if (fabs(p[i] - r.p[i]) > 2e-5 * (1.0 + fabs(r.p[i])))
            fail_msg("param %zu: %.9g, double reference %.9g", i, p[i], r.p[i]);
    memcpy(out_p, p, n * sizeof *p);
    adamw_free(a);
    free(decay);
    free(p);
    free(g);
    free(r.p);
    free(r.m);
    free(r.v);
}

static void test_many_steps_vs_double(void **state)
{
    (void)state;
    size_t n = 5000;
    float *p1 = malloc(n * sizeof *p1), *p2 = malloc(n * sizeof *p2);
    assert_true(p1 && p2);
    run_many_steps(1, 0.0f, p1, n);
    run_many_steps(2, 0.0f, p2, n);
    assert_memory_equal(p1, p2, n * sizeof *p1); /* the thread count changes nothing */
    run_many_steps(2, 20.0f, p1, n); /* with clipping active (norms are ~40) */
    free(p1);
    free(p2);
}

static void test_lr_schedule(void **state)
{
    (void)state;
    /* warm-up 10, total 110, lr 1, min 0.1 */
    assert_close(lr_at(0, 10, 110, 1.0f, 0.1f), 0.1, 1e-7); /* (0+1)/10 */
    assert_close(lr_at(4, 10, 110, 1.0f, 0.1f), 0.5, 1e-7);
    assert_close(lr_at(9, 10, 110, 1.0f, 0.1f), 1.0, 1e-7); /* end of the ramp */
    assert_close(lr_at(10, 10, 110, 1.0f, 0.1f), 1.0, 1e-7); /* peak: cos(0) */
    assert_close(lr_at(60, 10, 110, 1.0f, 0.1f), 0.55, 1e-6); /* half-way: 0.1 + 0.9/2 */
    /* a quarter of the way: 0.1 + 0.9·(1 + cos(π/4))/2 */
    assert_close(lr_at(35, 10, 110, 1.0f, 0.1f), 0.1 + 0.45 * (1.0 + sqrt(0.5)), 1e-6);
    assert_close(lr_at(109, 10, 110, 1.0f, 0.1f), 0.1 + 0.45 * (1.0 + cos(M_PI * 99 / 100)), 1e-6);
    assert_close(lr_at(110, 10, 110, 1.0f, 0.1f), 0.1, 1e-7); /* end */
    assert_close(lr_at(5000, 10, 110, 1.0f, 0.1f), 0.1, 1e-7); /* past the end */
    /* no warm-up: the peak at step 0; decay to 0 */
    assert_close(lr_at(0, 0, 100, 5e-4f, 0.0f), 5e-4, 1e-10);
    assert_close(lr_at(50, 0, 100, 5e-4f, 0.0f), 2.5e-4, 1e-9);
    assert_close(lr_at(100, 0, 100, 5e-4f, 0.0f), 0.0, 0.0);
    /* the reference run's schedule (tests/ref/gen_ref.py): warm-up 3, cosine to 0 at 10 */
    assert_close(lr_at(2, 3, 10, 1e-3f, 0.0f), 1e-3, 1e-10);
    assert_close(lr_at(4, 3, 10, 1e-3f, 0.0f), 0.5e-3 * (1.0 + cos(M_PI / 7)), 1e-10);
    /* monotone: up during warm-up, down afterwards */
    for (uint64_t s = 1; s < 200; s++) {
        float a = lr_at(s - 1, 20, 150, 1.0f, 0.0f), b = lr_at(s, 20, 150, 1.0f, 0.0f);
        if (s < 20)
            assert_true(b > a);
        else
            assert_true(b <= a);
    }
}

static void test_logit_scale_clamp(void **state)
{
    (void)state;
    const clip_tensor t[] = {
        {.name = "w", .offset = 0, .count = 1, .decay = 1},
        {.name = "logit_scale", .offset = 1, .count = 1, .decay = 0},
    };
    float lim = logf(100.0f);
    /* pushed above ln 100 (the step moves it up by about lr = 0.1): clamped to ln 100 */
    adamw *a = new_opt(2, 0.2f, 0.0f);
    float p[2] = {2.0f, lim - 0.01f}, g[2] = {1.0f, -1.0f};
    adamw_step(a, p, g, t, 2, 0.1f);
    assert_true(p[1] == lim);
    assert_close(p[0], 2.0 * 0.98 - 0.1 / (1.0 + 1e-6), 1e-6); /* the other tensor is untouched
                                                                  by the clamp */
    adamw_free(a);

    /* pushed below 0: clamped to 0 */
    a = new_opt(2, 0.2f, 0.0f);
    float q[2] = {2.0f, 0.05f}, h[2] = {1.0f, 1.0f};
    adamw_step(a, q, h, t, 2, 0.1f);
    assert_true(q[1] == 0.0f);
    adamw_free(a);

    /* inside the range: an ordinary update, no decay (decay = 0) */
    a = new_opt(2, 0.2f, 0.0f);
    float r[2] = {2.0f, 2.6592f}, k[2] = {1.0f, 0.5f};
    adamw_step(a, r, k, t, 2, 0.01f);
    assert_close(r[1], 2.6592 - 0.01 * (0.5 / (0.5 + 1e-6)), 1e-6);
    adamw_free(a);
}

static void test_grad_norm(void **state)
{
    (void)state;
    float g[2] = {3.0f, -4.0f};
    assert_close(grad_norm(g, 2), 5.0, 0.0);
    assert_close(grad_norm(g, 0), 0.0, 0.0);
    assert_close(grad_norm(g, 1), 3.0, 0.0);
    size_t n = 1000003; /* not a multiple of the chunk count */
    float *big = malloc(n * sizeof *big);
    assert_non_null(big);
    for (size_t i = 0; i < n; i++)
        big[i] = 0.5f;
    assert_close(grad_norm(big, n), 0.5 * sqrt((double)n), 1e-3);
    big[n - 1] = 1000.0f; /* the last element counts */
    assert_close(grad_norm(big, n), sqrt(0.25 * (double)(n - 1) + 1e6), 1e-3);
    float one = grad_norm(big, n);
    int saved = omp_get_max_threads();
    omp_set_num_threads(1);
    assert_true(grad_norm(big, n) == one); /* same bits on any thread count */
    omp_set_num_threads(saved);
    free(big);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_defaults_and_state),   cmocka_unit_test(test_one_step_by_hand),
        cmocka_unit_test(test_two_steps_by_hand),    cmocka_unit_test(test_clipping),
        cmocka_unit_test(test_many_steps_vs_double), cmocka_unit_test(test_lr_schedule),
        cmocka_unit_test(test_logit_scale_clamp),    cmocka_unit_test(test_grad_norm),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
