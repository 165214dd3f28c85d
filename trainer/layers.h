/* trainer/layers.h — the CLIP trainer's layers: plain forward/backward functions over flat fp32
 * arrays (llm.c's style; see ../shared/STYLE.md and docs/TRAINER.md).
 *
 * Conventions, for every function here:
 *   - Row-major fp32. Shapes are commented as (B,T,C) with the last index fastest.
 *   - Linear weights use PyTorch's nn.Linear layout: weight (OC, C), out = inp @ weight^T + bias.
 *   - *_backward ACCUMULATES into every gradient it writes (dinp += ..., dweight += ...), as
 *     llm.c does; the caller zeroes gradients once per step. A NULL gradient pointer means "not
 *     needed" (e.g. dinp of the first layer) and is skipped.
 *   - No allocation: scratch buffers are passed in, sized as documented.
 *   - OpenMP on the outer loop; matrix products through cblas_sgemm (OpenBLAS).
 *   - Each fast kernel keeps a plain reference version (suffix _ref, same signature) that the unit
 *     tests hold it equal to; the _ref versions are for tests, not for training.
 * The GPU path (OpenMP target offload + cuBLAS) will reuse these signatures and memory layout.
 *
 * Threads: every function is reentrant; each uses the calling thread's OpenMP team.
 */
#ifndef CC_LAYERS_H
#define CC_LAYERS_H

#include <stddef.h>
#include <stdint.h>

#define LAYERNORM_EPS 1e-5f

/* out (N,OC) = inp (N,C) @ weight^T (OC,C) + bias (OC); bias may be NULL. */
void matmul_forward(float *out, const float *inp, const float *weight, const float *bias, int N,
                    int C, int OC);
/* dinp (N,C) += dout @ weight; dweight (OC,C) += dout^T @ inp; dbias (OC) += sum over N of dout.
 * Any of dinp, dweight, dbias may be NULL. */
void matmul_backward(float *dinp, float *dweight, float *dbias, const float *dout, const float *inp,
                     const float *weight, int N, int C, int OC);
void matmul_forward_ref(float *out, const float *inp, const float *weight, const float *bias, int N,
                        int C, int OC);
void matmul_backward_ref(float *dinp, float *dweight, float *dbias, const float *dout,
                         const float *inp, const float *weight, int N, int C, int OC);

/* LayerNorm over the last dimension (eps LAYERNORM_EPS, biased variance, as PyTorch):
 * out (N,C), mean (N), rstd (N) saved for backward; inp (N,C), weight (C), bias (C). */
void layernorm_forward(float *out, float *mean, float *rstd, const float *inp, const float *weight,
                       const float *bias, int N, int C);
void layernorm_backward(float *dinp, float *dweight, float *dbias, const float *dout,
                        const float *inp, const float *weight, const float *mean, const float *rstd,
                        int N, int C);

/* CLIP's QuickGELU: out = x * sigmoid(1.702 x), element-wise over n. */
void quickgelu_forward(float *out, const float *inp, size_t n);
void quickgelu_backward(float *dinp, const float *inp, const float *dout, size_t n);

/* out = a + b over n (backward: da += dout, db += dout). */
void residual_forward(float *out, const float *a, const float *b, size_t n);
void residual_backward(float *da, float *db, const float *dout, size_t n);

/* Multi-head self-attention core (after the qkv projection, before the output projection).
 * qkv (B,T,3C) holds q, k, v concatenated along the last dimension (q = [0,C), k = [C,2C),
 * v = [2C,3C)), heads NH split each into (NH, C/NH). att (B,NH,T,T) gets the softmax
 * probabilities (saved for backward); out (B,T,C) = att @ v with heads concatenated. Scores are
 * scaled by 1/sqrt(C/NH). causal: position t attends to positions <= t only (the text encoder).
 * scratch: at least attention_scratch_floats(B,T,C,NH) floats. */
size_t attention_scratch_floats(int B, int T, int C, int NH);
void attention_forward(float *out, float *att, const float *qkv, float *scratch, int B, int T,
                       int C, int NH, int causal);
/* dqkv (B,T,3C) += gradient of the loss w.r.t. qkv; datt_scratch: at least
 * attention_scratch_floats(B,T,C,NH) floats. */
void attention_backward(float *dqkv, float *scratch, const float *dout, const float *qkv,
                        const float *att, int B, int T, int C, int NH, int causal);
void attention_forward_ref(float *out, float *att, const float *qkv, float *scratch, int B, int T,
                           int C, int NH, int causal);
void attention_backward_ref(float *dqkv, float *scratch, const float *dout, const float *qkv,
                            const float *att, int B, int T, int C, int NH, int causal);

/* Image → patches (im2col of a stride-p, kernel-p convolution): img (B,3,H,W) (channel-major,
 * as PyTorch), out (B, (H/p)*(W/p), 3*p*p) with patch rows in raster order and each patch's
 * elements ordered (channel, dy, dx) — so patches @ conv_weight^T, conv_weight (OC, 3, p, p)
 * viewed as (OC, 3*p*p), is PyTorch's Conv2d(3, OC, p, stride p, bias=False). H and W are
 * multiples of p. No backward: images need no gradient. */
void patchify_forward(float *out, const float *img, int B, int H, int W, int p);

/* ViT input: out (B,1+P,C) row 0 = cls (C), rows 1..P = patches (B,P,C); then + pos (1+P,C). */
void vit_embed_forward(float *out, const float *patches, const float *cls, const float *pos, int B,
                       int P, int C);
void vit_embed_backward(float *dpatches, float *dcls, float *dpos, const float *dout, int B, int P,
                        int C);

/* Text input: out (B,T,C) = wte[tokens[b,t]] + wpe[t]; tokens (B,T) in [0,V). */
void token_embed_forward(float *out, const int32_t *tokens, const float *wte, const float *wpe,
                         int B, int T, int C);
void token_embed_backward(float *dwte, float *dwpe, const float *dout, const int32_t *tokens, int B,
                          int T, int C);

/* Row gather: out (B,C) = inp[b, idx[b], :] with inp (B,T,C) (CLS token: idx = 0; text: the
 * end-of-text position). Backward scatters dout back into dinp (B,T,C). */
void gather_rows_forward(float *out, const float *inp, const int32_t *idx, int B, int T, int C);
void gather_rows_backward(float *dinp, const float *dout, const int32_t *idx, int B, int T, int C);

/* Row L2 normalization: out (N,C) = inp / ||inp||, norm (N) saved (||inp||, floored at 1e-12 as
 * F.normalize's eps). */
void l2norm_forward(float *out, float *norm, const float *inp, int N, int C);
void l2norm_backward(float *dinp, const float *dout, const float *out, const float *norm, int N,
                     int C);

/* CLIP's symmetric contrastive loss. img, txt (N,E) L2-normalized; scale = exp(logit_scale)
 * (the caller clamps logit_scale to [0, ln 100]); logits (N,N) = scale * img @ txt^T (saved);
 * probs_i, probs_t (N,N) scratch saved for backward (row and column softmaxes). Returns
 * loss = (CE(logits, arange) + CE(logits^T, arange)) / 2, means over N. */
float clip_loss_forward(float *logits, float *probs_i, float *probs_t, const float *img,
                        const float *txt, float logit_scale, int N, int E);
/* dimg, dtxt (N,E) += gradients; *dlogit_scale += gradient w.r.t. logit_scale (the log). Scale the
 * loss gradient by dloss (1 for plain training). */
void clip_loss_backward(float *dimg, float *dtxt, float *dlogit_scale, const float *logits,
                        const float *probs_i, const float *probs_t, const float *img,
                        const float *txt, float logit_scale, float dloss, int N, int E);

#endif
