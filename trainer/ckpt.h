/* trainer/ckpt.h — training checkpoints: parameters, optimizer state, step and loader position in
 * one file, written atomically.
 *
 * Format (little-endian), docs/TRAINER.md "Checkpoints":
 *   magic "CCKP", u16 version (1), u16 header size (CKPT_HEADER_SIZE), then the header fields in
 *   the order of ckpt_meta below (fixed widths), zero padding to the header size;
 *   then n params, n AdamW m, n AdamW v (fp32 each, in the model's tensor order);
 *   then the XXH3-64 of every byte before it (cc_file_out's trailer).
 * Written through cc_file_out (PATH.tmp, fsync, rename, fsync of the folder): a crash leaves the
 * old checkpoint or the new one, never a torn one. The reader checks magic, version, header size,
 * the size implied by n, the config (clip_config_check) and the checksum, streaming (no second
 * copy of the file in memory).
 *
 * Training state needs nothing else: the loader's order is a pure function of (seed, epoch,
 * batch), the model's initialisation of seed, and no other randomness is drawn while training.
 *
 * Threads: reentrant.
 */
#ifndef CC_CKPT_H
#define CC_CKPT_H

#include <stddef.h>
#include <stdint.h>

#include "common/status.h"
#include "trainer/model.h"

#define CKPT_HEADER_SIZE 256

typedef struct ckpt_meta {
    clip_config cfg;
    uint64_t step; /* optimizer steps done */
    uint64_t seed;
    uint64_t loader_epoch, loader_batch; /* where the loader goes on */
    uint64_t adam_steps;
    uint64_t total_steps, warmup;
    uint32_t batch;
    float lr, min_lr, weight_decay, clip_norm;
    uint64_t tokenizer_hash; /* XXH3-64 of the tokenizer file the run used */
    uint64_t n; /* parameters */
} ckpt_meta;

/* Writes meta and the three arrays (n = meta->n floats each) to path atomically. CC_E_IO,
 * CC_E_LIMIT (path too long), CC_E_NOMEM. */
cc_status ckpt_save(const char *path, const ckpt_meta *meta, const float *params, const float *m,
                    const float *v);
/* Reads the header only (and checks the file's size against it). CC_E_NOTFOUND (no file),
 * CC_E_IO, CC_E_FORMAT, CC_E_VERSION. */
cc_status ckpt_load_meta(const char *path, ckpt_meta *meta);
/* Reads the whole checkpoint into params, m, v (n floats each; m and v may be NULL to skip
 * them), checking the checksum. n must equal the file's. Errors as ckpt_load_meta, plus
 * CC_E_CHECKSUM and CC_E_INVAL (n differs). */
cc_status ckpt_load(const char *path, ckpt_meta *meta, float *params, float *m, float *v, size_t n);

#endif
