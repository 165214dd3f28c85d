/* trainer/eval.h — evaluation of a trained CLIP model: embeddings of held-out pairs, retrieval
 * recall@K, zero-shot classification with prompt ensembles.
 *
 * Retrieval (eval_recall): N pairs, image i belongs with text i. Image→text recall@K is the
 * fraction of images whose own text is among the K texts most similar to it (cosine of the
 * L2-normalized embeddings; ties count against the true pair, so a constant model scores 0);
 * text→image the same the other way. Chance (a random ranking) is K/N.
 *
 * Zero-shot (eval_class_embeddings, eval_zeroshot): each class name is put into every prompt
 * template ("a photo of a {}."), the templates' text embeddings (each L2-normalized) are
 * averaged and the mean normalized again (CLIP's prompt ensembling); an image is given the class
 * whose embedding is most similar to its own.
 *
 * Threads: functions use the model's OpenMP threads; one caller at a time per model.
 */
#ifndef CC_EVAL_H
#define CC_EVAL_H

#include <stddef.h>
#include <stdint.h>

#include "common/status.h"
#include "trainer/bpe.h"
#include "trainer/model.h"

/* Embeddings of up to max_n records of a manifest (0 = all), in manifest order: images through
 * the evaluation transform (loader_image, augment 0), captions through the tokenizer. *img and
 * *txt are malloc'd (n × E floats each; caller frees); *n gets the count. Records that cannot be
 * decoded are skipped and counted in *skipped (may be NULL). CC_E_INVAL when no record is left,
 * shard and tokenizer errors otherwise. */
cc_status eval_embed_manifest(clip_model *m, const bpe *tok, const char *manifest, size_t max_n,
                              float **img, float **txt, size_t *n, uint64_t *skipped);

/* Recall@k for each of the nk values in ks: i2t[j], t2i[j] in [0,1]. img, txt (N,E),
 * normalized. CC_E_NOMEM. */
cc_status eval_recall(const float *img, const float *txt, size_t N, int E, const int *ks, int nk,
                      double *i2t, double *t2i);

/* Class embeddings (C,E) into out: for class c, the normalized mean of the normalized text
 * embeddings of templates[t] with "{}" replaced by names[c]. A template without "{}" gets the
 * name appended after a space. CC_E_INVAL (no templates, a name or template too long). */
cc_status eval_class_embeddings(clip_model *m, const bpe *tok, const char *const *names, int C,
                                const char *const *templates, int nt, float *out);

/* Zero-shot predictions: for each of N images (img (N,E)), the class ranking by similarity to
 * cls (C,E). pred (N) gets the top class; when labels (N, values in [0,C)) is not NULL, *top1
 * and *top5 get the accuracies and confusion (C×C, row = true class, may be NULL) the counts. */
void eval_zeroshot(const float *img, size_t N, const float *cls, int C, int E, const int *labels,
                   int *pred, double *top1, double *top5, uint64_t *confusion);

/* CLIP's 18 ImageNet prompt templates used as the default ensemble (the "18 templates" of the
 * CLIP repository's notebook). */
extern const char *const eval_clip_templates[];
extern const int eval_clip_template_count;

#endif
