/* common/rng.c — xoshiro256** with SplitMix64 seeding (see rng.h). */
#include "common/rng.h"

#include <math.h>

uint64_t cc_mix64(uint64_t x)
{
    x += 0x9e3779b97f4a7c15ull;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
    return x ^ (x >> 31);
}

void cc_rng_seed(cc_rng *r, uint64_t seed)
{
    for (int i = 0; i < 4; i++) {
        seed += 0x9e3779b97f4a7c15ull;
        r->s[i] = cc_mix64(seed - 0x9e3779b97f4a7c15ull);
    }
    if (!(r->s[0] | r->s[1] | r->s[2] | r->s[3]))
        r->s[0] = 1;
}

void cc_rng_stream(cc_rng *r, uint64_t seed, uint64_t a, uint64_t b)
{
    cc_rng_seed(r,
                cc_mix64(cc_mix64(seed ^ 0x5bd1e995u) ^ a) + cc_mix64(b ^ 0xc2b2ae3d27d4eb4full));
}

static inline uint64_t rotl(uint64_t x, int k)
{
    return (x << k) | (x >> (64 - k));
}

uint64_t cc_rng_u64(cc_rng *r)
{
    uint64_t *s = r->s;
    uint64_t out = rotl(s[1] * 5, 7) * 9;
    uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return out;
}

uint64_t cc_rng_below(cc_rng *r, uint64_t n)
{
    unsigned __int128 m = (unsigned __int128)cc_rng_u64(r) * n;
    uint64_t lo = (uint64_t)m;
    if (lo < n) {
        uint64_t t = -n % n;
        while (lo < t) {
            m = (unsigned __int128)cc_rng_u64(r) * n;
            lo = (uint64_t)m;
        }
    }
    return (uint64_t)(m >> 64);
}

float cc_rng_float(cc_rng *r)
{
    return (float)(cc_rng_u64(r) >> 40) * (1.0f / 16777216.0f);
}

float cc_rng_normal(cc_rng *r)
{
    double u1 = ((double)(cc_rng_u64(r) >> 11) + 1.0) * (1.0 / 9007199254740992.0); /* (0, 1] */
    double u2 = (double)(cc_rng_u64(r) >> 11) * (1.0 / 9007199254740992.0);
    return (float)(sqrt(-2.0 * log(u1)) * cos(6.283185307179586 * u2));
}
