/* tests/unit/test_eval.c — evaluation: recall@K on hand cases, zero-shot ranking and confusion,
 * prompt ensembling on a micro model (class embedding = normalized mean of the normalized
 * template embeddings), the linear probe (separable features, optimality, lambda selection,
 * determinism) and the evaluation-set readers (labels file, classes, caption rule). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/rng.h"
#include "trainer/bpe.h"
#include "trainer/eval.h"
#include "trainer/evalset.h"
#include "trainer/linprobe.h"
#include "trainer/model.h"

/* ---- recall@K ------------------------------------------------------------------------------ */

/* Row i of (N,E) is basis vector perm[i] (E >= N). */
static void basis_rows(float *m, size_t N, int E, const size_t *perm)
{
    memset(m, 0, N * (size_t)E * sizeof *m);
    for (size_t i = 0; i < N; i++)
        m[i * (size_t)E + perm[i]] = 1;
}

static void test_recall_perfect_and_reversed(void **state)
{
    (void)state;
    enum { N = 4, E = 4 };
    float img[N * E], txt[N * E];
    size_t id[N] = {0, 1, 2, 3}, rev[N] = {3, 2, 1, 0};
    const int ks[3] = {1, 3, 4};
    double i2t[3], t2i[3];
    basis_rows(img, N, E, id);
    basis_rows(txt, N, E, id);
    assert_int_equal(eval_recall(img, txt, N, E, ks, 3, i2t, t2i), CC_OK);
    for (int k = 0; k < 3; k++) {
        assert_true(i2t[k] == 1.0);
        assert_true(t2i[k] == 1.0);
    }
    /* Text i is image N-1-i's: every true pair scores 0, one wrong text 1 and the rest tie the
     * true one at 0, so the true text ranks last. */
    basis_rows(txt, N, E, rev);
    assert_int_equal(eval_recall(img, txt, N, E, ks, 3, i2t, t2i), CC_OK);
    assert_true(i2t[0] == 0.0 && t2i[0] == 0.0);
    assert_true(i2t[1] == 0.0 && t2i[1] == 0.0);
    assert_true(i2t[2] == 1.0 && t2i[2] == 1.0);
}

static void test_recall_hand_case(void **state)
{
    (void)state;
    /* 2-D unit vectors: images at angles 0, 60, 120 degrees, texts at 10, 100, 50. */
    enum { N = 3, E = 2 };
    const double ia[N] = {0, 60, 120}, ta[N] = {10, 100, 50};
    float img[N * E], txt[N * E];
    for (int i = 0; i < N; i++) {
        img[2 * i] = (float)cos(ia[i] * M_PI / 180);
        img[2 * i + 1] = (float)sin(ia[i] * M_PI / 180);
        txt[2 * i] = (float)cos(ta[i] * M_PI / 180);
        txt[2 * i + 1] = (float)sin(ta[i] * M_PI / 180);
    }
    /* image 0 (0°): own text 10° nearest -> rank 0.
     * image 1 (60°): 50° (10 off), own 100° (40), 10° (50) -> rank 1.
     * image 2 (120°): 100° (20), own 50° (70), 10° (110) -> rank 1.
     * text 0 (10°): own image 0° nearest -> 0. text 1 (100°): 120° (20), own 60° (40) -> 1.
     * text 2 (50°): 60° (10), 0° (50), own 120° (70) -> 2. So the directions differ. */
    const int ks[3] = {1, 2, 3};
    double i2t[3], t2i[3];
    assert_int_equal(eval_recall(img, txt, N, E, ks, 3, i2t, t2i), CC_OK);
    assert_true(fabs(i2t[0] - 1.0 / 3) < 1e-12 && i2t[1] == 1 && i2t[2] == 1);
    assert_true(fabs(t2i[0] - 1.0 / 3) < 1e-12 && fabs(t2i[1] - 2.0 / 3) < 1e-12 && t2i[2] == 1);
}

static void test_recall_ties_count_against(void **state)
{
    (void)state;
    /* A constant model: every similarity ties, and ties count against the true pair, so recall@K
     * is 0 below K = N (a constant model earns no credit; chance would be K/N). */
    enum { N = 10, E = 3 };
    float img[N * E], txt[N * E];
    for (int i = 0; i < N * E; i++)
        img[i] = txt[i] = (float)(1 / sqrt(3.0));
    const int ks[3] = {1, 5, 10};
    double i2t[3], t2i[3];
    assert_int_equal(eval_recall(img, txt, N, E, ks, 3, i2t, t2i), CC_OK);
    assert_true(i2t[0] == 0 && i2t[1] == 0 && i2t[2] == 1);
    assert_true(t2i[0] == 0 && t2i[1] == 0 && t2i[2] == 1);
}

/* ---- zero-shot ----------------------------------------------------------------------------- */

static void test_zeroshot_hand(void **state)
{
    (void)state;
    /* 6 classes on the axes of R^6; images near a class, with a second-best class given. */
    enum { C = 6, E = 6, N = 4 };
    float cls[C * E] = {0}, img[N * E] = {0};
    for (int c = 0; c < C; c++)
        cls[c * E + c] = 1;
    /* image 0: class 2 (right); image 1: class 4 best, true 0 second (top-5 hit);
     * image 2: true 5 scores lowest of all (top-1 and top-5 miss); image 3: class 1 right. */
    img[0 * E + 2] = 1, img[0 * E + 3] = 0.5f;
    img[1 * E + 4] = 1, img[1 * E + 0] = 0.5f;
    for (int c = 0; c < 5; c++)
        img[2 * E + c] = 0.1f * (float)(c + 1);
    img[2 * E + 5] = -1;
    img[3 * E + 1] = 1;
    const int labels[N] = {2, 0, 5, 1};
    int pred[N];
    double top1 = -1, top5 = -1;
    uint64_t conf[C * C];
    eval_zeroshot(img, N, cls, C, E, labels, pred, &top1, &top5, conf);
    assert_int_equal(pred[0], 2);
    assert_int_equal(pred[1], 4);
    assert_int_equal(pred[2], 4);
    assert_int_equal(pred[3], 1);
    assert_true(top1 == 0.5);
    assert_true(top5 == 0.75);
    uint64_t total = 0;
    for (int i = 0; i < C * C; i++)
        total += conf[i];
    assert_int_equal(total, N);
    assert_int_equal(conf[2 * C + 2], 1);
    assert_int_equal(conf[0 * C + 4], 1);
    assert_int_equal(conf[5 * C + 4], 1);
    assert_int_equal(conf[1 * C + 1], 1);
}

/* ---- prompt ensembling on a micro model ---------------------------------------------------- */

typedef struct micro {
    bpe *tok;
    clip_model *m;
} micro;

static void micro_make(micro *u, int max_batch)
{
    static const char *texts[] = {"a photo of a red circle", "a blurry photo of the blue square",
                                  "a good photo of a small star", "the big green triangle",
                                  "a bad photo of a heart"};
    bpe_trainer *t = NULL;
    assert_int_equal(bpe_trainer_new(0, &t), CC_OK);
    for (int r = 0; r < 4; r++)
        for (size_t i = 0; i < sizeof texts / sizeof *texts; i++)
            assert_int_equal(bpe_trainer_add(t, texts[i], strlen(texts[i])), CC_OK);
    assert_int_equal(bpe_trainer_finish(t, 560, 8, &u->tok), CC_OK);
    bpe_trainer_free(t);
    clip_config cfg = {.name = "micro",
                       .image_size = 16,
                       .patch = 8,
                       .vision_width = 16,
                       .vision_layers = 1,
                       .vision_heads = 2,
                       .context = 8,
                       .vocab = (int)bpe_vocab(u->tok),
                       .text_width = 16,
                       .text_layers = 1,
                       .text_heads = 2,
                       .embed_dim = 8};
    assert_int_equal(clip_config_check(&cfg), CC_OK);
    assert_int_equal(clip_model_new(&cfg, max_batch, &u->m), CC_OK);
    clip_model_init(u->m, 7);
}

static void micro_free(micro *u)
{
    clip_model_free(u->m);
    bpe_free(u->tok);
}

/* The unit text embedding of one prompt, by the model directly. */
static void embed_text(micro *u, const char *text, float *out)
{
    int32_t tk[8];
    assert_int_equal(bpe_encode(u->tok, text, strlen(text), tk, 8, NULL), CC_OK);
    clip_model_encode_texts(u->m, tk, 1, out);
    double s = 0;
    for (int e = 0; e < 8; e++)
        s += (double)out[e] * out[e];
    for (int e = 0; e < 8; e++)
        out[e] = (float)(out[e] / sqrt(s));
}

static void test_ensemble_math(void **state)
{
    (void)state;
    micro u;
    micro_make(&u, 2); /* batches of 2, so 5 templates take three passes */
    const char *names[2] = {"circle", "blue square"};
    const char *tpl[5] = {"a photo of a {}.", "a blurry photo of the {}", "{}",
                          "the big {} and the small", "a good photo of a"};
    float got[2 * 8];
    assert_int_equal(eval_class_embeddings(u.m, u.tok, names, 2, tpl, 5, got), CC_OK);
    for (int c = 0; c < 2; c++) {
        char texts[5][64];
        snprintf(texts[0], 64, "a photo of a %s.", names[c]);
        snprintf(texts[1], 64, "a blurry photo of the %s", names[c]);
        snprintf(texts[2], 64, "%s", names[c]);
        snprintf(texts[3], 64, "the big %s and the small", names[c]);
        snprintf(texts[4], 64, "a good photo of a %s", names[c]); /* no "{}": name appended */
        double mean[8] = {0}, norm = 0;
        for (int t = 0; t < 5; t++) {
            float e[8];
            embed_text(&u, texts[t], e);
            for (int k = 0; k < 8; k++)
                mean[k] += e[k] / 5.0;
        }
        for (int k = 0; k < 8; k++)
            norm += mean[k] * mean[k];
        double gn = 0, single_diff = 0;
        float one[8];
        embed_text(&u, texts[0], one);
        for (int k = 0; k < 8; k++) {
            assert_true(fabs(got[c * 8 + k] - mean[k] / sqrt(norm)) < 1e-5);
            gn += (double)got[c * 8 + k] * got[c * 8 + k];
            single_diff += fabs(got[c * 8 + k] - one[k]);
        }
        assert_true(fabs(gn - 1) < 1e-5);
        assert_true(single_diff > 1e-3); /* the ensemble is not just the first template */
    }
    /* One template: the class embedding is that prompt's own unit embedding. */
    float one_cls[8], ref[8];
    assert_int_equal(eval_class_embeddings(u.m, u.tok, names, 1, tpl, 1, one_cls), CC_OK);
    embed_text(&u, "a photo of a circle.", ref);
    for (int k = 0; k < 8; k++)
        assert_true(fabs(one_cls[k] - ref[k]) < 1e-5);
    assert_int_equal(eval_class_embeddings(u.m, u.tok, names, 1, tpl, 0, one_cls), CC_E_INVAL);
    micro_free(&u);
}

/* ---- linear probe -------------------------------------------------------------------------- */

/* N examples of C classes in D dims: class c has mean sep·e_(c mod D), plus N(0, noise²) in every
 * dim; labels cycle through the classes. A label-noise share flips labels to a random class. */
static void synth(float *x, int *y, size_t N, int D, int C, float sep, float noise, double flip,
                  uint64_t seed)
{
    cc_rng r;
    cc_rng_seed(&r, seed);
    for (size_t i = 0; i < N; i++) {
        int c = (int)(i % (size_t)C);
        for (int d = 0; d < D; d++)
            x[i * (size_t)D + d] = noise * cc_rng_normal(&r) + (d == c % D ? sep : 0);
        y[i] = c;
        if (flip > 0 && cc_rng_float(&r) < flip)
            y[i] = (int)cc_rng_below(&r, (uint64_t)C);
    }
}

static void test_probe_separable(void **state)
{
    (void)state;
    enum { N = 400, D = 8, C = 4 };
    float x[N * D], xt[N * D];
    int y[N], yt[N];
    synth(x, y, N, D, C, 4, 0.5f, 0, 1);
    synth(xt, yt, N, D, C, 4, 0.5f, 0, 2);
    linprobe *p = NULL;
    assert_int_equal(linprobe_fit(x, y, N, D, C, 1e-4, 0, &p), CC_OK);
    assert_int_equal(p->C, C);
    assert_int_equal(p->D, D);
    assert_true(p->iterations > 0);
    assert_true(linprobe_accuracy(p, x, y, N) >= 0.99);
    assert_true(linprobe_accuracy(p, xt, yt, N) >= 0.99);
    linprobe_free(p);
}

/* The objective by plain double loops, as linprobe.h defines it. */
static double objective(const float *x, const int *y, size_t N, int D, int C, const double *W,
                        const double *b, double lambda)
{
    double ce = 0, reg = 0;
    for (size_t i = 0; i < N; i++) {
        double l[8], mx = -INFINITY, z = 0;
        for (int c = 0; c < C; c++) {
            l[c] = b[c];
            for (int d = 0; d < D; d++)
                l[c] += W[c * D + d] * x[i * (size_t)D + d];
            mx = l[c] > mx ? l[c] : mx;
        }
        for (int c = 0; c < C; c++)
            z += exp(l[c] - mx);
        ce += mx + log(z) - l[y[i]];
    }
    for (int k = 0; k < C * D; k++)
        reg += W[k] * W[k];
    return ce / (double)N + 0.5 * lambda * reg;
}

static void test_probe_optimal(void **state)
{
    (void)state;
    /* Overlapping classes and a real penalty: a unique minimum inside. The reported loss is the
     * objective at the weights, and every small step away from them costs. A wrong gradient would
     * leave L-BFGS elsewhere. */
    enum { N = 200, D = 5, C = 3 };
    float x[N * D];
    int y[N];
    synth(x, y, N, D, C, 1, 1, 0.1, 3);
    const double lambda = 0.05;
    linprobe *p = NULL;
    assert_int_equal(linprobe_fit(x, y, N, D, C, lambda, 0, &p), CC_OK);
    double W[C * D], b[C];
    for (int k = 0; k < C * D; k++)
        W[k] = p->W[k];
    for (int c = 0; c < C; c++)
        b[c] = p->b[c];
    double f0 = objective(x, y, N, D, C, W, b, lambda);
    assert_true(fabs(f0 - p->loss) < 1e-5);
    cc_rng r;
    cc_rng_seed(&r, 9);
    for (int trial = 0; trial < 20; trial++) {
        double W2[C * D], b2[C];
        for (int k = 0; k < C * D; k++)
            W2[k] = W[k] + 0.02 * cc_rng_normal(&r);
        for (int c = 0; c < C; c++)
            b2[c] = b[c] + 0.02 * cc_rng_normal(&r);
        assert_true(objective(x, y, N, D, C, W2, b2, lambda) > f0 - 1e-7);
    }
    /* Zero weights are strictly worse than the fit (it learned something). */
    double Z[C * D] = {0}, zb[C] = {0};
    assert_true(objective(x, y, N, D, C, Z, zb, lambda) > f0 + 0.01);
    linprobe_free(p);
}

static void test_probe_gradient(void **state)
{
    (void)state;
    /* The analytic gradient against central differences of the double-precision objective above,
     * at a random point; and the library's objective value against it. */
    enum { N = 50, D = 4, C = 3, P = C * D + C };
    float x[N * D];
    int y[N];
    synth(x, y, N, D, C, 1, 1, 0.1, 31);
    double wb[P], g[P], f = 0;
    cc_rng r;
    cc_rng_seed(&r, 32);
    for (int k = 0; k < P; k++)
        wb[k] = 0.5 * cc_rng_normal(&r);
    const double lambda = 0.3;
    assert_int_equal(linprobe_objective(x, y, N, D, C, lambda, wb, &f, g), CC_OK);
    assert_true(fabs(f - objective(x, y, N, D, C, wb, wb + C * D, lambda)) < 1e-5);
    for (int k = 0; k < P; k++) {
        const double h = 1e-4;
        double a[P], b[P];
        memcpy(a, wb, sizeof a);
        memcpy(b, wb, sizeof b);
        a[k] += h;
        b[k] -= h;
        double fd = (objective(x, y, N, D, C, a, a + C * D, lambda) -
                     objective(x, y, N, D, C, b, b + C * D, lambda)) /
                    (2 * h);
        assert_true(fabs(fd - g[k]) < 1e-4 + 1e-3 * fabs(fd));
    }
    int bad[N];
    memcpy(bad, y, sizeof bad);
    bad[3] = C;
    assert_int_equal(linprobe_objective(x, bad, N, D, C, lambda, wb, &f, g), CC_E_INVAL);
}

static void test_probe_lambda_selection(void **state)
{
    (void)state;
    /* Clean: many well-separated examples; noisy: few examples in many dimensions with a weak
     * signal and flipped labels. The clean set should take a smaller penalty than the noisy one,
     * and the choice is always a best-validation-accuracy lambda of the grid. */
    enum { NC = 400, DC = 8, NN = 200, DN = 200, C = 2 };
    float *xc = malloc(NC * DC * sizeof *xc), *xn = malloc(NN * DN * sizeof *xn);
    int yc[NC], yn[NN];
    synth(xc, yc, NC, DC, C, 4, 0.5f, 0, 11);
    synth(xn, yn, NN, DN, C, 1.5f, 1, 0.1, 12);
    double vc[9], vn[9];
    linprobe *pc = NULL, *pn = NULL;
    assert_int_equal(linprobe_select(xc, yc, NC, DC, C, NULL, 0, 0.25, 5, 0, vc, &pc), CC_OK);
    assert_int_equal(linprobe_select(xn, yn, NN, DN, C, NULL, 0, 0.25, 5, 0, vn, &pn), CC_OK);
    assert_true(pc->lambda < pn->lambda);
    double best = -1, bestn = -1, accc = -1, accn = -1;
    for (int g = 0; g < linprobe_default_grid_count; g++) {
        best = vc[g] > best ? vc[g] : best;
        bestn = vn[g] > bestn ? vn[g] : bestn;
        if (linprobe_default_grid[g] == pc->lambda)
            accc = vc[g];
        if (linprobe_default_grid[g] == pn->lambda)
            accn = vn[g];
    }
    assert_true(accc == best && accn == bestn);
    free(xc);
    free(xn);
    linprobe_free(pc);
    linprobe_free(pn);
}

static void test_probe_split_and_determinism(void **state)
{
    (void)state;
    enum { N = 103, D = 6, C = 4 };
    float x[N * D];
    int y[N];
    synth(x, y, N, D, C, 1, 1, 0, 21);
    y[N - 1] = 3; /* counts 26, 26, 25, 26 */
    unsigned char a[N], b[N];
    size_t na = linprobe_split(y, N, C, 0.2, 1, a), nb = linprobe_split(y, N, C, 0.2, 1, b);
    assert_int_equal(na, nb);
    assert_memory_equal(a, b, N);
    size_t per[C] = {0};
    for (int i = 0; i < N; i++)
        per[y[i]] += a[i];
    for (int c = 0; c < C; c++)
        assert_int_equal(per[c], 5); /* round(0.2 × 25 or 26) */
    assert_int_equal(linprobe_split(y, N, C, 0.2, 2, b), na);
    assert_memory_not_equal(a, b, N); /* another seed, another split */
    /* A class with one example stays out of validation. */
    int y1[3] = {0, 1, 1};
    unsigned char s1[3];
    assert_int_equal(linprobe_split(y1, 3, 2, 0.5, 1, s1), 1);
    assert_int_equal(s1[0], 0);
    assert_int_equal(s1[1] + s1[2], 1);

    linprobe *p = NULL, *q = NULL;
    assert_int_equal(linprobe_select(x, y, N, D, C, NULL, 0, 0.2, 4, 0, NULL, &p), CC_OK);
    assert_int_equal(linprobe_select(x, y, N, D, C, NULL, 0, 0.2, 4, 0, NULL, &q), CC_OK);
    assert_true(p->lambda == q->lambda);
    assert_memory_equal(p->W, q->W, sizeof(float) * C * D);
    assert_memory_equal(p->b, q->b, sizeof(float) * C);
    linprobe_free(p);
    linprobe_free(q);

    /* One example per class: no validation, the grid's geometric middle (1e-2). */
    double va[9];
    assert_int_equal(linprobe_select(x, y, C, D, C, NULL, 0, 0.2, 4, 0, va, &p), CC_OK);
    assert_true(fabs(p->lambda - 1e-2) < 1e-12);
    assert_true(va[0] == -1);
    linprobe_free(p);

    /* Bad input. */
    int bad[2] = {0, 7};
    assert_int_equal(linprobe_fit(x, bad, 2, D, C, 1e-3, 0, &p), CC_E_INVAL);
    assert_int_equal(linprobe_fit(x, y, 0, D, C, 1e-3, 0, &p), CC_E_INVAL);
    assert_int_equal(linprobe_fit(x, y, N, D, C, -1, 0, &p), CC_E_INVAL);
    assert_int_equal(linprobe_fit(x, y, N, D, C, NAN, 0, &p), CC_E_INVAL);
    assert_int_equal(linprobe_select(x, y, N, D, C, NULL, 0, 1.0, 4, 0, NULL, &p), CC_E_INVAL);
}

/* ---- evaluation sets ----------------------------------------------------------------------- */

static void write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

static void test_evalset_labels(void **state)
{
    (void)state;
    char dir[] = "/tmp/test_eval_XXXXXX", lab[256], cls[256], bad[256];
    assert_non_null(mkdtemp(dir));
    snprintf(lab, sizeof lab, "%s/labels.tsv", dir);
    snprintf(cls, sizeof cls, "%s/classes.txt", dir);
    snprintf(bad, sizeof bad, "%s/bad.tsv", dir);
    write_file(lab, "# clipcrawl fixture eval 1\n"
                    "file\tshape\tcolour\n"
                    "img/a.jpg\tstar\tred\n"
                    "img/b.jpg\tcircle\tblue\r\n"
                    "/abs/c.jpg\tstar\tgreen\n"
                    "\n"
                    "img/d.jpg\tsquare\tred\n");
    evalset *s = NULL;
    assert_int_equal(evalset_load(dir, lab, "file", "shape", NULL, &s), CC_OK);
    assert_int_equal(s->n, 4);
    assert_int_equal(s->C, 3);
    assert_string_equal(s->classes[0], "circle"); /* sorted */
    assert_string_equal(s->classes[1], "square");
    assert_string_equal(s->classes[2], "star");
    assert_int_equal(s->labels[0], 2);
    assert_int_equal(s->labels[1], 0);
    assert_int_equal(s->labels[3], 1);
    char want[300];
    snprintf(want, sizeof want, "%s/img/a.jpg", dir);
    assert_string_equal(s->files[0], want);
    assert_string_equal(s->files[2], "/abs/c.jpg");
    evalset_free(s);

    /* A classes file fixes the order and drops rows of other classes. */
    write_file(cls, "# colours\nred\n\n  green \n");
    assert_int_equal(evalset_load(dir, lab, "file", "colour", cls, &s), CC_OK);
    assert_int_equal(s->C, 2);
    assert_string_equal(s->classes[1], "green");
    assert_int_equal(s->n, 3);
    assert_int_equal(s->unlabelled, 1);
    assert_int_equal(s->labels[0], 0);
    assert_int_equal(s->labels[1], 1);
    assert_int_equal(s->labels[2], 0);
    evalset_free(s);

    /* Errors: a missing column, a short row, no header, a duplicate class, nothing left. */
    assert_int_equal(evalset_load(dir, lab, "file", "size", NULL, &s), CC_E_FORMAT);
    write_file(bad, "file\tshape\nimg/a.jpg\n");
    assert_int_equal(evalset_load(dir, bad, "file", "shape", NULL, &s), CC_E_FORMAT);
    write_file(bad, "# only a comment\n");
    assert_int_equal(evalset_load(dir, bad, "file", "shape", NULL, &s), CC_E_FORMAT);
    write_file(cls, "red\nred\n");
    assert_int_equal(evalset_load(dir, lab, "file", "colour", cls, &s), CC_E_FORMAT);
    write_file(cls, "purple\n");
    assert_int_equal(evalset_load(dir, lab, "file", "colour", cls, &s), CC_E_INVAL);
    assert_int_equal(evalset_load(dir, "/nonexistent/labels.tsv", "file", "shape", NULL, &s),
                     CC_E_NOTFOUND);
    unlink(lab);
    unlink(cls);
    unlink(bad);
    rmdir(dir);
}

static void test_caption_class(void **state)
{
    (void)state;
    const char *names[3] = {"circle", "red circle", "square"};
    assert_int_equal(evalset_caption_class("A big SQUARE.", names, 3), 2);
    assert_int_equal(evalset_caption_class("squares and more", names, 3), -1);
    assert_int_equal(evalset_caption_class("a red circle", names, 3), -2); /* both match */
    assert_int_equal(evalset_caption_class("circle, square", names, 3), -2);
    assert_int_equal(evalset_caption_class("semicircle then circle", names, 3), 0);
    assert_int_equal(evalset_caption_class("a blue circle", names, 3), 0);
    assert_int_equal(evalset_caption_class("", names, 3), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_recall_perfect_and_reversed),
        cmocka_unit_test(test_recall_hand_case),
        cmocka_unit_test(test_recall_ties_count_against),
        cmocka_unit_test(test_zeroshot_hand),
        cmocka_unit_test(test_ensemble_math),
        cmocka_unit_test(test_probe_separable),
        cmocka_unit_test(test_probe_optimal),
        cmocka_unit_test(test_probe_gradient),
        cmocka_unit_test(test_probe_lambda_selection),
        cmocka_unit_test(test_probe_split_and_determinism),
        cmocka_unit_test(test_evalset_labels),
        cmocka_unit_test(test_caption_class),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
