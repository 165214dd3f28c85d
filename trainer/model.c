/* trainer/model.c — CLIP in fp32 from the layers of trainer/layers.h (see model.h).
 *
 * Parameter layout (the order of clip_model_tensor(); docs/TRAINER.md "Parameter layout" holds
 * the same table; tests/ref/torch_clip.py, the optimizer and the checkpoint depend on it — do not
 * reorder). P = (S/p)^2, per-layer tensors stacked with a leading L, Linear weights (OUT, IN):
 *
 *    #  name            shape           decay     #  name            shape           decay
 *    0  v.conv          (Cv, 3p²)       1        20  t.wte           (V, Ct)         0
 *    1  v.cls           (Cv)            0        21  t.wpe           (T, Ct)         0
 *    2  v.pos           (1+P, Cv)       0        22  t.ln_1_w        (Lt, Ct)        0
 *    3  v.ln_pre_w      (Cv)            0        23  t.ln_1_b        (Lt, Ct)        0
 *    4  v.ln_pre_b      (Cv)            0        24  t.qkv_w         (Lt, 3Ct, Ct)   1
 *    5  v.ln_1_w        (Lv, Cv)        0        25  t.qkv_b         (Lt, 3Ct)       0
 *    6  v.ln_1_b        (Lv, Cv)        0        26  t.attn_proj_w   (Lt, Ct, Ct)    1
 *    7  v.qkv_w         (Lv, 3Cv, Cv)   1        27  t.attn_proj_b   (Lt, Ct)        0
 *    8  v.qkv_b         (Lv, 3Cv)       0        28  t.ln_2_w        (Lt, Ct)        0
 *    9  v.attn_proj_w   (Lv, Cv, Cv)    1        29  t.ln_2_b        (Lt, Ct)        0
 *   10  v.attn_proj_b   (Lv, Cv)        0        30  t.fc_w          (Lt, 4Ct, Ct)   1
 *   11  v.ln_2_w        (Lv, Cv)        0        31  t.fc_b          (Lt, 4Ct)       0
 *   12  v.ln_2_b        (Lv, Cv)        0        32  t.fc_proj_w     (Lt, Ct, 4Ct)   1
 *   13  v.fc_w          (Lv, 4Cv, Cv)   1        33  t.fc_proj_b     (Lt, Ct)        0
 *   14  v.fc_b          (Lv, 4Cv)       0        34  t.ln_final_w    (Ct)            0
 *   15  v.fc_proj_w     (Lv, Cv, 4Cv)   1        35  t.ln_final_b    (Ct)            0
 *   16  v.fc_proj_b     (Lv, Cv)        0        36  t_proj          (E, Ct)         1
 *   17  v.ln_post_w     (Cv)            0        37  logit_scale     (1)             0
 *   18  v.ln_post_b     (Cv)            0
 *   19  v_proj          (E, Cv)         1
 *
 * Activations (one allocation, views sized for max_batch; see docs/TRAINER.md "Model"): each
 * tower keeps per layer ln_1, qkv, att, atty, res2 (after attention), ln_2, fch, fchg (after
 * QuickGELU), res3 (the layer's output) and the LN statistics; the backward shares one set of
 * gradient buffers (dres, dln, dqkv, datty, dfch, dfchg, attention scratch) between the towers,
 * sized for the larger. The residual stream's gradient lives in dres alone: each block's
 * layernorm backward accumulates its dinp into it, which is the residual's sum.
 */
#include "trainer/model.h"

#include <assert.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/rng.h"
#include "trainer/layers.h"

/* ---- the tensor table ----------------------------------------------------------------------- */

enum {
    V_CONV,
    V_CLS,
    V_POS,
    V_LN_PRE_W,
    V_LN_PRE_B,
    V_BLOCK, /* 12 block tensors, in the order of the BLK_ offsets */
    V_LN_POST_W = V_BLOCK + 12,
    V_LN_POST_B,
    V_PROJ,
    T_WTE,
    T_WPE,
    T_BLOCK,
    T_LN_FINAL_W = T_BLOCK + 12,
    T_LN_FINAL_B,
    T_PROJ,
    LOGIT_SCALE,
    NUM_TENSORS
};

/* Offsets of a block's tensors from V_BLOCK / T_BLOCK. */
enum {
    BLK_LN1_W,
    BLK_LN1_B,
    BLK_QKV_W,
    BLK_QKV_B,
    BLK_ATTN_PROJ_W,
    BLK_ATTN_PROJ_B,
    BLK_LN2_W,
    BLK_LN2_B,
    BLK_FC_W,
    BLK_FC_B,
    BLK_FC_PROJ_W,
    BLK_FC_PROJ_B,
};

static const char *const tensor_names[NUM_TENSORS] = {
    "v.conv",      "v.cls",       "v.pos",         "v.ln_pre_w",    "v.ln_pre_b",    "v.ln_1_w",
    "v.ln_1_b",    "v.qkv_w",     "v.qkv_b",       "v.attn_proj_w", "v.attn_proj_b", "v.ln_2_w",
    "v.ln_2_b",    "v.fc_w",      "v.fc_b",        "v.fc_proj_w",   "v.fc_proj_b",   "v.ln_post_w",
    "v.ln_post_b", "v_proj",      "t.wte",         "t.wpe",         "t.ln_1_w",      "t.ln_1_b",
    "t.qkv_w",     "t.qkv_b",     "t.attn_proj_w", "t.attn_proj_b", "t.ln_2_w",      "t.ln_2_b",
    "t.fc_w",      "t.fc_b",      "t.fc_proj_w",   "t.fc_proj_b",   "t.ln_final_w",  "t.ln_final_b",
    "t_proj",      "logit_scale",
};

static void set_tensor(clip_tensor *t, int i, int decay, int ndim, int d0, int d1, int d2)
{
    t[i].name = tensor_names[i];
    t[i].decay = decay;
    t[i].ndim = ndim;
    t[i].shape[0] = d0;
    t[i].shape[1] = ndim > 1 ? d1 : 0;
    t[i].shape[2] = ndim > 2 ? d2 : 0;
    t[i].shape[3] = 0;
    t[i].count = (size_t)d0 * (ndim > 1 ? (size_t)d1 : 1) * (ndim > 2 ? (size_t)d2 : 1);
}

static void set_block(clip_tensor *t, int base, int L, int C)
{
    set_tensor(t, base + BLK_LN1_W, 0, 2, L, C, 0);
    set_tensor(t, base + BLK_LN1_B, 0, 2, L, C, 0);
    set_tensor(t, base + BLK_QKV_W, 1, 3, L, 3 * C, C);
    set_tensor(t, base + BLK_QKV_B, 0, 2, L, 3 * C, 0);
    set_tensor(t, base + BLK_ATTN_PROJ_W, 1, 3, L, C, C);
    set_tensor(t, base + BLK_ATTN_PROJ_B, 0, 2, L, C, 0);
    set_tensor(t, base + BLK_LN2_W, 0, 2, L, C, 0);
    set_tensor(t, base + BLK_LN2_B, 0, 2, L, C, 0);
    set_tensor(t, base + BLK_FC_W, 1, 3, L, 4 * C, C);
    set_tensor(t, base + BLK_FC_B, 0, 2, L, 4 * C, 0);
    set_tensor(t, base + BLK_FC_PROJ_W, 1, 3, L, C, 4 * C);
    set_tensor(t, base + BLK_FC_PROJ_B, 0, 2, L, C, 0);
}

/* Fills the table of a (checked) config; returns the total count. */
static size_t build_table(const clip_config *c, clip_tensor *t)
{
    const int p = c->patch, Cv = c->vision_width, Ct = c->text_width, E = c->embed_dim;
    const int P = (c->image_size / p) * (c->image_size / p);
    set_tensor(t, V_CONV, 1, 2, Cv, 3 * p * p, 0);
    set_tensor(t, V_CLS, 0, 1, Cv, 0, 0);
    set_tensor(t, V_POS, 0, 2, 1 + P, Cv, 0);
    set_tensor(t, V_LN_PRE_W, 0, 1, Cv, 0, 0);
    set_tensor(t, V_LN_PRE_B, 0, 1, Cv, 0, 0);
    set_block(t, V_BLOCK, c->vision_layers, Cv);
    set_tensor(t, V_LN_POST_W, 0, 1, Cv, 0, 0);
    set_tensor(t, V_LN_POST_B, 0, 1, Cv, 0, 0);
    set_tensor(t, V_PROJ, 1, 2, E, Cv, 0);
    set_tensor(t, T_WTE, 0, 2, c->vocab, Ct, 0);
    set_tensor(t, T_WPE, 0, 2, c->context, Ct, 0);
    set_block(t, T_BLOCK, c->text_layers, Ct);
    set_tensor(t, T_LN_FINAL_W, 0, 1, Ct, 0, 0);
    set_tensor(t, T_LN_FINAL_B, 0, 1, Ct, 0, 0);
    set_tensor(t, T_PROJ, 1, 2, E, Ct, 0);
    set_tensor(t, LOGIT_SCALE, 0, 1, 1, 0, 0);
    size_t off = 0;
    for (int i = 0; i < NUM_TENSORS; i++) {
        t[i].offset = off;
        off += t[i].count;
    }
    return off;
}

/* ---- configs -------------------------------------------------------------------------------- */

typedef struct named_config {
    const char *name;
    int image_size, patch, vw, vl, vh, tw, tl, th, embed;
} named_config;

static const named_config configs[] = {
    {"tiny", 64, 8, 192, 4, 3, 128, 4, 2, 128},
    {"small", 128, 16, 384, 6, 6, 256, 6, 4, 256},
    {"base32", 224, 32, 768, 12, 12, 512, 12, 8, 512},
};

const char *clip_config_names(void)
{
    return "tiny,small,base32";
}

cc_status clip_config_by_name(const char *name, int vocab, int context, clip_config *cfg)
{
    for (size_t i = 0; i < sizeof configs / sizeof configs[0]; i++) {
        const named_config *n = &configs[i];
        if (strcmp(name, n->name) != 0)
            continue;
        memset(cfg, 0, sizeof *cfg);
        snprintf(cfg->name, sizeof cfg->name, "%s", n->name);
        cfg->image_size = n->image_size;
        cfg->patch = n->patch;
        cfg->vision_width = n->vw;
        cfg->vision_layers = n->vl;
        cfg->vision_heads = n->vh;
        cfg->context = context;
        cfg->vocab = vocab;
        cfg->text_width = n->tw;
        cfg->text_layers = n->tl;
        cfg->text_heads = n->th;
        cfg->embed_dim = n->embed;
        return CC_OK;
    }
    return cc_fail(CC_E_NOTFOUND, "model config \"%s\": unknown (known: %s)", name,
                   clip_config_names());
}

/* Upper bound of every size, so that the int products of the layers (3C, 4C, T*T, P) and the
 * size_t ones cannot overflow. */
#define CLIP_MAX_DIM 16384
#define CLIP_MAX_VOCAB (1 << 22)

cc_status clip_config_check(const clip_config *c)
{
    const int dims[] = {c->image_size,   c->patch,    c->vision_width, c->vision_layers,
                        c->vision_heads, c->context,  c->text_width,   c->text_layers,
                        c->text_heads,   c->embed_dim};
    for (size_t i = 0; i < sizeof dims / sizeof dims[0]; i++)
        CC_CHECK(dims[i] > 0 && dims[i] <= CLIP_MAX_DIM, CC_E_INVAL,
                 "model config: sizes must be in [1, %d] (image %d, patch %d, vision %d/%d/%d, "
                 "context %d, text %d/%d/%d, embed %d)",
                 CLIP_MAX_DIM, c->image_size, c->patch, c->vision_width, c->vision_layers,
                 c->vision_heads, c->context, c->text_width, c->text_layers, c->text_heads,
                 c->embed_dim);
    CC_CHECK(c->image_size % c->patch == 0, CC_E_INVAL,
             "model config: image_size %d is not a multiple of patch %d", c->image_size, c->patch);
    CC_CHECK(c->vision_width % c->vision_heads == 0, CC_E_INVAL,
             "model config: vision width %d is not divisible by %d heads", c->vision_width,
             c->vision_heads);
    CC_CHECK(c->text_width % c->text_heads == 0, CC_E_INVAL,
             "model config: text width %d is not divisible by %d heads", c->text_width,
             c->text_heads);
    CC_CHECK(c->vocab >= 3 && c->vocab <= CLIP_MAX_VOCAB, CC_E_INVAL,
             "model config: vocab %d is not in [3, %d]", c->vocab, CLIP_MAX_VOCAB);
    CC_CHECK(c->context >= 3, CC_E_INVAL, "model config: context %d is below 3", c->context);
    const int side = c->image_size / c->patch;
    CC_CHECK(side * side + 1 <= CLIP_MAX_DIM, CC_E_INVAL,
             "model config: %d patches per image is above %d", side * side, CLIP_MAX_DIM - 1);
    return CC_OK;
}

size_t clip_config_num_params(const clip_config *cfg)
{
    clip_tensor t[NUM_TENSORS];
    return build_table(cfg, t);
}

double clip_config_flops_per_sample(const clip_config *c)
{
    // forward: 2 per multiply-add; a block of width C over T rows: 24 T C² (matmuls) + 4 T² C
    // (scores and att @ v, counted in full even where causal); x3 for forward + backward
    const double p = c->patch, Cv = c->vision_width, Ct = c->text_width, E = c->embed_dim;
    const double P = (double)(c->image_size / c->patch) * (c->image_size / c->patch);
    const double Tv = P + 1, T = c->context;
    double f = 2.0 * P * 3.0 * p * p * Cv;
    f += c->vision_layers * (24.0 * Tv * Cv * Cv + 4.0 * Tv * Tv * Cv);
    f += 2.0 * Cv * E;
    f += c->text_layers * (24.0 * T * Ct * Ct + 4.0 * T * T * Ct);
    f += 2.0 * Ct * E;
    return 3.0 * f;
}

/* ---- the model ------------------------------------------------------------------------------ */

/* One tower's activations, views into the activation block (each sized for max_batch). Per-layer
 * views are the layer-0 view; layer l is at + l * (its per-layer size). */
typedef struct tower {
    int T, C, L, NH, causal, blk; /* blk: the first block tensor (V_BLOCK, T_BLOCK) */
    int lnf, proj; /* the final LN's weight tensor and the projection tensor */
    float *x0; /* (B,T,C): input of layer 0 (ln_pre's output / the token embedding) */
    float *ln1, *ln1_mean, *ln1_rstd, *qkv, *att, *atty, *res2, *ln2, *ln2_mean, *ln2_rstd;
    float *fch, *fchg, *res3;
    float *pool, *lnf_out, *lnf_mean, *lnf_rstd, *proj_out, *emb, *emb_norm; /* (B,C) / (B,E) */
    int32_t *idx; /* (B): the pooled position */
} tower;

struct clip_model {
    clip_config cfg;
    int max_batch, B; /* B: the batch of the last clip_model_forward, 0 when none (or stale) */
    clip_tensor tensors[NUM_TENSORS];
    size_t num_params, num_acts;
    float *params, *grads, *acts;
    int32_t *ints; /* tokens (B,T) and the two pooled-index arrays */
    tower vt, tt;
    /* vision input */
    float *patches, *pemb, *xemb, *lnpre_mean, *lnpre_rstd;
    int32_t *tokens;
    /* loss */
    float *logits, *probs_i, *probs_t;
    /* backward buffers, shared by both towers */
    float *dres, *dln, *dqkv, *datty, *dfch, *dfchg, *scratch;
    float *dpool, *dlnf, *dproj, *demb_i, *demb_t;
};

/* Carves n floats from the block (or only counts them when base is NULL). */
static float *carve(float *base, size_t *off, size_t n)
{
    float *p = base ? base + *off : NULL;
    *off += n;
    return p;
}

static void tower_layout(tower *tw, float *base, size_t *off, int B, int E)
{
    const size_t BT = (size_t)B * tw->T, BTC = BT * tw->C, L = (size_t)tw->L;
    tw->x0 = carve(base, off, BTC);
    tw->ln1 = carve(base, off, L * BTC);
    tw->ln1_mean = carve(base, off, L * BT);
    tw->ln1_rstd = carve(base, off, L * BT);
    tw->qkv = carve(base, off, L * 3 * BTC);
    tw->att = carve(base, off, L * (size_t)B * tw->NH * tw->T * tw->T);
    tw->atty = carve(base, off, L * BTC);
    tw->res2 = carve(base, off, L * BTC);
    tw->ln2 = carve(base, off, L * BTC);
    tw->ln2_mean = carve(base, off, L * BT);
    tw->ln2_rstd = carve(base, off, L * BT);
    tw->fch = carve(base, off, L * 4 * BTC);
    tw->fchg = carve(base, off, L * 4 * BTC);
    tw->res3 = carve(base, off, L * BTC);
    tw->pool = carve(base, off, (size_t)B * tw->C);
    tw->lnf_out = carve(base, off, (size_t)B * tw->C);
    tw->lnf_mean = carve(base, off, (size_t)B);
    tw->lnf_rstd = carve(base, off, (size_t)B);
    tw->proj_out = carve(base, off, (size_t)B * E);
    tw->emb = carve(base, off, (size_t)B * E);
    tw->emb_norm = carve(base, off, (size_t)B);
}

/* Lays out the activation block (counting only when base is NULL); returns its size in floats. */
static size_t acts_layout(clip_model *m, float *base)
{
    const clip_config *c = &m->cfg;
    const int B = m->max_batch, E = c->embed_dim, p = c->patch;
    const size_t P = (size_t)(c->image_size / p) * (c->image_size / p);
    size_t off = 0;
    tower_layout(&m->vt, base, &off, B, E);
    tower_layout(&m->tt, base, &off, B, E);
    m->patches = carve(base, &off, (size_t)B * P * 3 * p * p);
    m->pemb = carve(base, &off, (size_t)B * P * c->vision_width);
    m->xemb = carve(base, &off, (size_t)B * (P + 1) * c->vision_width);
    m->lnpre_mean = carve(base, &off, (size_t)B * (P + 1));
    m->lnpre_rstd = carve(base, &off, (size_t)B * (P + 1));
    m->logits = carve(base, &off, (size_t)B * B);
    m->probs_i = carve(base, &off, (size_t)B * B);
    m->probs_t = carve(base, &off, (size_t)B * B);
    // backward: the larger tower's sizes
    size_t btc_v = (size_t)B * m->vt.T * m->vt.C, btc_t = (size_t)B * m->tt.T * m->tt.C;
    size_t btc = btc_v > btc_t ? btc_v : btc_t;
    size_t sc_v = attention_scratch_floats(B, m->vt.T, m->vt.C, m->vt.NH);
    size_t sc_t = attention_scratch_floats(B, m->tt.T, m->tt.C, m->tt.NH);
    size_t cmax = (size_t)(c->vision_width > c->text_width ? c->vision_width : c->text_width);
    m->dres = carve(base, &off, btc);
    m->dln = carve(base, &off, btc);
    m->dqkv = carve(base, &off, 3 * btc);
    m->datty = carve(base, &off, btc);
    m->dfch = carve(base, &off, 4 * btc);
    m->dfchg = carve(base, &off, 4 * btc);
    m->scratch = carve(base, &off, sc_v > sc_t ? sc_v : sc_t);
    m->dpool = carve(base, &off, (size_t)B * cmax);
    m->dlnf = carve(base, &off, (size_t)B * cmax);
    m->dproj = carve(base, &off, (size_t)B * E);
    m->demb_i = carve(base, &off, (size_t)B * E);
    m->demb_t = carve(base, &off, (size_t)B * E);
    return off;
}

static void tower_dims(tower *tw, int T, int C, int L, int NH, int causal, int blk, int lnf,
                       int proj)
{
    memset(tw, 0, sizeof *tw);
    tw->T = T;
    tw->C = C;
    tw->L = L;
    tw->NH = NH;
    tw->causal = causal;
    tw->blk = blk;
    tw->lnf = lnf;
    tw->proj = proj;
}

cc_status clip_model_new(const clip_config *cfg, int max_batch, clip_model **out)
{
    *out = NULL;
    CC_TRY(clip_config_check(cfg));
    CC_CHECK(max_batch > 0 && max_batch <= (1 << 20), CC_E_INVAL,
             "model: max_batch %d is not in [1, %d]", max_batch, 1 << 20);
    clip_model *m = calloc(1, sizeof *m);
    if (!m)
        return cc_fail(CC_E_NOMEM, "model: out of memory");
    m->cfg = *cfg;
    m->max_batch = max_batch;
    m->num_params = build_table(cfg, m->tensors);
    const int P = (cfg->image_size / cfg->patch) * (cfg->image_size / cfg->patch);
    tower_dims(&m->vt, P + 1, cfg->vision_width, cfg->vision_layers, cfg->vision_heads, 0, V_BLOCK,
               V_LN_POST_W, V_PROJ);
    tower_dims(&m->tt, cfg->context, cfg->text_width, cfg->text_layers, cfg->text_heads, 1, T_BLOCK,
               T_LN_FINAL_W, T_PROJ);
    m->num_acts = acts_layout(m, NULL);
    m->params = calloc(m->num_params, sizeof(float));
    m->grads = calloc(m->num_params, sizeof(float));
    m->acts = calloc(m->num_acts, sizeof(float));
    m->ints = calloc((size_t)max_batch * (cfg->context + 2), sizeof(int32_t));
    if (!m->params || !m->grads || !m->acts || !m->ints) {
        size_t mib = (2 * m->num_params + m->num_acts) * sizeof(float) >> 20;
        clip_model_free(m);
        return cc_fail(CC_E_NOMEM, "model %s at batch %d: cannot allocate %zu MiB", cfg->name,
                       max_batch, mib);
    }
    acts_layout(m, m->acts);
    m->tokens = m->ints;
    m->tt.idx = m->ints + (size_t)max_batch * cfg->context;
    m->vt.idx = m->tt.idx + max_batch; /* the class token: all zero */
    *out = m;
    return CC_OK;
}

void clip_model_free(clip_model *m)
{
    if (!m)
        return;
    free(m->params);
    free(m->grads);
    free(m->acts);
    free(m->ints);
    free(m);
}

const clip_config *clip_model_config(const clip_model *m)
{
    return &m->cfg;
}
int clip_model_max_batch(const clip_model *m)
{
    return m->max_batch;
}
size_t clip_model_tensor_count(const clip_model *m)
{
    (void)m;
    return NUM_TENSORS;
}

const clip_tensor *clip_model_tensor(const clip_model *m, size_t i)
{
    return i < NUM_TENSORS ? &m->tensors[i] : NULL;
}

const clip_tensor *clip_model_tensor_find(const clip_model *m, const char *name)
{
    for (int i = 0; i < NUM_TENSORS; i++)
        if (strcmp(m->tensors[i].name, name) == 0)
            return &m->tensors[i];
    return NULL;
}

size_t clip_model_num_params(const clip_model *m)
{
    return m->num_params;
}
float *clip_model_params(clip_model *m)
{
    return m->params;
}
float *clip_model_grads(clip_model *m)
{
    return m->grads;
}

/* Activation block size in floats (for tests and memory reports; not in the header). */
size_t clip_model_num_acts(const clip_model *m);
size_t clip_model_num_acts(const clip_model *m)
{
    return m->num_acts;
}

void clip_model_init(clip_model *m, uint64_t seed)
{
    // One stream, drawn serially in layout order, each tensor's elements in memory order, so the
    // result is the same on any thread count. Constant tensors draw nothing.
    cc_rng rng;
    cc_rng_seed(&rng, seed);
    const clip_config *c = &m->cfg;
    const int p = c->patch;
    float *P = m->params;
    memset(P, 0, m->num_params * sizeof(float));
    for (int i = 0; i < NUM_TENSORS; i++) {
        const clip_tensor *t = &m->tensors[i];
        int blk = i >= T_BLOCK ? T_BLOCK : V_BLOCK;
        double C = i >= T_WTE ? c->text_width : c->vision_width;
        double L = i >= T_WTE ? c->text_layers : c->vision_layers;
        double var = 0.0;
        float fill = 0.0f;
        switch (i) {
        case V_CONV:
            var = 1.0 / (3.0 * p * p);
            break;
        case V_CLS:
        case V_POS:
        case V_PROJ:
        case T_PROJ:
            var = 1.0 / C;
            break;
        case T_WTE:
            var = 0.02 * 0.02;
            break;
        case T_WPE:
            var = 0.01 * 0.01;
            break;
        case V_LN_PRE_W:
        case V_LN_POST_W:
        case T_LN_FINAL_W:
            fill = 1.0f;
            break;
        case LOGIT_SCALE:
            fill = (float)log(1.0 / 0.07);
            break;
        default:
            if (i >= blk && i < blk + 12) {
                switch (i - blk) {
                case BLK_QKV_W:
                    var = 1.0 / C;
                    break;
                case BLK_ATTN_PROJ_W:
                case BLK_FC_PROJ_W:
                    var = 1.0 / (2.0 * L * C);
                    break;
                case BLK_FC_W:
                    var = 1.0 / (2.0 * C);
                    break;
                case BLK_LN1_W:
                case BLK_LN2_W:
                    fill = 1.0f;
                    break;
                default:
                    break;
                }
            }
        }
        float *w = P + t->offset;
        if (var > 0.0) {
            float sd = (float)sqrt(var);
            for (size_t k = 0; k < t->count; k++)
                w[k] = sd * cc_rng_normal(&rng);
        } else {
            for (size_t k = 0; k < t->count; k++)
                w[k] = fill;
        }
    }
    m->B = 0;
}

void clip_model_zero_grad(clip_model *m)
{
    memset(m->grads, 0, m->num_params * sizeof(float));
}

/* ---- forward -------------------------------------------------------------------------------- */

/* The parameter (or gradient) of block tensor k, layer l, in block g (params or grads). */
static float *blk_ptr(const clip_model *m, float *g, const tower *tw, int k, int l)
{
    const clip_tensor *t = &m->tensors[tw->blk + k];
    return g + t->offset + (size_t)l * (t->count / (size_t)tw->L);
}

/* The per-layer views of layer l (sizes for max_batch). */
typedef struct layer_views {
    float *in, *ln1, *ln1_mean, *ln1_rstd, *qkv, *att, *atty, *res2, *ln2, *ln2_mean, *ln2_rstd;
    float *fch, *fchg, *res3;
} layer_views;

static layer_views layer_at(const tower *tw, int maxB, int l)
{
    const size_t BT = (size_t)maxB * tw->T, BTC = BT * tw->C;
    const size_t BATT = (size_t)maxB * tw->NH * tw->T * tw->T;
    layer_views v;
    v.in = l == 0 ? tw->x0 : tw->res3 + (size_t)(l - 1) * BTC;
    v.ln1 = tw->ln1 + l * BTC;
    v.ln1_mean = tw->ln1_mean + l * BT;
    v.ln1_rstd = tw->ln1_rstd + l * BT;
    v.qkv = tw->qkv + l * 3 * BTC;
    v.att = tw->att + l * BATT;
    v.atty = tw->atty + l * BTC;
    v.res2 = tw->res2 + l * BTC;
    v.ln2 = tw->ln2 + l * BTC;
    v.ln2_mean = tw->ln2_mean + l * BT;
    v.ln2_rstd = tw->ln2_rstd + l * BT;
    v.fch = tw->fch + l * 4 * BTC;
    v.fchg = tw->fchg + l * 4 * BTC;
    v.res3 = tw->res3 + l * BTC;
    return v;
}

/* The blocks and the head of a tower on B rows whose x0 is filled: → tw->emb (B,E). */
static void tower_forward(clip_model *m, tower *tw, int B)
{
    const int T = tw->T, C = tw->C, N = B * T, E = m->cfg.embed_dim;
    float *p = m->params;
    for (int l = 0; l < tw->L; l++) {
        layer_views v = layer_at(tw, m->max_batch, l);
        layernorm_forward(v.ln1, v.ln1_mean, v.ln1_rstd, v.in, blk_ptr(m, p, tw, BLK_LN1_W, l),
                          blk_ptr(m, p, tw, BLK_LN1_B, l), N, C);
        matmul_forward(v.qkv, v.ln1, blk_ptr(m, p, tw, BLK_QKV_W, l),
                       blk_ptr(m, p, tw, BLK_QKV_B, l), N, C, 3 * C);
        attention_forward(v.atty, v.att, v.qkv, m->scratch, B, T, C, tw->NH, tw->causal);
        matmul_forward(v.res2, v.atty, blk_ptr(m, p, tw, BLK_ATTN_PROJ_W, l),
                       blk_ptr(m, p, tw, BLK_ATTN_PROJ_B, l), N, C, C);
        residual_forward(v.res2, v.in, v.res2, (size_t)N * C);
        layernorm_forward(v.ln2, v.ln2_mean, v.ln2_rstd, v.res2, blk_ptr(m, p, tw, BLK_LN2_W, l),
                          blk_ptr(m, p, tw, BLK_LN2_B, l), N, C);
        matmul_forward(v.fch, v.ln2, blk_ptr(m, p, tw, BLK_FC_W, l), blk_ptr(m, p, tw, BLK_FC_B, l),
                       N, C, 4 * C);
        quickgelu_forward(v.fchg, v.fch, (size_t)N * 4 * C);
        matmul_forward(v.res3, v.fchg, blk_ptr(m, p, tw, BLK_FC_PROJ_W, l),
                       blk_ptr(m, p, tw, BLK_FC_PROJ_B, l), N, 4 * C, C);
        residual_forward(v.res3, v.res2, v.res3, (size_t)N * C);
    }
    const float *last = layer_at(tw, m->max_batch, tw->L).in;
    gather_rows_forward(tw->pool, last, tw->idx, B, T, C);
    layernorm_forward(tw->lnf_out, tw->lnf_mean, tw->lnf_rstd, tw->pool,
                      p + m->tensors[tw->lnf].offset, p + m->tensors[tw->lnf + 1].offset, B, C);
    matmul_forward(tw->proj_out, tw->lnf_out, p + m->tensors[tw->proj].offset, NULL, B, C, E);
    l2norm_forward(tw->emb, tw->emb_norm, tw->proj_out, B, E);
}

static void vision_forward(clip_model *m, const float *images, int B)
{
    const clip_config *c = &m->cfg;
    const int p = c->patch, S = c->image_size, Cv = c->vision_width, P = m->vt.T - 1;
    const float *w = m->params;
    patchify_forward(m->patches, images, B, S, S, p);
    matmul_forward(m->pemb, m->patches, w + m->tensors[V_CONV].offset, NULL, B * P, 3 * p * p, Cv);
    vit_embed_forward(m->xemb, m->pemb, w + m->tensors[V_CLS].offset, w + m->tensors[V_POS].offset,
                      B, P, Cv);
    layernorm_forward(m->vt.x0, m->lnpre_mean, m->lnpre_rstd, m->xemb,
                      w + m->tensors[V_LN_PRE_W].offset, w + m->tensors[V_LN_PRE_B].offset,
                      B * (P + 1), Cv);
    tower_forward(m, &m->vt, B);
}

static void text_forward(clip_model *m, const int32_t *tokens, int B)
{
    const int T = m->cfg.context, eot = m->cfg.vocab - 1;
    const float *w = m->params;
    for (int b = 0; b < B; b++) {
        int at = -1;
        for (int t = 0; t < T; t++) {
            int32_t tok = tokens[(size_t)b * T + t];
            assert(tok >= 0 && tok < m->cfg.vocab);
            m->tokens[(size_t)b * T + t] = tok;
            if (tok == eot && at < 0)
                at = t;
        }
        m->tt.idx[b] = at < 0 ? T - 1 : at; /* the first EOT, T-1 when none */
    }
    token_embed_forward(m->tt.x0, m->tokens, w + m->tensors[T_WTE].offset,
                        w + m->tensors[T_WPE].offset, B, T, m->cfg.text_width);
    tower_forward(m, &m->tt, B);
}

float clip_model_forward(clip_model *m, const float *images, const int32_t *tokens, int B)
{
    assert(B > 0 && B <= m->max_batch);
    vision_forward(m, images, B);
    text_forward(m, tokens, B);
    m->B = B;
    return clip_loss_forward(m->logits, m->probs_i, m->probs_t, m->vt.emb, m->tt.emb,
                             m->params[m->tensors[LOGIT_SCALE].offset], B, m->cfg.embed_dim);
}

void clip_model_encode_images(clip_model *m, const float *images, int B, float *out)
{
    assert(B > 0 && B <= m->max_batch);
    m->B = 0; /* the saved activations no longer match a loss */
    vision_forward(m, images, B);
    memcpy(out, m->vt.emb, (size_t)B * m->cfg.embed_dim * sizeof(float));
}

void clip_model_encode_texts(clip_model *m, const int32_t *tokens, int B, float *out)
{
    assert(B > 0 && B <= m->max_batch);
    m->B = 0;
    text_forward(m, tokens, B);
    memcpy(out, m->tt.emb, (size_t)B * m->cfg.embed_dim * sizeof(float));
}

const float *clip_model_image_embeddings(const clip_model *m)
{
    return m->vt.emb;
}
const float *clip_model_text_embeddings(const clip_model *m)
{
    return m->tt.emb;
}
const float *clip_model_logits(const clip_model *m)
{
    return m->logits;
}

/* ---- backward ------------------------------------------------------------------------------- */

static void zero(float *p, size_t n)
{
    memset(p, 0, n * sizeof(float));
}

/* From d(emb) (B,E) back through the head and the blocks; leaves d(x0) in m->dres. */
static void tower_backward(clip_model *m, tower *tw, const float *demb, int B)
{
    const int T = tw->T, C = tw->C, N = B * T, E = m->cfg.embed_dim;
    float *p = m->params, *g = m->grads;
    const size_t NC = (size_t)N * C;
    // head: l2norm, projection, final LN, gather
    zero(m->dproj, (size_t)B * E);
    l2norm_backward(m->dproj, demb, tw->emb, tw->emb_norm, B, E);
    zero(m->dlnf, (size_t)B * C);
    matmul_backward(m->dlnf, g + m->tensors[tw->proj].offset, NULL, m->dproj, tw->lnf_out,
                    p + m->tensors[tw->proj].offset, B, C, E);
    zero(m->dpool, (size_t)B * C);
    layernorm_backward(m->dpool, g + m->tensors[tw->lnf].offset, g + m->tensors[tw->lnf + 1].offset,
                       m->dlnf, tw->pool, p + m->tensors[tw->lnf].offset, tw->lnf_mean,
                       tw->lnf_rstd, B, C);
    zero(m->dres, NC);
    gather_rows_backward(m->dres, m->dpool, tw->idx, B, T, C);
    // blocks in reverse; dres holds the gradient of the residual stream
    for (int l = tw->L - 1; l >= 0; l--) {
        layer_views v = layer_at(tw, m->max_batch, l);
        zero(m->dfchg, 4 * NC);
        matmul_backward(m->dfchg, blk_ptr(m, g, tw, BLK_FC_PROJ_W, l),
                        blk_ptr(m, g, tw, BLK_FC_PROJ_B, l), m->dres, v.fchg,
                        blk_ptr(m, p, tw, BLK_FC_PROJ_W, l), N, 4 * C, C);
        zero(m->dfch, 4 * NC);
        quickgelu_backward(m->dfch, v.fch, m->dfchg, 4 * NC);
        zero(m->dln, NC);
        matmul_backward(m->dln, blk_ptr(m, g, tw, BLK_FC_W, l), blk_ptr(m, g, tw, BLK_FC_B, l),
                        m->dfch, v.ln2, blk_ptr(m, p, tw, BLK_FC_W, l), N, C, 4 * C);
        layernorm_backward(m->dres, blk_ptr(m, g, tw, BLK_LN2_W, l),
                           blk_ptr(m, g, tw, BLK_LN2_B, l), m->dln, v.res2,
                           blk_ptr(m, p, tw, BLK_LN2_W, l), v.ln2_mean, v.ln2_rstd, N, C);
        zero(m->datty, NC);
        matmul_backward(m->datty, blk_ptr(m, g, tw, BLK_ATTN_PROJ_W, l),
                        blk_ptr(m, g, tw, BLK_ATTN_PROJ_B, l), m->dres, v.atty,
                        blk_ptr(m, p, tw, BLK_ATTN_PROJ_W, l), N, C, C);
        zero(m->dqkv, 3 * NC);
        attention_backward(m->dqkv, m->scratch, m->datty, v.qkv, v.att, B, T, C, tw->NH,
                           tw->causal);
        zero(m->dln, NC);
        matmul_backward(m->dln, blk_ptr(m, g, tw, BLK_QKV_W, l), blk_ptr(m, g, tw, BLK_QKV_B, l),
                        m->dqkv, v.ln1, blk_ptr(m, p, tw, BLK_QKV_W, l), N, C, 3 * C);
        layernorm_backward(m->dres, blk_ptr(m, g, tw, BLK_LN1_W, l),
                           blk_ptr(m, g, tw, BLK_LN1_B, l), m->dln, v.in,
                           blk_ptr(m, p, tw, BLK_LN1_W, l), v.ln1_mean, v.ln1_rstd, N, C);
    }
}

void clip_model_backward(clip_model *m)
{
    assert(m->B > 0 && "clip_model_backward needs a clip_model_forward first");
    const int B = m->B, E = m->cfg.embed_dim;
    const clip_config *c = &m->cfg;
    float *p = m->params, *g = m->grads;
    // loss
    zero(m->demb_i, (size_t)B * E);
    zero(m->demb_t, (size_t)B * E);
    clip_loss_backward(m->demb_i, m->demb_t, g + m->tensors[LOGIT_SCALE].offset, m->logits,
                       m->probs_i, m->probs_t, m->vt.emb, m->tt.emb,
                       p[m->tensors[LOGIT_SCALE].offset], 1.0f, B, E);
    // text tower, then its embeddings
    tower_backward(m, &m->tt, m->demb_t, B);
    token_embed_backward(g + m->tensors[T_WTE].offset, g + m->tensors[T_WPE].offset, m->dres,
                         m->tokens, B, c->context, c->text_width);
    // vision tower, ln_pre, the class/position embeddings and the patch convolution
    const int Cv = c->vision_width, P = m->vt.T - 1, K = 3 * c->patch * c->patch;
    tower_backward(m, &m->vt, m->demb_i, B);
    zero(m->dln, (size_t)B * (P + 1) * Cv);
    layernorm_backward(m->dln, g + m->tensors[V_LN_PRE_W].offset, g + m->tensors[V_LN_PRE_B].offset,
                       m->dres, m->xemb, p + m->tensors[V_LN_PRE_W].offset, m->lnpre_mean,
                       m->lnpre_rstd, B * (P + 1), Cv);
    float *dpemb = m->datty; /* (B,P,Cv) fits in datty's (B,1+P,Cv) */
    zero(dpemb, (size_t)B * P * Cv);
    vit_embed_backward(dpemb, g + m->tensors[V_CLS].offset, g + m->tensors[V_POS].offset, m->dln, B,
                       P, Cv);
    matmul_backward(NULL, g + m->tensors[V_CONV].offset, NULL, dpemb, m->patches,
                    p + m->tensors[V_CONV].offset, B * P, K, Cv);
}
