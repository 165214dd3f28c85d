/* trainer/model.h — CLIP (ViT image tower + causal text Transformer) in fp32, forward and
 * backward, built from trainer/layers.h.
 *
 * The model (Radford et al. 2021; openai/CLIP model.py, "VisionTransformer" and the text side):
 *   image (B,3,S,S) → patchify (p) → @ conv^T (Cv, 3p²) → [cls; patches] + pos → ln_pre →
 *     Lv pre-LN blocks → ln_post on the class token → @ v_proj^T (E, Cv) → L2 normalize
 *   tokens (B,T) → wte (V,Ct) + wpe (T,Ct) → Lt pre-LN causal blocks → ln_final → the row at the
 *     end-of-text position (the first token equal to eot, where eot is the config's vocab - 1;
 *     T-1 when none) → @ t_proj^T (E, Ct) → L2 normalize
 *   block: x += attn_proj(attention(qkv(ln_1(x)))); x += fc_proj(quickgelu(fc(ln_2(x))))
 *     (qkv: Linear(C, 3C), attn_proj: Linear(C, C), fc: Linear(C, 4C), fc_proj: Linear(4C, C),
 *     all with biases; heads NH = C / 64, at least 1 — set per config).
 *   loss: clip_loss_forward over the two embeddings with logit_scale (a learnable scalar,
 *     initialised to ln(1/0.07), clamped to [0, ln 100] by the optimizer after each step).
 *
 * Parameters, gradients and activations each live in ONE allocation with named views into it
 * (llm.c). The parameter block's layout is the table clip_model_tensor() lists, in order; the
 * same order is the reference file's (tests/ref/) and the checkpoint's. Stacked per-layer tensors
 * are (L, ...) — e.g. "v.qkv_w" is (Lv, 3Cv, Cv).
 *
 * Initialisation (clip_model_init), after CLIP's initialize_parameters, the same in both towers:
 * wte N(0, 0.02²), wpe N(0, 0.01²); v.cls, v.pos, v_proj, t_proj N(0, 1/C); conv N(0, 1/(3p²));
 * per block with width C and L layers: qkv_w N(0, 1/C), attn_proj_w and fc_proj_w
 * N(0, 1/(2·L·C)), fc_w N(0, 1/(2C)); LN gains 1; every bias 0; logit_scale ln(1/0.07).
 * Deterministic for a seed on any thread count.
 *
 * Threads: a model belongs to one thread at a time; its functions use OpenMP inside.
 */
#ifndef CC_MODEL_H
#define CC_MODEL_H

#include <stddef.h>
#include <stdint.h>

#include "common/status.h"

typedef struct clip_config {
    char name[32];
    int image_size; /* S: input side in pixels (a multiple of patch) */
    int patch; /* p */
    int vision_width; /* Cv */
    int vision_layers; /* Lv */
    int vision_heads;
    int context; /* T: text context length (77 for CLIP) */
    int vocab; /* V: the tokenizer's vocabulary, end-of-text = V - 1 */
    int text_width; /* Ct */
    int text_layers; /* Lt */
    int text_heads;
    int embed_dim; /* E */
} clip_config;

/* Fills cfg with a named configuration: "tiny" (64 px, patch 8, Cv 192, 4 layers, 3 heads;
 * text 128 wide, 4 layers, 2 heads; E 128), "small" (128 px, patch 16, 384/6/6, text 256/6/4,
 * E 256), "base32" (ViT-B/32 shapes: 224 px, patch 32, 768/12/12, text 512/12/8, E 512). vocab
 * and context come from the tokenizer. CC_E_NOTFOUND with the list of names in the message. */
cc_status clip_config_by_name(const char *name, int vocab, int context, clip_config *cfg);
/* Checks a config (positive sizes, image_size % patch == 0, widths divisible by heads, vocab >=
 * 3, context >= 3). CC_E_INVAL with the reason. */
cc_status clip_config_check(const clip_config *cfg);
/* The comma-separated names clip_config_by_name knows. */
const char *clip_config_names(void);
/* Parameter count, and forward+backward FLOPs per sample (2 per multiply-add in matrix
 * products and attention; times 3 for forward + backward), for printing. */
size_t clip_config_num_params(const clip_config *cfg);
double clip_config_flops_per_sample(const clip_config *cfg);

/* One parameter tensor of the layout. */
typedef struct clip_tensor {
    const char *name; /* "v.conv", "v.cls", "v.pos", "v.ln_pre_w", ..., "logit_scale" */
    size_t offset; /* in floats, into the parameter (and gradient) block */
    size_t count; /* floats */
    int ndim;
    int shape[4];
    int decay; /* 1: AdamW weight decay applies (matrices of Linear/conv/projections);
                  0: LN gains and biases, all biases, embeddings (wte, wpe, cls, pos) and
                  logit_scale */
} clip_tensor;

typedef struct clip_model clip_model;

/* Allocates parameters, gradients and activations for batches up to max_batch. Parameters are
 * zero until clip_model_init or a load. CC_E_INVAL (bad config, message says why), CC_E_NOMEM. */
cc_status clip_model_new(const clip_config *cfg, int max_batch, clip_model **out);
void clip_model_free(clip_model *m); /* accepts NULL */
const clip_config *clip_model_config(const clip_model *m);
int clip_model_max_batch(const clip_model *m);

/* CLIP's initialisation from seed (see above). */
void clip_model_init(clip_model *m, uint64_t seed);

/* The parameter layout: n tensors, in order, covering the block without gaps. */
size_t clip_model_tensor_count(const clip_model *m);
const clip_tensor *clip_model_tensor(const clip_model *m, size_t i);
/* The tensor of that name, NULL when none. */
const clip_tensor *clip_model_tensor_find(const clip_model *m, const char *name);
size_t clip_model_num_params(const clip_model *m);
float *clip_model_params(clip_model *m); /* num_params floats */
float *clip_model_grads(clip_model *m); /* num_params floats */

/* Forward pass and loss on B <= max_batch pairs: images (B,3,S,S) normalized floats, tokens
 * (B,T). Saves what backward needs. Returns the loss. */
float clip_model_forward(clip_model *m, const float *images, const int32_t *tokens, int B);
/* Zeroes the gradients. */
void clip_model_zero_grad(clip_model *m);
/* Backward pass of the last forward: gradients += d loss / d params. */
void clip_model_backward(clip_model *m);

/* Inference (no loss, nothing saved for backward; may reuse the activation memory, so call
 * clip_model_forward again before a backward): L2-normalized embeddings (B,E) of B <= max_batch
 * images or texts. */
void clip_model_encode_images(clip_model *m, const float *images, int B, float *out);
void clip_model_encode_texts(clip_model *m, const int32_t *tokens, int B, float *out);
/* The embeddings of the last clip_model_forward (B,E) each, and its logits (B,B). */
const float *clip_model_image_embeddings(const clip_model *m);
const float *clip_model_text_embeddings(const clip_model *m);
const float *clip_model_logits(const clip_model *m);

#endif
