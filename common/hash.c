/* common/hash.c — see hash.h. */
#include "common/hash.h"

#include <stdlib.h>
#include <xxhash.h>

struct cc_hasher {
    XXH3_state_t *st;
};

uint64_t cc_hash64(const void *p, size_t n)
{
    return XXH3_64bits(p, n);
}

cc_hash128 cc_hash128_of(const void *p, size_t n)
{
    XXH128_hash_t h = XXH3_128bits(p, n);
    return (cc_hash128){.hi = h.high64, .lo = h.low64};
}

int cc_hash128_eq(cc_hash128 a, cc_hash128 b)
{
    return a.hi == b.hi && a.lo == b.lo;
}

void cc_hash128_to_bytes(cc_hash128 h, uint8_t out[16])
{
    for (int i = 0; i < 8; i++) {
        out[i] = (uint8_t)(h.hi >> (56 - 8 * i));
        out[8 + i] = (uint8_t)(h.lo >> (56 - 8 * i));
    }
}

cc_hash128 cc_hash128_from_bytes(const uint8_t in[16])
{
    cc_hash128 h = {0, 0};
    for (int i = 0; i < 8; i++) {
        h.hi = h.hi << 8 | in[i];
        h.lo = h.lo << 8 | in[8 + i];
    }
    return h;
}

void cc_hash128_hex(cc_hash128 h, char out[33])
{
    static const char digits[] = "0123456789abcdef";
    uint8_t b[16];
    cc_hash128_to_bytes(h, b);
    for (int i = 0; i < 16; i++) {
        out[2 * i] = digits[b[i] >> 4];
        out[2 * i + 1] = digits[b[i] & 15];
    }
    out[32] = '\0';
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

cc_status cc_hash128_parse(const char *hex, cc_hash128 *out)
{
    uint8_t b[16];
    for (int i = 0; i < 16; i++) {
        int a = hexval(hex[2 * i]);
        int c = a < 0 ? -1 : hexval(hex[2 * i + 1]);
        if (a < 0 || c < 0)
            return cc_fail(CC_E_FORMAT, "not a 128-bit hex hash: '%.40s'", hex);
        b[i] = (uint8_t)(a << 4 | c);
    }
    if (hex[32] != '\0')
        return cc_fail(CC_E_FORMAT, "not a 128-bit hex hash: '%.40s'", hex);
    *out = cc_hash128_from_bytes(b);
    return CC_OK;
}

cc_status cc_hasher_new(cc_hasher **out)
{
    cc_hasher *h = malloc(sizeof *h);
    if (!h)
        return cc_fail(CC_E_NOMEM, "hasher: out of memory");
    h->st = XXH3_createState();
    if (!h->st) {
        free(h);
        return cc_fail(CC_E_NOMEM, "hasher: out of memory");
    }
    XXH3_128bits_reset(h->st);
    *out = h;
    return CC_OK;
}

void cc_hasher_update(cc_hasher *h, const void *p, size_t n)
{
    XXH3_128bits_update(h->st, p, n);
}

cc_hash128 cc_hasher_digest(const cc_hasher *h)
{
    XXH128_hash_t d = XXH3_128bits_digest(h->st);
    return (cc_hash128){.hi = d.high64, .lo = d.low64};
}

void cc_hasher_free(cc_hasher *h)
{
    if (!h)
        return;
    XXH3_freeState(h->st);
    free(h);
}
