/* common/rng.h — a small, fast, seedable random number generator (xoshiro256**, seeded through
 * SplitMix64) for the trainer's initialisation, shuffles and augmentations.
 *
 * Deterministic across platforms: the same seed gives the same stream everywhere. The state is a
 * plain struct, so a checkpoint can save and restore it. cc_rng_stream derives independent
 * streams from (seed, a, b) — e.g. (seed, epoch, sample) — so parallel work can draw from its own
 * stream without sharing state and the result does not depend on the thread count.
 *
 * Threads: a cc_rng belongs to one thread; the functions are reentrant.
 */
#ifndef CC_RNG_H
#define CC_RNG_H

#include <stdint.h>

typedef struct cc_rng {
    uint64_t s[4];
} cc_rng;

/* Seeds from one 64-bit value (SplitMix64 expands it; never an all-zero state). */
void cc_rng_seed(cc_rng *r, uint64_t seed);
/* Seeds an independent stream keyed by (seed, a, b). */
void cc_rng_stream(cc_rng *r, uint64_t seed, uint64_t a, uint64_t b);
/* Next 64 random bits. */
uint64_t cc_rng_u64(cc_rng *r);
/* Uniform in [0, n) without modulo bias (Lemire's method); n > 0. */
uint64_t cc_rng_below(cc_rng *r, uint64_t n);
/* Uniform float in [0, 1) (24 random bits). */
float cc_rng_float(cc_rng *r);
/* Standard normal (Box–Muller; one value per call, two draws, so stream positions stay simple). */
float cc_rng_normal(cc_rng *r);
/* SplitMix64's mixing function: a good 64-bit hash of x. */
uint64_t cc_mix64(uint64_t x);

#endif
