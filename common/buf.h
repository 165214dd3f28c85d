/* common/buf.h — a growable byte buffer with a hard maximum.
 *
 * Every buffer that may hold remote or file data is created with a maximum; growing past it fails
 * with CC_E_LIMIT instead of reallocating silently. Functions that may reallocate say so: pointers
 * into data are invalid after them. Not thread-safe; one owner at a time.
 */
#ifndef CC_BUF_H
#define CC_BUF_H

#include <stddef.h>
#include <stdint.h>

#include "common/status.h"

typedef struct cc_buf {
    uint8_t *data; /* owned; NULL until the first growth */
    size_t len; /* bytes in use */
    size_t cap; /* bytes allocated */
    size_t max; /* hard limit on len */
} cc_buf;

/* An empty buffer that may hold at most max bytes. Allocates nothing. */
void cc_buf_init(cc_buf *b, size_t max);
/* Makes room for extra more bytes (may reallocate). CC_E_LIMIT past max, CC_E_NOMEM. */
cc_status cc_buf_reserve(cc_buf *b, size_t extra);
/* Appends n bytes (may reallocate). */
cc_status cc_buf_append(cc_buf *b, const void *p, size_t n);
/* Appends little-endian integers (may reallocate). */
cc_status cc_buf_put_u16(cc_buf *b, uint16_t v);
cc_status cc_buf_put_u32(cc_buf *b, uint32_t v);
cc_status cc_buf_put_u64(cc_buf *b, uint64_t v);
/* Sets len to 0 and keeps the allocation. */
void cc_buf_reset(cc_buf *b);
/* Frees the allocation; the buffer is empty and reusable with the same max. Accepts NULL. */
void cc_buf_free(cc_buf *b);

/* Little-endian loads and stores on raw memory (unaligned safe). */
static inline uint16_t cc_load_u16(const uint8_t *p)
{
    return (uint16_t)(p[0] | p[1] << 8);
}
static inline uint32_t cc_load_u32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}
static inline uint64_t cc_load_u64(const uint8_t *p)
{
    return (uint64_t)cc_load_u32(p) | (uint64_t)cc_load_u32(p + 4) << 32;
}
static inline void cc_store_u16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
}
static inline void cc_store_u32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}
static inline void cc_store_u64(uint8_t *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}
/* Big-endian 64-bit, for LMDB keys that sort numerically. */
static inline void cc_store_be64(uint8_t *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (uint8_t)(v >> (56 - 8 * i));
}
static inline uint64_t cc_load_be64(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v = v << 8 | p[i];
    return v;
}

#endif
