"""A bit-exact Python port of common/rng.c (xoshiro256** seeded through SplitMix64).

Used by gen_ref.py to create the same parameters and batch that tests/unit/test_model_ref.c
creates in C; test_model_ref.c checks the first values of a stream against this port's output
stored in the reference file.
"""
import math

M64 = (1 << 64) - 1
GOLDEN = 0x9E3779B97F4A7C15


def mix64(x):
    """SplitMix64's mixing function (cc_mix64)."""
    x = (x + GOLDEN) & M64
    x = ((x ^ (x >> 30)) * 0xBF58476D1CE4E5B9) & M64
    x = ((x ^ (x >> 27)) * 0x94D049BB133111EB) & M64
    return x ^ (x >> 31)


def _rotl(x, k):
    return ((x << k) | (x >> (64 - k))) & M64


class Rng:
    """cc_rng: xoshiro256** state s[4]."""

    def __init__(self, seed=0):
        self.seed(seed)

    def seed(self, seed):
        """cc_rng_seed."""
        s = []
        seed &= M64
        for _ in range(4):
            seed = (seed + GOLDEN) & M64
            s.append(mix64((seed - GOLDEN) & M64))
        if not (s[0] | s[1] | s[2] | s[3]):
            s[0] = 1
        self.s = s

    @classmethod
    def stream(cls, seed, a, b):
        """cc_rng_stream(seed, a, b)."""
        r = cls.__new__(cls)
        r.seed((mix64(mix64((seed ^ 0x5BD1E995) & M64) ^ (a & M64)) +
                mix64((b & M64) ^ 0xC2B2AE3D27D4EB4F)) & M64)
        return r

    def u64(self):
        """cc_rng_u64."""
        s0, s1, s2, s3 = self.s
        out = (_rotl((s1 * 5) & M64, 7) * 9) & M64
        t = (s1 << 17) & M64
        s2 ^= s0
        s3 ^= s1
        s1 ^= s2
        s0 ^= s3
        s2 ^= t
        s3 = _rotl(s3, 45)
        self.s = [s0, s1, s2, s3]
        return out

    def below(self, n):
        """cc_rng_below (Lemire's method)."""
        m = self.u64() * n
        lo = m & M64
        if lo < n:
            t = ((1 << 64) - n) % n
            while lo < t:
                m = self.u64() * n
                lo = m & M64
        return m >> 64

    def normal64(self):
        """cc_rng_normal before its final cast to float: the double value (rounding it to float32
        gives cc_rng_normal's result exactly)."""
        u1 = ((self.u64() >> 11) + 1.0) * (1.0 / 9007199254740992.0)
        u2 = (self.u64() >> 11) * (1.0 / 9007199254740992.0)
        return math.sqrt(-2.0 * math.log(u1)) * math.cos(6.283185307179586 * u2)


def fnv1a64(text):
    """FNV-1a, 64-bit, of a string's UTF-8 bytes (names a tensor's random stream)."""
    h = 0xCBF29CE484222325
    for c in text.encode():
        h = ((h ^ c) * 0x100000001B3) & M64
    return h
