/* trainer/loader.h — the trainer's data loader: random access into sealed shards, a global
 * permutation per epoch, JPEG decode with DCT-domain scaling, random resized crop, CLIP's
 * normalization, tokenization, and a prefetch queue fed by worker threads.
 *
 * Order. The manifest's records are numbered 0..N-1 (shard order, then record order). Epoch e
 * visits them in the order of a pseudo-random permutation π_e of [0,N) keyed by (seed, e): a
 * 4-round Feistel network over the smallest power of four >= N with cycle-walking — O(1) memory,
 * any position computable on its own, so a 400M-pair manifest needs no index array. Rank r of W
 * takes positions r, r+W, r+2W, … of that order (each rank sees N/W records per epoch, with the
 * tail dropped so that every rank has the same count); batches are consecutive runs of batch
 * positions, the last partial batch of an epoch dropped. The sequence of batches is a pure
 * function of (manifest, seed, rank, world, batch): the thread count and timing never change it,
 * and (epoch, position) resumes it exactly.
 *
 * Each sample. The record's image is decoded (filters/image.h; JPEG at the smallest DCT scale
 * that still covers the crop), cropped and resized (area/bilinear) to image_size²:
 *   augment = 1: a random resized crop — area fraction in [scale_min, scale_max], aspect ratio
 *     log-uniform in [3/4, 4/3], 10 tries then the centre crop (torchvision's
 *     RandomResizedCrop) — with randomness from cc_rng_stream(seed, epoch, global index);
 *   augment = 0: resize the shorter side to image_size, centre crop (CLIP's eval transform).
 * then converted to (3,S,S) floats normalized with CLIP's mean (0.48145466, 0.4578275,
 * 0.40821073) and std (0.26862954, 0.26130258, 0.27577711). The caption is tokenized by the
 * caller's function. A record that cannot be read, decoded or tokenized is counted in
 * loader_stats.corrupt, logged once (cc_log_warn, with shard and index) and replaced by the next
 * position's record, never a crash; a run where most records are corrupt ends with CC_E_FORMAT.
 *
 * Threads: `threads` workers fill up to `prefetch` batches ahead; loader_next is called by one
 * consumer thread.
 */
#ifndef CC_LOADER_H
#define CC_LOADER_H

#include <stddef.h>
#include <stdint.h>

#include "common/status.h"

/* Tokenizes text (len bytes) into out[0..ctx): SOT, tokens, EOT, zero padding (bpe_encode's
 * contract). Called from worker threads concurrently; must be thread-safe. Nonzero status marks
 * the record corrupt. */
typedef cc_status (*loader_tokenize_fn)(void *ctx, const char *text, size_t len, int32_t *out,
                                        uint32_t ctx_len);

typedef struct loader_opts {
    const char *manifest; /* a manifest file or a shard folder (shard_manifest_load) */
    uint32_t image_size; /* S */
    uint32_t context; /* T */
    uint32_t batch; /* samples per batch (per rank) */
    uint64_t seed;
    uint32_t rank, world; /* 0, 1 */
    int threads; /* worker threads (default 2) */
    int prefetch; /* batches buffered ahead (default 3) */
    int augment; /* 1: random resized crop (training); 0: centre crop (evaluation) */
    float scale_min, scale_max; /* random resized crop area fraction (0.9, 1.0) */
    uint64_t start_epoch, start_batch; /* where to begin (a checkpoint's loader position) */
    loader_tokenize_fn tokenize;
    void *tokenize_ctx;
} loader_opts;

void loader_opts_default(loader_opts *o);

typedef struct loader_batch {
    uint32_t n; /* samples (= batch) */
    float *images; /* (n,3,S,S) */
    int32_t *tokens; /* (n,T) */
    uint64_t *index; /* (n) the manifest record index of each sample */
    uint64_t epoch, batch; /* this batch's position: batch-th batch of epoch */
} loader_batch;

typedef struct loader_stats {
    uint64_t records; /* N, the manifest's records */
    uint64_t batches_per_epoch; /* for this rank */
    uint64_t samples; /* samples delivered */
    uint64_t corrupt; /* records skipped (unreadable, undecodable, untokenizable) */
    double wait_s; /* seconds loader_next spent waiting for workers */
    double work_s; /* seconds workers spent producing samples (all threads) */
} loader_stats;

typedef struct loader loader;

/* Opens the manifest's shards and starts the workers. CC_E_INVAL (bad options, or fewer records
 * than world * batch), CC_E_IO/CC_E_FORMAT/… from the shard reader, CC_E_NOMEM. */
cc_status loader_new(const loader_opts *o, loader **out);
/* The next batch; *out stays valid until the next loader_next or loader_free. Epochs roll over
 * on their own. CC_E_FORMAT when corrupt records exceed half of those tried (after 64). */
cc_status loader_next(loader *l, const loader_batch **out);
/* The position after the last batch returned: pass it as start_epoch/start_batch to resume. */
void loader_position(const loader *l, uint64_t *epoch, uint64_t *batch);
void loader_get_stats(const loader *l, loader_stats *out);
void loader_free(loader *l); /* stops and joins the workers; accepts NULL */

/* The permutation: the record index at position pos of epoch's order over n records. */
uint64_t loader_perm(uint64_t seed, uint64_t epoch, uint64_t n, uint64_t pos);

/* One sample as the workers make it, for tests and evaluation: decodes jpeg bytes, crops
 * (augment with rng stream (seed, epoch, index)) and normalizes into out (3,S,S). CC_E_FORMAT
 * when the image cannot be decoded. */
cc_status loader_image(const void *bytes, size_t len, uint32_t S, int augment, float scale_min,
                       float scale_max, uint64_t seed, uint64_t epoch, uint64_t index, float *out);

#endif
